package doctor

import (
	"bytes"
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stagecoach/stagecoach/internal/testenv/golden"
)

func pass(detail string) func(context.Context) (string, error) {
	return func(context.Context) (string, error) { return detail, nil }
}

func fail(msg string) func(context.Context) (string, error) {
	return func(context.Context) (string, error) { return "", errors.New(msg) }
}

func TestRun(t *testing.T) {
	t.Parallel()
	ctx := context.Background()

	t.Run("prints one line per check, fixes under failures, and a summary", func(t *testing.T) {
		t.Parallel()
		stuck := make(chan struct{})
		t.Cleanup(func() { close(stuck) })
		checks := []Check{
			{Name: "Pulumi CLI", Required: true, Run: pass("v3.274.1 at /cache/pulumi (pinned build in the cache)")},
			{Name: "no detail", Required: true, Run: pass("")},
			{Name: "database", Required: true, Run: fail("dial tcp 127.0.0.1:5432: connection refused\nsecond line"),
				Fix: "start Postgres or set STAGECOACH_DATABASE_URL"},
			{Name: "GitHub API", Run: fail("api.github.com unreachable"), Fix: "check the network"},
			{Name: "state backend", Required: true, Run: func(context.Context) (string, error) {
				return "", Skip("s3://bucket: cloud storage needs credentials")
			}},
			{Name: "panicky", Required: true, Run: func(context.Context) (string, error) { panic("boom") }, Fix: "report a bug"},
			{Name: "stuck", Timeout: 10 * time.Millisecond, Run: func(context.Context) (string, error) {
				<-stuck // ignores its context
				return "", nil
			}},
			{Name: "honours its context", Timeout: 10 * time.Millisecond, Run: func(ctx context.Context) (string, error) {
				<-ctx.Done()
				return "", ctx.Err()
			}},
			{Name: "no function", Run: nil},
		}
		var out bytes.Buffer
		if Run(ctx, &out, checks) {
			t.Error("Run = true with failing required checks")
		}
		golden.Assert(t, filepath.Join("testdata", "run.golden"), out.String())
	})

	t.Run("prints in the given order while running checks concurrently", func(t *testing.T) {
		t.Parallel()
		secondRan := make(chan struct{})
		checks := []Check{
			{Name: "first", Run: func(context.Context) (string, error) {
				<-secondRan // only finishes if the second check runs meanwhile
				return "after second", nil
			}},
			{Name: "second", Run: func(context.Context) (string, error) {
				close(secondRan)
				return "done", nil
			}},
		}
		var out bytes.Buffer
		if !Run(ctx, &out, checks) {
			t.Error("Run = false")
		}
		if !strings.HasPrefix(out.String(), "✓ first — after second\n✓ second — done\n") {
			t.Errorf("output:\n%s", out.String())
		}
	})

	t.Run("cancelled run fails its checks", func(t *testing.T) {
		t.Parallel()
		cctx, cancel := context.WithCancel(ctx)
		cancel()
		var out bytes.Buffer
		ok := Run(cctx, &out, []Check{{Name: "waits", Required: true, Run: func(ctx context.Context) (string, error) {
			<-ctx.Done()
			return "", ctx.Err()
		}}})
		if ok || !strings.Contains(out.String(), "✗ waits — context canceled") {
			t.Errorf("ok = %v, output:\n%s", ok, out.String())
		}
	})

	for _, tc := range []struct {
		name   string
		checks []Check
		want   bool
	}{
		{"all passing is ok", []Check{{Name: "a", Required: true, Run: pass("")}, {Name: "b", Run: pass("")}}, true},
		{"a failing optional check is still ok", []Check{{Name: "a", Required: true, Run: pass("")}, {Name: "b", Run: fail("x")}}, true},
		{"a skipped required check is ok", []Check{{Name: "a", Required: true, Run: func(context.Context) (string, error) { return "", Skip("offline") }}}, true},
		{"a failing required check is not ok", []Check{{Name: "a", Required: true, Run: fail("x")}, {Name: "b", Run: pass("")}}, false},
		{"a panicking required check is not ok", []Check{{Name: "a", Required: true, Run: func(context.Context) (string, error) { panic(errors.New("x")) }}}, false},
		{"no checks is ok", nil, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if got := Run(ctx, &bytes.Buffer{}, tc.checks); got != tc.want {
				t.Errorf("Run = %v, want %v", got, tc.want)
			}
		})
	}
}
