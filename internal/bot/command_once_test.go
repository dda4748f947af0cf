package bot_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"github.com/stagecoach/stagecoach/internal/command"
	"github.com/stagecoach/stagecoach/internal/ephemeral"
	"github.com/stagecoach/stagecoach/internal/event"
	"github.com/stagecoach/stagecoach/internal/feature"
	"github.com/stagecoach/stagecoach/internal/githubapi"
	"github.com/stagecoach/stagecoach/internal/githubapp"
	"github.com/stagecoach/stagecoach/internal/githubsim"
	"github.com/stagecoach/stagecoach/internal/promotion"
	"github.com/stagecoach/stagecoach/internal/repoconfig"
	"github.com/stagecoach/stagecoach/internal/schedule"
	"github.com/stagecoach/stagecoach/internal/store"
	"github.com/stagecoach/stagecoach/internal/store/storetest"
)

// onceConfig turns on every feature with a command: PR environments, a dev → prod promotion
// with one approval from acme/sre, and a sleep schedule for dev.
const onceConfig = `version: 1
project: infra
environments:
  - name: dev
  - name: prod
    approvals:
      required: 1
      approvers:
        teams: [acme/sre]
ephemeral:
  enabled: true
schedules:
  dev:
    sleep: "CRON_TZ=Europe/Berlin 0 20 * * MON-FRI"
    wake: "CRON_TZ=Europe/Berlin 0 7 * * MON-FRI"
`

// onceClock is the features' clock, moved by the test between attempts.
type onceClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *onceClock) Now() time.Time          { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *onceClock) Advance(d time.Duration) { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }

// onceJobs accepts every job without running it: these tests are about the commands' own effects.
type onceJobs struct{}

func (onceJobs) Insert(context.Context, river.JobArgs, *river.InsertOpts) (*rivertype.JobInsertResult, error) {
	return &rivertype.JobInsertResult{Job: &rivertype.JobRow{State: rivertype.JobStateAvailable}}, nil
}

// onceWorld is the three features' commands behind one Router, with a real store and the GitHub
// simulator; Process is called the way the event job calls it, once per attempt.
type onceWorld struct {
	sim    *githubsim.Sim
	st     *store.Store
	clock  *onceClock
	router *command.Router
	inst   int64
	main   string // head of the default branch
}

