package webhooks

import (
	"encoding/json"
	"errors"

	"github.com/google/go-github/v60/github"
)

func deployment(body []byte) (decision, error) {
	var e github.DeploymentEvent
	if err := json.Unmarshal(body, &e); err != nil {
		return decision{}, err
	}
	if e.Deployment == nil {
		return decision{}, errors.New("no deployment")
	}
	var action string
	if err := json.Unmarshal(body, &struct {
		Action *string `json:"action"`
	}{&action}); err != nil {
		return decision{}, err
	}
	d, err := common(action, e.GetRepo(), e.GetInstallation(), e.GetSender())
	if err != nil {
		return d, err
	}
	d.act = d.action == "created"
	d.reason = "deployment action " + d.action + " is not acted on"
	return d, nil
}
