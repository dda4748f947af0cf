// Package appsetup creates stagecoach's GitHub App from a manifest: it declares, once, the
// permissions and events the bot needs (the README's list and the manifest both come from
// Permissions and Events), serves a local page that posts the manifest to GitHub or a GitHub
// Enterprise Server, takes the code GitHub redirects back with, converts it into the App's
// credentials (POST /app-manifests/{code}/conversions) and writes them to files only their
// owner can read.
package appsetup

import (
	"fmt"
	"strings"
)

// Access is a permission's level, as GitHub's manifests spell it.
type Access string

// The levels a permission can have; write includes read.
const (
	Read  Access = "read"
	Write Access = "write"
)

// Covers reports whether a grants at least need.
func (a Access) Covers(need Access) bool { return a == Write || a == need }

// Permission is one permission the App asks for.
type Permission struct {
	// Name is GitHub's key in default_permissions ("pull_requests").
	Name string
	// Title is the name GitHub's settings page shows ("Pull requests").
	Title string
	// Access is the level asked for.
	Access Access
	// Organization marks an organisation permission; the others are repository permissions.
	Organization bool
	// Why says what the bot does with it.
	Why string
}

// Permissions lists exactly what the bot's GitHub API calls need, repository permissions
// first. A test in this package checks it against every call the bot makes.
func Permissions() []Permission {
	return []Permission{
		{Name: "contents", Title: "Contents", Access: Read, Why: "the config file and source tarballs"},
		{Name: "pull_requests", Title: "Pull requests", Access: Write, Why: "comments"},
		{Name: "issues", Title: "Issues", Access: Write, Why: "reactions, labels"},
		{Name: "checks", Title: "Checks", Access: Write, Why: "the config and environment check runs"},
		{Name: "deployments", Title: "Deployments", Access: Write, Why: "PR environments and promotions as Deployments"},
		{Name: "metadata", Title: "Metadata", Access: Read, Why: "repositories and collaborators' roles"},
		{Name: "members", Title: "Members", Access: Read, Organization: true, Why: "team-based promotion and approval rules"},
	}
}

// Event is one webhook event the App subscribes to.
type Event struct {
	// Name is GitHub's event name ("issue_comment").
	Name string
	// Title is the name GitHub's settings page shows ("Issue comment").
	Title string
}

// Events lists the events the bot acts on; a test keeps it equal to the webhook handlers'.
func Events() []Event {
	return []Event{
		{Name: "pull_request", Title: "Pull request"},
		{Name: "issue_comment", Title: "Issue comment"},
		{Name: "push", Title: "Push"},
		{Name: "deployment", Title: "Deployment"},
	}
}

// WebhookPath is where the bot serves GitHub's webhooks, below its public URL.
const WebhookPath = "/webhooks/github"

// Homepage is the App's homepage URL in the manifest (GitHub requires one).
const Homepage = "https://github.com/stagecoach/stagecoach"

// Manifest is a GitHub App manifest, as GitHub's "Registering a GitHub App from a manifest"
// describes it.
type Manifest struct {
	Name               string            `json:"name"`
	URL                string            `json:"url"`
	Description        string            `json:"description"`
	HookAttributes     HookAttributes    `json:"hook_attributes"`
	RedirectURL        string            `json:"redirect_url"`
	Public             bool              `json:"public"`
	DefaultPermissions map[string]Access `json:"default_permissions"`
	DefaultEvents      []string          `json:"default_events"`
}

// HookAttributes is the manifest's webhook.
type HookAttributes struct {
	URL    string `json:"url"`
	Active bool   `json:"active"`
}

// NewManifest is the manifest of an App called name whose webhooks go to publicURL's
// WebhookPath and whose creation GitHub reports to redirectURL. The App is private: only its
// owner can install it.
func NewManifest(name, publicURL, redirectURL string) Manifest {
	m := Manifest{
		Name:               name,
		URL:                Homepage,
		Description:        "Pulumi pull-request environments, promotions and sleep schedules (stagecoach).",
		HookAttributes:     HookAttributes{URL: strings.TrimRight(publicURL, "/") + WebhookPath, Active: true},
		RedirectURL:        redirectURL,
		DefaultPermissions: map[string]Access{},
	}
	for _, p := range Permissions() {
		m.DefaultPermissions[p.Name] = p.Access
	}
	for _, e := range Events() {
		m.DefaultEvents = append(m.DefaultEvents, e.Name)
	}
	return m
}

// Markdown is the README's list of the App's permissions and events, as written there.
func Markdown() string {
	var repo, org, events []string
	for _, p := range Permissions() {
		level := "*read*"
		if p.Access == Write {
			level = "*read & write*"
		}
		item := fmt.Sprintf("%s %s (%s)", p.Title, level, p.Why)
		if p.Organization {
			org = append(org, item)
		} else {
			repo = append(repo, item)
		}
	}
	for _, e := range Events() {
		events = append(events, e.Title)
	}
	return "- **Repository permissions**: " + strings.Join(repo, ", ") + ".\n" +
		"- **Organisation permissions**: " + strings.Join(org, ", ") + ".\n" +
		"- **Subscribe to events**: " + strings.Join(events, ", ") + ".\n"
}
