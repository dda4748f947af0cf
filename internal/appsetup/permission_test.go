package appsetup_test

import (
	"context"
	"maps"
	"path"
	"reflect"
	"slices"
	"testing"

	"github.com/google/go-github/v60/github"

	"github.com/stagecoach/stagecoach/internal/appsetup"
	"github.com/stagecoach/stagecoach/internal/appsetup/appsetuptest"
	"github.com/stagecoach/stagecoach/internal/githubapi"
	"github.com/stagecoach/stagecoach/internal/githubapp"
	"github.com/stagecoach/stagecoach/internal/githubsim"
	"github.com/stagecoach/stagecoach/internal/webhooks"
)

// need is the permission a GitHub API route needs, as GitHub's "Permissions required for GitHub
// Apps" names it. Where GitHub accepts either of two (an issue comment on a pull request: Issues
// or Pull requests), the one the README gives as the reason is chosen. An empty name needs none
// (the App's own JWT endpoints).
type need struct {
	method, pattern string // pattern: path.Match over the request path without /api/v3
	permission      string
	access          appsetup.Access
}

var routeNeeds = []need{
	{"GET", "/app", "", ""},
	{"POST", "/app/installations/*/access_tokens", "", ""},
	{"POST", "/repos/*/*/issues/*/comments", "pull_requests", appsetup.Write},
	{"GET", "/repos/*/*/issues/*/comments", "pull_requests", appsetup.Read},
	{"PATCH", "/repos/*/*/issues/comments/*", "pull_requests", appsetup.Write},
	{"GET", "/repos/*/*/issues/*/labels", "issues", appsetup.Read},
	{"POST", "/repos/*/*/issues/comments/*/reactions", "issues", appsetup.Write},
	{"GET", "/repos/*/*/pulls/*", "pull_requests", appsetup.Read},
	{"GET", "/repos/*/*/commits/*/pulls", "pull_requests", appsetup.Read},
	{"POST", "/repos/*/*/check-runs", "checks", appsetup.Write},
	{"PATCH", "/repos/*/*/check-runs/*", "checks", appsetup.Write},
	{"GET", "/repos/*/*/commits/*/check-runs", "checks", appsetup.Read},
	{"POST", "/repos/*/*/deployments", "deployments", appsetup.Write},
	{"POST", "/repos/*/*/deployments/*/statuses", "deployments", appsetup.Write},
	{"GET", "/repos/*/*", "metadata", appsetup.Read},
	{"GET", "/repos/*/*/collaborators/*/permission", "metadata", appsetup.Read},
	{"GET", "/repos/*/*/branches/*", "contents", appsetup.Read},
	{"GET", "/repos/*/*/commits/*", "contents", appsetup.Read},
	{"GET", "/repos/*/*/contents/*", "contents", appsetup.Read},
	{"GET", "/repos/*/*/tarball/*", "contents", appsetup.Read},
	{"GET", "/orgs/*/teams/*/memberships/*", "members", appsetup.Read},
}

// eventNeeds is the permission GitHub requires (at least read) to subscribe to an event.
var eventNeeds = map[string]string{
	"pull_request": "pull_requests", "issue_comment": "issues", "push": "contents", "deployment": "deployments",
}

func needOf(r githubsim.Request) (need, bool) {
	for _, n := range routeNeeds {
		if ok, _ := path.Match(n.pattern, r.Path); ok && n.method == r.Method {
			return n, true
		}
	}
	return need{}, false
}

