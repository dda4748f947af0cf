package ephemeral

import (
	"fmt"
	"regexp"
	"strings"

	"github.com/stagecoach/stagecoach/internal/command"
	"github.com/stagecoach/stagecoach/internal/render"
	"github.com/stagecoach/stagecoach/internal/store"
)

// shaArg is a commit named in `/deploy <sha>`: at least seven hex digits.
var shaArg = regexp.MustCompile(`^[0-9a-fA-F]{7,40}$`)

// refusal is a command the feature turns down with an answer, not a failure.
type refusal struct{ msg string }

func (r *refusal) Error() string { return r.msg }

// forkApproval decides which commit of a fork a writer's /deploy approves: the one named in
// `/deploy <sha>` when it is the head, else the head the bot had recorded before the comment was
// written. A head that arrived after the comment — code nobody with write access has seen — is
// never approved; the answer names it so the writer can review it and approve it explicitly.
// e is the PR's row, head the PR's head on GitHub now.
func forkApproval(e store.PREnvironment, head string, c command.Command) (string, *refusal) {
	if len(c.Args) > 0 {
		want := strings.ToLower(c.Args[0])
		if !shaArg.MatchString(want) {
			return "", &refusal{fmt.Sprintf("`/deploy` takes no argument or a commit SHA (at least 7 hex digits); %s is neither.", command.Code(c.Args[0]))}
		}
		if !strings.HasPrefix(strings.ToLower(head), want) {
			return "", &refusal{fmt.Sprintf("Not approved: %s is not the head of this pull request, which is now %s. Review %s and comment `/deploy %s` to approve it.",
				command.Code(want), render.ShortSHA(head), render.ShortSHA(head), render.ShortSHA(head))}
		}
		return head, nil
	}
	// Both times are GitHub's (the push's updated_at, the comment's created_at), to the second: a push
	// in the same second as the comment is not taken as seen.
	if e.HeadSHA == head && !e.HeadAt.IsZero() && !c.CreatedAt.IsZero() && e.HeadAt.Before(c.CreatedAt) {
		return head, nil
	}
	return "", &refusal{fmt.Sprintf("Not approved: the head of this fork is now %s, which arrived after your comment or had not reached the bot when you wrote it. "+
		"Review %s and comment `/deploy %s` to approve exactly that commit.", render.ShortSHA(head), render.ShortSHA(head), render.ShortSHA(head))}
}
