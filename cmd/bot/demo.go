package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/stagecoach/stagecoach/internal/bot"
	"github.com/stagecoach/stagecoach/internal/config"
	"github.com/stagecoach/stagecoach/internal/ephemeral"
	"github.com/stagecoach/stagecoach/internal/ephemeral/demo"
	"github.com/stagecoach/stagecoach/internal/githubsim"
	"github.com/stagecoach/stagecoach/internal/render"
	"github.com/stagecoach/stagecoach/internal/toolchain"
)

// demoRepo is the simulated repository the demo plays in.
const demoRepo = "acme/storefront"

// demoCommand runs the bot on embedded defaults against the GitHub simulator and plays a pull
// request's life: opened and deployed, pushed to and redeployed, a command, merged and destroyed.
func demoCommand(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer) error {
	c := newCmdline(config.CommandDemo, "", "Starts the bot on embedded defaults (SQLite, a file state backend, a simulated GitHub and a sample "+
		"Pulumi project that needs no cloud account) in a temporary directory, plays a pull request from opening to merge, "+
		"prints each PR comment and state change, and cleans up. GitHub is simulated: nothing leaves this machine.\n\n"+
		"The first run installs the pinned Pulumi CLI and YAML language host: downloaded, or where get.pulumi.com is out of reach "+
		"built from the Go module proxy ("+toolchainBuildTime+"), once; later runs find them in seconds. "+
		"--timeout starts after that and covers only the demo itself.", stdout)
	timeout := c.fs.Duration("timeout", 5*time.Minute, "give up when the demo itself (not the one-time Pulumi CLI build before it) takes longer")
	if done, err := c.parseArgs(args, 0); done {
		return err
	}
	if err := bot.HardenProcess(); err != nil {
		return err
	}
	say := func(format string, a ...any) { fmt.Fprintf(stdout, format+"\n", a...) }

	say("stagecoach demo — GitHub is SIMULATED: an in-process GitHub stands in for github.com, and the")
	say("sample project deploys with the real Pulumi engine to a local file backend. No account, no cloud, no network.")
	say("")
	tools, err := demoTools(ctx, toolchain.Options{Command: c.getenv(getenv)("STAGECOACH_PULUMI_COMMAND"), Progress: stdout}, stdout)
	if err != nil {
		return err
	}
	say("Pulumi CLI %s at %s", tools.Version, tools.Pulumi)
	// The story's timeout starts now: the one-time toolchain build above (minutes on a cold
	// machine) is not part of it.
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	started := time.Now()

	dir, err := os.MkdirTemp("", "stagecoach-demo-")
	if err != nil {
		return fmt.Errorf("demo: making a data directory: %w", err)
	}
	defer os.RemoveAll(dir)

	const secret = "demo-webhook-secret"
	sim, err := githubsim.New(githubsim.Options{WebhookSecret: secret, AppSlug: "stagecoach"})
	if err != nil {
		return fmt.Errorf("demo: starting the simulated GitHub: %w", err)
	}
	defer sim.Close()
	sim.AddInstallation("acme")
	owner, name, _ := strings.Cut(demoRepo, "/")
	if _, err := sim.CreateRepo(owner, name, demo.Files()); err != nil {
		return fmt.Errorf("demo: creating the sample repository: %w", err)
	}
	sim.SetCollaborator(demoRepo, "alice", "write")

	env := map[string]string{
		"STAGECOACH_ADDR":               "127.0.0.1:0",
		"STAGECOACH_DATA_DIR":           dir,
		"STAGECOACH_WEBHOOK_SECRET":     secret,
		"STAGECOACH_GITHUB_APP_ID":      strconv.FormatInt(sim.AppID(), 10),
		"STAGECOACH_GITHUB_PRIVATE_KEY": string(sim.AppPrivateKeyPEM()),
		"STAGECOACH_GITHUB_API_URL":     sim.URL(),
		"STAGECOACH_GITHUB_APP_SLUG":    "stagecoach",
		"STAGECOACH_PULUMI_COMMAND":     tools.Pulumi,
		"STAGECOACH_SHUTDOWN_TIMEOUT":   "30s",
		"PULUMI_CONFIG_PASSPHRASE":      "stagecoach-demo", // a fixed demo value: nothing secret is deployed
	}
	cfg, err := config.Load(func(k string) string { return env[k] })
	if err != nil {
		return fmt.Errorf("demo: %w", err)
	}
	logFile, err := os.Create(filepath.Join(dir, "bot.log"))
	if err != nil {
		return fmt.Errorf("demo: %w", err)
	}
	defer logFile.Close()
	b, err := bot.New(ctx, bot.Options{Config: cfg, Logger: slog.New(slog.NewTextHandler(logFile, nil)), Version: version()})
	if err != nil {
		return fmt.Errorf("demo: starting the bot: %w", err)
	}
	if err := b.Start(ctx); err != nil {
		b.Stop()
		return fmt.Errorf("demo: starting the bot: %w", err)
	}
	defer b.Stop()
	sim.SetWebhookURL("http://" + b.Addr() + "/webhooks/github")
	say("bot listening on %s, data in %s (SQLite, file state backend)", b.Addr(), dir)
	say("")

	w := &demoWatcher{sim: sim, out: stdout, seen: map[int64]string{}, statuses: map[int64]int{}}
	wait := func(what string, cond func() bool) error {
		err := sim.WaitFor(ctx, func() bool { w.report(); return cond() })
		if err != nil {
			logFile.Sync()
			tail, _ := os.ReadFile(logFile.Name())
			return fmt.Errorf("demo: waiting for %s: %w\n\nthe bot's log ends with:\n%s", what, err, lastLines(string(tail), 30))
		}
		return nil
	}

	say("▶ alice opens pull request #1 (a new page for the storefront)")
	pr, err := sim.OpenPR(demoRepo, githubsim.PROptions{Author: "alice", Title: "Add a sale page", Branch: "sale-page",
		Files: map[string]string{"app/sale.html": "<h1>Sale</h1>\n"}})
	if err != nil {
		return fmt.Errorf("demo: %w", err)
	}
	if err := wait("the environment of #1", func() bool { return w.status(pr.Number, "ready", render.ShortSHA(pr.HeadSHA)) }); err != nil {
		return err
	}

	say("▶ alice pushes a commit that changes the PR template's greeting")
	sha, err := sim.PushToPR(demoRepo, pr.Number, map[string]string{"infra/Pulumi.pr.yaml": "config:\n  storefront:greeting: hello from the sale page\n"})
	if err != nil {
		return fmt.Errorf("demo: %w", err)
	}
	if err := wait("the update of #1", func() bool { return w.status(pr.Number, "ready", render.ShortSHA(sha)) }); err != nil {
		return err
	}

	say("▶ alice comments /preview")
	if _, err := sim.Comment(demoRepo, pr.Number, "alice", "/preview"); err != nil {
		return fmt.Errorf("demo: %w", err)
	}
	if err := wait("the preview", func() bool { return w.status(pr.Number, "ready", "/preview of "+render.ShortSHA(sha)) }); err != nil {
		return err
	}

	say("▶ alice merges the pull request")
	if err := sim.ClosePR(demoRepo, pr.Number, true); err != nil {
		return fmt.Errorf("demo: %w", err)
	}
	if err := wait("the teardown", func() bool { return w.status(pr.Number, "destroyed") }); err != nil {
		return err
	}
	w.report()
	say("")
	say("✔ done in %s: one PR comment edited in place, %d GitHub deployment status(es), the stack destroyed.",
		time.Since(started).Round(time.Second), w.total)
	say("  GitHub was simulated; to run the bot for real see the README (bot serve, Installing the GitHub App).")
	return nil
}

