// Package bottest is the one test world of internal/bot and internal/bot/longop: the GitHub
// simulator with one installation (acme) and one repository (acme/shop), a settable clock, a real
// store, and either whole bots started on it (webhooks, River, the real Pulumi engine) or the three
// features wired directly, without River, with the engine fake and jobs the test works one by one.
//
// A test picks what it needs with options to New; the helpers every test shares (waiting for a
// comment or a deployment, ticking the schedule, reading a stack's outputs or history, working
// queued PR jobs) live here once.
package bottest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"maps"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"github.com/stagecoach/stagecoach/internal/bot"
	"github.com/stagecoach/stagecoach/internal/command"
	"github.com/stagecoach/stagecoach/internal/config"
	"github.com/stagecoach/stagecoach/internal/engine"
	"github.com/stagecoach/stagecoach/internal/engine/enginetest"
	"github.com/stagecoach/stagecoach/internal/ephemeral"
	"github.com/stagecoach/stagecoach/internal/ephemeral/demo"
	"github.com/stagecoach/stagecoach/internal/event"
	"github.com/stagecoach/stagecoach/internal/feature"
	"github.com/stagecoach/stagecoach/internal/githubapi"
	"github.com/stagecoach/stagecoach/internal/githubapp"
	"github.com/stagecoach/stagecoach/internal/githubsim"
	"github.com/stagecoach/stagecoach/internal/promotion"
	"github.com/stagecoach/stagecoach/internal/repoconfig"
	"github.com/stagecoach/stagecoach/internal/schedule"
	"github.com/stagecoach/stagecoach/internal/source"
	"github.com/stagecoach/stagecoach/internal/store"
	"github.com/stagecoach/stagecoach/internal/store/storetest"
	"github.com/stagecoach/stagecoach/internal/toolchain"
)

const (
	// Secret is the webhook secret shared by the simulator and the bots.
	Secret = "webhook-secret"
	// Repo is the world's one repository.
	Repo = "acme/shop"
	// Passphrase is the bots' PULUMI_CONFIG_PASSPHRASE unless a test changes World.Passphrase.
	Passphrase = "test"
	// waitLimit bounds every wait for an effect of the bot.
	waitLimit = 3 * time.Minute
)

// cast is every person of the world and their permission on acme/shop; sam and mia are in acme/sre.
var cast = map[string]string{"dev": "write", "rita": "read", "sam": "write", "mia": "maintain", "zoe": "write",
	"alice": "write", "viewer": "read"}

// Clock is the one settable clock of the world, shared by its bots or features and the test. A
// stopped clock shows the time it was set to; a running one follows the wall clock, moved by Set
// and Advance.
type Clock struct {
	mu      sync.Mutex
	at      time.Time     // the time shown, when stopped
	offset  time.Duration // added to the wall clock, when running
	running bool
}

// ClockAt returns a clock stopped at t.
func ClockAt(t time.Time) *Clock { return &Clock{at: t} }

// RunningClock returns a clock that follows the wall clock until moved.
func RunningClock() *Clock { return &Clock{running: true} }

// Now is the clock's time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.running {
		return time.Now().Add(c.offset)
	}
	return c.at
}

// Set moves the clock to t.
func (c *Clock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.at, c.offset = t, time.Until(t)
}

// Advance moves the clock forward by d.
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.at, c.offset = c.at.Add(d), c.offset+d
}

// Option shapes a World.
type Option func(*settings)

type settings struct {
	db       store.Options
	files    map[string]string
	extra    string
	pulumi   bool
	start    bool
	features bool
	clock    *Clock
	env      map[string]string
	logger   *slog.Logger
}

// Database sets the store's database: SQLite (the default, in the data directory) or Postgres
// (storetest.Postgres).
func Database(o store.Options) Option { return func(s *settings) { s.db = o } }

// Files replaces the repository's files (default: the sample repository, demo.Files).
func Files(files map[string]string) Option { return func(s *settings) { s.files = maps.Clone(files) } }

// ExtraConfig is appended to the repository's .stagecoach.yaml (the sample's ends in its ephemeral section).
func ExtraConfig(text string) Option { return func(s *settings) { s.extra += text } }

