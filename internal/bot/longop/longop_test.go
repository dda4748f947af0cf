package longop_test

import (
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/riverqueue/river"

	"github.com/stagecoach/stagecoach/internal/bot/bottest"
	"github.com/stagecoach/stagecoach/internal/engine/enginetest"
	"github.com/stagecoach/stagecoach/internal/ephemeral"
	"github.com/stagecoach/stagecoach/internal/githubsim"
	"github.com/stagecoach/stagecoach/internal/toolchain"
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

// TestPREnvironmentLongOperations deploys and destroys a PR environment whose `pulumi up` takes
// 75 s and whose `pulumi destroy` takes 90 s: longer than River's default one-minute job timeout.
// Each must run once, to the end, with one comment, one check run and no job retried.
func TestPREnvironmentLongOperations(t *testing.T) {
	t.Parallel()
	tools := enginetest.Tools(t)
	const upDelay, destroyDelay = 75 * time.Second, 90 * time.Second
	wrapper := slowPulumi(t, tools, upDelay, destroyDelay)
	var logs lockedBuffer
	w := bottest.New(t, bottest.Logger(slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))),
		bottest.Settings(map[string]string{"STAGECOACH_PULUMI_COMMAND": wrapper, "STAGECOACH_SHUTDOWN_TIMEOUT": "5s",
			"STAGECOACH_GITHUB_APP_SLUG": "stagecoach"}))
	b := w.StartBot(bottest.BotOptions{Replica: "longop"})

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

	w.Explain = func() string {
		failedMu.Lock()
		defer failedMu.Unlock()
		return fmt.Sprintf("failed job attempts: %q\nthe bot's log ends with:\n%s", failed, logs.tail(40))
	}
	noRetries := func(when string) {
		t.Helper()
		failedMu.Lock()
		defer failedMu.Unlock()
		if len(failed) > 0 {
			t.Errorf("%s: %d job attempts failed (each one a retry), want none:\n%s", when, len(failed), strings.Join(failed, "\n"))
		}
	}

	pr := w.OpenPR(githubsim.PROptions{})
	started := time.Now()
	// The deploy takes at least upDelay; allow as much again for the CLI and the rest of the package.
	w.WaitWithin("the PR environment after a 75 s `pulumi up`", upDelay+2*time.Minute, func() bool {
		return w.StatusIs(pr.Number, "ready", "Commit "+pr.HeadSHA[:7]+" is deployed")
	})
	t.Logf("ready %s after the PR was opened", time.Since(started).Round(time.Second))
	runs := w.CheckRuns(pr.HeadSHA, ephemeral.CheckName)
	if len(runs) != 1 || runs[0].Status != "completed" || runs[0].Conclusion != "success" {
		t.Errorf("check runs %q for the head = %+v, want exactly one, completed with success", ephemeral.CheckName, runs)
	}
	deploymentStates := func() (int, []string) {
		deps, states := w.Deployments("pr-1"), []string(nil)
		for _, d := range deps {
			states = append(states, w.States(d)...)
		}
		return len(deps), states
	}
	if n, states := deploymentStates(); n != 1 || len(states) == 0 || states[len(states)-1] != "success" {
		t.Errorf("%d deployments of pr-1 with statuses %v, want one whose latest status is success", n, states)
	}
	noRetries("after the deploy")

	w.Close(pr.Number, false)
	started = time.Now()
	w.WaitWithin("the teardown after a 90 s `pulumi destroy`", destroyDelay+2*time.Minute, func() bool { return w.StatusIs(pr.Number, "destroyed") })
	t.Logf("destroyed %s after the PR was closed", time.Since(started).Round(time.Second))
	if n, states := deploymentStates(); n != 1 || len(states) == 0 || states[len(states)-1] != "inactive" {
		t.Errorf("%d deployments of pr-1 with statuses %v, want one whose latest status is inactive", n, states)
	}
	if n := len(w.StatusComments(pr.Number)); n != 1 {
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
