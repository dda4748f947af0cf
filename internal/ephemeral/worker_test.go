package ephemeral

import (
	"testing"
	"time"

	"github.com/stagecoach/stagecoach/internal/engine"
	"github.com/stagecoach/stagecoach/internal/store"
)

func TestNextStep(t *testing.T) {
	t.Parallel()
	deploy := store.PREnvironment{Want: store.WantDeploy, DesiredSeq: 3, DeployedSeq: 2, FailedSeq: 1, Slot: 0, Status: store.PRReady}
	with := func(fn func(*store.PREnvironment)) store.PREnvironment { return changed(deploy, fn) }
	for _, tc := range []struct {
		name string
		env  store.PREnvironment
		want step
	}{
		{"a head newer than the deployed and the failed one is deployed", deploy, stepDeploy},
		{"a PR waiting for a slot tries again", with(func(e *store.PREnvironment) { e.Status, e.Slot = store.PRQueued, -1 }), stepDeploy},
		{"the deployed head is not deployed again", with(func(e *store.PREnvironment) { e.DeployedSeq = 3 }), stepNone},
		{"a head that failed is not retried by itself", with(func(e *store.PREnvironment) { e.FailedSeq = 3 }), stepNone},
		{"a destroy goes before a deploy and a preview", with(func(e *store.PREnvironment) { e.Want, e.PreviewWanted = store.WantDestroy, true }), stepDestroy},
		{"a deploy goes before a preview", with(func(e *store.PREnvironment) { e.PreviewWanted = true }), stepDeploy},
		{"a preview of a deployed head", with(func(e *store.PREnvironment) { e.DeployedSeq, e.PreviewWanted = 3, true }), stepPreview},
		{"a preview without an environment", store.PREnvironment{Want: store.WantNothing, PreviewWanted: true, Slot: -1}, stepPreview},
		{"a draft's reason gets a first comment", store.PREnvironment{Want: store.WantNothing, Summary: "Draft pull requests…", Slot: -1}, stepExplain},
		{"a reason already commented is not said twice", store.PREnvironment{Want: store.WantNothing, Summary: "Draft…", CommentID: 9, Slot: -1}, stepNone},
		{"a fork's unapproved head is explained", with(func(e *store.PREnvironment) {
			e.DeployedSeq, e.Fork, e.HeadSHA, e.ApprovedSHA = 3, true, "new", "old"
		}), stepExplain},
		{"a fork's approved head needs nothing", with(func(e *store.PREnvironment) {
			e.DeployedSeq, e.Fork, e.HeadSHA, e.ApprovedSHA = 3, true, "new", "new"
		}), stepNone},
		{"a destroyed fork's environment is not explained again", store.PREnvironment{Want: store.WantNothing, Fork: true, HeadSHA: "new",
			ApprovedSHA: "old", Status: store.PRDestroyed, CommentID: 9, Slot: -1}, stepNone},
		{"an idle row needs nothing", store.PREnvironment{Want: store.WantNothing, Slot: -1}, stepNone},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if got := nextStep(tc.env); got != tc.want {
				t.Fatalf("nextStep = %d, want %d", got, tc.want)
			}
		})
	}
}

// Resume queues a job for every row needsWork reports; a job that then finds nothing to do would
// be queued again every few seconds, for ever.
func TestEveryRowResumeQueuesHasAStep(t *testing.T) {
	t.Parallel()
	n := 0
	for _, want := range []string{store.WantNothing, store.WantDeploy, store.WantDestroy} {
		for _, status := range []string{store.PRIdle, store.PRQueued, store.PRReady, store.PRFailed, store.PRDestroyed} {
			for seqs := range 27 { // desired, deployed, failed each in 0..2
				for flags := range 16 { // preview wanted, commented, summary, fork with an unapproved head
					e := store.PREnvironment{Want: want, Status: status, Slot: -1,
						DesiredSeq: int64(seqs % 3), DeployedSeq: int64(seqs / 3 % 3), FailedSeq: int64(seqs / 9),
						PreviewWanted: flags&1 != 0, HeadSHA: "b", ApprovedSHA: "b"}
					if flags&2 != 0 {
						e.CommentID = 9
					}
					if flags&4 != 0 {
						e.Summary = "a reason"
					}
					if flags&8 != 0 {
						e.Fork, e.ApprovedSHA = true, "a"
					}
					if needsWork(e) && nextStep(e) == stepNone {
						t.Fatalf("want %q, status %q, desired/deployed/failed %d/%d/%d, preview %v, comment %d, summary %q, fork %v: "+
							"needsWork is true but nextStep has nothing to do", e.Want, e.Status, e.DesiredSeq, e.DeployedSeq, e.FailedSeq,
							e.PreviewWanted, e.CommentID, e.Summary, e.Fork)
					}
					n++
				}
			}
		}
	}
	if n != 3*5*27*16 {
		t.Fatalf("checked %d rows", n)
	}
}

