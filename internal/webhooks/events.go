package webhooks

// Size caps per event, checked against Content-Length before the body is read and enforced
// while it is read. GitHub caps every payload at 25 MiB; an event gets that only when it can
// come close. The small caps leave a wide margin over the worst case worked out from the
// payload schemas vendored in internal/githubsim/testdata/webhook-schemas:
//
//   - ping: the hook's configuration plus the repository or organization; real ones are ~10 KB.
//   - issue_comment: the comment's body and the body are at most 65,536 characters
//     each, at most 6 bytes per character once JSON-escaped (\u00XX): 2 × 384 KiB, plus the
//     issue (≤ 100 labels, ≤ 10 assignees, a milestone), the repository, the sender and the
//     installation, ~50 KB; real ones are 10–30 KB.
//   - deployment: the deployment's payload is free-form JSON set by whoever created it and
//     GitHub documents no limit for it; the bot's own deployments carry a few hundred bytes.
//     5 MiB is far above anything a deploy tool sends.
//   - pull_request and push: a push lists up to 2,048 commits with their messages and file
//     lists, and a pull request carries three repository objects, labels, reviewers and a body;
//     GitHub documents no bound below its 25 MiB, and a refused delivery is a lost one (GitHub
//     does not retry), so they keep the full cap. Memory stays bounded by the read semaphore.
const (
	smallEventBytes   = 1 << 20
	commentEventBytes = 2 << 20
	deployEventBytes  = 5 << 20
)

// eventCaps is the body cap of every event whose body the handler reads.
var eventCaps = map[string]int64{
	"ping":          smallEventBytes,
	"issue_comment": commentEventBytes,
	"deployment":    deployEventBytes,
	"pull_request":  MaxBodyBytes,
	"push":          MaxBodyBytes,
}

// MaxEventBytes is the largest body accepted for event, and 0 for events whose body is never
// read (events the bot does not act on are acknowledged unread).
func MaxEventBytes(event string) int64 { return eventCaps[event] }

// githubEvents are GitHub's webhook event names: those of the vendored payload schemas
// (a test keeps the two in step) and a few newer ones the schemas predate. Any other
// X-GitHub-Event is refused before the body is read.
var githubEvents = map[string]bool{
	"branch_protection_configuration": true, "branch_protection_rule": true, "check_run": true,
	"check_suite": true, "code_scanning_alert": true, "commit_comment": true, "create": true,
	"custom_property": true, "custom_property_values": true, "delete": true, "dependabot_alert": true,
	"deploy_key": true, "deployment": true, "deployment_protection_rule": true, "deployment_review": true,
	"deployment_status": true, "discussion": true, "discussion_comment": true, "fork": true,
	"github_app_authorization": true, "gollum": true, "installation": true, "installation_repositories": true,
	"installation_target": true, "issue_comment": true, "issues": true, "label": true,
	"marketplace_purchase": true, "member": true, "membership": true, "merge_group": true, "meta": true,
	"milestone": true, "org_block": true, "organization": true, "package": true, "page_build": true,
	"ping": true, "project": true, "project_card": true, "project_column": true, "projects_v2_item": true,
	"public": true, "pull_request": true, "pull_request_review": true, "pull_request_review_comment": true,
	"pull_request_review_thread": true, "push": true, "registry_package": true, "release": true,
	"repository": true, "repository_dispatch": true, "repository_import": true,
	"repository_vulnerability_alert": true, "secret_scanning_alert": true,
	"secret_scanning_alert_location": true, "security_advisory": true, "sponsorship": true, "star": true,
	"status": true, "team": true, "team_add": true, "watch": true, "workflow_dispatch": true,
	"workflow_job": true, "workflow_run": true,
	// Newer than the vendored schemas.
	"projects_v2": true, "projects_v2_status_update": true, "repository_ruleset": true,
	"repository_advisory": true, "security_and_analysis": true, "personal_access_token_request": true,
	"secret_scanning_scan": true, "sub_issues": true,
}

// IsGitHubEvent reports whether name is a GitHub webhook event name the handler accepts.
func IsGitHubEvent(name string) bool { return githubEvents[name] }
