// Package repoconfig defines .stagecoach.yaml, the per-repository settings of
// stagecoach: its schema with defaults, strict decoding and validation that
// reports every problem with file, line and field, and a Loader that reads
// the file from the repository's default branch, cached per commit.
//
// The file is always read from the default branch, never from a pull
// request's head, so a pull request cannot change who may promote.
package repoconfig

import (
	"strconv"
	"strings"
	"time"
)

// FileName is the path of the configuration file in a repository.
const FileName = ".stagecoach.yaml"

// EphemeralScheduleKey names the PR environments, as one group, in
// schedules. No environment may be called this.
const EphemeralScheduleKey = "ephemeral"

// Config is the content of .stagecoach.yaml after defaults are applied.
type Config struct {
	// Version of the schema. Optional; the only accepted value is 1.
	Version int
	// Project is the directory of the Pulumi project (its Pulumi.yaml),
	// relative to the repository root, cleaned ("." for the root). It must
	// stay inside the repository. Default "infra".
	Project string
	// Environments in promotion order, e.g. dev, staging, prod. Default
	// when the key is absent: dev (trigger merge), staging and prod
	// (trigger command), prod being the production environment. An explicit
	// empty list means no promotion environments.
	Environments []Environment
	// Promotion holds the settings shared by all environments.
	Promotion Promotion
	// Ephemeral configures per-pull-request environments. Default: off.
	Ephemeral Ephemeral
	// Schedules are the sleep/wake schedules, in file order, at most one per
	// environment plus one for all PR environments. Default: none.
	Schedules []Schedule
}

// Trigger says how changes arrive in an environment.
type Trigger string

const (
	// TriggerMerge deploys every push to the default branch.
	TriggerMerge Trigger = "merge"
	// TriggerLabel promotes merged pull requests that carry the environment's
	// promotion label (see Promotion.LabelPattern).
	TriggerLabel Trigger = "label"
	// TriggerCommand promotes only on "/promote <env>".
	TriggerCommand Trigger = "command"
)

// Permission is a repository collaborator permission level, in increasing
// order: read, triage, write, maintain, admin.
type Permission string

// Permission levels, weakest first.
const (
	PermissionRead     Permission = "read"
	PermissionTriage   Permission = "triage"
	PermissionWrite    Permission = "write"
	PermissionMaintain Permission = "maintain"
	PermissionAdmin    Permission = "admin"
)

// permissionOrder lists the levels weakest first.
func permissionOrder() []Permission {
	return []Permission{PermissionRead, PermissionTriage, PermissionWrite, PermissionMaintain, PermissionAdmin}
}

// Rank orders permission levels: read is 1, admin 5; anything else
// (including GitHub's "none") is 0.
func (p Permission) Rank() int {
	for i, q := range permissionOrder() {
		if strings.EqualFold(string(p), string(q)) {
			return i + 1
		}
	}
	return 0
}

// Allows reports whether a collaborator holding actual meets the minimum p.
func (p Permission) Allows(actual Permission) bool {
	return p.Rank() > 0 && actual.Rank() >= p.Rank()
}

// Access says who may do something. A person qualifies when they hold at
// least Permission on the repository and, if Users or Teams is non-empty,
// they are one of Users or a member of one of Teams. Both conditions apply:
// the lists narrow the permission, they never widen it.
type Access struct {
	// Permission is the minimum collaborator permission. Default "write".
	Permission Permission
	// Users are GitHub logins. Default: empty (no narrowing).
	Users []string
	// Teams are "org/team-slug". Default: empty (no narrowing).
	Teams []string
}

// Restricted reports whether the access is narrowed to listed users or
// teams.
func (a Access) Restricted() bool { return len(a.Users)+len(a.Teams) > 0 }

// Approvals are the reviews a promotion needs before it runs.
type Approvals struct {
	// Required is how many distinct approvers must approve the promotion;
	// the person who requested it never counts. Default 0.
	Required int
	// Approvers says who may approve. Default: anyone with write permission.
	Approvers Access
}