// Pulumi gives the world the real Pulumi engine (enginetest.Tools: built on first use; without it
// the test is skipped, or fails under STAGECOACH_REQUIRE_TOOLS).
func Pulumi() Option { return func(s *settings) { s.pulumi = true } }

// StartBot starts one whole bot (replica "one") on the world; World.Bot is it.
func StartBot() Option { return func(s *settings) { s.start = true } }

// Features wires the three features and the command router directly, without River or a bot:
// the engine is enginetest's fake and queued PR jobs wait in World.Jobs for World.Work.
func Features() Option { return func(s *settings) { s.features = true } }

// WithClock sets the world's clock (default: RunningClock).
func WithClock(c *Clock) Option { return func(s *settings) { s.clock = c } }

// Settings adds or replaces the bots' STAGECOACH_* (and PULUMI_*) settings.
func Settings(env map[string]string) Option {
	return func(s *settings) { maps.Copy(s.env, env) }
}

// Logger sets the bots' and features' logger (default: discarded, or stderr under -v).
func Logger(l *slog.Logger) Option { return func(s *settings) { s.logger = l } }

// World is a simulated GitHub with acme/shop, a clock and a store, plus bots or features.
type World struct {
	t     testing.TB
	Sim   *githubsim.Sim
	Clock *Clock
	// Inst is acme's installation id; Main the default branch's head when the world was made.
	Inst int64
	Main string
	// DataDir is the bots' data directory (state backend, SQLite, PULUMI_HOME).
	DataDir string
	// DB opens the world's database; Backend is the bots' Pulumi state backend.
	DB      store.Options
	Backend string
	// Passphrase is the passphrase of the next bot started; tests change it to break a bot.
	Passphrase string
	// Tools is the real Pulumi CLI, with the Pulumi option.
	Tools toolchain.Tools
	// Explain, when set, adds to the report of a wait that timed out.
	Explain func() string

	// Bot is the bot last started by StartBot or Restart.
	Bot     *bot.Bot
	botOpts BotOptions

	// With the Features option: the features, their store, the engine fake and the queued PR jobs.
	Store     *store.Store
	Engine    *enginetest.Fake
	Jobs      *Jobs
	Ephemeral *ephemeral.Service
	Promotion *promotion.Service
	Schedule  *schedule.Scheduler
	Router    *command.Router

	env    map[string]string
	logger *slog.Logger
	mu     sync.Mutex
	prs    []int // PRs opened through the world, for reports
	nextPR int
}

// New makes the world; see the options for what it holds.
func New(t testing.TB, opts ...Option) *World {
	t.Helper()
	s := &settings{env: map[string]string{}}
	for _, o := range opts {
		o(s)
	}
	w := &World{t: t, Clock: s.clock, DataDir: t.TempDir(), Passphrase: Passphrase, env: s.env, logger: s.logger}
	if w.Clock == nil {
		w.Clock = RunningClock()
	}
	if s.pulumi {
		w.Tools = enginetest.Tools(t)
		if _, ok := w.env["STAGECOACH_PULUMI_COMMAND"]; !ok {
			w.env["STAGECOACH_PULUMI_COMMAND"] = w.Tools.Pulumi
		}
	}
	w.DB = s.db
	if w.DB.DatabaseURL == "" {
		w.DB = store.Options{SQLitePath: filepath.Join(w.DataDir, "stagecoach.db")}
	}
	w.Backend = "file://" + filepath.ToSlash(filepath.Join(w.DataDir, "state"))

	sim, err := githubsim.New(githubsim.Options{WebhookSecret: Secret, AppSlug: "stagecoach"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(sim.Close)
	w.Sim = sim
	w.Inst = sim.AddInstallation("acme")
	files := s.files
	if files == nil {
		files = demo.Files()
	}
	if s.extra != "" {
		files[".stagecoach.yaml"] += s.extra
	}
	r, err := sim.CreateRepo("acme", "shop", files)
	if err != nil {
		t.Fatal(err)
	}
	w.Main = r.HeadSHA
	for login, role := range cast {
		sim.SetCollaborator(Repo, login, role)
	}
	sim.AddTeamMember("acme", "sre", "sam")
	sim.AddTeamMember("acme", "sre", "mia")

	if s.features {
		w.wireFeatures()
	}
	if s.start {
		w.StartBot(BotOptions{Replica: "one"})
	}
	return w
}

// Run runs f as subtest name of t, one at a time on this shared world: while it runs, the world's
// helpers report to and fail the subtest.
func (w *World) Run(t *testing.T, name string, f func(t *testing.T)) bool {
	t.Helper()
	return t.Run(name, func(t *testing.T) {
		w.mu.Lock()
		prev := w.t
		w.t = t
		w.mu.Unlock()
		defer func() {
			w.mu.Lock()
			w.t = prev
			w.mu.Unlock()
		}()
		f(t)
	})
}

// tb is the test the world's helpers report to.
func (w *World) tb() testing.TB {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.t
}

func (w *World) log(replica string) *slog.Logger {
	if w.logger != nil {
		return w.logger
	}
	return TestLogger(replica)
}

// TestLogger discards logs, or writes them to stderr under -v, tagged with replica.
func TestLogger(replica string) *slog.Logger {
	if testing.Verbose() {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug})).With("replica", replica)
	}
	return slog.New(slog.DiscardHandler)
}

