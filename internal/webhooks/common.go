package webhooks

import (
	"errors"

	"github.com/google/go-github/v60/github"
)

// common reads the fields every event the bot acts on carries.
func common(action string, repo *github.Repository, inst *github.Installation, sender *github.User) (decision, error) {
	d := decision{action: action, repo: repo.GetFullName(), installation: inst.GetID(), sender: sender.GetLogin()}
	if d.repo == "" {
		return d, errors.New("no repository.full_name")
	}
	if d.installation == 0 {
		return d, errors.New("no installation.id: is this webhook configured on a GitHub App?")
	}
	return d, nil
}
