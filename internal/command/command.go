// Package command turns pull request comments into bot commands. A command is the
// first line of a comment, `/name args…` or `/stagecoach name args…`. The Router
// reacts 👀 on receipt, checks the commenter's permission, answers unknown or
// malformed commands with help, and hands valid ones to the feature that owns them.
package command

import (
	"fmt"
	"strings"
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
	// Permission is the commenter's collaborator permission on the repository (admin,
	// maintain, write, triage, read or none), checked by the Router before dispatch.
	Permission string
}

// String renders the command as typed.
func (c Command) String() string {
	return strings.TrimSpace("/" + c.Name + " " + strings.Join(c.Args, " "))
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
