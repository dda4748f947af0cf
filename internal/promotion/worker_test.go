package promotion_test

import (
	"strings"
	"testing"

	"github.com/stagecoach/stagecoach/internal/promotion"
	"github.com/stagecoach/stagecoach/internal/store"
)

func TestNewest(t *testing.T) {
	t.Parallel()
	order := func(ps []store.Promotion) string {
		var out []string
		for _, p := range ps {
			out = append(out, p.SHA)
		}
		return strings.Join(out, ",")
	}
	t.Run("merges follow their parents whatever order their events were processed in", func(t *testing.T) {
		t.Parallel()
		// Newest request first, as the store lists them: s2's event was processed last.
		got := promotion.Newest([]store.Promotion{{SHA: "s2", ParentSHA: "s1"}, {SHA: "s3", ParentSHA: "s2"}, {SHA: "s1", ParentSHA: "s0"}})
		if order(got) != "s3,s2,s1" {
			t.Fatalf("order = %s, want s3,s2,s1", order(got))
		}
	})
	t.Run("promotions without parents keep their request order", func(t *testing.T) {
		t.Parallel()
		got := promotion.Newest([]store.Promotion{{SHA: "b"}, {SHA: "a"}, {SHA: "c", ParentSHA: "x"}})
		if order(got) != "b,a,c" {
			t.Fatalf("order = %s, want b,a,c", order(got))
		}
	})
}
