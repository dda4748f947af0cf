package promotion

import (
	"context"
	"net/http"
	"slices"
	"testing"

	"github.com/stagecoach/stagecoach/internal/githubapi"
	"github.com/stagecoach/stagecoach/internal/githubapp"
	"github.com/stagecoach/stagecoach/internal/githubsim"
	"github.com/stagecoach/stagecoach/internal/repoconfig"
)

// TestPeople checks that who may promote or approve is read from GitHub's whole answer: a team
// counts only for an active membership, and a custom role counts as its base role.
func TestPeople(t *testing.T) {
	t.Parallel()
	sim, err := githubsim.New(githubsim.Options{AppSlug: "stagecoach"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(sim.Close)
	inst := sim.AddInstallation("acme")
	if _, err := sim.CreateRepo("acme", "shop", map[string]string{"README.md": "x"}); err != nil {
		t.Fatal(err)
	}
	app, err := githubapp.New(githubapp.Config{AppID: sim.AppID(), PrivateKey: sim.AppPrivateKeyPEM(), APIURL: sim.URL()}, nil)
	if err != nil {
		t.Fatal(err)
	}
	gh := app.Installation(inst)
	sim.SetCollaborator("acme/shop", "ana", "write")
	sim.AddTeamMember("acme", "approvers", "ana")
	sim.SetCollaborator("acme/shop", "pete", "write")
	sim.InviteTeamMember("acme", "approvers", "pete")
	sim.SetCollaborator("acme/shop", "nora", "write")
	sim.SetCustomRole("acme/shop", "cora", "release-manager", "maintain")
	sim.AddTeamMember("acme", "approvers", "cora")
	sim.SetCustomRole("acme/shop", "tess", "security-triage", "triage")
	sim.AddTeamMember("acme", "approvers", "tess")
	prod := repoconfig.Environment{Name: "prod", Approvals: repoconfig.Approvals{Required: 1,
		Approvers: repoconfig.Access{Permission: repoconfig.PermissionWrite, Teams: []string{"acme/approvers"}}}}
	cfg := &repoconfig.Config{Environments: []repoconfig.Environment{prod}}

	for _, c := range []struct {
		login, perm     string
		team, qualifies bool
	}{
		{"ana", "write", true, true},    // active membership
		{"pete", "write", false, false}, // pending: invited, not a member
		{"nora", "write", false, false}, // 404: no membership
		{"cora", "write", true, true},   // custom role based on maintain: write
		{"tess", "read", true, false},   // custom role based on triage: read, below write
	} {
		p, err := newPeople(githubapi.REST{C: gh}, "acme/shop", cfg).get(context.Background(), c.login)
		if err != nil {
			t.Fatalf("%s: %v", c.login, err)
		}
		if p.Permission != c.perm || slices.Contains(p.Teams, "acme/approvers") != c.team {
			t.Errorf("%s = %+v, want permission %s, in team %v", c.login, p, c.perm, c.team)
		}
		if ok, why := Qualifies(prod.Approvals.Approvers, p); ok != c.qualifies {
			t.Errorf("%s qualifies = %v (%s), want %v", c.login, ok, why, c.qualifies)
		}
	}

	t.Run("a team lookup GitHub fails is an error, neither member nor not", func(t *testing.T) {
		sim.InjectFault(githubsim.Fault{Method: http.MethodGet, PathPrefix: "/orgs/acme/teams/approvers/memberships/ana", Status: 502, Times: -1})
		defer sim.ClearFaults()
		if p, err := newPeople(githubapi.REST{C: gh}, "acme/shop", cfg).get(context.Background(), "ana"); err == nil {
			t.Fatalf("got %+v and no error", p)
		}
	})
}
