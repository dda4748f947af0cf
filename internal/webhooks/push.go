package webhooks

import (
	"encoding/json"
	"errors"

	"github.com/google/go-github/v60/github"
)

func push(body []byte) (decision, error) {
	var e github.PushEvent
	if err := json.Unmarshal(body, &e); err != nil {
		return decision{}, err
	}
	if e.Ref == nil {
		return decision{}, errors.New("no ref")
	}
	repo := e.GetRepo()
	d := decision{repo: repo.GetFullName(), installation: e.GetInstallation().GetID(), sender: e.GetSender().GetLogin()}
	if d.repo == "" || d.installation == 0 {
		return d, errors.New("no repository.full_name or installation.id")
	}
	switch {
	case e.GetDeleted():
		d.reason = "branch deleted"
	case e.GetRef() != "refs/heads/"+repo.GetDefaultBranch():
		d.reason = "push to " + e.GetRef() + ", not the default branch"
	default:
		d.act = true
	}
	return d, nil
}
