package promotion

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/google/go-github/v60/github"

	"github.com/stagecoach/stagecoach/internal/command"
	"github.com/stagecoach/stagecoach/internal/githubapi"
	"github.com/stagecoach/stagecoach/internal/render"
	"github.com/stagecoach/stagecoach/internal/repoconfig"
	"github.com/stagecoach/stagecoach/internal/store"
)

// Commands are the comment commands of promotions. Each checks its own gates, so the Router
// only asks for read access.
func (s *Service) Commands() []command.Spec {
	return []command.Spec{
		{Name: "promote", Usage: "/promote <env> [sha]", Permission: "read", Handler: command.HandlerFunc(s.promote),
			Help: "promotes this merged pull request's commit (or the commit given) to an environment, through every gate"},
		{Name: "approve", Usage: "/approve <env> [sha]", Permission: "read", Handler: command.HandlerFunc(s.approve),
			Help: "approves promoting this merged pull request's commit (or the commit given) to an environment"},
		{Name: "rollback", Usage: "/rollback <env>", Permission: "read", Handler: command.HandlerFunc(s.rollback),
			Help: "redeploys the previous successful commit of an environment"},
		{Name: "history", Usage: "/history <env>", Permission: "read", Handler: command.HandlerFunc(s.history),
			Help: "lists an environment's recent promotions"},
	}
}

// target resolves the environment and commit a command names.
func (s *Service) target(ctx context.Context, gh githubapi.Client, c command.Command, maxArgs int) (*repoconfig.Config, *repoconfig.Environment, string, error) {
	if len(c.Args) == 0 || len(c.Args) > maxArgs {
		return nil, nil, "", command.Usagef("name the environment.")
	}
	cfg, err := s.config(ctx, c.InstallationID, c.Repo)
	if err != nil {
		return nil, nil, "", err
	}
	if cfg == nil {
		return nil, nil, "", command.Usagef("this repository has no valid `.stagecoach.yaml` on its default branch.")
	}
	env, ok := cfg.Environment(c.Args[0])
	if !ok {
		return nil, nil, "", command.Usagef("%s is not an environment of this repository; the environments are %s.", command.Code(c.Args[0]), names(cfg))
	}
	if maxArgs < 2 {
		return cfg, env, "", nil
	}
	owner, name := githubapi.SplitRepo(c.Repo)
	if len(c.Args) == 2 {
		commit, _, err := gh.GetCommit(ctx, owner, name, c.Args[1], nil)
		var ghErr *github.ErrorResponse
		if errors.As(err, &ghErr) && ghErr.Response != nil && ghErr.Response.StatusCode/100 == 4 {
			return nil, nil, "", command.Usagef("%s is not a commit of this repository.", command.Code(c.Args[1]))
		}
		if err != nil {
			return nil, nil, "", fmt.Errorf("resolving commit %q: %w", render.Clip(c.Args[1], 80), err)
		}
		return cfg, env, commit.GetSHA(), nil
	}
	pr, _, err := gh.GetPullRequest(ctx, owner, name, c.PR)
	if err != nil {
		return nil, nil, "", fmt.Errorf("reading %s#%d: %w", c.Repo, c.PR, err)
	}
	if !pr.GetMerged() {
		return nil, nil, "", command.Usagef("this pull request is not merged, so it has no commit on the default branch; merge it first or name the commit: `/%s %s <sha>`.", c.Name, env.Name)
	}
	return cfg, env, pr.GetMergeCommitSHA(), nil
}

// commandPromotionID is the id of the promotion a comment asks for: one comment, one promotion,
// however often its job runs.
func commandPromotionID(c command.Command) string {
	return "comment:" + strconv.FormatInt(c.CommentID, 10)
}

// requested returns the promotion an earlier attempt of c recorded; ok is false when none did.
func (s *Service) requested(ctx context.Context, c command.Command) (p store.Promotion, ok bool, err error) {
	p, err = s.o.Records.PromotionByID(ctx, commandPromotionID(c))
	if errors.Is(err, store.ErrNotFound) {
		return store.Promotion{}, false, nil
	}
	return p, err == nil, err
}

