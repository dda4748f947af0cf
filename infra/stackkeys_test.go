package main

import (
	"slices"
	"strings"
	"testing"

	"github.com/stagecoach/stagecoach/internal/stackkeys"
)

// TestProgramReadsEveryKeyTheBotSets is infra's half of the stack key contract (the bot's half is
// in internal/bot): the keys in the bot's namespace the program reads are exactly those the bot
// sets, and each reaches the program's configuration.
func TestProgramReadsEveryKeyTheBotSets(t *testing.T) {
	t.Parallel()
	var read []string
	for _, k := range configKeys() {
		if strings.HasPrefix(k, stackkeys.Namespace+":") {
			read = append(read, k)
		}
	}
	slices.Sort(read)
	if !slices.Equal(read, stackkeys.All()) {
		t.Errorf("infra reads %v of the bot's keys; the bot sets %v", read, stackkeys.All())
	}

	t.Run("the commit and branch reach the program's configuration", func(t *testing.T) {
		t.Parallel()
		stack, values := deployable(t, "pr")
		sha := strings.Repeat("ab", 20)
		cfg, err := parse(stack, withValues(values, map[string]string{stackkeys.Commit: sha, stackkeys.Ref: "feature/login"}))
		if err != nil {
			t.Fatal(err)
		}
		if cfg.Commit != sha || cfg.Ref != "feature/login" {
			t.Errorf("commit %q ref %q, want %q and feature/login", cfg.Commit, cfg.Ref, sha)
		}
	})
}
