package webhooks_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stagecoach/stagecoach/internal/webhooks"
)

// FuzzSignature: whatever the header and body, the handler never panics and never takes a
// delivery whose header is not the body's HMAC. Hex digits are compared without regard to case
// (an upper-case digest is the same MAC; GitHub sends lower case), the "sha256=" prefix exactly.
func FuzzSignature(f *testing.F) {
	body := pr("opened", "dev")
	f.Add(webhooks.Sign(secret, []byte(body)), body)
	f.Add("sha256="+strings.ToUpper(strings.TrimPrefix(webhooks.Sign(secret, []byte(body)), "sha256=")), body)
	f.Add("sha256=", body)
	f.Add("sha256="+strings.Repeat("0", 64), body)
	f.Add("sha1=abc", "{}")
	f.Add("", "")
	f.Add("sha256="+strings.Repeat("G", 64), "{")
	h := newHandler(f)
	f.Fuzz(func(t *testing.T, sig, body string) {
		rec := serve(h, "pull_request", sig, body)
		want := webhooks.Sign(secret, []byte(body))
		valid := strings.HasPrefix(sig, "sha256=") && strings.EqualFold(sig, want)
		if rec.Code < 300 && !valid {
			t.Fatalf("accepted (%d) a delivery with signature %q that does not match its body", rec.Code, sig)
		}
	})
}

// FuzzPayload: a correctly signed body of any shape, for each event the bot reads, gets a
// 2xx or a 4xx and never a panic or a 5xx.
func FuzzPayload(f *testing.F) {
	f.Add("pull_request", pr("opened", "dev"))
	f.Add("issue_comment", comment("/deploy", "User"))
	f.Add("push", `{"ref":"refs/heads/main","after":"abc","repository":{"full_name":"acme/shop","default_branch":"main"},"installation":{"id":42},"sender":{"login":"dev"}}`)
	f.Add("deployment", `{"action":"created","deployment":{"id":1,"environment":"prod"},"repository":{"full_name":"acme/shop"},"installation":{"id":42},"sender":{"login":"dev"}}`)
	f.Add("ping", `{"zen":"x"}`)
	f.Add("pull_request", `{"pull_request":null}`)
	f.Add("issue_comment", `{"issue":{},"comment":{"body":"\n/x"}}`)
	h := newHandler(f)
	f.Fuzz(func(t *testing.T, event, body string) {
		rec := serve(h, event, webhooks.Sign(secret, []byte(body)), body)
		if rec.Code >= 500 {
			t.Fatalf("%s %q: status %d", event, body, rec.Code)
		}
	})
}

func newHandler(f *testing.F) *webhooks.Handler {
	h, err := webhooks.New(webhooks.Options{Secret: secret, Queue: &queue{seen: map[string]bool{}}})
	if err != nil {
		f.Fatal(err)
	}
	return h
}

func serve(h http.Handler, event, sig, body string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(http.MethodPost, "/webhooks/github", strings.NewReader(body))
	req.Header.Set("X-GitHub-Event", event)
	req.Header.Set("X-GitHub-Delivery", "fuzz")
	req.Header.Set("X-Hub-Signature-256", sig)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}
