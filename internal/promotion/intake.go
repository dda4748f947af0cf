package promotion

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/stagecoach/stagecoach/internal/event"
	"github.com/stagecoach/stagecoach/internal/feature"
	"github.com/stagecoach/stagecoach/internal/githubapi"
	"github.com/stagecoach/stagecoach/internal/jobs"
	"github.com/stagecoach/stagecoach/internal/repoconfig"
	"github.com/stagecoach/stagecoach/internal/store"
)

// config loads the repository's configuration; nil without error when the repository has not
// opted in or its configuration is broken (the config check reports that).
func (s *Service) config(ctx context.Context, installation int64, repo string) (*repoconfig.Config, error) {
	loaded, err := feature.Config(ctx, s.o.Configs, installation, repo)
	return loaded.Config, err
}

// Push is the processor of push events to the default branch (the webhook handler drops other
// branches): the head commit goes to the first environment when its trigger is merge, and on
// up to the furthest environment a label of the merged pull request names.
func (s *Service) Push(ctx context.Context, e event.Event) error {
	var p struct {
		After   string `json:"after"`
		Before  string `json:"before"`
		Deleted bool   `json:"deleted"`
		Sender  struct {
			Login string `json:"login"`
		} `json:"sender"`
	}
	if err := json.Unmarshal(e.Payload, &p); err != nil {
		return fmt.Errorf("decoding push: %w", err)
	}
	if p.Deleted || strings.Trim(p.After, "0") == "" {
		return nil
	}
	cfg, err := s.config(ctx, e.InstallationID, e.Repo)
	if err != nil || cfg == nil || len(cfg.Environments) == 0 || cfg.Environments[0].Trigger != repoconfig.TriggerMerge {
		return err
	}
	gh := s.o.GitHub.Installation(e.InstallationID)
	pr, err := mergedPR(ctx, gh, e.Repo, p.After)
	if err != nil {
		return err
	}
	target := ""
	if pr != 0 {
		owner, name := githubapi.SplitRepo(e.Repo)
		labels, _, err := gh.ListLabelsByIssue(ctx, owner, name, pr, nil)
		if err != nil {
			return fmt.Errorf("reading the labels of %s#%d: %w", e.Repo, pr, err)
		}
		best := 0
		for _, l := range labels {
			if env, ok := cfg.LabelEnvironment(l.GetName()); ok {
				if i := index(cfg, env.Name); i > best {
					best, target = i, env.Name
				}
			}
		}
	}
	jobs.Logger(ctx, s.o.Logger).Info("merge to the default branch", "repo", e.Repo, "sha", p.After, "pr", pr, "target", target)
	first := cfg.Environments[0]
	trigger := TriggerMerge
	if target != "" {
		trigger = TriggerLabel
	}
	return s.request(ctx, cfg, store.Promotion{ID: "push:" + p.After + ":" + strings.ToLower(first.Name), Repo: e.Repo,
		InstallationID: e.InstallationID, Environment: first.Name, SHA: p.After, Trigger: trigger, Requester: p.Sender.Login,
		PR: pr, Target: target, ParentSHA: p.Before, RequestedAt: s.received(ctx, e)})
}

// received is when the bot took the event in: deliveries arrive in order but their jobs may run
// in any order, so requests are ordered by delivery.
func (s *Service) received(ctx context.Context, e event.Event) time.Time {
	d, err := s.o.Records.Delivery(ctx, e.DeliveryID)
	if err != nil || d.ReceivedAt.IsZero() {
		return s.o.Now()
	}
	return d.ReceivedAt
}

