package longop_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/riverqueue/river"

	"github.com/stagecoach/stagecoach/internal/bot"
	"github.com/stagecoach/stagecoach/internal/config"
	"github.com/stagecoach/stagecoach/internal/ephemeral"
	"github.com/stagecoach/stagecoach/internal/ephemeral/demo"
	"github.com/stagecoach/stagecoach/internal/githubsim"
	"github.com/stagecoach/stagecoach/internal/testenv"
	"github.com/stagecoach/stagecoach/internal/toolchain"
)

const (
	secret = "webhook-secret"
	repo   = "acme/shop"
)

// slowPulumi writes a wrapper around the real pulumi CLI that sleeps upDelay before `up` and
// destroyDelay before `destroy`, then execs the real CLI. A signal during the sleep ends the
// wrapper (and its sleep) at once, as it would end a real operation. The real CLI's directory goes
// first on PATH, so the CLI finds its bundled YAML host there and prints no "from $PATH" warning.
func slowPulumi(t *testing.T, tools toolchain.Tools, upDelay, destroyDelay time.Duration) string {
	t.Helper()
	real, err := filepath.EvalSymlinks(tools.Pulumi)
	if err != nil {
		t.Fatal(err)
	}
	script := fmt.Sprintf(`#!/bin/sh
PATH='%s':"$PATH"
export PATH
delay=0
for a in "$@"; do
	case "$a" in
	up) delay=%d ;;
	destroy) delay=%d ;;
	esac
done
if [ "$delay" -gt 0 ]; then
	trap 'kill "$pid" 2>/dev/null; exit 130' INT TERM
	sleep "$delay" &
	pid=$!
	wait "$pid"
fi
exec '%s' "$@"
`, filepath.Dir(real), int(upDelay.Seconds()), int(destroyDelay.Seconds()), real)
	path := filepath.Join(t.TempDir(), "pulumi")
	if err := os.WriteFile(path, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	return path
}

// requirePulumi finds the real CLI; without one the test fails when STAGECOACH_REQUIRE_TOOLS is
// set (CI) and is skipped otherwise.
func requirePulumi(t *testing.T) toolchain.Tools {
	t.Helper()
	tools, err := toolchain.Find(context.Background(), toolchain.Options{})
	if err != nil {
		testenv.SkipOrFail(t, "the Pulumi CLI is not installed (%v); run `bot toolchain install`", err)
	}
	return tools
}

// TestPREnvironmentLongOperations deploys and destroys a PR environment whose `pulumi up` takes
// 75 s and whose `pulumi destroy` takes 90 s: longer than River's default one-minute job timeout.
// Each must run once, to the end, with one comment, one check run and no job retried.
func TestPREnvironmentLongOperations(t *testing.T) {
	t.Parallel()
	tools := requirePulumi(t)
	const upDelay, destroyDelay = 75 * time.Second, 90 * time.Second
	wrapper := slowPulumi(t, tools, upDelay, destroyDelay)

	sim, err := githubsim.New(githubsim.Options{WebhookSecret: secret, AppSlug: "stagecoach"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(sim.Close)
	sim.AddInstallation("acme")
	if _, err := sim.CreateRepo("acme", "shop", demo.Files()); err != nil {
		t.Fatal(err)
	}
	sim.SetCollaborator(repo, "dev", "write")

	env := map[string]string{
		"STAGECOACH_ADDR":                  "127.0.0.1:0",
		"STAGECOACH_DATA_DIR":              t.TempDir(),
		"STAGECOACH_WEBHOOK_SECRET":        secret,
		"STAGECOACH_GITHUB_APP_ID":         strconv.FormatInt(sim.AppID(), 10),
		"STAGECOACH_GITHUB_PRIVATE_KEY":    string(sim.AppPrivateKeyPEM()),
		"STAGECOACH_GITHUB_API_URL":        sim.URL(),
		"STAGECOACH_GITHUB_APP_SLUG":       "stagecoach",
		"STAGECOACH_PULUMI_COMMAND":        wrapper,
		"STAGECOACH_SHUTDOWN_TIMEOUT":      "5s",
		"STAGECOACH_GITHUB_MAX_RETRIES":    "3",
		"STAGECOACH_GITHUB_MAX_RETRY_WAIT": "2s",
		"PULUMI_CONFIG_PASSPHRASE":         "test",
	}
	cfg, err := config.Load(func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	var logs lockedBuffer
	logger := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	b, err := bot.New(context.Background(), bot.Options{Config: cfg, Logger: logger, ReplicaID: "longop"})
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Stop() })
	sim.SetWebhookURL("http://" + b.Addr() + "/webhooks/github")

	// Every failed attempt (an error, a timeout's cancellation, a panic) is a retry or a discard.
	events, unsubscribe := b.Queue().Subscribe(river.EventKindJobFailed)
	defer unsubscribe()
	var failedMu sync.Mutex
	var failed []string
	done := make(chan struct{})
	defer close(done)
	go func() {
		for {
			select {
			case e, ok := <-events:
				if !ok {
					return
				}
				failedMu.Lock()
				msg := ""
				if n := len(e.Job.Errors); n > 0 {
					msg = e.Job.Errors[n-1].Error
				}
				failed = append(failed, fmt.Sprintf("%s job %d attempt %d: %s", e.Job.Kind, e.Job.ID, e.Job.Attempt, msg))
				failedMu.Unlock()
			case <-done:
				return
			}
		}
	}()

	statusComments := func() []githubsim.Comment {
		var out []githubsim.Comment
		for _, c := range sim.Comments(repo, 1) {
			if strings.Contains(c.Body, ephemeral.Marker) {
				out = append(out, c)
			}
		}
		return out
	}
	statusIs := func(status string) bool {
		cs := statusComments()
		return len(cs) == 1 && strings.Contains(cs[0].Body, "**"+status+"**")
	}
	wait := func(what string, within time.Duration, cond func() bool) {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), within)
		defer cancel()
		if err := sim.WaitFor(ctx, cond); err != nil {
			failedMu.Lock()
			defer failedMu.Unlock()
			var bodies []string
			for _, c := range sim.Comments(repo, 1) {
				bodies = append(bodies, c.Author+": "+c.Body)
			}
			t.Fatalf("waiting for %s: %v\nfailed job attempts: %q\ncomments:\n%s\nthe bot's log ends with:\n%s",
				what, err, failed, strings.Join(bodies, "\n---\n"), logs.tail(40))
		}
	}
	noRetries := func(when string) {
		t.Helper()
		failedMu.Lock()
		defer failedMu.Unlock()
		if len(failed) > 0 {
			t.Errorf("%s: %d job attempts failed (each one a retry), want none:\n%s", when, len(failed), strings.Join(failed, "\n"))
		}
	}

	pr, err := sim.OpenPR(repo, githubsim.PROptions{Author: "dev", Branch: "feature-1", Files: map[string]string{"app/f1.txt": "x"}})
	if err != nil {
		t.Fatal(err)
	}
	started := time.Now()
	// The deploy takes at least upDelay; allow as much again for the CLI and the rest of the package.
	wait("the PR environment after a 75 s `pulumi up`", upDelay+2*time.Minute, func() bool {
		return statusIs("ready") && strings.Contains(statusComments()[0].Body, "Commit "+pr.HeadSHA[:7]+" is deployed")
	})
	t.Logf("ready %s after the PR was opened", time.Since(started).Round(time.Second))
	var runs []githubsim.CheckRun
	for _, r := range sim.CheckRuns(repo, pr.HeadSHA) {
		if r.Name == ephemeral.CheckName {
			runs = append(runs, r)
		}
	}
	if len(runs) != 1 || runs[0].Status != "completed" || runs[0].Conclusion != "success" {
		t.Errorf("check runs %q for the head = %+v, want exactly one, completed with success", ephemeral.CheckName, runs)
	}
	deploymentStates := func() (int, []string) {
		n, states := 0, []string(nil)
		for _, d := range sim.Deployments(repo) {
			if d.Environment != "pr-1" {
				continue
			}
			n++
			for _, s := range sim.DeploymentStatuses(repo, d.ID) {
				states = append(states, s.State)
			}
		}
		return n, states
	}
	if n, states := deploymentStates(); n != 1 || len(states) == 0 || states[len(states)-1] != "success" {
		t.Errorf("%d deployments of pr-1 with statuses %v, want one whose latest status is success", n, states)
	}
	noRetries("after the deploy")

	if err := sim.ClosePR(repo, pr.Number, false); err != nil {
		t.Fatal(err)
	}
	started = time.Now()
	wait("the teardown after a 90 s `pulumi destroy`", destroyDelay+2*time.Minute, func() bool { return statusIs("destroyed") })
	t.Logf("destroyed %s after the PR was closed", time.Since(started).Round(time.Second))
	if n, states := deploymentStates(); n != 1 || len(states) == 0 || states[len(states)-1] != "inactive" {
		t.Errorf("%d deployments of pr-1 with statuses %v, want one whose latest status is inactive", n, states)
	}
	if n := len(statusComments()); n != 1 {
		t.Errorf("%d status comments, want 1", n)
	}
	noRetries("after the teardown")
}

// lockedBuffer is a log sink safe for concurrent writes that keeps everything written.
type lockedBuffer struct {
	mu  sync.Mutex
	buf strings.Builder
}

var _ io.Writer = (*lockedBuffer)(nil)

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

// tail returns the last n lines written.
func (b *lockedBuffer) tail(n int) string {
	b.mu.Lock()
	defer b.mu.Unlock()
	lines := strings.Split(strings.TrimRight(b.buf.String(), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
