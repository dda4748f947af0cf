package githubsim

import (
	"bytes"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
)

// newUUID returns a random RFC 4122 version 4 UUID, the shape of X-GitHub-Delivery.
func newUUID() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b) // crypto/rand.Read never fails
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b)
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

// queue records a webhook to be sent once the state lock is released. Caller holds s.mu.
func (s *Sim) queue(event string, payload obj) *Delivery {
	body, err := json.Marshal(payload)
	if err != nil {
		// Payloads are built from plain maps, strings and numbers; this cannot happen.
		panic(fmt.Sprintf("githubsim: encoding %s payload: %v", event, err))
	}
	action, _ := payload["action"].(string)
	d := &Delivery{ID: newUUID(), Event: event, Action: action, Payload: body, At: s.now()}
	s.deliveries = append(s.deliveries, d)
	return d
}

// Signature256 returns the X-Hub-Signature-256 value GitHub computes for body with secret:
// "sha256=" and the hex HMAC-SHA256.
func Signature256(secret string, body []byte) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write(body)
	return "sha256=" + hex.EncodeToString(m.Sum(nil))
}

func signature1(secret string, body []byte) string {
	m := hmac.New(sha1.New, []byte(secret))
	m.Write(body)
	return "sha1=" + hex.EncodeToString(m.Sum(nil))
}

// send POSTs d to url and records the answer. It runs without s.mu held.
func (s *Sim) send(url string, d *Delivery) {
	status, err := s.post(url, d)
	s.mu.Lock()
	defer s.mu.Unlock()
	d.Status = status
	if err != nil {
		d.Err = err.Error()
	}
	s.notify()
	s.opts.Logger.Debug("github webhook delivery", "delivery_id", d.ID, "event", d.Event, "action", d.Action,
		"status", status, "redelivery", d.Redelivery, "error", d.Err)
}

// post sends one delivery with GitHub's headers.
func (s *Sim) post(url string, d *Delivery) (int, error) {
	if url == "" {
		return 0, errors.New("no webhook URL configured")
	}
	req, err := http.NewRequest(http.MethodPost, url, bytes.NewReader(d.Payload))
	if err != nil {
		return 0, fmt.Errorf("building webhook request: %w", err)
	}
	h := req.Header
	h.Set("Content-Type", "application/json")
	h.Set("User-Agent", "GitHub-Hookshot/5f1c0de")
	h.Set("X-GitHub-Event", d.Event)
	h.Set("X-GitHub-Delivery", d.ID)
	h.Set("X-GitHub-Hook-ID", strconv.FormatInt(s.hookID, 10))
	h.Set("X-GitHub-Hook-Installation-Target-ID", strconv.FormatInt(s.opts.AppID, 10))
	h.Set("X-GitHub-Hook-Installation-Target-Type", "integration")
	h.Set("X-Hub-Signature", signature1(s.opts.WebhookSecret, d.Payload))
	h.Set("X-Hub-Signature-256", Signature256(s.opts.WebhookSecret, d.Payload))
	resp, err := s.hooks.Do(req)
	if err != nil {
		return 0, fmt.Errorf("delivering webhook: %w", err)
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
	return resp.StatusCode, nil
}

// Redeliver sends a past delivery again with the same X-GitHub-Delivery id and payload, as
// "Redeliver" in GitHub's UI does, records it (Redelivery: true) and returns the status the
// receiver answered.
func (s *Sim) Redeliver(deliveryID string) (int, error) {
	s.deliverMu.Lock()
	defer s.deliverMu.Unlock()
	s.mu.Lock()
	var orig *Delivery
	for _, d := range s.deliveries {
		if d.ID == deliveryID {
			orig = d
			break
		}
	}
	if orig == nil {
		s.mu.Unlock()
		return 0, fmt.Errorf("redelivering %s: no such delivery", deliveryID)
	}
	d := &Delivery{ID: orig.ID, Event: orig.Event, Action: orig.Action, Payload: orig.Payload, Redelivery: true, At: s.now()}
	s.deliveries = append(s.deliveries, d)
	url := s.webhookURL
	s.mu.Unlock()
	s.send(url, d)
	s.mu.Lock()
	defer s.mu.Unlock()
	if d.Err != "" {
		return d.Status, fmt.Errorf("redelivering %s: %s", deliveryID, d.Err)
	}
	return d.Status, nil
}

// Deliveries returns every webhook recorded so far, oldest first (copies).
func (s *Sim) Deliveries() []Delivery {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Delivery, 0, len(s.deliveries))
	for _, d := range s.deliveries {
		c := *d
		c.Payload = append(json.RawMessage(nil), d.Payload...)
		out = append(out, c)
	}
	return out
}
