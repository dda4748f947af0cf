package bot_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stagecoach/stagecoach/internal/bot/bottest"
	"github.com/stagecoach/stagecoach/internal/engine"
	"github.com/stagecoach/stagecoach/internal/ephemeral"
	"github.com/stagecoach/stagecoach/internal/githubsim"
	"github.com/stagecoach/stagecoach/internal/store"
)

// These tests drive the PR-environment feature's decisions — reconcile, sweep, teardown — in
// memory: the engine fake instead of the Pulumi CLI, jobs recorded and worked by the test, a
// real store and the GitHub simulator. They force the interleavings that lost work before.

// newReconcileWorld is the PR-environment feature wired without River on the sample repository,
// extra appended to its ephemeral section, with the clock at the wall clock's time, stopped.
func newReconcileWorld(t *testing.T, extra string) *bottest.World {
	t.Helper()
	return bottest.New(t, bottest.Features(), bottest.WithClock(bottest.ClockAt(time.Now())), bottest.ExtraConfig(extra))
}

// A push recorded while a deploy runs, whose own job finds the PR's lease taken and ends at once,
// is deployed by the job that holds the lease: newest commit wins and nothing is dropped.
func TestAPushDuringADeployIsDeployedNext(t *testing.T) {
	t.Parallel()
	w := newReconcileWorld(t, "")
	upStarted, release := make(chan struct{}), make(chan struct{})
	var once sync.Once
	w.Engine.OnOperation = func(kind engine.Kind, _ string, _ engine.Request) (engine.Result, error) {
		if kind == engine.KindUp {
			first := false
			once.Do(func() { first = true })
			if first {
				close(upStarted)
				<-release
			}
		}
		return engine.Result{Succeeded: true}, nil
	}
	pr := w.OpenPR(githubsim.PROptions{})
	w.Deliver(pr.Number)
	first := w.Jobs.Take()
	done := make(chan struct{})
	go func() {
		defer close(done)
		for _, a := range first {
			_ = w.WorkJob(context.Background(), a)
		}
	}()
	<-upStarted
	head := w.Push(pr.Number, map[string]string{"README.md": "two"})
	w.Deliver(pr.Number)
	w.Work(context.Background()) // the push's job: the lease is taken, it ends at once
	if got := w.Ups(); len(got) != 1 {
		t.Fatalf("a second update started while the first held the PR: %v", got)
	}
	close(release)
	<-done
	if got := w.Ups(); len(got) != 2 || got[1] != head {
		t.Fatalf("updates %v, want the first head then %s", got, head)
	}
	if e := w.PREnv(pr.Number); e.DeployedSHA != head || e.Status != store.PRReady {
		t.Fatalf("environment %s at %s, want ready at %s", e.Status, e.DeployedSHA, head)
	}
}

// A deploy whose worker died mid-update (here: its context ended) is taken up again by Resume
// and finishes the head's check run and deployment instead of leaving them in progress beside
// new ones.
func TestADeployTakenUpAgainFinishesItsCheckRunAndDeployment(t *testing.T) {
	t.Parallel()
	w := newReconcileWorld(t, "")
	killed := true
	upStarted := make(chan struct{})
	ctx, kill := context.WithCancel(context.Background())
	w.Engine.OnOperation = func(kind engine.Kind, _ string, _ engine.Request) (engine.Result, error) {
		if kind == engine.KindUp && killed {
			killed = false
			close(upStarted)
			<-ctx.Done()
			return engine.Result{}, ctx.Err()
		}
		return engine.Result{Succeeded: true}, nil
	}
	pr := w.OpenPR(githubsim.PROptions{})
	w.Deliver(pr.Number)
	go func() { <-upStarted; kill() }()
	w.Work(ctx)
	if e := w.PREnv(pr.Number); e.Status != store.PRDeploying {
		t.Fatalf("after the kill the row says %s", e.Status)
	}
	if err := w.Ephemeral.Resume(context.Background(), time.Now()); err != nil {
		t.Fatal(err)
	}
	w.Work(context.Background())
	e := w.PREnv(pr.Number)
	if e.Status != store.PRReady || e.DeployedSHA != pr.HeadSHA {
		t.Fatalf("not recovered: %s at %s", e.Status, e.DeployedSHA)
	}
	runs := w.Sim.CheckRuns("acme/shop", pr.HeadSHA)
	var ours []githubsim.CheckRun
	for _, r := range runs {
		if r.Name == ephemeral.CheckName {
			ours = append(ours, r)
		}
	}
	if len(ours) != 1 || ours[0].Status != "completed" || ours[0].Conclusion != "success" {
		t.Fatalf("check runs of the head: %+v, want one completed successfully", ours)
	}
	if ds := w.Sim.Deployments("acme/shop"); len(ds) != 1 {
		t.Fatalf("%d deployments, want one", len(ds))
	} else if st := w.Sim.DeploymentStatuses("acme/shop", ds[0].ID); len(st) == 0 || st[len(st)-1].State != "success" {
		t.Fatalf("deployment statuses: %+v", st)
	}
}

