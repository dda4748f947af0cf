package webhooks

import (
	"encoding/json"
	"errors"
	"strings"

	"github.com/google/go-github/v60/github"
)

func issueComment(body []byte) (decision, error) {
	var e github.IssueCommentEvent
	if err := json.Unmarshal(body, &e); err != nil {
		return decision{}, err
	}
	if e.Issue == nil || e.Comment == nil {
		return decision{}, errors.New("no issue or comment")
	}
	d, err := common(e.GetAction(), e.GetRepo(), e.GetInstallation(), e.GetSender())
	if err != nil {
		return d, err
	}
	d.pr = e.GetIssue().GetNumber()
	firstLine, _, _ := strings.Cut(strings.TrimSpace(e.GetComment().GetBody()), "\n")
	switch {
	case d.action != "created":
		d.reason = "only new comments carry commands"
	case !e.GetIssue().IsPullRequest():
		d.reason = "comment on an issue, not a pull request"
	case e.GetSender().GetType() == "Bot" || strings.HasSuffix(e.GetSender().GetLogin(), "[bot]"):
		d.reason = "comment by a bot"
	case !strings.HasPrefix(strings.TrimSpace(firstLine), "/"):
		d.reason = "not a command"
	default:
		d.act = true
	}
	return d, nil
}