// Environment is one stage in the promotion order.
type Environment struct {
	// Name identifies the environment in commands (/promote <name>), labels
	// and schedules: letters, digits, '.', '_' and '-', at most 32
	// characters, unique ignoring case, not "ephemeral". Required.
	Name string
	// Stack is the Pulumi stack, "name" or "org/project/name", unique among
	// environments. Default: Name.
	Stack string
	// Trigger says how changes arrive. Default: "merge" for the first
	// environment, "command" for the others.
	Trigger Trigger
	// Promoters may run /promote to this environment. Default: anyone with
	// write permission.
	Promoters Access
	// Approvals needed before a promotion to this environment runs.
	// Default: none.
	Approvals Approvals
	// Soak is how long a change must have run in the previous environment
	// before it may be promoted here. Not allowed on the first environment.
	// Default 0.
	Soak time.Duration
	// AllowSkip lets a promotion come here from an earlier environment than
	// the previous one, skipping stages. Not allowed on the first
	// environment. Default false.
	AllowSkip bool
	// Freeze lists windows during which nothing is deployed here. Default:
	// none.
	Freeze []FreezeWindow
	// Production marks a production environment, which never sleeps: a
	// schedule for it is refused. Default: true for the last of two or more
	// environments, false for the others and for a lone environment.
	Production bool
	// URLOutput is the stack output holding the environment's URL. Default
	// "url".
	URLOutput string
}

// FreezeWindow is a period during which an environment takes no deploys.
// It is either recurring (Cron and Duration set) or one-off (Start and End
// set).
type FreezeWindow struct {
	// Reason is shown to people whose deploy was held. Required.
	Reason string
	// Cron gives the start of each recurring window; nil for a one-off.
	Cron *Cron
	// Duration is the length of each recurring window (> 0).
	Duration time.Duration
	// Start and End bound a one-off window, [Start, End), RFC 3339 in the
	// file.
	Start, End time.Time
}

// Recurring reports whether the window repeats.
func (w FreezeWindow) Recurring() bool { return w.Cron != nil }

// maxFreezeSteps bounds the work of FreezeWindow.ActiveAt when occurrences
// overlap (an hourly window lasting two hours never ends).
const maxFreezeSteps = 10000

// ActiveAt reports whether t falls inside the window and, if so, when the
// freeze ends: for a recurring window, the end of the occurrence containing
// t, extended over later occurrences that overlap or touch it (at most
// maxFreezeSteps of them).
func (w FreezeWindow) ActiveAt(t time.Time) (bool, time.Time) {
	if w.Cron == nil {
		if !t.Before(w.Start) && t.Before(w.End) {
			return true, w.End
		}
		return false, time.Time{}
	}
	// An occurrence starting at s covers [s, s+Duration). The first start
	// strictly after t-Duration covers t if it is not after t.
	start := w.Cron.Next(t.Add(-w.Duration))
	if start.IsZero() || start.After(t) {
		return false, time.Time{}
	}
	end := start.Add(w.Duration)
	for next, steps := w.Cron.Next(start), 0; !next.IsZero() && !next.After(end) && steps < maxFreezeSteps; steps++ {
		end = next.Add(w.Duration)
		next = w.Cron.Next(next)
	}
	return true, end
}

// Promotion holds settings that apply to every environment.
type Promotion struct {
	// LabelPattern names the label that promotes a merged pull request to an
	// environment with trigger "label"; "{env}" is replaced by the
	// environment's name and must appear exactly once. Default
	// "promote:{env}".
	LabelPattern string
}

// EphemeralTrigger says when a pull request gets an environment.
type EphemeralTrigger string

const (
	// EphemeralAuto deploys every pull request unless it carries the opt-out
	// label.
	EphemeralAuto EphemeralTrigger = "auto"
	// EphemeralLabel deploys only pull requests carrying the opt-in label.
	EphemeralLabel EphemeralTrigger = "label"
	// EphemeralCommand deploys only on "/deploy".
	EphemeralCommand EphemeralTrigger = "command"
)

// ForkPolicy says what happens to pull requests from forks. Forks never
// deploy on their own.
type ForkPolicy string

const (
	// ForkApprove lets a writer run "/deploy" on a fork's pull request,
	// approving exactly the head commit it was run on.
	ForkApprove ForkPolicy = "approve"
	// ForkNever never deploys pull requests from forks.
	ForkNever ForkPolicy = "never"
)

