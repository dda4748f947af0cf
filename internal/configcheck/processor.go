// Package configcheck tells a pull request when the repository's .stagecoach.yaml is
// broken. The config is read from the default branch (never the PR head, so a PR
// cannot change who may promote); while it is invalid the bot acts on nothing in
// that repository, and each affected PR gets one failing check run, per head commit,
// listing every problem with its file, line and field.
package configcheck

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"

	"github.com/google/go-github/v60/github"

	"github.com/stagecoach/stagecoach/internal/event"
	"github.com/stagecoach/stagecoach/internal/feature"
	"github.com/stagecoach/stagecoach/internal/githubapi"
	"github.com/stagecoach/stagecoach/internal/jobs"
	"github.com/stagecoach/stagecoach/internal/render"
	"github.com/stagecoach/stagecoach/internal/repoconfig"
)

// CheckName is the check run the processor maintains.
const CheckName = "stagecoach / config"

// Processor checks the repository config on pull request activity.
type Processor struct {
	github  githubapi.Installations
	configs feature.Configs
	logger  *slog.Logger
}

// New returns the processor; configs is the loader every feature reads configs through.
func New(gh githubapi.Installations, configs feature.Configs, logger *slog.Logger) *Processor {
	return &Processor{github: gh, configs: configs, logger: logger}
}

// Process implements event.Processor for pull_request events.
func (p *Processor) Process(ctx context.Context, e event.Event) error {
	switch e.Action {
	case "opened", "reopened", "synchronize", "ready_for_review":
	default:
		return nil
	}
	var payload struct {
		PullRequest struct {
			Head struct {
				SHA string `json:"sha"`
			} `json:"head"`
		} `json:"pull_request"`
	}
	if err := json.Unmarshal(e.Payload, &payload); err != nil || payload.PullRequest.Head.SHA == "" {
		return fmt.Errorf("reading the head commit of %s#%d: no pull_request.head.sha", e.Repo, e.PR)
	}
	loaded, err := p.configs.Load(ctx, e.InstallationID, e.Repo)
	var verr *repoconfig.ValidationError
	switch {
	case errors.Is(err, repoconfig.ErrNotFound):
		jobs.Logger(ctx, p.logger).Info("repository has no " + repoconfig.FileName + "; staying quiet")
		return nil
	case errors.As(err, &verr):
		return p.report(ctx, e, payload.PullRequest.Head.SHA, loaded, verr)
	case err != nil:
		return fmt.Errorf("loading %s of %s: %w", repoconfig.FileName, e.Repo, err)
	}
	return nil
}

// report creates, or updates, the one failing check run on the head commit.
func (p *Processor) report(ctx context.Context, e event.Event, sha string, loaded repoconfig.Loaded, verr *repoconfig.ValidationError) error {
	owner, name := githubapi.SplitRepo(e.Repo)
	checks := p.github.Installation(e.InstallationID)
	title, summary := Describe(loaded, verr)
	output := &github.CheckRunOutput{Title: github.String(title), Summary: github.String(summary)}
	existing, _, err := checks.ListCheckRunsForRef(ctx, owner, name, sha, &github.ListCheckRunsOptions{CheckName: github.String(CheckName)})
	if err != nil {
		return fmt.Errorf("listing check runs of %s@%s: %w", e.Repo, sha, err)
	}
	if runs := existing.CheckRuns; len(runs) > 0 {
		_, _, err := checks.UpdateCheckRun(ctx, owner, name, runs[0].GetID(), github.UpdateCheckRunOptions{
			Name: CheckName, Status: github.String("completed"), Conclusion: github.String("failure"), Output: output,
		})
		if err != nil {
			return fmt.Errorf("updating check run %s on %s@%s: %w", CheckName, e.Repo, sha, err)
		}
		return nil
	}
	if _, _, err := checks.CreateCheckRun(ctx, owner, name, github.CreateCheckRunOptions{
		Name: CheckName, HeadSHA: sha, Status: github.String("completed"), Conclusion: github.String("failure"), Output: output,
	}); err != nil {
		return fmt.Errorf("creating check run %s on %s@%s: %w", CheckName, e.Repo, sha, err)
	}
	jobs.Logger(ctx, p.logger).Info("reported an invalid repository config", "problems", len(verr.Errors))
	return nil
}

// maxListed bounds the problems listed in one check run; the summary stays far below GitHub's limit.
const maxListed = 100

// Describe renders the check run's title and summary for an invalid config.
func Describe(loaded repoconfig.Loaded, verr *repoconfig.ValidationError) (title, summary string) {
	n := len(verr.Errors)
	plural := "s"
	if n == 1 {
		plural = ""
	}
	title = fmt.Sprintf("%s on %s has %d problem%s", repoconfig.FileName, loaded.Branch, n, plural)
	var b strings.Builder
	fmt.Fprintf(&b, "stagecoach reads `%s` from the default branch `%s` (at `%s`) and found %d problem%s. ",
		repoconfig.FileName, loaded.Branch, render.ShortSHA(loaded.SHA), n, plural)
	b.WriteString("Until they are fixed on the default branch, stagecoach deploys nothing for this repository.\n\n```text\n")
	for i, fe := range verr.Errors {
		if i == maxListed {
			fmt.Fprintf(&b, "… and %d more\n", n-maxListed)
			break
		}
		b.WriteString(strings.ReplaceAll(fe.Error(), "```", "'''"))
		b.WriteByte('\n')
	}
	b.WriteString("```\n\nCheck a fix before merging it: `bot config validate .stagecoach.yaml`.\n")
	return title, b.String()
}
