package bot_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"github.com/stagecoach/stagecoach/internal/command"
	"github.com/stagecoach/stagecoach/internal/engine"
	"github.com/stagecoach/stagecoach/internal/engine/enginetest"
	"github.com/stagecoach/stagecoach/internal/ephemeral"
	"github.com/stagecoach/stagecoach/internal/ephemeral/demo"
	"github.com/stagecoach/stagecoach/internal/event"
	"github.com/stagecoach/stagecoach/internal/feature"
	"github.com/stagecoach/stagecoach/internal/githubapi"
	"github.com/stagecoach/stagecoach/internal/githubapp"
	"github.com/stagecoach/stagecoach/internal/githubsim"
	"github.com/stagecoach/stagecoach/internal/repoconfig"
	"github.com/stagecoach/stagecoach/internal/source"
	"github.com/stagecoach/stagecoach/internal/store"
	"github.com/stagecoach/stagecoach/internal/store/storetest"
)

// These tests drive the PR-environment feature's decisions — reconcile, sweep, teardown — in
// memory: the engine fake instead of the Pulumi CLI, jobs recorded and worked by the test, a
// real store and the GitHub simulator. They force the interleavings that lost work before.

// recordedJobs keeps the PR jobs the feature queues, for the test to work one by one.
type recordedJobs struct {
	mu   sync.Mutex
	jobs []ephemeral.PRArgs
}

func (r *recordedJobs) Insert(_ context.Context, a river.JobArgs, _ *river.InsertOpts) (*rivertype.JobInsertResult, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if pr, ok := a.(ephemeral.PRArgs); ok {
		r.jobs = append(r.jobs, pr)
	}
	return &rivertype.JobInsertResult{Job: &rivertype.JobRow{State: rivertype.JobStateAvailable}}, nil
}

func (r *recordedJobs) take() []ephemeral.PRArgs {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := r.jobs
	r.jobs = nil
	return out
}

type reconcileWorld struct {
	t      *testing.T
	sim    *githubsim.Sim
	st     *store.Store
	fake   *enginetest.Fake
	jobs   *recordedJobs
	svc    *ephemeral.Service
	worker *ephemeral.PRWorker
	router *command.Router
	clock  *onceClock
	inst   int64
}

