// Package command turns pull request comments into bot commands. A command is the
// first line of a comment, `/name args…` or `/stagecoach name args…`. The Router
// reacts 👀 on receipt, checks the commenter's permission, answers unknown or
// malformed commands with help, and hands valid ones to the feature that owns them.
package command

import (
	"context"
	"fmt"
	"strings"
	"time"
)

// Command is one parsed comment command.
type Command struct {
	// Name is the command without its slash, lower case: "deploy", "promote", "wake"…
	Name string
	// Args are the words after the name.
	Args []string
	// Repo is "owner/name".
	Repo string
	// PR is the pull request the comment is on.
	PR int
	// InstallationID is the App installation.
	InstallationID int64
	// Author is the commenter's login.
	Author string
	// CommentID is the comment's id, for reactions and replies.
	CommentID int64
	// CreatedAt is when the comment was written (GitHub's created_at): an approval binds to what
	// the approver could have seen then.
	CreatedAt time.Time
	// Permission is the commenter's collaborator permission on the repository (admin,
	// maintain, write, triage, read or none), checked by the Router before dispatch.
	Permission string

	// router records the command's steps and posts its reply; set by the Router.
	router *Router
}

// String renders the command as typed. It is the user's text: quote it with Code in a reply.
func (c Command) String() string {
	return strings.TrimSpace("/" + c.Name + " " + strings.Join(c.Args, " "))
}

// Once makes a step of a command take effect once however often the command's job runs. It runs
// fn unless an earlier attempt of this command (same comment) recorded step done, then records
// step done with the string fn returns, and returns that string: later attempts get the recorded
// one without running fn. fn's error is returned and nothing is recorded, so the next attempt runs
// fn again.
//
// A crash (or a failed store write) between fn's effect and the record makes the next attempt run
// fn again. Keep that window harmless: decide inside Once and apply the decision idempotently after
// it (an absolute expiry rather than "add 24h"), or let fn's own write be keyed by the comment.
// One attempt of a command runs at a time (the event job is unique per delivery); Once does not
// guard two concurrent attempts.
func (c Command) Once(ctx context.Context, step string, fn func(ctx context.Context) (string, error)) (string, error) {
	if c.router == nil {
		return "", fmt.Errorf("running step %s of %s: the command did not come from a Router", step, c.Name)
	}
	if step == replyStep || step == handledStep {
		return "", fmt.Errorf("running step %s of %s: the step name is the Router's own", step, c.Name)
	}
	return c.router.once(ctx, c, step, fn)
}

// Reply answers the command with a comment on its pull request, once: a retried attempt whose
// reply was posted, or may have been posted before a failure, does not post another. User text in
// body must be quoted with Code; body is shortened to fit GitHub's limit. A command gets one reply:
// later calls are no-ops.
func (c Command) Reply(ctx context.Context, body string) error {
	if c.router == nil {
		return fmt.Errorf("answering %s: the command did not come from a Router", c.Name)
	}
	return c.router.reply(ctx, c, body)
}

// Parse reads the command on the first line of a comment body. ok is false when the first line
// is not a command (the comment is ordinary discussion).
func Parse(body string) (name string, args []string, ok bool) {
	first, _, _ := strings.Cut(strings.TrimSpace(body), "\n")
	fields := strings.Fields(first)
	if len(fields) == 0 || !strings.HasPrefix(fields[0], "/") {
		return "", nil, false
	}
	name = strings.ToLower(strings.TrimPrefix(fields[0], "/"))
	args = fields[1:]
	if name == "stagecoach" {
		if len(args) == 0 {
			return "help", nil, true
		}
		name, args = strings.ToLower(strings.TrimPrefix(args[0], "/")), args[1:]
	}
	if name == "" {
		return "", nil, false
	}
	return name, args, true
}

// UsageError is returned by handlers for a malformed command; the Router answers it with the
// message and the command's usage.
type UsageError struct {
	// Message says what is wrong, in plain words.
	Message string
}

func (e *UsageError) Error() string { return e.Message }

// Usagef returns a *UsageError.
func Usagef(format string, args ...any) error {
	return &UsageError{Message: fmt.Sprintf(format, args...)}
}