// wireFeatures builds the three features and the router the way bot.New does, without River: the
// one place where the tests construct features.
func (w *World) wireFeatures() {
	t := w.tb()
	app, err := githubapp.New(githubapp.Config{AppID: w.Sim.AppID(), PrivateKey: w.Sim.AppPrivateKeyPEM(), APIURL: w.Sim.URL()}, nil)
	if err != nil {
		t.Fatal(err)
	}
	o := w.DB
	o.Now, o.LeaseNow = w.Clock.Now, time.Now // lease expiry is real time, as in the bot
	w.Store = storetest.Open(t, o)
	log := w.log("features")
	src, err := source.New(source.Config{Dir: filepath.Join(w.DataDir, "source")}, nil, log)
	if err != nil {
		t.Fatal(err)
	}
	gh := githubapi.Apps{App: app}
	configs := repoconfig.NewLoaders(gh, log)
	w.Engine, w.Jobs = enginetest.NewFake(), &Jobs{}
	w.Ephemeral = ephemeral.New(ephemeral.Options{Deps: feature.Deps{Leases: w.Store, Jobs: w.Jobs, GitHub: gh,
		Sources: src, Configs: configs, Logger: log, Now: w.Clock.Now}, Records: w.Store, Engine: w.Engine})
	w.Promotion = promotion.New(promotion.Options{Deps: feature.Deps{Jobs: w.Jobs, GitHub: gh, Configs: configs, Logger: log, Now: w.Clock.Now}, Records: w.Store})
	w.Schedule = schedule.New(schedule.Options{Store: w.Store, Jobs: w.Jobs, Config: configs, GitHub: gh, Logger: log, Now: w.Clock.Now})
	var specs []command.Spec
	specs = append(specs, w.Ephemeral.Commands()...)
	specs = append(specs, w.Promotion.Commands()...)
	specs = append(specs, w.Schedule.Commands()...)
	w.Router = command.NewRouter(gh, w.Store, log, specs...)
}

// Jobs accepts every job the features queue without running it, and keeps the PR jobs for
// World.Work.
type Jobs struct {
	mu  sync.Mutex
	prs []ephemeral.PRArgs
}

// Insert records a PR job and accepts every job.
func (j *Jobs) Insert(_ context.Context, a river.JobArgs, _ *river.InsertOpts) (*rivertype.JobInsertResult, error) {
	j.mu.Lock()
	defer j.mu.Unlock()
	if pr, ok := a.(ephemeral.PRArgs); ok {
		j.prs = append(j.prs, pr)
	}
	return &rivertype.JobInsertResult{Job: &rivertype.JobRow{State: rivertype.JobStateAvailable}}, nil
}

// Take returns the PR jobs queued since the last Take.
func (j *Jobs) Take() []ephemeral.PRArgs {
	j.mu.Lock()
	defer j.mu.Unlock()
	out := j.prs
	j.prs = nil
	return out
}

// WorkJob runs one PR job as a worker would.
func (w *World) WorkJob(ctx context.Context, a ephemeral.PRArgs) error {
	return (&ephemeral.PRWorker{Service: w.Ephemeral}).Work(ctx, &river.Job[ephemeral.PRArgs]{JobRow: &rivertype.JobRow{ID: 1}, Args: a})
}

