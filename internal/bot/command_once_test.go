package bot_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stagecoach/stagecoach/internal/bot/bottest"
	"github.com/stagecoach/stagecoach/internal/ephemeral"
	"github.com/stagecoach/stagecoach/internal/event"
	"github.com/stagecoach/stagecoach/internal/githubsim"
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

// retried runs e's job as River does when GitHub fails right after the command's store write: the
// first attempt's comment POST answers 502, the retry (a while later) succeeds, and a late
// redelivery of the finished job (a rescued job of a dead replica) changes nothing.
func retried(t *testing.T, w *bottest.World, pr int, e event.Event) {
	t.Helper()
	w.Sim.InjectFault(githubsim.Fault{Method: http.MethodPost, PathPrefix: fmt.Sprintf("/repos/acme/shop/issues/%d/comments", pr), Status: 502})
	if err := w.Router.Process(context.Background(), e); err == nil {
		t.Fatal("the first attempt succeeded although GitHub failed")
	}
	for range 2 {
		w.Clock.Advance(10 * time.Minute)
		if err := w.Router.Process(context.Background(), e); err != nil {
			t.Fatal(err)
		}
	}
}

func TestCommandsApplyOnce(t *testing.T) {
	t.Parallel()
	for _, eng := range storetest.Engines() {
		t.Run(eng.Name, func(t *testing.T) {
			t.Parallel()
			// The three features' commands behind one Router, with a real store and the GitHub simulator;
			// Process is called the way the event job calls it, once per attempt. The clock stands on a
			// Wednesday, in awake hours in Berlin.
			w := bottest.New(t, bottest.Database(eng.NewOptions(t)), bottest.Features(),
				bottest.WithClock(bottest.ClockAt(time.Date(2026, 3, 4, 10, 0, 0, 0, time.UTC))),
				bottest.Files(map[string]string{".stagecoach.yaml": onceConfig, "infra/Pulumi.yaml": "name: shop\nruntime: yaml\n"}))
			ctx := context.Background()

			w.Run(t, "extend adds its duration once and updates one status comment", func(t *testing.T) {
				pr := w.OpenPR(githubsim.PROptions{}).Number
				expires := w.Clock.Now().Add(24 * time.Hour)
				init := &store.PREnvironment{InstallationID: w.Inst, Stack: fmt.Sprintf("pr-%d", pr), Slot: 0}
				if _, err := w.Store.UpdatePREnvironment(ctx, "acme/shop", pr, init, func(e *store.PREnvironment) error {
					e.Slot, e.Status, e.Want, e.ExpiresAt = 0, store.PRReady, store.WantDeploy, expires
					return nil
				}); err != nil {
					t.Fatal(err)
				}
				_, e := w.CommentEvent(pr, "dev", "/extend 24h")
				retried(t, w, pr, e)
				env, err := w.Store.PREnvironment(ctx, "acme/shop", pr)
				if err != nil {
					t.Fatal(err)
				}
				if want := expires.Add(24 * time.Hour); !env.ExpiresAt.Equal(want) {
					t.Fatalf("expires at %s, want %s (extended once)", env.ExpiresAt, want)
				}
				var status int
				for _, c := range w.Sim.Comments("acme/shop", pr) {
					if strings.Contains(c.Body, ephemeral.Marker) {
						status++
					}
				}
				if status != 1 {
					t.Fatalf("%d status comments, want 1", status)
				}
			})

			w.Run(t, "approve records one approval and answers once", func(t *testing.T) {
				pr := w.OpenPR(githubsim.PROptions{}).Number
				id, e := w.CommentEvent(pr, "sam", "/approve prod "+w.Main)
				retried(t, w, pr, e)
				recs, err := w.Store.Approvals(ctx, "acme/shop", "prod", w.Main)
				if err != nil || len(recs) != 1 {
					t.Fatalf("approvals %+v, %v; want one", recs, err)
				}
				if rs := w.RepliesTo(pr, id); len(rs) != 1 || !strings.Contains(rs[0], "approved promoting") {
					t.Fatalf("replies %q", rs)
				}
			})

			w.Run(t, "promote records one promotion and one deployment and answers once", func(t *testing.T) {
				pr := w.OpenPR(githubsim.PROptions{}).Number
				id, e := w.CommentEvent(pr, "dev", "/promote dev "+w.Main)
				retried(t, w, pr, e)
				hist, err := w.Store.PromotionHistory(ctx, "acme/shop", "dev", 10)
				if err != nil || len(hist) != 1 || hist[0].ID != fmt.Sprintf("comment:%d", id) {
					t.Fatalf("promotions %+v, %v; want one", hist, err)
				}
				var deps int
				for _, d := range w.Sim.Deployments("acme/shop") {
					if d.Environment == "dev" {
						deps++
					}
				}
				if rs := w.RepliesTo(pr, id); deps != 1 || len(rs) != 1 || !strings.Contains(rs[0], "every gate passed") {
					t.Fatalf("%d deployments, replies %q", deps, rs)
				}
			})

			for _, verb := range []string{"wake", "sleep"} {
				w.Run(t, verb+" sets one override, keeps its end and answers once", func(t *testing.T) {
					pr := w.OpenPR(githubsim.PROptions{}).Number
					start := w.Clock.Now()
					id, e := w.CommentEvent(pr, "dev", "/"+verb+" dev for 3h")
					retried(t, w, pr, e)
					o, err := w.Store.SleepOverrides(ctx, "acme/shop")
					if err != nil {
						t.Fatal(err)
					}
					// The retries ran 10 and 20 minutes later: a second write would have moved the end.
					if got := o["dev"]; !got.Until.Equal(start.Add(3*time.Hour)) || !got.SetAt.Equal(start) {
						t.Fatalf("override %+v, want set at %s until %s", got, start, start.Add(3*time.Hour))
					}
					if rs := w.RepliesTo(pr, id); len(rs) != 1 {
						t.Fatalf("replies %q", rs)
					}
				})
			}
		})
	}
}
