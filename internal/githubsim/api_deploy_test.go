package githubsim

import (
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-github/v60/github"
)

func TestCheckRuns(t *testing.T) {
	t.Parallel()
	sim, inst := newSim(t, Options{})
	gh := installationClient(t, sim, inst)
	ctx := testContext(t)
	pr, err := sim.OpenPR("acme/app", PROptions{Author: "alice"})
	if err != nil {
		t.Fatal(err)
	}
	create := func(name string) *github.CheckRun {
		t.Helper()
		cr, _, err := gh.Checks.CreateCheckRun(ctx, "acme", "app", github.CreateCheckRunOptions{
			Name: name, HeadSHA: pr.HeadSHA, Status: github.String("in_progress"),
			Output: &github.CheckRunOutput{Title: github.String("Preview"), Summary: github.String("running")},
		})
		if err != nil {
			t.Fatalf("CreateCheckRun: %v", err)
		}
		return cr
	}
	first := create("stagecoach/preview")
	_, _, err = gh.Checks.UpdateCheckRun(ctx, "acme", "app", first.GetID(), github.UpdateCheckRunOptions{
		Name: "stagecoach/preview", Conclusion: github.String("failure"),
		Output: &github.CheckRunOutput{Title: github.String("Preview failed"), Summary: github.String("boom"), Text: github.String("log")},
	})
	if err != nil {
		t.Fatalf("UpdateCheckRun: %v", err)
	}
	second := create("stagecoach/preview")

	t.Run("listing keeps the latest run per name by default", func(t *testing.T) {
		res, _, err := gh.Checks.ListCheckRunsForRef(ctx, "acme", "app", pr.HeadSHA, nil)
		if err != nil || res.GetTotal() != 1 || res.CheckRuns[0].GetID() != second.GetID() {
			t.Fatalf("ListCheckRunsForRef = %+v, %v", res, err)
		}
		all, _, err := gh.Checks.ListCheckRunsForRef(ctx, "acme", "app", "refs/pull/1/head", &github.ListCheckRunsOptions{Filter: github.String("all")})
		if err != nil || all.GetTotal() != 2 {
			t.Fatalf("filter=all = %+v, %v", all, err)
		}
		if got := all.CheckRuns[0].PullRequests; len(got) != 1 || got[0].GetNumber() != pr.Number {
			t.Errorf("check run pull_requests = %+v", got)
		}
	})

	t.Run("completion is recorded", func(t *testing.T) {
		runs := sim.CheckRuns("acme/app", pr.HeadSHA)
		if len(runs) != 2 {
			t.Fatalf("CheckRuns = %+v", runs)
		}
		r := runs[0]
		if r.Status != "completed" || r.Conclusion != "failure" || r.Title != "Preview failed" || r.Text != "log" || r.CompletedAt.IsZero() {
			t.Errorf("first run = %+v", r)
		}
	})

	t.Run("summary or text over 65535 characters is 422", func(t *testing.T) {
		long := strings.Repeat("x", 65536)
		for _, out := range []*github.CheckRunOutput{
			{Title: github.String("t"), Summary: github.String(long)},
			{Title: github.String("t"), Summary: github.String("s"), Text: github.String(long)},
		} {
			_, _, err := gh.Checks.UpdateCheckRun(ctx, "acme", "app", second.GetID(), github.UpdateCheckRunOptions{Name: "stagecoach/preview", Output: out})
			if statusOf(err) != 422 {
				t.Errorf("err = %v", err)
			}
		}
		_, _, err := gh.Checks.UpdateCheckRun(ctx, "acme", "app", second.GetID(), github.UpdateCheckRunOptions{
			Name: "stagecoach/preview", Output: &github.CheckRunOutput{Title: github.String("t"), Summary: github.String(long[:65535])},
		})
		if err != nil {
			t.Errorf("65535 characters refused: %v", err)
		}
	})

	t.Run("an unknown head SHA is 422", func(t *testing.T) {
		_, _, err := gh.Checks.CreateCheckRun(ctx, "acme", "app", github.CreateCheckRunOptions{Name: "x", HeadSHA: strings.Repeat("a", 40)})
		if statusOf(err) != 422 {
			t.Errorf("err = %v", err)
		}
	})
}

