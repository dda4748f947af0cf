package command_test

import (
	"context"
	"net/http"
	"testing"

	"github.com/stagecoach/stagecoach/internal/command"
	"github.com/stagecoach/stagecoach/internal/githubapi"
	"github.com/stagecoach/stagecoach/internal/githubsim"
	"github.com/stagecoach/stagecoach/internal/store/storetest"
)

func TestPermission(t *testing.T) {
	t.Parallel()
	w := newOnceWorld(t, storetest.SQLite(t))
	for login, role := range map[string]string{"ad": "admin", "ma": "maintain", "wr": "write", "tr": "triage", "re": "read"} {
		w.sim.SetCollaborator("acme/shop", login, role)
	}
	for login, base := range map[string]string{"cm": "maintain", "cw": "write", "ct": "triage", "cr": "read"} {
		w.sim.SetCustomRole("acme/shop", login, "custom-"+base, base)
	}
	gh := githubapi.REST{C: w.app.Installation(w.inst)}
	for _, c := range []struct{ login, want string }{
		{"acme", "admin"}, // the owner
		{"ad", "admin"}, {"ma", "maintain"}, {"wr", "write"}, {"tr", "triage"}, {"re", "read"},
		// Custom roles count as GitHub's legacy permission of their base: never more than they have.
		{"cm", "write"}, {"cw", "write"}, {"ct", "read"}, {"cr", "read"},
		{"stranger", "none"},
	} {
		got, err := command.Permission(context.Background(), gh, "acme/shop", c.login)
		if err != nil || got != c.want {
			t.Errorf("Permission(%s) = %q, %v; want %q", c.login, got, err, c.want)
		}
	}

	t.Run("a failure other than 404 is an error, not none", func(t *testing.T) {
		w.sim.InjectFault(githubsim.Fault{Method: http.MethodGet, PathPrefix: "/repos/acme/shop/collaborators/wr/permission", Status: 500, Times: -1})
		defer w.sim.ClearFaults()
		if got, err := command.Permission(context.Background(), gh, "acme/shop", "wr"); err == nil {
			t.Fatalf("got %q and no error", got)
		}
	})
}

func TestRole(t *testing.T) {
	t.Parallel()
	for _, c := range []struct{ roleName, legacy, want string }{
		{"admin", "admin", "admin"}, {"maintain", "write", "maintain"}, {"write", "write", "write"},
		{"triage", "read", "triage"}, {"read", "read", "read"},
		{"security-reviewer", "read", "read"}, {"release-manager", "write", "write"}, {"org-admin-ish", "admin", "admin"},
		{"", "write", "write"}, {"", "none", "none"}, {"", "", "none"}, {"mystery", "mystery", "none"},
	} {
		if got := command.Role(c.roleName, c.legacy); got != c.want {
			t.Errorf("Role(%q, %q) = %q, want %q", c.roleName, c.legacy, got, c.want)
		}
	}
}
