package ephemeral

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/google/go-github/v60/github"

	"github.com/stagecoach/stagecoach/internal/event"
	"github.com/stagecoach/stagecoach/internal/feature"
	"github.com/stagecoach/stagecoach/internal/repoconfig"
	"github.com/stagecoach/stagecoach/internal/store"
)

// prPayload is what the feature reads from a pull_request webhook.
type prPayload struct {
	Action      string `json:"action"`
	Number      int    `json:"number"`
	PullRequest struct {
		State     string    `json:"state"`
		Draft     bool      `json:"draft"`
		UpdatedAt time.Time `json:"updated_at"`
		Merged    bool      `json:"merged"`
		Labels    []struct {
			Name string `json:"name"`
		} `json:"labels"`
		Head struct {
			SHA  string `json:"sha"`
			Repo *struct {
				FullName string `json:"full_name"`
			} `json:"repo"`
		} `json:"head"`
	} `json:"pull_request"`
}

// prFacts are the pull request properties that decide whether it gets an environment.
type prFacts struct {
	Open    bool
	Draft   bool
	Fork    bool
	HeadSHA string
	Labels  []string
	// UpdatedAt is GitHub's time of the PR's last change (for a push: when the head moved), on
	// GitHub's clock, like a comment's created_at: a fork approval compares the two.
	UpdatedAt time.Time
}

// factsOf reads the facts from a pull request as the REST API returns it.
func factsOf(pr *github.PullRequest, repo string) prFacts {
	f := prFacts{Open: pr.GetState() == "open", Draft: pr.GetDraft(), HeadSHA: pr.GetHead().GetSHA(),
		Fork:      pr.GetHead().GetRepo() == nil || !strings.EqualFold(pr.GetHead().GetRepo().GetFullName(), repo),
		UpdatedAt: pr.GetUpdatedAt().Time}
	for _, l := range pr.Labels {
		f.Labels = append(f.Labels, l.GetName())
	}
	return f
}

func (f prFacts) has(label string) bool {
	return label != "" && slices.ContainsFunc(f.Labels, func(l string) bool { return strings.EqualFold(l, label) })
}

// config loads the repository's ephemeral configuration; nil without error when the repository
// has not opted in, its configuration is broken (the config check reports that) or PR
// environments are off.
func (s *Service) config(ctx context.Context, installation int64, repo string) (*repoconfig.Config, error) {
	loaded, err := feature.Config(ctx, s.o.Configs, installation, repo)
	if err != nil || loaded.Config == nil || !loaded.Config.Ephemeral.Enabled {
		return nil, err
	}
	return loaded.Config, nil
}

// PullRequest is the processor of pull_request events.
func (s *Service) PullRequest(ctx context.Context, e event.Event) error {
	var p prPayload
	if err := json.Unmarshal(e.Payload, &p); err != nil {
		return fmt.Errorf("decoding pull_request: %w", err)
	}
	if p.Action == "closed" {
		// Also when PR environments were turned off meanwhile: nothing is left behind.
		return s.close(ctx, e.Repo, p.Number)
	}
	cfg, err := s.config(ctx, e.InstallationID, e.Repo)
	if err != nil || cfg == nil {
		return err
	}
	f := prFacts{Open: p.PullRequest.State == "open", Draft: p.PullRequest.Draft, HeadSHA: p.PullRequest.Head.SHA,
		UpdatedAt: p.PullRequest.UpdatedAt}
	f.Fork = p.PullRequest.Head.Repo == nil || !strings.EqualFold(p.PullRequest.Head.Repo.FullName, e.Repo)
	for _, l := range p.PullRequest.Labels {
		f.Labels = append(f.Labels, l.Name)
	}
	switch p.Action {
	case "opened", "reopened", "synchronize", "ready_for_review", "converted_to_draft", "labeled", "unlabeled":
		return s.observe(ctx, cfg, e.InstallationID, e.Repo, p.Number, f, p.Action == "reopened")
	}
	return nil
}

