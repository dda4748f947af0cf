// Package promotion moves one commit through a repository's environments in the order its
// .stagecoach.yaml gives (dev → staging → prod by default): merges deploy the first
// environment, labelled merges and "/promote" go further, "/rollback" goes back, and every
// promotion is an immutable record and a GitHub Deployment.
//
// The rules that decide whether a promotion may run are pure functions over Facts (gate.go):
// they take no clock and no client, so every refusal can be tested exhaustively, and each
// refusal is a plain sentence that says what would satisfy it.
package promotion

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/stagecoach/stagecoach/internal/render"
	"github.com/stagecoach/stagecoach/internal/repoconfig"
)

// Gate names one rule a promotion must pass.
type Gate string

// The gates, in the order they are checked and reported.
const (
	GatePermission Gate = "permission"
	GatePrevious   Gate = "previous-stage"
	GateSoak       Gate = "soak"
	GateFreeze     Gate = "freeze"
	GateApprovals  Gate = "approvals"
)

// Refusal is one gate that does not pass, with a sentence saying why and what would satisfy it.
type Refusal struct {
	Gate    Gate
	Message string
}

// Person is someone who requests or approves a promotion, with what the gates need to know
// about them.
type Person struct {
	// Login is the GitHub login.
	Login string
	// Permission is the collaborator permission on the repository (admin … read, or none).
	Permission string
	// Teams are the "org/slug" teams among the configured ones that the person belongs to.
	Teams []string
}

// Approval is one "/approve <env>" given for a commit.
type Approval struct {
	Approver Person
	SHA      string
	At       time.Time
}

// Facts are everything the gates look at for one promotion of SHA to Env.
type Facts struct {
	// Config is the repository's configuration.
	Config *repoconfig.Config
	// Env is the target environment's name.
	Env string
	// SHA is the commit to promote.
	SHA string
	// Requester asked for the promotion.
	Requester Person
	// Succeeded gives, per environment name (lower case), when SHA first deployed successfully
	// there; environments where it never did are absent.
	Succeeded map[string]time.Time
	// Approvals are the approvals recorded for Env; those for other commits do not count.
	Approvals []Approval
	// Now is the time of the check.
	Now time.Time
	// Rollback skips the soak gate: a rollback returns to a commit the environment already ran.
	Rollback bool
	// SkipPermission skips the permission gate, for promotions nobody typed (merges, labels).
	SkipPermission bool
	// SkipApprovals skips the approvals gate.
	SkipApprovals bool
}

// Check runs every gate and returns the refusals, in gate order; none means the promotion may run.
func Check(f Facts) []Refusal {
	env, ok := f.Config.Environment(f.Env)
	if !ok {
		return []Refusal{{GatePermission, fmt.Sprintf("`%s` is not an environment of this repository; the environments are %s.", f.Env, names(f.Config))}}
	}
	var out []Refusal
	add := func(g Gate, msg string) {
		if msg != "" {
			out = append(out, Refusal{g, msg})
		}
	}
	if !f.SkipPermission {
		add(GatePermission, PermissionGate(env.Promoters, f.Requester, "promote to `"+env.Name+"`"))
	}
	from, at, msg := PreviousGate(f.Config, env.Name, f.SHA, f.Succeeded)
	add(GatePrevious, msg)
	if msg == "" && from != "" && !f.Rollback {
		add(GateSoak, SoakGate(env.Soak, from, at, f.Now))
	}
	add(GateFreeze, FreezeGate(env.Name, env.Freeze, f.Now))
	if !f.SkipApprovals {
		_, msg := ApprovalGate(env.Name, env.Approvals, f.Requester.Login, f.SHA, f.Approvals)
		add(GateApprovals, msg)
	}
	return out
}

// Qualifies reports whether p meets a, and if not, a sentence saying who qualifies.
func Qualifies(a repoconfig.Access, p Person) (bool, string) {
	need := a.Permission
	if need == "" {
		need = repoconfig.PermissionWrite
	}
	if !need.Allows(repoconfig.Permission(p.Permission)) {
		perm := p.Permission
		if perm == "" {
			perm = "none"
		}
		return false, fmt.Sprintf("it needs %s access to this repository and @%s has %s", need, p.Login, perm)
	}
	if !a.Restricted() {
		return true, ""
	}
	if slices.ContainsFunc(a.Users, func(u string) bool { return strings.EqualFold(u, p.Login) }) {
		return true, ""
	}
	for _, t := range a.Teams {
		if slices.ContainsFunc(p.Teams, func(m string) bool { return strings.EqualFold(m, t) }) {
			return true, ""
		}
	}
	return false, fmt.Sprintf("it is limited to %s and @%s is none of them", who(a), p.Login)
}

// PermissionGate refuses a person who may not do what (e.g. "promote to `prod`").
func PermissionGate(a repoconfig.Access, p Person, what string) string {
	ok, why := Qualifies(a, p)
	if ok {
		return ""
	}
	return fmt.Sprintf("@%s may not %s: %s. Ask someone who qualifies to run it, or change `promoters` in `.stagecoach.yaml`.", p.Login, what, why)
}

