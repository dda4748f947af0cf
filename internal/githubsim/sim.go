package githubsim

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync"
	"time"
)

// apiPrefix is the GitHub Enterprise style path prefix URL() carries. Requests are accepted
// with or without it.
const apiPrefix = "/api/v3"

// Sim is an in-process GitHub: an HTTP server answering the REST endpoints stagecoach uses
// plus helpers that change state the way people do on github.com and send the webhooks
// GitHub would send. All methods are safe for concurrent use.
type Sim struct {
	opts   Options
	key    *rsa.PrivateKey
	keyPEM []byte
	srv    *httptest.Server
	hooks  *http.Client
	hookID int64
	// closing is closed by Close to release requests held by latency faults.
	closing   chan struct{}
	closeOnce sync.Once

	// deliverMu orders state changes made by helpers with their webhook deliveries, so
	// receivers see webhooks in the order the changes happened. Taken before mu.
	deliverMu sync.Mutex

	mu            sync.Mutex
	changed       chan struct{}
	nextID        int64
	webhookURL    string
	accounts      map[string]*account
	installations map[int64]*installation
	repos         map[string]*repo
	tokens        map[string]*token
	archives      map[string]archiveLink
	teams         map[string]map[string]bool
	requests      []Request
	deliveries    []*Delivery
	faults        []*activeFault
	collaborators map[string]map[string]string
	// teamInvites are pending team memberships (invited, not accepted), like teams.
	teamInvites map[string]map[string]bool
	// customRoles are the custom role names of collaborators whose base role is in collaborators.
	customRoles map[string]map[string]string
	// manifests is the App manifest flow's state, made on first use.
	manifests *manifestState
}

// New starts a simulator with a fresh RSA app key. Close it when done.
func New(opts Options) (*Sim, error) {
	if opts.AppID == 0 {
		opts.AppID = 1
	}
	if opts.AppSlug == "" {
		opts.AppSlug = "stagecoach"
	}
	if opts.DefaultUser == "" {
		opts.DefaultUser = "octocat"
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if opts.WebhookTimeout <= 0 {
		opts.WebhookTimeout = 10 * time.Second
	}
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, fmt.Errorf("generating app key: %w", err)
	}
	s := &Sim{
		opts:          opts,
		key:           key,
		keyPEM:        pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)}),
		hooks:         &http.Client{Timeout: opts.WebhookTimeout},
		hookID:        4200000 + opts.AppID,
		closing:       make(chan struct{}),
		changed:       make(chan struct{}),
		nextID:        1000,
		webhookURL:    opts.WebhookURL,
		accounts:      map[string]*account{},
		installations: map[int64]*installation{},
		repos:         map[string]*repo{},
		tokens:        map[string]*token{},
		archives:      map[string]archiveLink{},
		teams:         map[string]map[string]bool{},
		collaborators: map[string]map[string]string{},
		teamInvites:   map[string]map[string]bool{},
		customRoles:   map[string]map[string]string{},
	}
	s.srv = httptest.NewServer(s.handler())
	return s, nil
}

// URL is the API base URL, ending in "/api/v3/" like GitHub Enterprise's, so that both
// go-github's WithEnterpriseURLs(URL(), URL()) and a plain BaseURL of URL() work.
// For ghinstallation set Transport.BaseURL / AppsTransport.BaseURL to URL() as well.
func (s *Sim) URL() string { return s.srv.URL + apiPrefix + "/" }

// Close stops the server, first releasing requests held by latency faults. Webhooks being
// sent are not waited for. Calling it more than once is harmless.
func (s *Sim) Close() {
	s.closeOnce.Do(func() {
		close(s.closing)
		s.srv.Close()
		s.hooks.CloseIdleConnections()
	})
}

// AppPrivateKeyPEM returns the PKCS#1 PEM of the app key, as GitHub lets an app download it.
func (s *Sim) AppPrivateKeyPEM() []byte { return append([]byte(nil), s.keyPEM...) }

// AppID returns the app id JWTs must carry.
func (s *Sim) AppID() int64 { return s.opts.AppID }

// BotLogin returns the app's bot login, AppSlug+"[bot]".
func (s *Sim) BotLogin() string { return s.opts.AppSlug + "[bot]" }

// SetWebhookURL sets where later webhooks are sent; "" stops sending (deliveries are still recorded).
func (s *Sim) SetWebhookURL(u string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.webhookURL = u
}

// notify wakes every WaitFor. Caller holds s.mu.
func (s *Sim) notify() {
	close(s.changed)
	s.changed = make(chan struct{})
}

// WaitFor returns nil as soon as cond() holds, re-checking after every state change (API
// write, recorded request, webhook answered), or ctx's error when ctx ends first. cond is
// called without locks held, so it may call the inspection methods.
func (s *Sim) WaitFor(ctx context.Context, cond func() bool) error {
	for {
		s.mu.Lock()
		ch := s.changed
		s.mu.Unlock()
		if cond() {
			return nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return fmt.Errorf("waiting for simulator state: %w", ctx.Err())
		}
	}
}

// change runs fn under the locks, then sends the webhooks it queued in order. Helpers that
// send webhooks go through here.
func (s *Sim) change(fn func() ([]*Delivery, error)) error {
	s.deliverMu.Lock()
	defer s.deliverMu.Unlock()
	s.mu.Lock()
	queued, err := fn()
	s.notify()
	url := s.webhookURL
	s.mu.Unlock()
	for _, d := range queued {
		s.send(url, d)
	}
	return err
}
