package command

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/google/go-github/v60/github"

	"github.com/stagecoach/stagecoach/internal/event"
	"github.com/stagecoach/stagecoach/internal/githubapi"
	"github.com/stagecoach/stagecoach/internal/jobs"
	"github.com/stagecoach/stagecoach/internal/render"
	"github.com/stagecoach/stagecoach/internal/store"
)

// Handler carries out the commands of one feature.
type Handler interface {
	// Handle runs c. A *UsageError is answered with help; other errors fail the job, which is retried.
	Handle(ctx context.Context, c Command) error
}

// HandlerFunc adapts a function to Handler.
type HandlerFunc func(ctx context.Context, c Command) error

// Handle implements Handler.
func (f HandlerFunc) Handle(ctx context.Context, c Command) error { return f(ctx, c) }

// Spec describes one command for help and routing.
type Spec struct {
	// Name is the command without its slash.
	Name string
	// Usage is its syntax, e.g. "/extend <duration>".
	Usage string
	// Help is one line saying what it does.
	Help string
	// Permission is the least collaborator permission that may run it. Default "write".
	Permission string
	// Handler runs it.
	Handler Handler
}

// Steps records which steps of a comment command took effect, so a retried job does each once;
// *store.Store satisfies it.
type Steps interface {
	// CommandStep returns a step's record, or an error wrapping store.ErrNotFound.
	CommandStep(ctx context.Context, repo string, commentID int64, step string) (store.CommandStep, error)
	// StartCommandStep records that a step is starting; a step done stays done.
	StartCommandStep(ctx context.Context, repo string, commentID int64, step string) error
	// FinishCommandStep records a step done with its result; a step done keeps its first result.
	FinishCommandStep(ctx context.Context, repo string, commentID int64, step, result string) error
}

// The Router's own steps.
const (
	// replyStep is the command's one reply.
	replyStep = "reply"
	// handledStep is the whole command: once it is done, a later attempt does nothing.
	handledStep = "handled"
)

// Router is the event processor for issue_comment events.
type Router struct {
	github githubapi.Installations
	steps  Steps
	specs  []Spec
	logger *slog.Logger
}

// NewRouter returns a router for specs, which are listed in help in the order given. steps keeps
// each command's effects and reply to one per comment.
func NewRouter(gh githubapi.Installations, steps Steps, logger *slog.Logger, specs ...Spec) *Router {
	return &Router{github: gh, steps: steps, specs: specs, logger: logger}
}

// Specs are the registered commands.
func (r *Router) Specs() []Spec { return slices.Clone(r.specs) }

// Process implements event.Processor. Only new comments are commands: an edited comment
// (action "edited") is ignored, so editing a command neither runs it again nor runs the new text.
func (r *Router) Process(ctx context.Context, e event.Event) error {
	var p struct {
		Action string `json:"action"`
		Issue  struct {
			Number      int             `json:"number"`
			PullRequest json.RawMessage `json:"pull_request"`
		} `json:"issue"`
		Comment struct {
			ID        int64     `json:"id"`
			Body      string    `json:"body"`
			CreatedAt time.Time `json:"created_at"`
		} `json:"comment"`
		Sender struct {
			Login string `json:"login"`
			Type  string `json:"type"`
		} `json:"sender"`
	}
	if err := json.Unmarshal(e.Payload, &p); err != nil {
		return fmt.Errorf("decoding issue_comment: %w", err)
	}
	if p.Action != "created" || len(p.Issue.PullRequest) == 0 || p.Sender.Type == "Bot" || strings.HasSuffix(p.Sender.Login, "[bot]") {
		return nil
	}
	name, args, ok := Parse(p.Comment.Body)
	if !ok {
		return nil
	}
	c := Command{Name: name, Args: args, Repo: e.Repo, PR: p.Issue.Number, InstallationID: e.InstallationID,
		Author: p.Sender.Login, CommentID: p.Comment.ID, CreatedAt: p.Comment.CreatedAt, router: r}
	log := jobs.Logger(ctx, r.logger).With("command", render.Clip(name, 40), "author", c.Author, "comment_id", c.CommentID)

	// 👀: the command was seen. Reacting twice (a retried job) is harmless: GitHub keeps one.
	owner, repo := githubapi.SplitRepo(e.Repo)
	if _, _, err := r.github.Installation(e.InstallationID).CreateIssueCommentReaction(ctx, owner, repo, c.CommentID, "eyes"); err != nil {
		return fmt.Errorf("reacting to %s: %w", render.Clip(c.String(), 40), err)
	}
	_, err := r.once(ctx, c, handledStep, func(ctx context.Context) (string, error) {
		return "", r.dispatch(ctx, c, log)
	})
	return err
}

