// Package githubsim is an in-process GitHub for tests and `bot demo`: an HTTP server that
// answers the REST endpoints stagecoach calls, with GitHub's JSON shapes, authentication
// and error bodies, plus helpers that act like people on github.com and send the webhooks
// GitHub would send.
//
// # Starting one
//
//	sim, err := githubsim.New(githubsim.Options{WebhookURL: botURL, WebhookSecret: "s3cret"})
//	defer sim.Close()
//	inst := sim.AddInstallation("acme")                 // the app installed on org "acme"
//	_, err = sim.CreateRepo("acme", "app", map[string]string{".stagecoach.yaml": cfg})
//
// Point the real clients at it. URL() ends in "/api/v3/" so both ways of configuring
// go-github work, and requests are accepted with or without that prefix:
//
//	tr, _ := ghinstallation.New(http.DefaultTransport, sim.AppID(), inst, sim.AppPrivateKeyPEM())
//	tr.BaseURL = sim.URL()
//	gh, _ := github.NewClient(&http.Client{Transport: tr}).WithEnterpriseURLs(sim.URL(), sim.URL())
//
// # Authentication
//
// The app JWT must be RS256-signed with AppPrivateKeyPEM, carry iss = AppID, an exp in the
// future (at most ten minutes ahead) and an iat not in the future, all judged by
// Options.Now with a minute of drift. POST /app/installations/{id}/access_tokens mints a
// one-hour installation token. Repository endpoints need "Authorization: token <t>" (or
// Bearer) of the installation owning the repository: no or an unknown/expired credential
// answers 401, a valid token of another installation answers 404 as GitHub does for
// private repositories. InstallationToken mints a token without the JWT dance.
//
// # Webhooks
//
// Helpers (Commit, OpenPR, PushToPR, AddLabel, RemoveLabel, MarkReady, Comment, ClosePR,
// ReopenPR, CreateDeployment) change state and then POST their webhooks synchronously, in
// order, with GitHub's headers (X-GitHub-Event, X-GitHub-Delivery, X-Hub-Signature-256, …).
// Every delivery is recorded (Deliveries), also when WebhookURL is empty, and can be sent
// again with the same delivery id (Redeliver). Like GitHub, a same-repository branch push
// sends push before pull_request; PR labels given at open time send opened and then one
// labeled per label. Payloads validate against octokit's webhook schemas (see testdata).
//
// Writes made through the REST API (comments, labels, check runs, deployments) change state
// but send no webhooks; drive the bot's "ignore my own events" path with
// Comment(repo, n, sim.BotLogin(), body).
//
// # Traps reproduced on purpose
//
//   - comment bodies over 65,536 characters and check-run summary/text over 65,535 → 422;
//   - POST deployments without auto_merge:false for a branch behind the default branch →
//     409, and without required_contexts:[] while any check run on the commit has not
//     succeeded → 409 "Conflict: Commit status checks failed";
//   - a success deployment status marks earlier non-transient, non-production deployments
//     of the same environment (whose latest status was success) inactive;
//   - tarballs are gzip tar with a pax global header holding the commit SHA and a single
//     top directory "{owner}-{repo}-{sha7}/", served from a 302 to a short-lived signed URL;
//   - check runs are listed with filter=latest by default (newest run per name);
//   - push payloads carry integer created_at/pushed_at in their repository object.
//
// # Creating the App from a manifest
//
// A form posting "manifest" to WebURL()+"/settings/apps/new?state=S" (or
// "/organizations/{org}/settings/apps/new") is checked as GitHub checks it (known permissions
// and levels, each default event's permission granted) and redirected at once to its
// redirect_url with "code" and "state" (GitHub first asks the person to confirm).
// POST /app-manifests/{code}/conversions converts a code once, within an hour, into the
// credentials of the App the simulator hosts (AppID, AppPrivateKeyPEM, Options.WebhookSecret,
// new OAuth client credentials) under the manifest's name; later webhooks go to the manifest's
// webhook URL. CreatedApps lists the Apps made so.
//
// # Faults
//
// InjectFault makes matching requests answer 5xx, GitHub's primary (403, X-RateLimit-
// Remaining: 0) or secondary (403/429, Retry-After) rate-limit responses, or arrive late.
//
// # Inspecting and waiting
//
// Comments, Reactions, CheckRuns, Deployments, DeploymentStatuses, Labels, Requests,
// Deliveries, PR, Repo and Files return copies. WaitFor blocks until a condition over them
// holds, re-checking after every state change rather than polling.
package githubsim
