package webhooks

import (
	"encoding/json"
	"errors"

	"github.com/google/go-github/v60/github"
)

// pullRequestActions are the pull_request actions the bot acts on: deploy, redeploy,
// tear down, and react to labels and draft changes.
var pullRequestActions = map[string]bool{
	"opened": true, "reopened": true, "synchronize": true, "ready_for_review": true,
	"converted_to_draft": true, "closed": true, "labeled": true, "unlabeled": true,
}

func pullRequest(body []byte) (decision, error) {
	var e github.PullRequestEvent
	if err := json.Unmarshal(body, &e); err != nil {
		return decision{}, err
	}
	if e.PullRequest == nil || e.PullRequest.Number == nil {
		return decision{}, errors.New("no pull_request.number")
	}
	d, err := common(e.GetAction(), e.GetRepo(), e.GetInstallation(), e.GetSender())
	if err != nil {
		return d, err
	}
	d.pr = e.GetPullRequest().GetNumber()
	d.act = pullRequestActions[d.action]
	d.reason = "pull_request action " + d.action + " is not acted on"
	return d, nil
}