// dispatch checks the commenter's permission and runs the command, answering help, refusals and
// usage errors.
func (r *Router) dispatch(ctx context.Context, c Command, log *slog.Logger) error {
	if c.Name == "help" {
		return c.Reply(ctx, r.Help(""))
	}
	i := slices.IndexFunc(r.specs, func(s Spec) bool { return s.Name == c.Name })
	if i < 0 {
		return c.Reply(ctx, r.Help(Code("/"+c.Name)+" is not a command I know."))
	}
	spec := r.specs[i]
	var err error
	c.Permission, err = Permission(ctx, r.github.Installation(c.InstallationID), c.Repo, c.Author)
	if err != nil {
		return err
	}
	need := spec.Permission
	if need == "" {
		need = "write"
	}
	if !Allows(need, c.Permission) {
		log.Info("command refused: permission", "have", c.Permission, "need", need)
		return c.Reply(ctx, fmt.Sprintf("@%s, %s needs %s access to this repository; you have %s. Ask a maintainer to run it.",
			c.Author, Code(c.String()), need, c.Permission))
	}
	err = spec.Handler.Handle(ctx, c)
	var usage *UsageError
	if errors.As(err, &usage) {
		return c.Reply(ctx, fmt.Sprintf("@%s, %s\n\nUsage: `%s` — %s", c.Author, usage.Message, spec.Usage, spec.Help))
	}
	return err
}

// once runs step of c unless it is recorded done; see Command.Once.
func (r *Router) once(ctx context.Context, c Command, step string, fn func(ctx context.Context) (string, error)) (string, error) {
	st, err := r.steps.CommandStep(ctx, c.Repo, c.CommentID, step)
	switch {
	case err == nil && st.State == store.StepDone:
		return st.Result, nil
	case err != nil && !errors.Is(err, store.ErrNotFound):
		return "", err
	}
	result, err := fn(ctx)
	if err != nil {
		return "", err
	}
	if err := r.steps.FinishCommandStep(ctx, c.Repo, c.CommentID, step, result); err != nil {
		return "", err
	}
	return result, nil
}

// reply posts c's one reply; see Command.Reply. The reply step is recorded started before the
// comment is posted and done after: a step found started may have posted its comment before
// failing (a lost response, a crash), so the PR is searched for the reply's marker first.
func (r *Router) reply(ctx context.Context, c Command, body string) error {
	st, err := r.steps.CommandStep(ctx, c.Repo, c.CommentID, replyStep)
	switch {
	case err == nil && st.State == store.StepDone:
		return nil
	case err == nil:
		found, err := r.findReply(ctx, c, st.UpdatedAt)
		if err != nil {
			return err
		}
		if found {
			return r.steps.FinishCommandStep(ctx, c.Repo, c.CommentID, replyStep, "")
		}
	case !errors.Is(err, store.ErrNotFound):
		return err
	}
	if err := r.steps.StartCommandStep(ctx, c.Repo, c.CommentID, replyStep); err != nil {
		return err
	}
	owner, repo := githubapi.SplitRepo(c.Repo)
	if _, _, err := r.github.Installation(c.InstallationID).CreateComment(ctx, owner, repo, c.PR,
		&github.IssueComment{Body: github.String(replyBody(c.CommentID, body))}); err != nil {
		return fmt.Errorf("answering %s on %s#%d: %w", render.Clip(c.String(), 40), c.Repo, c.PR, err)
	}
	return r.steps.FinishCommandStep(ctx, c.Repo, c.CommentID, replyStep, "")
}

// findReply reports whether the PR has a bot comment carrying c's reply marker, looking at
// comments updated since a little before started (GitHub's clock may differ from ours).
func (r *Router) findReply(ctx context.Context, c Command, started time.Time) (bool, error) {
	owner, repo := githubapi.SplitRepo(c.Repo)
	gh := r.github.Installation(c.InstallationID)
	since := started.Add(-replySearchSlack)
	opts := &github.IssueListCommentsOptions{Since: &since, ListOptions: github.ListOptions{PerPage: 100}}
	for {
		comments, resp, err := gh.ListComments(ctx, owner, repo, c.PR, opts)
		if err != nil {
			return false, fmt.Errorf("looking for the reply to %s on %s#%d: %w", render.Clip(c.String(), 40), c.Repo, c.PR, err)
		}
		for _, cm := range comments {
			if isReply(cm, c.CommentID) {
				return true, nil
			}
		}
		if resp == nil || resp.NextPage == 0 {
			return false, nil
		}
		opts.Page = resp.NextPage
	}
}

// Help renders the command list, after an optional first line.
func (r *Router) Help(first string) string {
	var b strings.Builder
	if first != "" {
		b.WriteString(first + "\n\n")
	}
	b.WriteString("**stagecoach commands** (first line of a comment; `/stagecoach <command>` works too):\n\n| command | what it does | who |\n|---|---|---|\n")
	for _, s := range r.specs {
		need := s.Permission
		if need == "" {
			need = "write"
		}
		fmt.Fprintf(&b, "| `%s` | %s | %s |\n", s.Usage, s.Help, need)
	}
	b.WriteString("| `/help` | this list | anyone |\n")
	return b.String()
}
