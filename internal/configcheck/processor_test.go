package configcheck_test

import (
	"context"
	"encoding/json"
	"log/slog"
	"strings"
	"testing"

	"github.com/stagecoach/stagecoach/internal/configcheck"
	"github.com/stagecoach/stagecoach/internal/event"
	"github.com/stagecoach/stagecoach/internal/githubapi/githubapitest"
	"github.com/stagecoach/stagecoach/internal/repoconfig"
)

func pullRequest(t *testing.T, action, head string) event.Event {
	t.Helper()
	payload, err := json.Marshal(map[string]any{"pull_request": map[string]any{"head": map[string]any{"sha": head}}})
	if err != nil {
		t.Fatal(err)
	}
	return event.Event{Args: event.Args{Event: "pull_request", Action: action, Repo: "acme/shop", InstallationID: 1, PR: 3}, Payload: payload}
}

// A broken .stagecoach.yaml on the default branch gives each PR head one failing check run that
// lists the problem; a second event for the same head updates that run instead of adding one. A
// repository without the file gets nothing. In memory: the loader reads through the GitHub fake.
func TestABrokenConfigGetsOneFailingCheckRunPerHead(t *testing.T) {
	t.Parallel()
	gh := githubapitest.New("stagecoach[bot]")
	log := slog.New(slog.DiscardHandler)
	p := configcheck.New(gh, repoconfig.NewLoaders(gh, log), log)
	gh.SetFile("acme/shop", "main", "base1", "README.md", "no config here")

	if err := p.Process(context.Background(), pullRequest(t, "opened", "head1")); err != nil {
		t.Fatal(err)
	}
	if runs := gh.CheckRuns("acme/shop"); len(runs) != 0 {
		t.Fatalf("a repository without %s got check runs: %+v", repoconfig.FileName, runs)
	}

	gh.SetFile("acme/shop", "main", "base2", repoconfig.FileName, "environments:\n  - name: dev\n    soak: forever\n")
	for _, action := range []string{"opened", "synchronize"} {
		if err := p.Process(context.Background(), pullRequest(t, action, "head1")); err != nil {
			t.Fatal(err)
		}
	}
	runs := gh.CheckRuns("acme/shop")
	if len(runs) != 1 {
		t.Fatalf("got %d check runs on the head, want one kept current: %+v", len(runs), runs)
	}
	r := runs[0]
	if r.GetName() != configcheck.CheckName || r.GetConclusion() != "failure" || r.GetHeadSHA() != "head1" ||
		!strings.Contains(r.GetOutput().GetSummary(), "soak") {
		t.Errorf("check run = %s %s on %s, summary %q; want a failure naming the soak problem",
			r.GetName(), r.GetConclusion(), r.GetHeadSHA(), r.GetOutput().GetSummary())
	}
	if n := gh.Count("UpdateCheckRun"); n != 1 {
		t.Errorf("updated the check run %d times, want once (the second event)", n)
	}
}
