package command

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strings"

	"github.com/google/go-github/v60/github"

	"github.com/stagecoach/stagecoach/internal/event"
	"github.com/stagecoach/stagecoach/internal/jobs"
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

// Installations hands out API clients per installation; *githubapp.App satisfies it.
type Installations interface {
	Installation(id int64) *github.Client
}

// Router is the event processor for issue_comment events.
type Router struct {
	github Installations
	specs  []Spec
	logger *slog.Logger
}

// NewRouter returns a router for specs, which are listed in help in the order given.
func NewRouter(gh Installations, logger *slog.Logger, specs ...Spec) *Router {
	return &Router{github: gh, specs: specs, logger: logger}
}

// Specs are the registered commands.
func (r *Router) Specs() []Spec { return slices.Clone(r.specs) }

// Process implements event.Processor.
func (r *Router) Process(ctx context.Context, e event.Event) error {
	var p struct {
		Action string `json:"action"`
		Issue  struct {
			Number      int             `json:"number"`
			PullRequest json.RawMessage `json:"pull_request"`
		} `json:"issue"`
		Comment struct {
			ID   int64  `json:"id"`
			Body string `json:"body"`
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
		Author: p.Sender.Login, CommentID: p.Comment.ID}
	log := jobs.Logger(ctx, r.logger).With("command", name, "author", c.Author)
	gh := r.github.Installation(e.InstallationID)
	owner, repo, _ := strings.Cut(e.Repo, "/")

	// 👀: the command was seen. Reacting twice (a retried job) is harmless: GitHub keeps one.
	if _, _, err := gh.Reactions.CreateIssueCommentReaction(ctx, owner, repo, c.CommentID, "eyes"); err != nil {
		return fmt.Errorf("reacting to /%s: %w", name, err)
	}
	if name == "help" {
		return r.Reply(ctx, c, r.Help(""))
	}
	i := slices.IndexFunc(r.specs, func(s Spec) bool { return s.Name == name })
	if i < 0 {
		return r.Reply(ctx, c, r.Help(fmt.Sprintf("`/%s` is not a command I know.", name)))
	}
	spec := r.specs[i]
	var err error
	c.Permission, err = Permission(ctx, gh, e.Repo, c.Author)
	if err != nil {
		return err
	}
	need := spec.Permission
	if need == "" {
		need = "write"
	}
	if !Allows(need, c.Permission) {
		log.Info("command refused: permission", "have", c.Permission, "need", need)
		return r.Reply(ctx, c, fmt.Sprintf("@%s, `%s` needs %s access to this repository; you have %s. Ask a maintainer to run it.",
			c.Author, c.String(), need, c.Permission))
	}
	err = spec.Handler.Handle(ctx, c)
	var usage *UsageError
	if errors.As(err, &usage) {
		return r.Reply(ctx, c, fmt.Sprintf("@%s, %s\n\nUsage: `%s` — %s", c.Author, usage.Message, spec.Usage, spec.Help))
	}
	return err
}

// Reply posts a comment answering c.
func (r *Router) Reply(ctx context.Context, c Command, body string) error {
	owner, repo, _ := strings.Cut(c.Repo, "/")
	if _, _, err := r.github.Installation(c.InstallationID).Issues.CreateComment(ctx, owner, repo, c.PR,
		&github.IssueComment{Body: github.String(body)}); err != nil {
		return fmt.Errorf("answering /%s on %s#%d: %w", c.Name, c.Repo, c.PR, err)
	}
	return nil
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

// Permission returns user's collaborator role on repo: admin, maintain, write, triage, read or
// none. It reads the precise role_name (go-github v60 only knows the legacy field) and falls back
// to the legacy admin/write/read for custom roles.
func Permission(ctx context.Context, gh *github.Client, repo, user string) (string, error) {
	req, err := gh.NewRequest(http.MethodGet, fmt.Sprintf("repos/%s/collaborators/%s/permission", repo, user), nil)
	if err != nil {
		return "", err
	}
	var v struct {
		Permission string `json:"permission"`
		RoleName   string `json:"role_name"`
	}
	_, err = gh.Do(ctx, req, &v)
	var ghErr *github.ErrorResponse
	switch {
	case errors.As(err, &ghErr) && ghErr.Response != nil && ghErr.Response.StatusCode == http.StatusNotFound:
		return "none", nil
	case err != nil:
		return "", fmt.Errorf("checking %s's permission on %s: %w", user, repo, err)
	}
	if rank(v.RoleName) >= 0 {
		return v.RoleName, nil
	}
	if rank(v.Permission) >= 0 {
		return v.Permission, nil
	}
	return "none", nil
}

// Allows reports whether permission have is at least need.
func Allows(need, have string) bool {
	return rank(have) >= 0 && rank(have) >= rank(need)
}

// rank orders GitHub's collaborator permissions; -1 for anything else.
func rank(p string) int {
	switch p {
	case "none":
		return 0
	case "read":
		return 1
	case "triage":
		return 2
	case "write":
		return 3
	case "maintain":
		return 4
	case "admin":
		return 5
	}
	return -1
}