func newOnceWorld(t *testing.T, o store.Options) *onceWorld {
	t.Helper()
	sim, err := githubsim.New(githubsim.Options{AppSlug: "stagecoach"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(sim.Close)
	inst := sim.AddInstallation("acme")
	r, err := sim.CreateRepo("acme", "shop", map[string]string{".stagecoach.yaml": onceConfig, "infra/Pulumi.yaml": "name: shop\nruntime: yaml\n"})
	if err != nil {
		t.Fatal(err)
	}
	sim.SetCollaborator("acme/shop", "dev", "write")
	sim.SetCollaborator("acme/shop", "sam", "write")
	sim.AddTeamMember("acme", "sre", "sam")
	app, err := githubapp.New(githubapp.Config{AppID: sim.AppID(), PrivateKey: sim.AppPrivateKeyPEM(), APIURL: sim.URL()}, nil)
	if err != nil {
		t.Fatal(err)
	}
	clock := &onceClock{t: time.Date(2026, 3, 4, 10, 0, 0, 0, time.UTC)} // a Wednesday, awake hours in Berlin
	o.Now = clock.Now
	st := storetest.Open(t, o)
	log := slog.New(slog.DiscardHandler)
	gh := githubapi.Apps{App: app}
	configs := repoconfig.NewLoaders(gh, log)
	eph := ephemeral.New(ephemeral.Options{Deps: feature.Deps{Leases: st, Jobs: onceJobs{}, GitHub: gh, Configs: configs, Logger: log, Now: clock.Now}, Records: st})
	pro := promotion.New(promotion.Options{Deps: feature.Deps{Jobs: onceJobs{}, GitHub: gh, Configs: configs, Logger: log, Now: clock.Now}, Records: st})
	sch := schedule.New(schedule.Options{Store: st, Jobs: onceJobs{}, Config: configs, GitHub: gh, Logger: log, Now: clock.Now})
	var specs []command.Spec
	specs = append(specs, eph.Commands()...)
	specs = append(specs, pro.Commands()...)
	specs = append(specs, sch.Commands()...)
	return &onceWorld{sim: sim, st: st, clock: clock, router: command.NewRouter(gh, st, log, specs...), inst: inst, main: r.HeadSHA}
}

// say comments body on pr as author and returns the comment's id and its issue_comment event.
func (w *onceWorld) say(t *testing.T, pr int, author, body string) (int64, event.Event) {
	t.Helper()
	id, err := w.sim.Comment("acme/shop", pr, author, body)
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range w.sim.Deliveries() {
		if d.Event == "issue_comment" && strings.Contains(string(d.Payload), fmt.Sprintf(`"id":%d,`, id)) {
			return id, event.Event{Args: event.Args{Event: "issue_comment", Repo: "acme/shop", InstallationID: w.inst, PR: pr}, Payload: json.RawMessage(d.Payload)}
		}
	}
	t.Fatalf("no issue_comment delivery for comment %d", id)
	return 0, event.Event{}
}

// retried runs e's job as River does when GitHub fails right after the command's store write: the
// first attempt's comment POST answers 502, the retry (a while later) succeeds, and a late
// redelivery of the finished job (a rescued job of a dead replica) changes nothing.
func (w *onceWorld) retried(t *testing.T, pr int, e event.Event) {
	t.Helper()
	w.sim.InjectFault(githubsim.Fault{Method: http.MethodPost, PathPrefix: fmt.Sprintf("/repos/acme/shop/issues/%d/comments", pr), Status: 502})
	if err := w.router.Process(context.Background(), e); err == nil {
		t.Fatal("the first attempt succeeded although GitHub failed")
	}
	for range 2 {
		w.clock.Advance(10 * time.Minute)
		if err := w.router.Process(context.Background(), e); err != nil {
			t.Fatal(err)
		}
	}
}

// replies returns the bot's replies to comment id on pr.
func (w *onceWorld) replies(pr int, id int64) []string {
	var out []string
	for _, c := range w.sim.Comments("acme/shop", pr) {
		if c.Author == w.sim.BotLogin() && strings.Contains(c.Body, fmt.Sprintf("<!-- stagecoach:reply:%d -->", id)) {
			out = append(out, c.Body)
		}
	}
	return out
}

func (w *onceWorld) openPR(t *testing.T) int {
	t.Helper()
	pr, err := w.sim.OpenPR("acme/shop", githubsim.PROptions{Author: "dev", Files: map[string]string{"app/" + t.Name(): "x"}})
	if err != nil {
		t.Fatal(err)
	}
	return pr.Number
}

func TestCommandsApplyOnce(t *testing.T) {
	t.Parallel()
	for _, eng := range storetest.Engines() {
		t.Run(eng.Name, func(t *testing.T) {
			t.Parallel()
			w := newOnceWorld(t, eng.NewOptions(t))
			ctx := context.Background()

			t.Run("extend adds its duration once and updates one status comment", func(t *testing.T) {
				pr := w.openPR(t)
				expires := w.clock.Now().Add(24 * time.Hour)
				init := &store.PREnvironment{InstallationID: w.inst, Stack: fmt.Sprintf("pr-%d", pr), Slot: 0}
				if _, err := w.st.UpdatePREnvironment(ctx, "acme/shop", pr, init, func(e *store.PREnvironment) error {
					e.Slot, e.Status, e.Want, e.ExpiresAt = 0, store.PRReady, store.WantDeploy, expires
					return nil
				}); err != nil {
					t.Fatal(err)
				}
				_, e := w.say(t, pr, "dev", "/extend 24h")
				w.retried(t, pr, e)
				env, err := w.st.PREnvironment(ctx, "acme/shop", pr)
				if err != nil {
					t.Fatal(err)
				}
				if want := expires.Add(24 * time.Hour); !env.ExpiresAt.Equal(want) {
					t.Fatalf("expires at %s, want %s (extended once)", env.ExpiresAt, want)
				}
				var status int
				for _, c := range w.sim.Comments("acme/shop", pr) {
					if strings.Contains(c.Body, ephemeral.Marker) {
						status++
					}
				}
				if status != 1 {
					t.Fatalf("%d status comments, want 1", status)
				}
			})

			t.Run("approve records one approval and answers once", func(t *testing.T) {
				pr := w.openPR(t)
				id, e := w.say(t, pr, "sam", "/approve prod "+w.main)
				w.retried(t, pr, e)
				recs, err := w.st.Approvals(ctx, "acme/shop", "prod", w.main)
				if err != nil || len(recs) != 1 {
					t.Fatalf("approvals %+v, %v; want one", recs, err)
				}
				if rs := w.replies(pr, id); len(rs) != 1 || !strings.Contains(rs[0], "approved promoting") {
					t.Fatalf("replies %q", rs)
				}
			})

			t.Run("promote records one promotion and one deployment and answers once", func(t *testing.T) {
				pr := w.openPR(t)
				id, e := w.say(t, pr, "dev", "/promote dev "+w.main)
				w.retried(t, pr, e)
				hist, err := w.st.PromotionHistory(ctx, "acme/shop", "dev", 10)
				if err != nil || len(hist) != 1 || hist[0].ID != fmt.Sprintf("comment:%d", id) {
					t.Fatalf("promotions %+v, %v; want one", hist, err)
				}
				var deps int
				for _, d := range w.sim.Deployments("acme/shop") {
					if d.Environment == "dev" {
						deps++
					}
				}
				if rs := w.replies(pr, id); deps != 1 || len(rs) != 1 || !strings.Contains(rs[0], "every gate passed") {
					t.Fatalf("%d deployments, replies %q", deps, rs)
				}
			})

			for _, verb := range []string{"wake", "sleep"} {
				t.Run(verb+" sets one override, keeps its end and answers once", func(t *testing.T) {
					pr := w.openPR(t)
					start := w.clock.Now()
					id, e := w.say(t, pr, "dev", "/"+verb+" dev for 3h")
					w.retried(t, pr, e)
					o, err := w.st.SleepOverrides(ctx, "acme/shop")
					if err != nil {
						t.Fatal(err)
					}
					// The retries ran 10 and 20 minutes later: a second write would have moved the end.
					if got := o["dev"]; !got.Until.Equal(start.Add(3*time.Hour)) || !got.SetAt.Equal(start) {
						t.Fatalf("override %+v, want set at %s until %s", got, start, start.Add(3*time.Hour))
					}
					if rs := w.replies(pr, id); len(rs) != 1 {
						t.Fatalf("replies %q", rs)
					}
				})
			}
		})
	}
}