func newReconcileWorld(t *testing.T, extra string) *reconcileWorld {
	t.Helper()
	sim, err := githubsim.New(githubsim.Options{AppSlug: "stagecoach"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(sim.Close)
	inst := sim.AddInstallation("acme")
	files := demo.Files()
	files[".stagecoach.yaml"] = demo.Config + extra
	if _, err := sim.CreateRepo("acme", "shop", files); err != nil {
		t.Fatal(err)
	}
	app, err := githubapp.New(githubapp.Config{AppID: sim.AppID(), PrivateKey: sim.AppPrivateKeyPEM(), APIURL: sim.URL()}, nil)
	if err != nil {
		t.Fatal(err)
	}
	clock := &onceClock{t: time.Now()}
	o := storetest.SQLite(t)
	o.Now, o.LeaseNow = clock.Now, time.Now
	st := storetest.Open(t, o)
	log := slog.New(slog.DiscardHandler)
	src, err := source.New(source.Config{Dir: filepath.Join(t.TempDir(), "source")}, nil, log)
	if err != nil {
		t.Fatal(err)
	}
	w := &reconcileWorld{t: t, sim: sim, st: st, fake: enginetest.NewFake(), jobs: &recordedJobs{}, clock: clock, inst: inst}
	gh := githubapi.Apps{App: app}
	w.svc = ephemeral.New(ephemeral.Options{Deps: feature.Deps{Leases: st, Jobs: w.jobs, GitHub: gh,
		Sources: src, Configs: repoconfig.NewLoaders(gh, log), Logger: log, Now: clock.Now}, Records: st, Engine: w.fake})
	w.worker = &ephemeral.PRWorker{Service: w.svc}
	w.router = command.NewRouter(gh, st, log, w.svc.Commands()...)
	sim.SetCollaborator("acme/shop", "dev", "write")
	return w
}

// deliver hands the simulator's latest pull_request delivery to the feature, as the event job does.
func (w *reconcileWorld) deliver(pr int) {
	w.t.Helper()
	ds := w.sim.Deliveries()
	for i := len(ds) - 1; i >= 0; i-- {
		if ds[i].Event == "pull_request" {
			e := event.Event{Args: event.Args{Event: "pull_request", Action: ds[i].Action, Repo: "acme/shop", InstallationID: w.inst, PR: pr}, Payload: ds[i].Payload}
			if err := w.svc.PullRequest(context.Background(), e); err != nil {
				w.t.Fatal(err)
			}
			return
		}
	}
	w.t.Fatal("no pull_request delivery")
}

// work runs every queued job to its end, as workers would.
func (w *reconcileWorld) work(ctx context.Context) {
	w.t.Helper()
	for _, a := range w.jobs.take() {
		if err := w.worker.Work(ctx, &river.Job[ephemeral.PRArgs]{JobRow: &rivertype.JobRow{ID: 1}, Args: a}); err != nil && ctx.Err() == nil {
			w.t.Fatal(err)
		}
	}
}

func (w *reconcileWorld) env(pr int) store.PREnvironment {
	w.t.Helper()
	e, err := w.st.PREnvironment(context.Background(), "acme/shop", pr)
	if err != nil {
		w.t.Fatal(err)
	}
	return e
}

func (w *reconcileWorld) ups() []string {
	var shas []string
	for _, c := range w.fake.Calls() {
		if c.Kind == string(engine.KindUp) {
			shas = append(shas, c.Request.Tags[engine.TagSHA])
		}
	}
	return shas
}

// A push recorded while a deploy runs, whose own job finds the PR's lease taken and ends at once,
// is deployed by the job that holds the lease: newest commit wins and nothing is dropped.
func TestAPushDuringADeployIsDeployedNext(t *testing.T) {
	t.Parallel()
	w := newReconcileWorld(t, "")
	upStarted, release := make(chan struct{}), make(chan struct{})
	var once sync.Once
	w.fake.OnOperation = func(kind engine.Kind, _ string, _ engine.Request) (engine.Result, error) {
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
	pr, err := w.sim.OpenPR("acme/shop", githubsim.PROptions{})
	if err != nil {
		t.Fatal(err)
	}
	w.deliver(pr.Number)
	first := w.jobs.take()
	done := make(chan struct{})
	go func() {
		defer close(done)
		for _, a := range first {
			_ = w.worker.Work(context.Background(), &river.Job[ephemeral.PRArgs]{JobRow: &rivertype.JobRow{ID: 1}, Args: a})
		}
	}()
	<-upStarted
	head, err := w.sim.PushToPR("acme/shop", pr.Number, map[string]string{"README.md": "two"})
	if err != nil {
		t.Fatal(err)
	}
	w.deliver(pr.Number)
	w.work(context.Background()) // the push's job: the lease is taken, it ends at once
	if got := w.ups(); len(got) != 1 {
		t.Fatalf("a second update started while the first held the PR: %v", got)
	}
	close(release)
	<-done
	if got := w.ups(); len(got) != 2 || got[1] != head {
		t.Fatalf("updates %v, want the first head then %s", got, head)
	}
	if e := w.env(pr.Number); e.DeployedSHA != head || e.Status != store.PRReady {
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
	w.fake.OnOperation = func(kind engine.Kind, _ string, _ engine.Request) (engine.Result, error) {
		if kind == engine.KindUp && killed {
			killed = false
			close(upStarted)
			<-ctx.Done()
			return engine.Result{}, ctx.Err()
		}
		return engine.Result{Succeeded: true}, nil
	}
	pr, err := w.sim.OpenPR("acme/shop", githubsim.PROptions{})
	if err != nil {
		t.Fatal(err)
	}
	w.deliver(pr.Number)
	go func() { <-upStarted; kill() }()
	w.work(ctx)
	if e := w.env(pr.Number); e.Status != store.PRDeploying {
		t.Fatalf("after the kill the row says %s", e.Status)
	}
	if err := w.svc.Resume(context.Background(), time.Now()); err != nil {
		t.Fatal(err)
	}
	w.work(context.Background())
	e := w.env(pr.Number)
	if e.Status != store.PRReady || e.DeployedSHA != pr.HeadSHA {
		t.Fatalf("not recovered: %s at %s", e.Status, e.DeployedSHA)
	}
	runs := w.sim.CheckRuns("acme/shop", pr.HeadSHA)
	var ours []githubsim.CheckRun
	for _, r := range runs {
		if r.Name == ephemeral.CheckName {
			ours = append(ours, r)
		}
	}
	if len(ours) != 1 || ours[0].Status != "completed" || ours[0].Conclusion != "success" {
		t.Fatalf("check runs of the head: %+v, want one completed successfully", ours)
	}
	if ds := w.sim.Deployments("acme/shop"); len(ds) != 1 {
		t.Fatalf("%d deployments, want one", len(ds))
	} else if st := w.sim.DeploymentStatuses("acme/shop", ds[0].ID); len(st) == 0 || st[len(st)-1].State != "success" {
		t.Fatalf("deployment statuses: %+v", st)
	}
}

// An environment past its TTL is destroyed by the sweep that finds it expired, not the next one.
func TestAnExpiredEnvironmentIsDestroyedByTheSweepThatFindsIt(t *testing.T) {
	t.Parallel()
	w := newReconcileWorld(t, "  ttl: 2h\n  ttl_warning: 0s\n")
	w.fake.OnOperation = func(engine.Kind, string, engine.Request) (engine.Result, error) {
		return engine.Result{Succeeded: true}, nil
	}
	pr, err := w.sim.OpenPR("acme/shop", githubsim.PROptions{})
	if err != nil {
		t.Fatal(err)
	}
	w.deliver(pr.Number)
	w.work(context.Background())
	if e := w.env(pr.Number); e.Status != store.PRReady {
		t.Fatalf("not ready: %+v", e)
	}
	w.clock.Advance(3 * time.Hour)
	if err := w.svc.Sweep(context.Background()); err != nil {
		t.Fatal(err)
	}
	w.work(context.Background())
	if e := w.env(pr.Number); e.Status != store.PRDestroyed {
		t.Fatalf("after one sweep the expired environment is %s", e.Status)
	}
}

// A failed destroy stays visible and is retried after a pause, by Resume, until it succeeds.
func TestAFailedDestroyIsRetriedAfterAPause(t *testing.T) {
	t.Parallel()
	w := newReconcileWorld(t, "")
	failDestroy := true
	w.fake.OnOperation = func(kind engine.Kind, _ string, _ engine.Request) (engine.Result, error) {
		if kind == engine.KindDestroy && failDestroy {
			return engine.Result{Errors: []string{"the cloud said no"}}, errors.New("the cloud said no")
		}
		return engine.Result{Succeeded: true}, nil
	}
	pr, err := w.sim.OpenPR("acme/shop", githubsim.PROptions{})
	if err != nil {
		t.Fatal(err)
	}
	w.deliver(pr.Number)
	w.work(context.Background())
	if err := w.sim.ClosePR("acme/shop", pr.Number, false); err != nil {
		t.Fatal(err)
	}
	w.deliver(pr.Number)
	w.work(context.Background())
	if e := w.env(pr.Number); e.Status != store.PRDestroying || e.LastError == "" {
		t.Fatalf("a failed destroy must stay visible: %s %q", e.Status, e.LastError)
	}
	// During the pause nothing is queued again.
	if err := w.svc.Resume(context.Background(), time.Now()); err != nil || len(w.jobs.take()) != 0 {
		t.Fatalf("resumed during the retry pause (%v)", err)
	}
	failDestroy = false
	deadline := time.Now().Add(time.Minute)
	for w.env(pr.Number).Status != store.PRDestroyed {
		if time.Now().After(deadline) {
			t.Fatal("the destroy was never retried")
		}
		if err := w.svc.Resume(context.Background(), time.Now()); err != nil {
			t.Fatal(err)
		}
		w.work(context.Background())
		time.Sleep(100 * time.Millisecond) // the pause is real time
	}
}

// comment writes body on pr and returns its issue_comment event, not yet processed.
func (w *reconcileWorld) comment(pr int, author, body string) event.Event {
	w.t.Helper()
	id, err := w.sim.Comment("acme/shop", pr, author, body)
	if err != nil {
		w.t.Fatal(err)
	}
	for _, d := range w.sim.Deliveries() {
		if d.Event == "issue_comment" && strings.Contains(string(d.Payload), fmt.Sprintf(`"id":%d,`, id)) {
			return event.Event{Args: event.Args{Event: "issue_comment", Repo: "acme/shop", InstallationID: w.inst, PR: pr}, Payload: d.Payload}
		}
	}
	w.t.Fatalf("no delivery for comment %d", id)
	return event.Event{}
}

func (w *reconcileWorld) replies(pr int) []string {
	var out []string
	for _, c := range w.sim.Comments("acme/shop", pr) {
		if strings.Contains(c.Body, "stagecoach:reply:") {
			out = append(out, c.Body)
		}
	}
	return out
}

// A writer reviews a fork at commit A and comments /deploy; the fork's author pushes B before the
// bot processes the comment. B — code nobody with write access has seen — is not deployed, and the
// reply says which commit to review.
func TestAForkPushBetweenDeployAndItsProcessingIsNotDeployed(t *testing.T) {
	t.Parallel()
	w := newReconcileWorld(t, "")
	pr, err := w.sim.OpenPR("acme/shop", githubsim.PROptions{Author: "eve", FromFork: true})
	if err != nil {
		t.Fatal(err)
	}
	w.deliver(pr.Number)
	w.work(context.Background())
	approve := w.comment(pr.Number, "dev", "/deploy")
	pushed, err := w.sim.PushToPR("acme/shop", pr.Number, map[string]string{"README.md": "evil"})
	if err != nil {
		t.Fatal(err)
	}
	w.deliver(pr.Number)
	if err := w.router.Process(context.Background(), approve); err != nil {
		t.Fatal(err)
	}
	w.work(context.Background())
	if ups := w.ups(); len(ups) != 0 {
		t.Fatalf("deployed %v although nobody approved %s; row %+v; replies %q", ups, pushed, w.env(pr.Number), w.replies(pr.Number))
	}
	if e := w.env(pr.Number); e.ApprovedSHA != "" {
		t.Fatalf("approved %s", e.ApprovedSHA)
	}
	if r := w.replies(pr.Number); len(r) != 1 || !strings.Contains(r[0], "Not approved") || !strings.Contains(r[0], pushed[:7]) {
		t.Fatalf("replies %q, want one refusal naming %s", r, pushed[:7])
	}
	// Approving the commit by name deploys exactly it.
	if err := w.router.Process(context.Background(), w.comment(pr.Number, "dev", "/deploy "+pushed[:7])); err != nil {
		t.Fatal(err)
	}
	w.work(context.Background())
	if ups := w.ups(); len(ups) != 1 || ups[0] != pushed {
		t.Fatalf("updates %v, want exactly %s", ups, pushed)
	}
}

// A preview runs the program too: on a fork nobody approved, /preview runs nothing.
func TestPreviewOnAnUnapprovedForkRunsNothing(t *testing.T) {
	t.Parallel()
	w := newReconcileWorld(t, "")
	pr, err := w.sim.OpenPR("acme/shop", githubsim.PROptions{Author: "eve", FromFork: true})
	if err != nil {
		t.Fatal(err)
	}
	w.deliver(pr.Number)
	w.work(context.Background())
	if err := w.router.Process(context.Background(), w.comment(pr.Number, "dev", "/preview")); err != nil {
		t.Fatal(err)
	}
	w.work(context.Background())
	if calls := w.fake.Calls(); len(calls) != 0 {
		t.Fatalf("the engine ran %d operations on an unapproved fork: %+v", len(calls), calls[0].Kind)
	}
	if r := w.replies(pr.Number); len(r) != 1 || !strings.Contains(r[0], "Not previewed") {
		t.Fatalf("replies %q", r)
	}
}