// toolchainBuildTime is how long the one-time build of the Pulumi CLI and YAML host usually takes.
const toolchainBuildTime = "about 4 minutes on an idle 2-core machine, up to 15 while other builds run, plus Go module downloads on a cold cache"

// demoTools finds the Pulumi CLI and YAML host or installs them, first saying what is about to happen
// and how long it takes; a failure says what happened and what to run.
func demoTools(ctx context.Context, o toolchain.Options, out io.Writer) (toolchain.Tools, error) {
	switch found, err := toolchain.Find(ctx, o); {
	case !errors.Is(err, toolchain.ErrNotFound):
	case found.Pulumi != "":
		fmt.Fprintf(out, "First, once: the Pulumi YAML language host v%s is not installed yet; it is built from the Go module\n"+
			"proxy (about a minute on 2 cores). The demo's --timeout starts after this.\n\n", toolchain.YAMLVersion)
	default:
		fmt.Fprintf(out, "First, once: the Pulumi CLI v%s and its YAML language host are not installed yet. They are\n"+
			"downloaded from get.pulumi.com, or where that is out of reach built from the Go module proxy\n"+
			"(%s). Later runs find them in seconds.\n"+
			"The demo's --timeout starts after this. Progress every 15 s:\n\n", toolchain.PulumiVersion, toolchainBuildTime)
	}
	tools, err := toolchain.Ensure(ctx, o)
	if err != nil {
		return tools, fmt.Errorf("demo: the Pulumi CLI is not ready: %w\n\n%s", err, toolchainAdvice(err))
	}
	return tools, nil
}

