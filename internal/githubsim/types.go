package githubsim

import (
	"encoding/json"
	"log/slog"
	"time"
)

// Options configures a Sim. The zero value is usable.
type Options struct {
	// AppID is the GitHub App id the app JWTs must carry as "iss". Default 1.
	AppID int64
	// AppSlug is the app's URL name; the app's bot user is AppSlug+"[bot]". Default "stagecoach".
	AppSlug string
	// WebhookURL is where webhooks are POSTed. Empty means deliveries are recorded but not sent;
	// it can be set later with SetWebhookURL. Default "".
	WebhookURL string
	// WebhookSecret is the HMAC-SHA256 key for the X-Hub-Signature-256 header. Default "" (GitHub
	// still signs with an empty key).
	WebhookSecret string
	// DefaultUser is the human login that performs repository-level actions which name no actor:
	// CreateRepo and Commit (pusher and sender of their push webhooks). Default "octocat".
	DefaultUser string
	// Now is the clock used for timestamps, token expiry and JWT validation. Default time.Now.
	// ghinstallation signs JWTs and judges token expiry with the wall clock: with it, keep Now
	// within a minute of the wall clock and never more than ~59 minutes ahead of it (inject
	// fake clocks into the code under test instead), or tokens it still trusts get 401.
	Now func() time.Time
	// Logger receives one debug line per API request and webhook delivery (never a token).
	// Default: discard.
	Logger *slog.Logger
	// WebhookTimeout bounds one webhook delivery, like GitHub's 10 s. Default 10 s.
	WebhookTimeout time.Duration
}

// Repo describes a simulated repository.
type Repo struct {
	ID             int64
	Owner          string
	Name           string
	FullName       string // "owner/name"
	DefaultBranch  string
	InstallationID int64 // 0 for forks, which no installation covers
	Fork           bool
	HeadSHA        string // head of the default branch
	URL            string // API URL of the repository
}

// PROptions describes a pull request to open with OpenPR.
type PROptions struct {
	// Author is the login opening the PR. Default: Options.DefaultUser.
	Author string
	// Title of the PR. Default "Change <branch>".
	Title string
	// Body of the PR. Default "".
	Body string
	// Branch is the head branch name. Default "pr-<number>".
	Branch string
	// Base is the base branch. Default: the repository's default branch.
	Base string
	// Files are committed on top of the base branch head as the PR's first commit
	// (path → content; "" deletes the path). May be empty, which still makes a commit.
	Files map[string]string
	// Draft opens the PR as a draft.
	Draft bool
	// FromFork puts the head branch in a fork of the repository owned by Author.
	FromFork bool
	// Labels are applied right after opening: the opened payload lists them and one
	// pull_request.labeled webhook per label follows, as GitHub does.
	Labels []string
}

// PR describes a simulated pull request.
type PR struct {
	Number         int
	ID             int64
	Repo           string // base repository "owner/name"
	HeadRepo       string // head repository "owner/name" (the fork for fork PRs)
	Title          string
	Body           string
	Author         string
	HeadRef        string
	HeadSHA        string
	BaseRef        string
	BaseSHA        string
	State          string // "open" or "closed"
	Draft          bool
	Merged         bool
	MergeCommitSHA string
	Labels         []string
}

// Comment is an issue comment on a pull request.
type Comment struct {
	ID        int64
	Number    int
	Author    string
	Body      string
	CreatedAt time.Time
	UpdatedAt time.Time
}

// CheckRun is a check run created through the API.
type CheckRun struct {
	ID          int64
	Name        string
	HeadSHA     string
	Status      string
	Conclusion  string
	ExternalID  string
	DetailsURL  string
	Title       string
	Summary     string
	Text        string
	StartedAt   time.Time
	CompletedAt time.Time
}

// Deployment is a deployment created through the API or CreateDeployment.
type Deployment struct {
	ID                  int64
	Ref                 string
	SHA                 string
	Task                string
	Environment         string
	OriginalEnvironment string
	Description         string
	Creator             string
	// AutoMerge is the effective auto_merge value (GitHub's default is true).
	AutoMerge bool
	// RequiredContexts is nil when the request omitted required_contexts.
	RequiredContexts      []string
	TransientEnvironment  bool
	ProductionEnvironment bool
	Payload               json.RawMessage
	CreatedAt             time.Time
}

// DeploymentStatus is one status of a deployment, oldest first in DeploymentStatuses.
type DeploymentStatus struct {
	ID             int64
	State          string
	Environment    string
	EnvironmentURL string
	LogURL         string
	TargetURL      string
	Description    string
	Creator        string
	CreatedAt      time.Time
}

// Request records one HTTP request the simulator answered.
type Request struct {
	Method string
	// Path is the request path without any "/api/v3" prefix.
	Path  string
	Query string
	// Status is the HTTP status answered; 0 if the client went away first.
	Status int
	// InstallationID is the installation whose token authenticated the request, 0 if none.
	InstallationID int64
	// AppJWT is true when the request was authenticated with a valid app JWT.
	AppJWT bool
	// Fault is true when an injected fault shaped the answer.
	Fault bool
	At    time.Time
}

// Delivery records one webhook the simulator sent (or would have sent without a WebhookURL).
type Delivery struct {
	ID     string // X-GitHub-Delivery
	Event  string // X-GitHub-Event
	Action string // payload "action", "" for push
	// Status is the HTTP status the receiver answered; 0 when not sent or the send failed.
	Status int
	// Err describes why the delivery was not answered; "" when it was.
	Err        string
	Payload    json.RawMessage
	Redelivery bool
	At         time.Time
}

// Fault makes the next matching API requests fail or slow down; see InjectFault.
type Fault struct {
	// Method matches the HTTP method; "" matches any.
	Method string
	// PathPrefix matches the start of the request path without the "/api/v3" prefix,
	// e.g. "/repos/acme/app/issues"; "" matches any.
	PathPrefix string
	// Status is answered instead of the real response; 0 answers normally (latency only).
	// 403 and 429 answer GitHub's rate-limit bodies, anything else a JSON error.
	Status int
	// Times is how many matching requests the fault affects: 0 means 1, negative means all
	// until ClearFaults.
	Times int
	// RetryAfter sets the Retry-After header (whole seconds, rounded up) and, with 403/429,
	// selects the secondary rate-limit body.
	RetryAfter time.Duration
	// RateLimitReset sets X-RateLimit-Remaining: 0 and X-RateLimit-Reset and, with 403/429,
	// selects the primary rate-limit body.
	RateLimitReset time.Time
	// Latency delays the answer (wall clock, not Options.Now); the request is abandoned
	// without an answer when its context ends first.
	Latency time.Duration
}