// Work runs every queued PR job to its end, as workers would; an error other than ctx's fails the test.
func (w *World) Work(ctx context.Context) {
	w.tb().Helper()
	for _, a := range w.Jobs.Take() {
		if err := w.WorkJob(ctx, a); err != nil && ctx.Err() == nil {
			w.tb().Fatal(err)
		}
	}
}

// Deliver hands the simulator's latest pull_request delivery to the PR-environment feature, as the
// event job does.
func (w *World) Deliver(pr int) {
	w.tb().Helper()
	ds := w.Sim.Deliveries()
	for i := len(ds) - 1; i >= 0; i-- {
		if ds[i].Event == "pull_request" {
			e := event.Event{Args: event.Args{Event: "pull_request", Action: ds[i].Action, Repo: Repo, InstallationID: w.Inst, PR: pr}, Payload: ds[i].Payload}
			if err := w.Ephemeral.PullRequest(context.Background(), e); err != nil {
				w.tb().Fatal(err)
			}
			return
		}
	}
	w.tb().Fatal("no pull_request delivery")
}

// CommentEvent comments body on pr as author and returns the comment's id and its issue_comment
// event, not yet processed.
func (w *World) CommentEvent(pr int, author, body string) (int64, event.Event) {
	w.tb().Helper()
	id := w.Comment(pr, author, body)
	for _, d := range w.Sim.Deliveries() {
		if d.Event == "issue_comment" && strings.Contains(string(d.Payload), fmt.Sprintf(`"id":%d,`, id)) {
			return id, event.Event{Args: event.Args{Event: "issue_comment", Repo: Repo, InstallationID: w.Inst, PR: pr}, Payload: json.RawMessage(d.Payload)}
		}
	}
	w.tb().Fatalf("no issue_comment delivery for comment %d", id)
	return 0, event.Event{}
}

// Ups lists the commits the engine fake was asked to deploy, in order.
func (w *World) Ups() []string {
	var shas []string
	for _, c := range w.Engine.Calls() {
		if c.Kind == string(engine.KindUp) {
			shas = append(shas, c.Request.Tags[engine.TagSHA])
		}
	}
	return shas
}

// BotOptions shapes one bot of the world.
type BotOptions struct {
	// Replica names the bot in logs and job tables. Default "one".
	Replica string
	// DataDir is its data directory. Default World.DataDir (shared by every bot of the world).
	DataDir string
	// Scheduled records acme/shop as a repository the bot has heard from before it starts, so
	// the scheduler ticks it.
	Scheduled bool
	// AwaitStartTick makes Start wait for the start-up schedule tick, so that later ticks see the
	// clock the test sets.
	AwaitStartTick bool
}

// Env returns the settings of a bot of the world with o.
func (w *World) Env(o BotOptions) map[string]string {
	if o.DataDir == "" {
		o.DataDir = w.DataDir
	}
	env := map[string]string{
		"STAGECOACH_ADDR":                  "127.0.0.1:0",
		"STAGECOACH_DATA_DIR":              o.DataDir,
		"STAGECOACH_DATABASE_URL":          w.DB.DatabaseURL,
		"STAGECOACH_WEBHOOK_SECRET":        Secret,
		"STAGECOACH_GITHUB_APP_ID":         strconv.FormatInt(w.Sim.AppID(), 10),
		"STAGECOACH_GITHUB_PRIVATE_KEY":    string(w.Sim.AppPrivateKeyPEM()),
		"STAGECOACH_GITHUB_API_URL":        w.Sim.URL(),
		"STAGECOACH_SHUTDOWN_TIMEOUT":      "20s",
		"STAGECOACH_GITHUB_MAX_RETRIES":    "3",
		"STAGECOACH_GITHUB_MAX_RETRY_WAIT": "2s",
		"PULUMI_CONFIG_PASSPHRASE":         w.Passphrase,
		// The world's bots share one machine, so its file backend is shared by every replica.
		"STAGECOACH_FILE_BACKEND_SHARED": "true",
	}
	maps.Copy(env, w.env)
	return env
}

