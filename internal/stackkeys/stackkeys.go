// Package stackkeys names the stack config keys the bot sets on every stack it deploys. The bot,
// infra/ and the example repository all take the names from here; the contract tests in
// internal/bot and infra/ keep what the bot sets and what the programs read the same set.
package stackkeys

import "maps"

// Namespace is the config namespace of the bot's keys. A repository's own keys live in its
// project's namespace.
const Namespace = "stagecoach"

// The keys the bot sets.
const (
	// PR is the pull request number, on PR stacks only.
	PR = Namespace + ":pr"
	// Slot is the PR stack's slot, 0–255, unique among the repository's active PR environments,
	// on PR stacks only: programs derive address ranges and ports from it.
	Slot = Namespace + ":slot"
	// Sleeping is "true" while a sleep schedule holds the stack asleep, "false" while awake; unset
	// until a schedule first acts. It is the default of a schedule's config_key.
	Sleeping = Namespace + ":sleeping"
	// Commit is the full SHA of the commit deployed, set by every operation.
	Commit = Namespace + ":commit"
	// Ref is the branch deployed: the PR's head branch on PR stacks, the default branch on
	// environments. Set by every operation.
	Ref = Namespace + ":ref"
)

// All lists every key the bot sets, sorted.
func All() []string {
	return []string{Commit, PR, Ref, Sleeping, Slot}
}

// Operation returns the config the bot passes to one operation: the keys recorded for the stack
// (stored: pr, slot, sleeping…) and the commit and branch the operation deploys. The two always
// win over a recorded value. stored is not changed.
func Operation(stored map[string]string, commit, ref string) map[string]string {
	out := maps.Clone(stored)
	if out == nil {
		out = map[string]string{}
	}
	out[Commit] = commit
	if ref != "" {
		out[Ref] = ref
	}
	return out
}