// promote handles /promote <env> [sha]: every gate is checked before anything changes.
func (s *Service) promote(ctx context.Context, c command.Command) error {
	gh := s.o.GitHub.Installation(c.InstallationID)
	cfg, env, sha, err := s.target(ctx, gh, c, 2)
	if err != nil {
		return err
	}
	return s.gatedRequest(ctx, gh, c, cfg, env, sha, false)
}

// gatedRequest checks every gate for a command and queues the promotion when all pass.
//
// The promotion record is keyed by the comment, so a retried job never records a second one.
// When an earlier attempt recorded it (and then failed, e.g. creating the GitHub deployment or
// answering), the gates are not asked again — their answer could have changed since (a freeze
// window opened) — and the attempt finishes what the first began.
func (s *Service) gatedRequest(ctx context.Context, gh githubapi.Client, c command.Command, cfg *repoconfig.Config, env *repoconfig.Environment, sha string, rollback bool) error {
	if prev, ok, err := s.requested(ctx, c); err != nil || ok {
		if err != nil {
			return err
		}
		if err := s.request(ctx, cfg, prev); err != nil {
			return err
		}
		return c.Reply(ctx, passed(c, env.Name, prev.SHA, prev.Rollback))
	}
	ppl := newPeople(gh, c.Repo, cfg)
	requester, err := ppl.get(ctx, c.Author)
	if err != nil {
		return err
	}
	succeeded, err := s.o.Records.FirstSuccess(ctx, c.Repo, sha)
	if err != nil {
		return err
	}
	approvals, err := s.approvals(ctx, ppl, c.Repo, env.Name, sha)
	if err != nil {
		return err
	}
	f := Facts{Config: cfg, Env: env.Name, SHA: sha, Requester: requester, Succeeded: succeeded, Approvals: approvals,
		Now: s.o.Now(), Rollback: rollback}
	if refusals := Check(f); len(refusals) > 0 {
		return c.Reply(ctx, fmt.Sprintf("@%s, I cannot %s yet:\n\n%s", c.Author, intent(env.Name, sha, rollback), Explain(refusals)))
	}
	approvers, _ := ApprovalGate(env.Name, env.Approvals, c.Author, sha, approvals)
	if err := s.request(ctx, cfg, store.Promotion{ID: commandPromotionID(c), Repo: c.Repo,
		InstallationID: c.InstallationID, Environment: env.Name, SHA: sha, Trigger: TriggerComment, Requester: c.Author,
		Approvers: approvers, PR: c.PR, Rollback: rollback}); err != nil {
		return err
	}
	return c.Reply(ctx, passed(c, env.Name, sha, rollback))
}

// intent says what a command asks for: "promote abc1234 to `prod`" or "roll `prod` back to abc1234".
func intent(env, sha string, rollback bool) string {
	if rollback {
		return "roll `" + env + "` back to " + render.ShortSHA(sha)
	}
	return "promote " + render.ShortSHA(sha) + " to `" + env + "`"
}

// passed is the answer to a command whose promotion every gate let through.
func passed(c command.Command, env, sha string, rollback bool) string {
	return fmt.Sprintf("@%s, every gate passed: I will %s; the preview follows.", c.Author, intent(env, sha, rollback))
}

// approve handles /approve <env> [sha].
func (s *Service) approve(ctx context.Context, c command.Command) error {
	gh := s.o.GitHub.Installation(c.InstallationID)
	cfg, env, sha, err := s.target(ctx, gh, c, 2)
	if err != nil {
		return err
	}
	who, err := newPeople(gh, c.Repo, cfg).get(ctx, c.Author)
	if err != nil {
		return err
	}
	if ok, why := Qualifies(env.Approvals.Approvers, who); !ok {
		return c.Reply(ctx, fmt.Sprintf("@%s, your approval does not count for `%s`: %s.", c.Author, env.Name, why))
	}
	// An approval is keyed by approver and commit, so a retried job records no second one.
	if err := s.o.Records.AddApproval(ctx, c.Repo, env.Name, sha, c.Author); err != nil {
		return err
	}
	recs, err := s.o.Records.Approvals(ctx, c.Repo, env.Name, sha)
	if err != nil {
		return err
	}
	var by []string
	for _, r := range recs {
		by = append(by, "@"+r.Approver)
	}
	return c.Reply(ctx, fmt.Sprintf("@%s approved promoting %s to `%s`; %d approval(s) required, approved so far by %s. An approval binds to this commit only and never counts for a promotion its approver requests.",
		c.Author, render.ShortSHA(sha), env.Name, env.Approvals.Required, strings.Join(by, ", ")))
}

