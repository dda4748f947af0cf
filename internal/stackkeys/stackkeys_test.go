package stackkeys_test

import (
	"maps"
	"slices"
	"testing"

	"github.com/stagecoach/stagecoach/internal/stackkeys"
)

func TestOperation(t *testing.T) {
	t.Parallel()

	t.Run("the commit and branch join the recorded keys and win over recorded values", func(t *testing.T) {
		t.Parallel()
		stored := map[string]string{stackkeys.PR: "4", stackkeys.Commit: "old", "shop:size": "s"}
		got := stackkeys.Operation(stored, "abc123", "feature/x")
		want := map[string]string{stackkeys.PR: "4", stackkeys.Commit: "abc123", stackkeys.Ref: "feature/x", "shop:size": "s"}
		if !maps.Equal(got, want) {
			t.Errorf("Operation = %v, want %v", got, want)
		}
		if stored[stackkeys.Commit] != "old" || len(stored) != 3 {
			t.Errorf("the recorded keys changed: %v", stored)
		}
	})

	t.Run("no recorded keys and no branch give the commit alone", func(t *testing.T) {
		t.Parallel()
		got := stackkeys.Operation(nil, "abc123", "")
		if !maps.Equal(got, map[string]string{stackkeys.Commit: "abc123"}) {
			t.Errorf("Operation = %v", got)
		}
	})

	t.Run("All is sorted and holds each key once", func(t *testing.T) {
		t.Parallel()
		all := stackkeys.All()
		if !slices.IsSorted(all) || len(slices.Compact(slices.Clone(all))) != 5 {
			t.Errorf("All = %v", all)
		}
	})
}
