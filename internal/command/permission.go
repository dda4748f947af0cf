package command

import (
	"context"
	"fmt"

	"github.com/stagecoach/stagecoach/internal/githubapi"
)

// Permission returns user's collaborator role on repo: admin, maintain, write, triage, read or
// none, from GitHub's full answer (go-github v60 only decodes the legacy field):
//
//   - role_name is the precise role. The five built-in roles are taken as they are.
//   - Any other role_name is a custom role (an organisation's own, e.g. "deployer"). A custom role
//     inherits one base role, and GitHub reports that base in the legacy permission field, mapped
//     to admin, write, read or none (maintain counts as write, triage as read). So a custom role
//     counts as its legacy permission: one based on maintain acts as write, one based on triage as
//     read. Rounding down never grants more than the role has.
//   - Without role_name (older GitHub Enterprise Server), the legacy permission counts.
//   - 404 (not a collaborator, or no such user) is none; any other failure is an error.
func Permission(ctx context.Context, gh githubapi.Client, repo, user string) (string, error) {
	owner, name := githubapi.SplitRepo(repo)
	p, _, err := gh.GetPermissionLevel(ctx, owner, name, user)
	switch {
	case githubapi.IsNotFound(err):
		return "none", nil
	case err != nil:
		return "", fmt.Errorf("checking %s's permission on %s: %w", user, repo, err)
	}
	return Role(p.RoleName, p.Permission), nil
}

// Role is the permission of a collaborator whose role_name and legacy permission GitHub reports
// as given; see Permission.
func Role(roleName, legacy string) string {
	if roleName != "" && rank(roleName) >= 0 {
		return roleName
	}
	if rank(legacy) >= 0 {
		return legacy
	}
	return "none"
}

// Allows reports whether permission have is at least need.
func Allows(need, have string) bool {
	return rank(have) >= 0 && rank(have) >= rank(need)
}

// rank orders GitHub's collaborator permissions; -1 for anything else.
func rank(p string) int {
	switch p {
	case "none":
		return 0
	case "read":
		return 1
	case "triage":
		return 2
	case "write":
		return 3
	case "maintain":
		return 4
	case "admin":
		return 5
	}
	return -1
}