// everyCall makes each call of githubapi.Client once, through REST against sim, and returns
// the names of the methods called.
func everyCall(ctx context.Context, t *testing.T, sim *githubsim.Sim) []string {
	t.Helper()
	inst := sim.AddInstallation("acme")
	if _, err := sim.CreateRepo("acme", "app", map[string]string{".stagecoach.yaml": "version: 1\n"}); err != nil {
		t.Fatal(err)
	}
	pr, err := sim.OpenPR("acme/app", githubsim.PROptions{Files: map[string]string{"a.txt": "a"}, Labels: []string{"promote:prod"}})
	if err != nil {
		t.Fatal(err)
	}
	sim.SetCollaborator("acme/app", "alice", "write")
	sim.AddTeamMember("acme", "ops", "alice")
	app, err := githubapp.New(githubapp.Config{AppID: sim.AppID(), PrivateKey: sim.AppPrivateKeyPEM(), APIURL: sim.URL()}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := app.Slug(ctx); err != nil {
		t.Fatal(err)
	}
	gh := githubapi.Apps{App: app}.Installation(inst)
	var comment, check, deployment int64
	calls := []struct {
		name string
		call func() error
	}{
		{"CreateComment", func() error {
			c, _, err := gh.CreateComment(ctx, "acme", "app", pr.Number, &github.IssueComment{Body: github.String("hello")})
			comment = c.GetID()
			return err
		}},
		{"EditComment", func() error {
			_, _, err := gh.EditComment(ctx, "acme", "app", comment, &github.IssueComment{Body: github.String("edited")})
			return err
		}},
		{"ListComments", func() error { _, _, err := gh.ListComments(ctx, "acme", "app", pr.Number, nil); return err }},
		{"ListLabelsByIssue", func() error { _, _, err := gh.ListLabelsByIssue(ctx, "acme", "app", pr.Number, nil); return err }},
		{"CreateIssueCommentReaction", func() error {
			_, _, err := gh.CreateIssueCommentReaction(ctx, "acme", "app", comment, "eyes")
			return err
		}},
		{"GetPullRequest", func() error { _, _, err := gh.GetPullRequest(ctx, "acme", "app", pr.Number); return err }},
		{"ListPullRequestsWithCommit", func() error {
			_, _, err := gh.ListPullRequestsWithCommit(ctx, "acme", "app", pr.HeadSHA, nil)
			return err
		}},
		{"CreateCheckRun", func() error {
			c, _, err := gh.CreateCheckRun(ctx, "acme", "app", github.CreateCheckRunOptions{Name: "stagecoach", HeadSHA: pr.HeadSHA})
			check = c.GetID()
			return err
		}},
		{"UpdateCheckRun", func() error {
			_, _, err := gh.UpdateCheckRun(ctx, "acme", "app", check, github.UpdateCheckRunOptions{Name: "stagecoach", Status: github.String("in_progress")})
			return err
		}},
		{"ListCheckRunsForRef", func() error { _, _, err := gh.ListCheckRunsForRef(ctx, "acme", "app", pr.HeadSHA, nil); return err }},
		{"CreateDeployment", func() error {
			d, _, err := gh.CreateDeployment(ctx, "acme", "app", &github.DeploymentRequest{Ref: github.String(pr.HeadSHA),
				Environment: github.String("pr-1"), AutoMerge: github.Bool(false), RequiredContexts: &[]string{}})
			deployment = d.GetID()
			return err
		}},
		{"CreateDeploymentStatus", func() error {
			_, _, err := gh.CreateDeploymentStatus(ctx, "acme", "app", deployment, &github.DeploymentStatusRequest{State: github.String("in_progress")})
			return err
		}},
		{"GetRepository", func() error { _, _, err := gh.GetRepository(ctx, "acme", "app"); return err }},
		{"GetBranch", func() error { _, _, err := gh.GetBranch(ctx, "acme", "app", "main", 0); return err }},
		{"GetCommit", func() error { _, _, err := gh.GetCommit(ctx, "acme", "app", pr.HeadSHA, nil); return err }},
		{"GetContents", func() error {
			_, _, _, err := gh.GetContents(ctx, "acme", "app", ".stagecoach.yaml", nil)
			return err
		}},
		{"GetArchiveLink", func() error {
			_, _, err := gh.GetArchiveLink(ctx, "acme", "app", github.Tarball, &github.RepositoryContentGetOptions{Ref: pr.HeadSHA}, 0)
			return err
		}},
		{"GetPermissionLevel", func() error { _, _, err := gh.GetPermissionLevel(ctx, "acme", "app", "alice"); return err }},
		{"GetTeamMembershipBySlug", func() error { _, _, err := gh.GetTeamMembershipBySlug(ctx, "acme", "ops", "alice"); return err }},
	}
	var names []string
	for _, c := range calls {
		if err := c.call(); err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		names = append(names, c.name)
	}
	return names
}

func TestPermissions(t *testing.T) {
	t.Parallel()

	t.Run("the manifest asks for exactly what the bot's GitHub API calls need", func(t *testing.T) {
		t.Parallel()
		sim := appsetuptest.NewSim(t)
		called := everyCall(t.Context(), t, sim)
		iface := reflect.TypeFor[githubapi.Client]()
		for i := range iface.NumMethod() {
			if m := iface.Method(i).Name; !slices.Contains(called, m) {
				t.Errorf("githubapi.Client.%s is not called here: add it to everyCall (and its route to routeNeeds)", m)
			}
		}
		needed := map[string]appsetup.Access{}
		why := map[string]string{}
		for _, r := range sim.Requests() {
			n, ok := needOf(r)
			if !ok {
				t.Errorf("the bot called %s %s, which routeNeeds does not know: add the permission GitHub requires for it", r.Method, r.Path)
				continue
			}
			if n.permission != "" && needed[n.permission] != appsetup.Write {
				needed[n.permission] = n.access
				why[n.permission] = r.Method + " " + r.Path
			}
		}
		granted := appsetup.NewManifest("x", "https://bot.example.com", "http://127.0.0.1:1/callback").DefaultPermissions
		for p, a := range needed {
			if !granted[p].Covers(a) {
				t.Errorf("%s needs %s: %s, the manifest grants %q", why[p], p, a, granted[p])
			}
		}
		for p, a := range granted {
			if needed[p] != a {
				t.Errorf("the manifest grants %s: %s, the bot's calls need %q", p, a, needed[p])
			}
		}
	})

	t.Run("the App subscribes to exactly the events the webhook handlers act on, each with its permission", func(t *testing.T) {
		t.Parallel()
		m := appsetup.NewManifest("x", "https://bot.example.com", "http://127.0.0.1:1/callback")
		if got, want := slices.Sorted(slices.Values(m.DefaultEvents)), webhooks.Events(); !slices.Equal(got, want) {
			t.Errorf("the manifest subscribes to %v, the webhook handlers act on %v", got, want)
		}
		for _, e := range m.DefaultEvents {
			if p, ok := eventNeeds[e]; !ok || !m.DefaultPermissions[p].Covers(appsetup.Read) {
				t.Errorf("event %s needs the %q permission, which the manifest does not grant (%v)", e, p, slices.Sorted(maps.Keys(m.DefaultPermissions)))
			}
		}
	})

	t.Run("every permission says why and has one name", func(t *testing.T) {
		t.Parallel()
		seen := map[string]bool{}
		for _, p := range appsetup.Permissions() {
			if p.Why == "" || p.Title == "" || seen[p.Name] || (p.Access != appsetup.Read && p.Access != appsetup.Write) {
				t.Errorf("permission %+v", p)
			}
			seen[p.Name] = true
		}
	})
}