// NewBot builds a bot of the world, not started.
func (w *World) NewBot(o BotOptions) *bot.Bot {
	w.tb().Helper()
	if o.Replica == "" {
		o.Replica = "one"
	}
	b := NewBot(w.tb(), w.Env(o), bot.Options{Logger: w.log(o.Replica), Now: w.Clock.Now, ReplicaID: o.Replica, Schema: w.DB.Schema})
	if o.Scheduled {
		// The scheduler knows the repositories the bot has heard from.
		if err := b.Store().TouchRepository(context.Background(), Repo, w.Inst); err != nil {
			w.tb().Fatal(err)
		}
	}
	return b
}

// NewBot builds a bot from env (validated as `bot serve` validates it) and o, whose Config it sets.
func NewBot(t testing.TB, env map[string]string, o bot.Options) *bot.Bot {
	t.Helper()
	cfg, err := config.Load(func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	if err := cfg.ValidateServe(); err != nil {
		t.Fatal(err)
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	o.Config = cfg
	b, err := bot.New(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// Start starts b, stops it at cleanup and points the simulator's webhooks at it.
func (w *World) Start(b *bot.Bot) {
	w.tb().Helper()
	Start(w.tb(), b)
	w.Sim.SetWebhookURL("http://" + b.Addr() + "/webhooks/github")
}

// Start starts b and stops it at cleanup.
func Start(t testing.TB, b *bot.Bot) {
	t.Helper()
	if err := b.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Stop() })
}

// StartBot builds and starts a bot with o; it becomes World.Bot.
func (w *World) StartBot(o BotOptions) *bot.Bot {
	w.tb().Helper()
	b := w.NewBot(o)
	var events <-chan *river.Event
	if o.AwaitStartTick {
		ch, cancel := b.Queue().Subscribe(river.EventKindJobCompleted)
		defer cancel()
		events = ch
	}
	w.Start(b)
	if o.AwaitStartTick {
		WaitKind(w.tb(), events, (schedule.TickArgs{}).Kind())
	}
	w.Bot, w.botOpts = b, o
	return b
}

// Restart stops World.Bot and starts another like it on the same data (its sweeps run on start).
func (w *World) Restart() {
	w.tb().Helper()
	if err := w.Bot.Stop(); err != nil {
		w.tb().Fatal(err)
	}
	w.StartBot(w.botOpts)
}

// Wait blocks until cond holds, re-checking on every simulator change.
func (w *World) Wait(what string, cond func() bool) {
	w.tb().Helper()
	w.WaitWithin(what, waitLimit, cond)
}

// WaitWithin is Wait with its own time limit; a timeout reports the world's PR comments.
func (w *World) WaitWithin(what string, within time.Duration, cond func() bool) {
	w.tb().Helper()
	ctx, cancel := context.WithTimeout(context.Background(), within)
	defer cancel()
	if err := w.Sim.WaitFor(ctx, cond); err != nil {
		w.tb().Fatalf("waiting for %s: %v\n%s", what, err, w.report())
	}
}

func (w *World) report() string {
	w.mu.Lock()
	prs := append([]int(nil), w.prs...)
	w.mu.Unlock()
	var b strings.Builder
	for _, pr := range prs {
		for _, c := range w.Sim.Comments(Repo, pr) {
			fmt.Fprintf(&b, "--- comment on #%d by %s:\n%s\n", pr, c.Author, c.Body)
		}
	}
	if w.Explain != nil {
		b.WriteString(w.Explain())
	}
	return b.String()
}

// OpenPR opens a PR on acme/shop, by default by dev, on branch feature-<k> changing app/f<k>.txt
// for the world's k-th PR.
func (w *World) OpenPR(o githubsim.PROptions) githubsim.PR {
	w.tb().Helper()
	w.mu.Lock()
	w.nextPR++
	k := w.nextPR
	w.mu.Unlock()
	if o.Author == "" {
		o.Author = "dev"
	}
	if o.Branch == "" {
		o.Branch = fmt.Sprintf("feature-%d", k)
	}
	if o.Title == "" {
		o.Title = fmt.Sprintf("change %d", k)
	}
	if o.Files == nil {
		o.Files = map[string]string{fmt.Sprintf("app/f%d.txt", k): "x"}
	}
	pr, err := w.Sim.OpenPR(Repo, o)
	if err != nil {
		w.tb().Fatal(err)
	}
	w.mu.Lock()
	w.prs = append(w.prs, pr.Number)
	w.mu.Unlock()
	return pr
}

// MergePR opens a PR with labels and merges it, returning its number and merge commit.
func (w *World) MergePR(labels ...string) (int, string) {
	w.tb().Helper()
	pr := w.OpenPR(githubsim.PROptions{Labels: labels})
	if err := w.Sim.ClosePR(Repo, pr.Number, true); err != nil {
		w.tb().Fatal(err)
	}
	got, err := w.Sim.PR(Repo, pr.Number)
	if err != nil {
		w.tb().Fatal(err)
	}
	return pr.Number, got.MergeCommitSHA
}

// Push pushes files to pr's branch and returns the new head.
func (w *World) Push(pr int, files map[string]string) string {
	w.tb().Helper()
	sha, err := w.Sim.PushToPR(Repo, pr, files)
	if err != nil {
		w.tb().Fatal(err)
	}
	return sha
}

// Close closes pr, merged or not.
func (w *World) Close(pr int, merge bool) {
	w.tb().Helper()
	if err := w.Sim.ClosePR(Repo, pr, merge); err != nil {
		w.tb().Fatal(err)
	}
}

// Comment comments body on pr as author and returns the comment's id.
func (w *World) Comment(pr int, author, body string) int64 {
	w.tb().Helper()
	id, err := w.Sim.Comment(Repo, pr, author, body)
	if err != nil {
		w.tb().Fatal(err)
	}
	return id
}

// Ask comments body on pr as author and waits for the bot's answer containing want.
func (w *World) Ask(pr int, author, body, want string) string {
	w.tb().Helper()
	before := len(w.Sim.Comments(Repo, pr))
	w.Comment(pr, author, body)
	var answer string
	w.Wait(fmt.Sprintf("an answer to %q containing %q", body, want), func() bool {
		for _, c := range w.Sim.Comments(Repo, pr)[before:] {
			if c.Author == w.Sim.BotLogin() && strings.Contains(c.Body, want) {
				answer = c.Body
				return true
			}
		}
		return false
	})
	return answer
}

// Commented reports whether a comment on pr contains every one of texts.
func (w *World) Commented(pr int, texts ...string) bool {
	for _, c := range w.Sim.Comments(Repo, pr) {
		if containsAll(c.Body, texts...) {
			return true
		}
	}
	return false
}

// Replies returns the bodies of the bot's replies to commands on pr.
func (w *World) Replies(pr int) []string {
	var out []string
	for _, c := range w.Sim.Comments(Repo, pr) {
		if c.Author == w.Sim.BotLogin() && strings.Contains(c.Body, "<!-- stagecoach:reply:") {
			out = append(out, c.Body)
		}
	}
	return out
}

// RepliesTo returns the bodies of the bot's replies to comment id on pr.
func (w *World) RepliesTo(pr int, id int64) []string {
	var out []string
	for _, r := range w.Replies(pr) {
		if strings.Contains(r, fmt.Sprintf("<!-- stagecoach:reply:%d -->", id)) {
			out = append(out, r)
		}
	}
	return out
}

// Replied reports whether a bot comment on pr other than the PR environment's status contains text.
func (w *World) Replied(pr int, text string) bool {
	for _, c := range w.Sim.Comments(Repo, pr) {
		if c.Author == w.Sim.BotLogin() && !strings.Contains(c.Body, ephemeral.Marker) && strings.Contains(c.Body, text) {
			return true
		}
	}
	return false
}

// StatusComments returns the bot's PR environment comments on pr.
func (w *World) StatusComments(pr int) []githubsim.Comment {
	var out []githubsim.Comment
	for _, c := range w.Sim.Comments(Repo, pr) {
		if strings.Contains(c.Body, ephemeral.Marker) {
			out = append(out, c)
		}
	}
	return out
}

// StatusIs reports whether pr has one PR environment comment, showing status and every want.
func (w *World) StatusIs(pr int, status string, wants ...string) bool {
	cs := w.StatusComments(pr)
	return len(cs) == 1 && containsAll(cs[0].Body, append([]string{"**" + status + "**"}, wants...)...)
}

func containsAll(s string, wants ...string) bool {
	for _, want := range wants {
		if !strings.Contains(s, want) {
			return false
		}
	}
	return true
}

// CheckRuns returns the check runs named name on sha.
func (w *World) CheckRuns(sha, name string) []githubsim.CheckRun {
	var out []githubsim.CheckRun
	for _, r := range w.Sim.CheckRuns(Repo, sha) {
		if r.Name == name {
			out = append(out, r)
		}
	}
	return out
}

// CheckRunPosts counts the check runs the bot created (the simulator logs a request after
// answering it, so its state can be ahead of its request log).
func (w *World) CheckRunPosts() int {
	n := 0
	for _, r := range w.Sim.Requests() {
		if r.Method == http.MethodPost && strings.HasSuffix(r.Path, "/check-runs") && r.Status == http.StatusCreated {
			n++
		}
	}
	return n
}

// Deployments lists the GitHub deployments of environment env, oldest first.
func (w *World) Deployments(env string) []githubsim.Deployment {
	var out []githubsim.Deployment
	for _, d := range w.Sim.Deployments(Repo) {
		if d.Environment == env {
			out = append(out, d)
		}
	}
	return out
}

// States lists the states of deployment d, oldest first.
func (w *World) States(d githubsim.Deployment) []string {
	var out []string
	for _, s := range w.Sim.DeploymentStatuses(Repo, d.ID) {
		out = append(out, s.State)
	}
	return out
}

// Deployment returns the newest deployment of sha to env and its states.
func (w *World) Deployment(env, sha string) (githubsim.Deployment, []string, bool) {
	deps := w.Deployments(env)
	for i := len(deps) - 1; i >= 0; i-- {
		if deps[i].SHA == sha {
			return deps[i], w.States(deps[i]), true
		}
	}
	return githubsim.Deployment{}, nil, false
}

// WaitDeployed waits until sha's newest deployment to env ends in final and returns its statuses.
func (w *World) WaitDeployed(env, sha, final string) []githubsim.DeploymentStatus {
	w.tb().Helper()
	var id int64
	w.Wait(fmt.Sprintf("%s of %.7s to %s", final, sha, env), func() bool {
		d, states, ok := w.Deployment(env, sha)
		id = d.ID
		return ok && len(states) > 0 && states[len(states)-1] == final
	})
	return w.Sim.DeploymentStatuses(Repo, id)
}

// currentStore is the world's store: the features' or the current bot's.
func (w *World) currentStore() *store.Store {
	if w.Bot != nil {
		return w.Bot.Store()
	}
	return w.Store
}

// PREnv returns pr's PR environment record.
func (w *World) PREnv(pr int) store.PREnvironment {
	w.tb().Helper()
	e, err := w.currentStore().PREnvironment(context.Background(), Repo, pr)
	if err != nil {
		w.tb().Fatal(err)
	}
	return e
}

// Promotions returns env's promotion records, newest first.
func (w *World) Promotions(env string) []store.Promotion {
	w.tb().Helper()
	ps, err := w.currentStore().PromotionHistory(context.Background(), Repo, env, 50)
	if err != nil {
		w.tb().Fatal(err)
	}
	return ps
}

// SleepState returns the schedule's applied state of environment env (stack of the same name).
func (w *World) SleepState(env string) (store.SleepState, error) {
	return w.currentStore().SleepState(context.Background(), Repo, env, env)
}

// Runner is an engine on the world's backend and st, as the bots' (needs the Pulumi option).
func (w *World) Runner(st *store.Store) *engine.Runner {
	w.tb().Helper()
	r, err := engine.New(engine.Config{PulumiCommand: w.Tools.Pulumi, LanguageDirs: w.Tools.LanguageDirs, BackendURL: w.Backend,
		Passphrase: w.Passphrase, PulumiHome: filepath.Join(w.DataDir, "pulumi-home"), WorkDir: w.tb().TempDir()}, st, nil, nil, nil)
	if err != nil {
		w.tb().Fatal(err)
	}
	return r
}

// Outputs reads stack's outputs in project from the backend.
func (w *World) Outputs(project, stack string) map[string]engine.Output {
	w.tb().Helper()
	return enginetest.StateOutputs(w.tb(), w.Backend, project, stack)
}

// Deploy deploys stack of the project under infra/ at the default branch's head, as a promotion to
// environment stack would, through an engine on the world's backend and st.
func (w *World) Deploy(st *store.Store, stack string) {
	w.tb().Helper()
	dir := w.tb().TempDir()
	files, err := w.Sim.Files(Repo, w.Main)
	if err != nil {
		w.tb().Fatal(err)
	}
	WriteTree(w.tb(), dir, files)
	if _, err := w.Runner(st).Up(context.Background(), engine.Request{Program: engine.LocalProgram(filepath.Join(dir, "infra")), Stack: stack,
		Tags: map[string]string{engine.TagRepo: Repo, engine.TagSHA: w.Main, engine.TagEnv: stack}}); err != nil {
		w.tb().Fatalf("deploying %s: %v", stack, err)
	}
}

// WriteTree writes files (slash paths) under dir.
func WriteTree(t testing.TB, dir string, files map[string]string) {
	t.Helper()
	for name, content := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// SucceededUpdates counts the successful `pulumi up` runs in stack's history in the file backend.
func (w *World) SucceededUpdates(stack string) int {
	w.tb().Helper()
	n := 0
	root := filepath.Join(w.DataDir, "state", ".pulumi", "history")
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || filepath.Base(filepath.Dir(p)) != stack || !strings.HasSuffix(p, ".history.json") {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		var h struct {
			Kind   string `json:"kind"`
			Result string `json:"result"`
		}
		if err := json.Unmarshal(b, &h); err != nil {
			return fmt.Errorf("%s: %w", p, err)
		}
		if h.Kind == "update" && h.Result == "succeeded" {
			n++
		}
		return nil
	})
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		w.tb().Fatal(err)
	}
	return n
}

// TickUntil ticks World.Bot's schedule (as the periodic tick does every minute) until environment
// env's state is want, at most three times: a tick that finds a transition still holding the stack
// leaves it to the next tick, which is the scheduler's guarantee (convergence by the next tick),
// not one tick per change.
func (w *World) TickUntil(env, want string) store.SleepState {
	w.tb().Helper()
	var st store.SleepState
	for range 3 {
		w.Tick(0)
		st, _ = w.SleepState(env)
		if st.State == want {
			break
		}
	}
	return st
}

// Tick runs one schedule reconciliation on World.Bot and waits until it and the transitions it
// enqueued (at least transitions of them) have finished.
func (w *World) Tick(transitions int) {
	t, b := w.tb(), w.Bot
	t.Helper()
	events, cancel := b.Queue().Subscribe(river.EventKindJobCompleted, river.EventKindJobFailed)
	defer cancel()
	// A tick still waiting or running saw an older clock: let it finish, then insert ours.
	for {
		res, err := b.Queue().Insert(context.Background(), schedule.TickArgs{}, nil)
		if err != nil {
			t.Fatal(err)
		}
		if !res.UniqueSkippedAsDuplicate {
			break
		}
		WaitKind(t, events, (schedule.TickArgs{}).Kind())
	}
	timeout := time.After(waitLimit)
	ticked := false
	for done := 0; done < transitions || !ticked; {
		select {
		case e := <-events:
			if e.Kind == river.EventKindJobFailed {
				t.Fatalf("%s failed: %v", e.Job.Kind, e.Job.Errors)
			}
			switch e.Job.Kind {
			case (schedule.TickArgs{}).Kind():
				ticked = true
			case (schedule.TransitionArgs{}).Kind():
				done++
			}
		case <-timeout:
			t.Fatal("timed out waiting for the tick and its transitions")
		}
	}
	// Transitions are not unique: one that found its stack's lease taken, or one queued by an earlier
	// tick, may have completed above while another still waits or works. Wait until none is left.
	for deadline := time.Now().Add(waitLimit); ; {
		var n int
		if err := b.Store().DB().QueryRowContext(context.Background(), `SELECT COUNT(*) FROM river_job WHERE kind = $1
			AND state IN ('available', 'pending', 'running', 'scheduled', 'retryable')`, (schedule.TransitionArgs{}).Kind()).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d transitions still queued or running", n)
		}
		time.Sleep(20 * time.Millisecond) // polling the job table
	}
}

// WaitKind waits for a completed job of kind among events.
func WaitKind(t testing.TB, events <-chan *river.Event, kind string) {
	t.Helper()
	timeout := time.After(waitLimit)
	for {
		select {
		case e := <-events:
			if e.Job.Kind == kind {
				return
			}
		case <-timeout:
			t.Fatalf("timed out waiting for a %s job", kind)
		}
	}
}