func TestDeployments(t *testing.T) {
	t.Parallel()
	sim, inst := newSim(t, Options{})
	gh := installationClient(t, sim, inst)
	ctx := testContext(t)
	deploy := func(ref, env string, transient, production bool) (*github.Deployment, error) {
		d, _, err := gh.Repositories.CreateDeployment(ctx, "acme", "app", &github.DeploymentRequest{
			Ref: github.String(ref), Environment: github.String(env), AutoMerge: github.Bool(false),
			RequiredContexts: &[]string{}, TransientEnvironment: github.Bool(transient),
			ProductionEnvironment: github.Bool(production), Payload: map[string]any{"stack": env},
		})
		return d, err
	}
	succeed := func(d *github.Deployment) {
		t.Helper()
		_, _, err := gh.Repositories.CreateDeploymentStatus(ctx, "acme", "app", d.GetID(), &github.DeploymentStatusRequest{
			State: github.String("success"), EnvironmentURL: github.String("https://dev.example.com"),
			LogURL: github.String("https://logs.example.com/1"), Description: github.String("deployed"),
		})
		if err != nil {
			t.Fatalf("CreateDeploymentStatus: %v", err)
		}
	}
	lastState := func(id int64) string {
		st := sim.DeploymentStatuses("acme/app", id)
		if len(st) == 0 {
			return ""
		}
		return st[len(st)-1].State
	}

	t.Run("a success status makes earlier non-transient non-production deployments inactive", func(t *testing.T) {
		old, err := deploy("main", "dev", false, false)
		if err != nil {
			t.Fatal(err)
		}
		succeed(old)
		transient, err := deploy("main", "dev", true, false)
		if err != nil {
			t.Fatal(err)
		}
		succeed(transient)
		prod, err := deploy("main", "prod", false, true)
		if err != nil {
			t.Fatal(err)
		}
		succeed(prod)
		other, err := deploy("main", "staging", false, false)
		if err != nil {
			t.Fatal(err)
		}
		succeed(other)
		if lastState(old.GetID()) != "inactive" {
			t.Errorf("old dev deployment is %q, want inactive (superseded by a later dev success)", lastState(old.GetID()))
		}
		newer, err := deploy("main", "dev", false, false)
		if err != nil {
			t.Fatal(err)
		}
		succeed(newer)
		prod2, err := deploy("main", "prod", false, true)
		if err != nil {
			t.Fatal(err)
		}
		succeed(prod2) // earlier production deployments stay active
		for id, want := range map[int64]string{
			transient.GetID(): "success", prod.GetID(): "success", prod2.GetID(): "success", other.GetID(): "success", newer.GetID(): "success", old.GetID(): "inactive",
		} {
			if got := lastState(id); got != want {
				t.Errorf("deployment %d: %q, want %q", id, got, want)
			}
		}
		if n := len(sim.DeploymentStatuses("acme/app", old.GetID())); n != 2 {
			t.Errorf("old deployment has %d statuses, want success + one inactive", n)
		}
		statuses, _, err := gh.Repositories.ListDeploymentStatuses(ctx, "acme", "app", old.GetID(), nil)
		if err != nil || statuses[0].GetState() != "inactive" {
			t.Errorf("ListDeploymentStatuses newest first = %v, %v", statuses, err)
		}
	})

	t.Run("request fields are recorded", func(t *testing.T) {
		ds := sim.Deployments("acme/app")
		d := ds[0]
		var payload map[string]string
		_ = json.Unmarshal(d.Payload, &payload)
		if d.AutoMerge || d.RequiredContexts == nil || len(d.RequiredContexts) != 0 || d.Environment != "dev" ||
			payload["stack"] != "dev" || d.Creator != "stagecoach[bot]" || d.Task != "deploy" {
			t.Errorf("deployment = %+v", d)
		}
		st := sim.DeploymentStatuses("acme/app", d.ID)[0]
		if st.EnvironmentURL != "https://dev.example.com" || st.LogURL != "https://logs.example.com/1" || st.Description != "deployed" {
			t.Errorf("status = %+v", st)
		}
		list, _, err := gh.Repositories.ListDeployments(ctx, "acme", "app", &github.DeploymentsListOptions{Environment: "prod"})
		if err != nil || len(list) != 2 || list[0].GetEnvironment() != "prod" {
			t.Errorf("ListDeployments(prod) = %v, %v", list, err)
		}
	})

	t.Run("GitHub's defaults refuse a branch behind main and unfinished checks", func(t *testing.T) {
		pr, err := sim.OpenPR("acme/app", PROptions{Author: "alice", Branch: "feature"})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := sim.Commit("acme/app", "main", map[string]string{"later": "x"}, "Move main on"); err != nil {
			t.Fatal(err)
		}
		_, _, err = gh.Repositories.CreateDeployment(ctx, "acme", "app", &github.DeploymentRequest{Ref: github.String("feature"), RequiredContexts: &[]string{}})
		if statusOf(err) != 409 {
			t.Errorf("auto_merge omitted on a branch behind main: %v, want 409", err)
		}
		if _, _, err := gh.Checks.CreateCheckRun(ctx, "acme", "app", github.CreateCheckRunOptions{Name: "stagecoach/preview", HeadSHA: pr.HeadSHA}); err != nil {
			t.Fatal(err)
		}
		_, _, err = gh.Repositories.CreateDeployment(ctx, "acme", "app", &github.DeploymentRequest{Ref: github.String(pr.HeadSHA), AutoMerge: github.Bool(false)})
		var er *github.ErrorResponse
		if !errors.As(err, &er) || er.Response.StatusCode != 409 || !strings.Contains(er.Message, "Commit status checks failed") {
			t.Errorf("required_contexts omitted with a queued check: %v, want 409", err)
		}
		if _, err := deploy(pr.HeadSHA, "pr-1", true, false); err != nil {
			t.Errorf("auto_merge false and required_contexts [] must deploy: %v", err)
		}
	})

	t.Run("CreateDeployment helper sends deployment.created", func(t *testing.T) {
		id, err := sim.CreateDeployment("acme/app", "main", "production", "dave")
		if err != nil {
			t.Fatal(err)
		}
		ds := sim.Deliveries()
		last := ds[len(ds)-1]
		if last.Event != "deployment" || last.Action != "created" || !strings.Contains(string(last.Payload), `"login":"dave"`) {
			t.Errorf("last delivery = %s %s", last.Event, last.Action)
		}
		if !slices.ContainsFunc(sim.Deployments("acme/app"), func(d Deployment) bool { return d.ID == id && d.ProductionEnvironment }) {
			t.Error("helper deployment not recorded as production")
		}
	})
}