// observe records the PR's current facts and wants a deploy of its head when it is eligible.
func (s *Service) observe(ctx context.Context, cfg *repoconfig.Config, installation int64, repo string, pr int, f prFacts, reopened bool) error {
	ec := cfg.Ephemeral
	init := &store.PREnvironment{InstallationID: installation, Stack: ec.StackName(pr), Slot: -1}
	var changed bool
	_, err := s.o.Records.UpdatePREnvironment(ctx, repo, pr, init, func(e *store.PREnvironment) error {
		before := *e
		e.InstallationID, e.Fork, e.Keep = installation, f.Fork, f.has(ec.Labels.Keep)
		if reopened {
			e.Paused = false
		}
		if f.HeadSHA != "" && f.HeadSHA != e.HeadSHA {
			e.HeadSHA, e.HeadSeq, e.HeadAt = f.HeadSHA, e.HeadSeq+1, f.UpdatedAt
		}
		if eligible(ec, f, *e) {
			if e.DesiredSeq < e.HeadSeq || e.Want != store.WantDeploy {
				e.DesiredSHA, e.DesiredSeq, e.Want = e.HeadSHA, e.HeadSeq, store.WantDeploy
				e.ExpiresAt = s.o.Now().Add(ec.TTL)
				e.Warned = false
			}
		} else if e.Want == store.WantDeploy && optedOut(ec, f) && e.Status != store.PRDestroyed {
			// Removing the opt-in label or adding the opt-out label takes the environment down.
			e.Want = store.WantDestroy
		}
		if e.Want == store.WantNothing && e.Slot < 0 {
			e.Summary = waitingReason(ec, f, *e)
		}
		changed = *e != before
		return nil
	})
	if err != nil {
		return err
	}
	if !changed {
		return nil
	}
	// The job deploys, destroys or says in the comment why nothing happens (a fork, a draft…).
	return s.enqueue(ctx, repo, pr, installation)
}

// eligible reports whether the PR's head should be deployed now.
func eligible(ec repoconfig.Ephemeral, f prFacts, e store.PREnvironment) bool {
	switch {
	case !f.Open, e.Paused, f.Draft && !ec.Drafts:
		return false
	case f.Fork && (ec.Forks == repoconfig.ForkNever || e.ApprovedSHA != f.HeadSHA):
		return false
	case e.Fork && e.ApprovedSHA == f.HeadSHA:
		return true // a writer approved exactly this head with /deploy
	}
	switch ec.Trigger {
	case repoconfig.EphemeralLabel:
		return f.has(ec.Labels.OptIn)
	case repoconfig.EphemeralCommand:
		return e.Want == store.WantDeploy || e.DeployedSeq > 0
	default:
		return !f.has(ec.Labels.OptOut)
	}
}

// optedOut reports whether labels now keep the PR from having an environment.
func optedOut(ec repoconfig.Ephemeral, f prFacts) bool {
	switch ec.Trigger {
	case repoconfig.EphemeralLabel:
		return !f.has(ec.Labels.OptIn)
	case repoconfig.EphemeralAuto, "":
		return f.has(ec.Labels.OptOut)
	}
	return false
}

// waitingReason says why an open PR has no environment yet, "" when there is nothing to say.
func waitingReason(ec repoconfig.Ephemeral, f prFacts, e store.PREnvironment) string {
	switch {
	case !f.Open:
		return ""
	case f.Fork && ec.Forks == repoconfig.ForkNever:
		return "This pull request comes from a fork, and this repository never deploys forks."
	case f.Fork:
		return "Not deployed: waiting for a writer's `/deploy`."
	case e.Paused:
		return "The environment was destroyed with `/destroy`; comment `/deploy` to bring it back."
	case f.Draft && !ec.Drafts:
		return "Draft pull requests are deployed once they are marked ready for review."
	case ec.Trigger == repoconfig.EphemeralLabel && !f.has(ec.Labels.OptIn):
		return fmt.Sprintf("Add the label `%s` (or comment `/deploy`) to get an environment.", ec.Labels.OptIn)
	case ec.Trigger == repoconfig.EphemeralCommand:
		return "Comment `/deploy` to get an environment."
	}
	return ""
}

// close wants the PR's environment destroyed.
func (s *Service) close(ctx context.Context, repo string, pr int) error {
	env, err := s.o.Records.UpdatePREnvironment(ctx, repo, pr, nil, func(e *store.PREnvironment) error {
		if e.Slot >= 0 || (e.Status != store.PRDestroyed && e.Status != store.PRIdle) {
			e.Want = store.WantDestroy
		} else {
			e.Want = store.WantNothing
		}
		e.Paused = false
		return nil
	})
	if errors.Is(err, store.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	return s.enqueue(ctx, repo, pr, env.InstallationID)
}