// An environment past its TTL is destroyed by the sweep that finds it expired, not the next one.
func TestAnExpiredEnvironmentIsDestroyedByTheSweepThatFindsIt(t *testing.T) {
	t.Parallel()
	w := newReconcileWorld(t, "  ttl: 2h\n  ttl_warning: 0s\n")
	w.Engine.OnOperation = func(engine.Kind, string, engine.Request) (engine.Result, error) {
		return engine.Result{Succeeded: true}, nil
	}
	pr := w.OpenPR(githubsim.PROptions{})
	w.Deliver(pr.Number)
	w.Work(context.Background())
	if e := w.PREnv(pr.Number); e.Status != store.PRReady {
		t.Fatalf("not ready: %+v", e)
	}
	w.Clock.Advance(3 * time.Hour)
	if err := w.Ephemeral.Sweep(context.Background()); err != nil {
		t.Fatal(err)
	}
	w.Work(context.Background())
	if e := w.PREnv(pr.Number); e.Status != store.PRDestroyed {
		t.Fatalf("after one sweep the expired environment is %s", e.Status)
	}
}

// A failed destroy stays visible and is retried after a pause, by Resume, until it succeeds.
func TestAFailedDestroyIsRetriedAfterAPause(t *testing.T) {
	t.Parallel()
	w := newReconcileWorld(t, "")
	failDestroy := true
	w.Engine.OnOperation = func(kind engine.Kind, _ string, _ engine.Request) (engine.Result, error) {
		if kind == engine.KindDestroy && failDestroy {
			return engine.Result{Errors: []string{"the cloud said no"}}, errors.New("the cloud said no")
		}
		return engine.Result{Succeeded: true}, nil
	}
	pr := w.OpenPR(githubsim.PROptions{})
	w.Deliver(pr.Number)
	w.Work(context.Background())
	w.Close(pr.Number, false)
	w.Deliver(pr.Number)
	w.Work(context.Background())
	if e := w.PREnv(pr.Number); e.Status != store.PRDestroying || e.LastError == "" {
		t.Fatalf("a failed destroy must stay visible: %s %q", e.Status, e.LastError)
	}
	// During the pause nothing is queued again.
	if err := w.Ephemeral.Resume(context.Background(), time.Now()); err != nil || len(w.Jobs.Take()) != 0 {
		t.Fatalf("resumed during the retry pause (%v)", err)
	}
	failDestroy = false
	deadline := time.Now().Add(time.Minute)
	for w.PREnv(pr.Number).Status != store.PRDestroyed {
		if time.Now().After(deadline) {
			t.Fatal("the destroy was never retried")
		}
		if err := w.Ephemeral.Resume(context.Background(), time.Now()); err != nil {
			t.Fatal(err)
		}
		w.Work(context.Background())
		time.Sleep(100 * time.Millisecond) // the pause is real time
	}
}

// A writer reviews a fork at commit A and comments /deploy; the fork's author pushes B before the
// bot processes the comment. B — code nobody with write access has seen — is not deployed, and the
// reply says which commit to review.
func TestAForkPushBetweenDeployAndItsProcessingIsNotDeployed(t *testing.T) {
	t.Parallel()
	w := newReconcileWorld(t, "")
	pr := w.OpenPR(githubsim.PROptions{Author: "eve", FromFork: true})
	w.Deliver(pr.Number)
	w.Work(context.Background())
	_, approve := w.CommentEvent(pr.Number, "dev", "/deploy")
	pushed := w.Push(pr.Number, map[string]string{"README.md": "evil"})
	w.Deliver(pr.Number)
	if err := w.Router.Process(context.Background(), approve); err != nil {
		t.Fatal(err)
	}
	w.Work(context.Background())
	if ups := w.Ups(); len(ups) != 0 {
		t.Fatalf("deployed %v although nobody approved %s; row %+v; replies %q", ups, pushed, w.PREnv(pr.Number), w.Replies(pr.Number))
	}
	if e := w.PREnv(pr.Number); e.ApprovedSHA != "" {
		t.Fatalf("approved %s", e.ApprovedSHA)
	}
	if r := w.Replies(pr.Number); len(r) != 1 || !strings.Contains(r[0], "Not approved") || !strings.Contains(r[0], pushed[:7]) {
		t.Fatalf("replies %q, want one refusal naming %s", r, pushed[:7])
	}
	// Approving the commit by name deploys exactly it.
	_, deploy := w.CommentEvent(pr.Number, "dev", "/deploy "+pushed[:7])
	if err := w.Router.Process(context.Background(), deploy); err != nil {
		t.Fatal(err)
	}
	w.Work(context.Background())
	if ups := w.Ups(); len(ups) != 1 || ups[0] != pushed {
		t.Fatalf("updates %v, want exactly %s", ups, pushed)
	}
}

// A preview runs the program too: on a fork nobody approved, /preview runs nothing.
func TestPreviewOnAnUnapprovedForkRunsNothing(t *testing.T) {
	t.Parallel()
	w := newReconcileWorld(t, "")
	pr := w.OpenPR(githubsim.PROptions{Author: "eve", FromFork: true})
	w.Deliver(pr.Number)
	w.Work(context.Background())
	_, preview := w.CommentEvent(pr.Number, "dev", "/preview")
	if err := w.Router.Process(context.Background(), preview); err != nil {
		t.Fatal(err)
	}
	w.Work(context.Background())
	if calls := w.Engine.Calls(); len(calls) != 0 {
		t.Fatalf("the engine ran %d operations on an unapproved fork: %+v", len(calls), calls[0].Kind)
	}
	if r := w.Replies(pr.Number); len(r) != 1 || !strings.Contains(r[0], "Not previewed") {
		t.Fatalf("replies %q", r)
	}
}