func TestTornDown(t *testing.T) {
	t.Parallel()
	headAt := time.Date(2026, 11, 27, 9, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		name       string
		env        store.PREnvironment
		mayHave    bool // a stack may exist: teardown destroys it
		destroyed  bool // one did and is gone
		wantStatus string
	}{
		{"a deployed environment", store.PREnvironment{Status: store.PRDestroying, Slot: 4, DeployedSeq: 2}, true, true, store.PRDestroyed},
		{"a failed first deploy that held a slot", store.PREnvironment{Status: store.PRDestroying, Slot: 4, FailedSeq: 1}, true, false, store.PRDestroyed},
		{"deployed once, its slot given back already", store.PREnvironment{Status: store.PRDestroying, Slot: -1, DeployedSeq: 1}, true, false, store.PRDestroyed},
		{"an orphan found in the backend", store.PREnvironment{Status: store.PRIdle, Slot: -1, Project: "shop"}, true, true, store.PRDestroyed},
		{"an orphan whose stack was gone already", store.PREnvironment{Status: store.PRIdle, Slot: -1, Project: "shop"}, true, false, store.PRIdle},
		{"a PR that never had an environment", store.PREnvironment{Status: store.PRQueued, Slot: -1, FailedSeq: 2}, false, false, store.PRQueued},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if got := mayHaveStack(tc.env); got != tc.mayHave {
				t.Errorf("mayHaveStack = %v, want %v", got, tc.mayHave)
			}
			e := tc.env
			e.Repo, e.PR, e.Stack, e.Want, e.CommentID, e.HeadSHA, e.HeadSeq, e.HeadAt = "o/r", 7, "pr-7", store.WantDestroy, 11, "h", 5, headAt
			e.DesiredSHA, e.DesiredSeq, e.DeployedSHA, e.PreviewWanted, e.EnvURL, e.LastError = "h", 4, "d", true, "https://x", "destroy failed"
			e.Summary, e.QueuedAt, e.DeploymentSHA, e.CheckSHA = "Update: 1 created", headAt, "d", "d"
			tornDown(&e, tc.destroyed)
			want := store.PREnvironment{Repo: "o/r", PR: 7, Stack: "pr-7", Project: tc.env.Project, Status: tc.wantStatus,
				Want: store.WantNothing, Slot: -1, CommentID: 11, HeadSHA: "h", HeadSeq: 5, HeadAt: headAt,
				DesiredSHA: "h", DesiredSeq: 5}
			if e != want {
				t.Fatalf("torn down:\n%+v\nwant:\n%+v", e, want)
			}
			if next := nextStep(e); next != stepNone {
				t.Fatalf("a torn-down row has step %d next, want none (the job would loop)", next)
			}
		})
	}
}

// changed returns a copy of e changed by fn.
func changed(e store.PREnvironment, fn func(*store.PREnvironment)) store.PREnvironment {
	fn(&e)
	return e
}

func TestDeployed(t *testing.T) {
	t.Parallel()
	ec := defaults(t)
	now := time.Date(2026, 11, 27, 9, 0, 0, 0, time.UTC)
	first := now.Add(-48 * time.Hour)
	up := engine.Result{Kind: engine.KindUp, Succeeded: true, Counts: map[engine.Op]int{engine.OpUpdate: 1},
		Outputs: map[string]engine.Output{ec.URLOutput: {Value: `"https://pr-7.example.com"`}}}
	deploying := store.PREnvironment{Status: store.PRDeploying, DeployedSHA: "a", DeployedSeq: 2, FirstDeployedAt: first,
		LastError: "preview failed: x", EnvURL: "https://old.example.com", ExpiresAt: now, Warned: true}
	for _, tc := range []struct {
		name    string
		env     store.PREnvironment
		res     engine.Result
		sha     string
		seq     int64
		wantSHA string
		wantSeq int64
		wantURL string
	}{
		{"a newer head becomes the deployed one", deploying, up, "c", 3, "c", 3, "https://pr-7.example.com"},
		{"an older head finished late does not take the deployed one back", deploying, up, "b", 1, "a", 2, "https://pr-7.example.com"},
		{"a secret URL output is not shown", deploying, engine.Result{Kind: engine.KindUp, Outputs: map[string]engine.Output{
			ec.URLOutput: {Value: "https://secret.example.com", Secret: true}}}, "c", 3, "c", 3, "https://old.example.com"},
		{"without a URL output the old URL stays", deploying, engine.Result{Kind: engine.KindUp}, "c", 3, "c", 3, "https://old.example.com"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := tc.env
			deployed(&e, ec, tc.res, tc.sha, tc.seq, now)
			if e.Status != store.PRReady || e.LastError != "" || e.Summary == "" {
				t.Errorf("status %q, last error %q, summary %q: want ready, no error, a summary", e.Status, e.LastError, e.Summary)
			}
			if e.DeployedSHA != tc.wantSHA || e.DeployedSeq != tc.wantSeq {
				t.Errorf("deployed %s (%d), want %s (%d)", e.DeployedSHA, e.DeployedSeq, tc.wantSHA, tc.wantSeq)
			}
			if e.EnvURL != tc.wantURL {
				t.Errorf("URL %q, want %q", e.EnvURL, tc.wantURL)
			}
			if !e.ExpiresAt.Equal(now.Add(ec.TTL)) || e.Warned || !e.FirstDeployedAt.Equal(first) {
				t.Errorf("expires %s, warned %v, first deployed %s: want %s, false, %s", e.ExpiresAt, e.Warned, e.FirstDeployedAt, now.Add(ec.TTL), first)
			}
		})
	}
	t.Run("a first deploy records when it happened", func(t *testing.T) {
		t.Parallel()
		e := store.PREnvironment{Status: store.PRDeploying}
		deployed(&e, ec, up, "a", 1, now)
		if !e.FirstDeployedAt.Equal(now) {
			t.Fatalf("first deployed %s, want %s", e.FirstDeployedAt, now)
		}
	})
}