// Deployment is the processor of deployment events created outside the bot (the UI, the API, a
// workflow): one for a configured environment is carried out through the same gates, with the
// deployment's creator as the requester. The bot's own deployments (their payload names the
// promotion; the webhook handler also drops events the bot sent) are ignored.
func (s *Service) Deployment(ctx context.Context, e event.Event) error {
	var p struct {
		Action     string `json:"action"`
		Deployment struct {
			ID          int64  `json:"id"`
			SHA         string `json:"sha"`
			Environment string `json:"environment"`
			Task        string `json:"task"`
			Creator     struct {
				Login string `json:"login"`
				Type  string `json:"type"`
			} `json:"creator"`
			Payload json.RawMessage `json:"payload"`
		} `json:"deployment"`
	}
	if err := json.Unmarshal(e.Payload, &p); err != nil {
		return fmt.Errorf("decoding deployment: %w", err)
	}
	d := p.Deployment
	var mark map[string]any
	_ = json.Unmarshal(d.Payload, &mark) // a payload that is not an object is not ours
	if p.Action != "created" || mark[payloadKey] != nil {
		return nil
	}
	cfg, err := s.config(ctx, e.InstallationID, e.Repo)
	if err != nil || cfg == nil {
		return err
	}
	env, ok := cfg.Environment(d.Environment)
	if !ok {
		return nil
	}
	gh := s.o.GitHub.Installation(e.InstallationID)
	pr, err := mergedPR(ctx, gh, e.Repo, d.SHA)
	if err != nil {
		return err
	}
	jobs.Logger(ctx, s.o.Logger).Info("deployment created outside the bot", "repo", e.Repo, "sha", d.SHA, "environment", env.Name, "creator", d.Creator.Login)
	return s.request(ctx, cfg, store.Promotion{ID: "deployment:" + strconv.FormatInt(d.ID, 10), Repo: e.Repo,
		InstallationID: e.InstallationID, Environment: env.Name, SHA: d.SHA, Trigger: TriggerAPI, Requester: d.Creator.Login,
		PR: pr, DeploymentID: d.ID, RequestedAt: s.received(ctx, e)})
}

func index(cfg *repoconfig.Config, env string) int {
	for i, e := range cfg.Environments {
		if strings.EqualFold(e.Name, env) {
			return i
		}
	}
	return -1
}

// Labeled is the processor of pull_request events: a promotion label added to an already merged
// pull request promotes its merge commit stage by stage, from the first environment it has not
// reached yet up to the labelled one. Labels on open pull requests act at merge time (Push).
func (s *Service) Labeled(ctx context.Context, e event.Event) error {
	var p struct {
		Action string `json:"action"`
		Label  struct {
			Name string `json:"name"`
		} `json:"label"`
		PullRequest struct {
			Number         int    `json:"number"`
			Merged         bool   `json:"merged"`
			MergeCommitSHA string `json:"merge_commit_sha"`
		} `json:"pull_request"`
		Sender struct {
			Login string `json:"login"`
		} `json:"sender"`
	}
	if err := json.Unmarshal(e.Payload, &p); err != nil {
		return fmt.Errorf("decoding pull_request: %w", err)
	}
	if p.Action != "labeled" || !p.PullRequest.Merged || p.PullRequest.MergeCommitSHA == "" {
		return nil
	}
	cfg, err := s.config(ctx, e.InstallationID, e.Repo)
	if err != nil || cfg == nil {
		return err
	}
	target, ok := cfg.LabelEnvironment(p.Label.Name)
	if !ok {
		return nil
	}
	sha := p.PullRequest.MergeCommitSHA
	done, err := s.o.Records.FirstSuccess(ctx, e.Repo, sha)
	if err != nil {
		return err
	}
	last := index(cfg, target.Name)
	for i := 0; i <= last; i++ {
		env := cfg.Environments[i]
		if _, ok := done[strings.ToLower(env.Name)]; ok {
			continue
		}
		jobs.Logger(ctx, s.o.Logger).Info("promotion label on a merged pull request", "repo", e.Repo, "pr", p.PullRequest.Number,
			"sha", sha, "from", env.Name, "target", target.Name)
		return s.request(ctx, cfg, store.Promotion{ID: "label:" + e.DeliveryID, Repo: e.Repo, InstallationID: e.InstallationID,
			Environment: env.Name, SHA: sha, Trigger: TriggerLabel, Requester: p.Sender.Login, PR: p.PullRequest.Number,
			Target: target.Name, RequestedAt: s.received(ctx, e)})
	}
	return nil
}
