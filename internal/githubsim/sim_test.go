package githubsim

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/bradleyfalzon/ghinstallation/v2"
	"github.com/google/go-github/v60/github"
)

const testSecret = "It's a Secret to Everybody"

// newSim starts a simulator with an installation on org "acme" and repository acme/app.
func newSim(t *testing.T, opts Options) (*Sim, int64) {
	t.Helper()
	sim, err := New(opts)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(sim.Close)
	inst := sim.AddInstallation("acme")
	if _, err := sim.CreateRepo("acme", "app", map[string]string{
		"README.md":         "# app\n",
		".stagecoach.yaml":  "version: 1\n",
		"infra/Pulumi.yaml": "name: app\nruntime: yaml\n",
	}); err != nil {
		t.Fatalf("CreateRepo: %v", err)
	}
	return sim, inst
}

// received is one webhook as the receiving server saw it.
type received struct {
	header    http.Header
	body      []byte
	signature bool // X-Hub-Signature-256 verified with testSecret by go-github
}

// receiver is a webhook endpoint that verifies signatures like the bot must.
type receiver struct {
	srv    *httptest.Server
	mu     sync.Mutex
	got    []received
	status int
}

func newReceiver(t *testing.T, status int) *receiver {
	t.Helper()
	rc := &receiver{status: status}
	rc.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		// go-github's check, as the bot would use it, independent of Signature256.
		ok := github.ValidateSignature(r.Header.Get("X-Hub-Signature-256"), body, []byte(testSecret)) == nil
		rc.mu.Lock()
		rc.got = append(rc.got, received{header: r.Header.Clone(), body: body, signature: ok})
		status := rc.status
		rc.mu.Unlock()
		w.WriteHeader(status)
	}))
	t.Cleanup(rc.srv.Close)
	return rc
}

func (rc *receiver) all() []received {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return append([]received(nil), rc.got...)
}

// transport returns an http.Transport private to the test, so closing it closes its connections.
func transport(t *testing.T) *http.Transport {
	t.Helper()
	tr := http.DefaultTransport.(*http.Transport).Clone()
	t.Cleanup(tr.CloseIdleConnections)
	return tr
}

// installationClient is a go-github client authenticated the production way: ghinstallation
// signs an app JWT with the sim's key and exchanges it for an installation token.
func installationClient(t *testing.T, sim *Sim, installationID int64) *github.Client {
	t.Helper()
	itr, err := ghinstallation.New(transport(t), sim.AppID(), installationID, sim.AppPrivateKeyPEM())
	if err != nil {
		t.Fatalf("ghinstallation.New: %v", err)
	}
	itr.BaseURL = sim.URL()
	gh, err := github.NewClient(&http.Client{Transport: itr}).WithEnterpriseURLs(sim.URL(), sim.URL())
	if err != nil {
		t.Fatalf("WithEnterpriseURLs: %v", err)
	}
	return gh
}

// tokenClient is a go-github client using a token minted directly.
func tokenClient(t *testing.T, sim *Sim, installationID int64) *github.Client {
	t.Helper()
	tok, err := sim.InstallationToken(installationID)
	if err != nil {
		t.Fatalf("InstallationToken: %v", err)
	}
	gh, err := github.NewClient(&http.Client{Transport: transport(t)}).WithAuthToken(tok).WithEnterpriseURLs(sim.URL(), sim.URL())
	if err != nil {
		t.Fatalf("WithEnterpriseURLs: %v", err)
	}
	return gh
}

func testContext(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func TestWaitForWakesOnStateChange(t *testing.T) {
	t.Parallel()
	sim, inst := newSim(t, Options{})
	gh := tokenClient(t, sim, inst)
	pr, err := sim.OpenPR("acme/app", PROptions{Author: "alice"})
	if err != nil {
		t.Fatal(err)
	}
	ctx := testContext(t)
	done := make(chan error, 1)
	go func() {
		done <- sim.WaitFor(ctx, func() bool { return len(sim.Comments("acme/app", pr.Number)) == 1 })
	}()
	if _, _, err := gh.Issues.CreateComment(ctx, "acme", "app", pr.Number, &github.IssueComment{Body: github.String("hi")}); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Fatalf("WaitFor: %v", err)
	}

	t.Run("returns the context error when the condition never holds", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		if err := sim.WaitFor(ctx, func() bool { return false }); err == nil {
			t.Fatal("WaitFor returned nil for a condition that never holds")
		}
	})
}
