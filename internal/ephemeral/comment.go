package ephemeral

import (
	"fmt"
	"strings"
	"time"

	"github.com/stagecoach/stagecoach/internal/engine"
	"github.com/stagecoach/stagecoach/internal/render"
	"github.com/stagecoach/stagecoach/internal/repoconfig"
	"github.com/stagecoach/stagecoach/internal/store"
)

// Marker identifies the bot's one comment on a pull request, so it is found again after a restart.
const Marker = "<!-- stagecoach:pr-env -->"

// statusLine is the headline of each state.
var statusLines = map[string]string{
	store.PRIdle:       "⏸️ **not deployed**",
	store.PRQueued:     "⏳ **queued**",
	store.PRPreviewing: "🔍 **previewing**",
	store.PRDeploying:  "🚀 **deploying**",
	store.PRReady:      "✅ **ready**",
	store.PRFailed:     "❌ **failed**",
	store.PRDestroying: "🧹 **destroying**",
	store.PRDestroyed:  "🪦 **destroyed**",
}

// commentBody renders the PR's one comment: status, what happened, the environment's URL and
// expiry, the last operation's rendering and the commands. It always fits GitHub's limit: the
// renderer gets the budget left after the fixed parts.
func commentBody(ec repoconfig.Ephemeral, env store.PREnvironment, res *engine.Result, now time.Time, logURL string) string {
	var b strings.Builder
	b.WriteString(Marker + "\n")
	status := statusLines[env.Status]
	if status == "" {
		status = "**" + env.Status + "**"
	}
	fmt.Fprintf(&b, "### PR environment `%s`: %s\n\n", env.Stack, status)
	switch env.Status {
	case store.PRReady:
		fmt.Fprintf(&b, "Commit %s is deployed.", render.ShortSHA(env.DeployedSHA))
		if env.EnvURL != "" {
			fmt.Fprintf(&b, " **URL:** %s", env.EnvURL)
		}
		b.WriteString("\n\n")
	case store.PRPreviewing, store.PRDeploying:
		fmt.Fprintf(&b, "Working on commit %s.\n\n", render.ShortSHA(env.DesiredSHA))
	case store.PRDestroyed:
		b.WriteString("The environment and its stack are gone.\n\n")
	}
	if env.Summary != "" {
		b.WriteString(render.Clip(env.Summary, 2000) + "\n\n")
	}
	if env.LastError != "" {
		fmt.Fprintf(&b, "> [!WARNING]\n> %s\n\n", strings.ReplaceAll(render.Clip(env.LastError, 2000), "\n", "\n> "))
	}
	b.WriteString(expiryNote(ec, env, now))
	b.WriteString(forkNote(env))
	fixed := b.Len()
	commands := []string{"`/deploy` deploy the current head (approves it on a fork)", "`/preview` preview the current head",
		"`/destroy` destroy the environment", "`/extend <duration>` postpone expiry", "`/help` list the commands"}
	if res != nil && res.Kind != "" {
		title := fmt.Sprintf("%s of `%s`", kindTitle(res.Kind), env.Stack)
		if res.Kind == engine.KindPreview {
			title = fmt.Sprintf("Preview of `%s`", env.Stack)
		}
		b.WriteString(render.Markdown(*res, render.Options{Title: title, LogURL: logURL, NextSteps: commands,
			Limit: render.CommentLimit - fixed - 512}))
	} else {
		b.WriteString("**Commands**\n")
		for _, c := range commands {
			b.WriteString("- " + c + "\n")
		}
	}
	return b.String()
}

// expiryNote names the environment's slot (its address block) and says when it expires, or that its
// label keeps it; empty for an environment without a slot or being destroyed.
func expiryNote(ec repoconfig.Ephemeral, env store.PREnvironment, now time.Time) string {
	if env.Slot < 0 || env.Status == store.PRDestroying {
		return ""
	}
	slot := fmt.Sprintf("Slot %d", env.Slot)
	if ec.SlotPool != "" {
		slot += fmt.Sprintf(" of the shared pool `%s`", ec.SlotPool)
	}
	switch {
	case env.Keep:
		return fmt.Sprintf("%s. Kept: the label `%s` exempts it from expiry.\n\n", slot, ec.Labels.Keep)
	case env.ExpiresAt.IsZero():
		return slot + ".\n\n"
	}
	note := fmt.Sprintf("%s. Expires %s (in %s) unless there is a push or `/extend`.\n\n", slot,
		env.ExpiresAt.UTC().Format("2006-01-02 15:04 MST"), roughly(env.ExpiresAt.Sub(now)))
	if env.Warned {
		note += fmt.Sprintf("> [!IMPORTANT]\n> This environment expires soon. Comment `/extend 24h` or add the label `%s` to keep it.\n\n", ec.Labels.Keep)
	}
	return note
}

// forkNote explains a fork's approval rule and names the head waiting for one; empty for a PR
// from the repository itself or a destroyed environment.
func forkNote(env store.PREnvironment) string {
	if !env.Fork || env.Status == store.PRDestroyed {
		return ""
	}
	note := "This pull request comes from a fork: its code would run with the bot's cloud credentials, so it is never deployed on its own. " +
		"Someone with write access approves exactly one commit by commenting `/deploy`; every new push needs a new `/deploy`."
	if env.HeadSHA != "" && env.HeadSHA != env.ApprovedSHA {
		note += fmt.Sprintf(" **Commit %s is waiting for approval.**", render.ShortSHA(env.HeadSHA))
	}
	return note + "\n\n"
}

// roughly renders a duration for people: "2d 3h", "45m".
func roughly(d time.Duration) string {
	if d < 0 {
		return "now"
	}
	d = d.Round(time.Minute)
	days := int(d / (24 * time.Hour))
	d -= time.Duration(days) * 24 * time.Hour
	h, m := int(d/time.Hour), int((d%time.Hour)/time.Minute)
	switch {
	case days > 0:
		return fmt.Sprintf("%dd %dh", days, h)
	case h > 0:
		return fmt.Sprintf("%dh %dm", h, m)
	}
	return fmt.Sprintf("%dm", m)
}