// rollback handles /rollback <env>: the previous successful commit goes back, through every
// gate but soak.
func (s *Service) rollback(ctx context.Context, c command.Command) error {
	gh := s.o.GitHub.Installation(c.InstallationID)
	cfg, env, _, err := s.target(ctx, gh, c, 1)
	if err != nil {
		return err
	}
	if prev, ok, err := s.requested(ctx, c); err != nil || ok {
		if err != nil {
			return err
		}
		// An earlier attempt chose the commit and recorded the rollback; keep its choice.
		return s.gatedRequest(ctx, gh, c, cfg, env, prev.SHA, true)
	}
	done, err := s.o.Records.SucceededPromotions(ctx, c.Repo, strings.ToLower(env.Name), 100)
	if err != nil {
		return err
	}
	if len(done) == 0 {
		return c.Reply(ctx, fmt.Sprintf("@%s, nothing was ever deployed to `%s`, so there is nothing to roll back.", c.Author, env.Name))
	}
	for _, p := range done[1:] {
		if p.SHA != done[0].SHA {
			return s.gatedRequest(ctx, gh, c, cfg, env, p.SHA, true)
		}
	}
	return c.Reply(ctx, fmt.Sprintf("@%s, `%s` has run only %s, so there is no earlier commit to roll back to.", c.Author, env.Name, render.ShortSHA(done[0].SHA)))
}

// history handles /history <env>.
func (s *Service) history(ctx context.Context, c command.Command) error {
	_, env, _, err := s.target(ctx, nil, c, 1)
	if err != nil {
		return err
	}
	ps, err := s.o.Records.PromotionHistory(ctx, c.Repo, strings.ToLower(env.Name), s.o.HistoryLimit)
	if err != nil {
		return err
	}
	return c.Reply(ctx, History(env.Name, ps, s.o.LogURL))
}

// History renders an environment's recent promotions as a markdown table.
func History(env string, ps []store.Promotion, logURL func(string) string) string {
	if len(ps) == 0 {
		return fmt.Sprintf("Nothing has been promoted to `%s` yet.", env)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "**Recent promotions to `%s`**, newest first\n\n", env)
	b.WriteString("| commit | replaced | trigger | requester | approvers | preview | result | started | finished | log |\n|---|---|---|---|---|---|---|---|---|---|\n")
	for _, p := range ps {
		kind := p.Trigger
		if p.Rollback {
			kind += " (rollback)"
		}
		log := "—"
		if u := logURL(p.LogID); u != "" {
			log = "[log](" + u + ")"
		} else if p.LogID != "" {
			log = "`" + p.LogID + "`"
		}
		result := p.Status
		if p.Status == store.PromotionFailed || p.Status == store.PromotionRefused {
			result += ": " + render.Clip(strings.ReplaceAll(p.Reason, "\n", " "), 120)
		}
		fmt.Fprintf(&b, "| %s | %s | %s | @%s | %s | %s | %s | %s | %s | %s |\n", render.ShortSHA(p.SHA), orDash(render.ShortSHA(p.ReplacedSHA)), kind,
			p.Requester, orDash(strings.Join(p.Approvers, ", ")), orDash(cell(p.Preview)), cell(result), stamp(p.StartedAt), stamp(p.FinishedAt), log)
	}
	return b.String()
}

// cell makes s safe inside a markdown table cell.
func cell(s string) string {
	return strings.NewReplacer("|", "\\|", "\n", " ", "\r", " ").Replace(s)
}

func orDash(s string) string {
	if s == "" {
		return "—"
	}
	return s
}

func stamp(t time.Time) string {
	if t.IsZero() {
		return "—"
	}
	return t.UTC().Format("2006-01-02 15:04 UTC")
}