// toolchainAdvice says what to run after toolchain.Ensure failed with err.
func toolchainAdvice(err error) string {
	steps := []string{
		"go run ./cmd/bot toolchain install    # installs the Pulumi CLI on its own, once (" + toolchainBuildTime + ")",
		"go run ./cmd/bot doctor               # checks the setup and says what is still missing",
		"go run ./cmd/bot demo                 # then takes under a minute",
	}
	var first string
	var be *toolchain.BuildError
	switch {
	case !errors.As(err, &be):
		first = "What to run: fix what the message above names (bot doctor says the same), then:"
	case be.Why == toolchain.BuildStopped:
		first = "What to run, leaving the build time to finish:"
	case be.Why == toolchain.BuildKilled:
		first = "What to run, with memory to spare (GOFLAGS=-p=1 compiles one package at a time):"
		steps[0] = "GOFLAGS=-p=1 " + steps[0]
	case be.Why == toolchain.BuildNoGo:
		first = "What to run: install Go (https://go.dev/dl/), or set STAGECOACH_PULUMI_COMMAND to a pulumi v" +
			toolchain.PulumiVersion + " binary, then (with the bot binary, `bot` for `go run ./cmd/bot`):"
	default:
		first = "What to run: the go command's output above says why; without access to the Go module proxy\n" +
			"(GOPROXY), set STAGECOACH_PULUMI_COMMAND to a pulumi v" + toolchain.PulumiVersion + " binary instead. Then:"
	}
	return first + "\n  " + strings.Join(steps, "\n  ")
}

// demoWatcher prints the bot's PR comments and deployment statuses as they change.
type demoWatcher struct {
	sim      *githubsim.Sim
	out      io.Writer
	seen     map[int64]string // comment id → body printed last
	statuses map[int64]int    // deployment id → statuses printed
	total    int
}

func (w *demoWatcher) report() {
	for _, c := range w.sim.Comments(demoRepo, 1) {
		if w.seen[c.ID] == c.Body {
			continue
		}
		verb := "comments"
		if _, ok := w.seen[c.ID]; ok {
			verb = "edits its comment"
		}
		w.seen[c.ID] = c.Body
		if c.Author != w.sim.BotLogin() {
			continue
		}
		fmt.Fprintf(w.out, "\n  ┌─ %s %s on #%d\n", c.Author, verb, c.Number)
		for _, line := range strings.Split(strings.TrimSpace(strings.ReplaceAll(c.Body, ephemeral.Marker, "")), "\n") {
			fmt.Fprintf(w.out, "  │ %s\n", line)
		}
		fmt.Fprintf(w.out, "  └─\n")
	}
	deps := w.sim.Deployments(demoRepo)
	sort.Slice(deps, func(i, j int) bool { return deps[i].ID < deps[j].ID })
	for _, d := range deps {
		ss := w.sim.DeploymentStatuses(demoRepo, d.ID)
		for _, s := range ss[w.statuses[d.ID]:] {
			url := ""
			if s.EnvironmentURL != "" {
				url = " " + s.EnvironmentURL
			}
			fmt.Fprintf(w.out, "  • deployment %s at %s: %s%s\n", d.Environment, render.ShortSHA(d.SHA), s.State, url)
			w.total++
		}
		w.statuses[d.ID] = len(ss)
	}
}

// status reports whether the PR's environment comment shows state and every want.
func (w *demoWatcher) status(pr int, state string, wants ...string) bool {
	for _, c := range w.sim.Comments(demoRepo, pr) {
		if !strings.Contains(c.Body, ephemeral.Marker) || !strings.Contains(c.Body, "**"+state+"**") {
			continue
		}
		for _, want := range wants {
			if !strings.Contains(c.Body, want) {
				return false
			}
		}
		return true
	}
	return false
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