// Ephemeral configures per-pull-request environments. They are deployed on
// pull request opened, reopened, synchronize and ready_for_review events.
type Ephemeral struct {
	// Enabled turns PR environments on. Default false.
	Enabled bool
	// Trigger says which pull requests get an environment: "auto", "label"
	// or "command". Default "auto".
	Trigger EphemeralTrigger
	// Drafts deploys draft pull requests too; otherwise drafts wait until
	// ready for review. Default false.
	Drafts bool
	// Labels names the labels that steer PR environments.
	Labels EphemeralLabels
	// Stack is the stack name pattern; "{number}" (required, once) is the
	// pull request number. Default "pr-{number}".
	Stack string
	// ConfigTemplate is the stack config file copied for each PR stack,
	// relative to the project directory; it must stay inside the
	// repository. Default "Pulumi.pr.yaml".
	ConfigTemplate string
	// TTL is how long an environment may stay idle (no deploy, no /extend)
	// before it is destroyed; must be > 0. Default 72h.
	TTL time.Duration
	// TTLWarning is how long before the TTL runs out the pull request gets a
	// warning; 0 sends none; must be shorter than TTL. Default 12h, or half
	// the TTL when the TTL is 24h or less.
	TTLWarning time.Duration
	// MaxExtension caps the duration accepted by "/extend <duration>"; 0
	// disables /extend. Default 7d.
	MaxExtension time.Duration
	// MaxActive caps the environments alive at once in the repository;
	// further pull requests queue. Must be ≥ 1. Default 10.
	MaxActive int
	// SlotPool names the pool of slots (0–255, which select the PR stacks'
	// address blocks) the repository's environments take theirs from.
	// Repositories whose PR stacks share a cloud account name the same pool,
	// so their networks never overlap. Default "" (the repository's own pool).
	SlotPool string
	// Forks is the fork policy, "approve" or "never". Default "approve".
	Forks ForkPolicy
	// URLOutput is the stack output holding the environment's URL. Default
	// "url".
	URLOutput string
}

// EphemeralLabels names the pull request labels that steer PR environments.
// GitHub label names are at most 50 characters; the three must differ.
type EphemeralLabels struct {
	// OptIn deploys a pull request when the trigger is "label". Default
	// "stagecoach:deploy".
	OptIn string
	// OptOut keeps a pull request from deploying when the trigger is
	// "auto". Default "stagecoach:skip".
	OptOut string
	// Keep exempts an environment from the TTL. Default "stagecoach:keep".
	Keep string
}

// Schedule puts an environment (or all PR environments) to sleep and wakes
// it on a timetable, by setting a stack config key and deploying.
type Schedule struct {
	// Environment is an environment's name, or EphemeralScheduleKey for all
	// PR environments. It is the key of the entry in the file.
	Environment string
	// Sleep is when the environment goes to sleep. Required.
	Sleep Cron
	// Wake is when it wakes up. Required.
	Wake Cron
	// ConfigKey is the stack config key set to "true" while asleep and
	// "false" while awake. Default "stagecoach:sleeping".
	ConfigKey string
	// Grace keeps a fresh PR environment awake this long after its first
	// deploy even inside a sleep period. Only for the ephemeral schedule.
	// Default 1h (0 for environment schedules).
	Grace time.Duration
	// WakeOnDeploy wakes a sleeping environment when something is deployed
	// to it; otherwise the deploy keeps it asleep. Default false.
	WakeOnDeploy bool
}

// Environment returns the environment with the given name, ignoring case.
func (c *Config) Environment(name string) (*Environment, bool) {
	for i := range c.Environments {
		if strings.EqualFold(c.Environments[i].Name, name) {
			return &c.Environments[i], true
		}
	}
	return nil, false
}

// Previous returns the environment before the named one in promotion
// order; false for the first or an unknown name.
func (c *Config) Previous(name string) (*Environment, bool) {
	for i := range c.Environments {
		if strings.EqualFold(c.Environments[i].Name, name) && i > 0 {
			return &c.Environments[i-1], true
		}
	}
	return nil, false
}

// PromotionLabel returns the label that promotes to the named environment.
func (c *Config) PromotionLabel(env string) string {
	return strings.Replace(c.Promotion.LabelPattern, "{env}", env, 1)
}

// LabelEnvironment returns the environment with trigger "label" that the
// label promotes to, comparing labels ignoring case as GitHub does.
func (c *Config) LabelEnvironment(label string) (*Environment, bool) {
	for i := range c.Environments {
		e := &c.Environments[i]
		if e.Trigger == TriggerLabel && strings.EqualFold(c.PromotionLabel(e.Name), label) {
			return e, true
		}
	}
	return nil, false
}

// Schedule returns the schedule for an environment name or
// EphemeralScheduleKey, ignoring case.
func (c *Config) Schedule(env string) (*Schedule, bool) {
	for i := range c.Schedules {
		if strings.EqualFold(c.Schedules[i].Environment, env) {
			return &c.Schedules[i], true
		}
	}
	return nil, false
}

// StackName returns the stack of the pull request's environment.
func (e Ephemeral) StackName(number int) string {
	return strings.Replace(e.Stack, "{number}", strconv.Itoa(number), 1)
}

// Default returns the configuration of a repository whose .stagecoach.yaml
// is empty: project "infra", environments dev (merge), staging and prod
// (command, prod is production), PR environments off, no schedules.
func Default() *Config {
	c := &Config{}
	applyDefaults(c, presence{})
	return c
}