// PreviousGate checks that sha deployed successfully in the environment before env (or, when env
// allows skipping, in any earlier one). It returns the environment it came from and when it
// succeeded there; the first environment needs nothing.
func PreviousGate(cfg *repoconfig.Config, env, sha string, succeeded map[string]time.Time) (from string, at time.Time, refusal string) {
	i := slices.IndexFunc(cfg.Environments, func(e repoconfig.Environment) bool { return strings.EqualFold(e.Name, env) })
	if i <= 0 {
		return "", time.Time{}, ""
	}
	prev := cfg.Environments[i-1]
	if t, ok := succeeded[strings.ToLower(prev.Name)]; ok {
		return prev.Name, t, ""
	}
	if cfg.Environments[i].AllowSkip {
		for j := i - 2; j >= 0; j-- {
			if t, ok := succeeded[strings.ToLower(cfg.Environments[j].Name)]; ok {
				return cfg.Environments[j].Name, t, ""
			}
		}
		return "", time.Time{}, fmt.Sprintf("%s has not been deployed successfully to any environment before `%s`. Deploy it to `%s` (or an earlier environment) first.",
			render.ShortSHA(sha), env, prev.Name)
	}
	return "", time.Time{}, fmt.Sprintf("%s has not been deployed successfully to `%s`, the stage before `%s`. Promote it to `%s` first (`/promote %s %s`); stages are not skipped here.",
		render.ShortSHA(sha), prev.Name, env, prev.Name, prev.Name, render.ShortSHA(sha))
}

// SoakGate refuses while a commit that reached from at at has run there for less than soak.
func SoakGate(soak time.Duration, from string, at, now time.Time) string {
	if soak <= 0 {
		return ""
	}
	left := at.Add(soak).Sub(now)
	if left <= 0 {
		return ""
	}
	return fmt.Sprintf("it has soaked in `%s` for %s of the required %s; %s remain (until %s). Try again then.",
		from, Duration(now.Sub(at)), Duration(soak), Duration(left), at.Add(soak).UTC().Format(time.RFC3339))
}

// FreezeGate refuses while a freeze window of env is open, naming its reason and when it closes.
func FreezeGate(env string, windows []repoconfig.FreezeWindow, now time.Time) string {
	var parts []string
	for _, w := range windows {
		active, end := w.ActiveAt(now)
		if !active {
			continue
		}
		local := end
		if w.Cron != nil {
			local = end.In(zoneOf(w))
		}
		parts = append(parts, fmt.Sprintf("`%s` is frozen (%s) until %s (%s from now)",
			env, w.Reason, local.Format("Mon 2 Jan 2006 15:04 MST"), Duration(end.Sub(now))))
	}
	if len(parts) == 0 {
		return ""
	}
	return strings.Join(parts, "; ") + ". Try again after the freeze, or change `freeze` in `.stagecoach.yaml`."
}

// zoneOf returns the time zone of a recurring window's cron spec.
func zoneOf(w repoconfig.FreezeWindow) *time.Location {
	if w.Cron.Location != nil {
		return w.Cron.Location
	}
	return time.UTC
}

// ApprovalGate counts the distinct approvers of sha who qualify under rules and are not the
// requester, and refuses while fewer than rules.Required approved.
func ApprovalGate(env string, rules repoconfig.Approvals, requester, sha string, approvals []Approval) (approvers []string, refusal string) {
	seen := map[string]bool{}
	for _, a := range approvals {
		login := strings.ToLower(a.Approver.Login)
		if a.SHA != sha || seen[login] || strings.EqualFold(a.Approver.Login, requester) {
			continue
		}
		if ok, _ := Qualifies(rules.Approvers, a.Approver); !ok {
			continue
		}
		seen[login] = true
		approvers = append(approvers, a.Approver.Login)
	}
	if len(approvers) >= rules.Required {
		return approvers, ""
	}
	have := "none yet"
	if len(approvers) > 0 {
		have = "from @" + strings.Join(approvers, ", @")
	}
	return approvers, fmt.Sprintf("`%s` needs %d approval(s) of %s and has %d (%s). %d more from %s, commenting `/approve %s %s`; the requester's own approval and approvals of other commits do not count.",
		env, rules.Required, render.ShortSHA(sha), len(approvers), have, rules.Required-len(approvers), approverWho(rules.Approvers), env, render.ShortSHA(sha))
}

func approverWho(a repoconfig.Access) string {
	need := a.Permission
	if need == "" {
		need = repoconfig.PermissionWrite
	}
	if a.Restricted() {
		return who(a) + " (with " + string(need) + " access)"
	}
	return "anyone with " + string(need) + " access"
}

// who lists an access list's users and teams.
func who(a repoconfig.Access) string {
	var parts []string
	for _, u := range a.Users {
		parts = append(parts, "@"+u)
	}
	for _, t := range a.Teams {
		parts = append(parts, "team @"+t)
	}
	return strings.Join(parts, ", ")
}

func names(cfg *repoconfig.Config) string {
	var out []string
	for _, e := range cfg.Environments {
		out = append(out, "`"+e.Name+"`")
	}
	if len(out) == 0 {
		return "none"
	}
	return strings.Join(out, ", ")
}

// short abbreviates a commit SHA to 7 characters.

// Duration renders d in whole minutes, hours and days for people: "2h 5m", "1d 3h", "45s".
func Duration(d time.Duration) string {
	if d < time.Minute {
		return fmt.Sprintf("%ds", int(d.Round(time.Second)/time.Second))
	}
	d = d.Round(time.Minute)
	days, hours, mins := int(d/(24*time.Hour)), int(d%(24*time.Hour)/time.Hour), int(d%time.Hour/time.Minute)
	var parts []string
	if days > 0 {
		parts = append(parts, fmt.Sprintf("%dd", days))
	}
	if hours > 0 {
		parts = append(parts, fmt.Sprintf("%dh", hours))
	}
	if mins > 0 {
		parts = append(parts, fmt.Sprintf("%dm", mins))
	}
	return strings.Join(parts, " ")
}
