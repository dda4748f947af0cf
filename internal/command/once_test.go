package command_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"unicode/utf8"

	"github.com/stagecoach/stagecoach/internal/command"
	"github.com/stagecoach/stagecoach/internal/event"
	"github.com/stagecoach/stagecoach/internal/githubapi"
	"github.com/stagecoach/stagecoach/internal/githubapp"
	"github.com/stagecoach/stagecoach/internal/githubsim"
	"github.com/stagecoach/stagecoach/internal/render"
	"github.com/stagecoach/stagecoach/internal/store"
	"github.com/stagecoach/stagecoach/internal/store/storetest"
)

// onceWorld is a simulated repository, an App client and a store for driving the Router directly.
type onceWorld struct {
	sim  *githubsim.Sim
	app  *githubapp.App
	st   *store.Store
	inst int64
}

func newOnceWorld(t *testing.T, o store.Options) *onceWorld {
	t.Helper()
	sim, err := githubsim.New(githubsim.Options{AppSlug: "stagecoach"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(sim.Close)
	inst := sim.AddInstallation("acme")
	if _, err := sim.CreateRepo("acme", "shop", map[string]string{"README.md": "x"}); err != nil {
		t.Fatal(err)
	}
	sim.SetCollaborator("acme/shop", "writer", "write")
	app, err := githubapp.New(githubapp.Config{AppID: sim.AppID(), PrivateKey: sim.AppPrivateKeyPEM(), APIURL: sim.URL()}, nil)
	if err != nil {
		t.Fatal(err)
	}
	return &onceWorld{sim: sim, app: app, st: storetest.Open(t, o), inst: inst}
}

// comment opens a PR, comments body on it as author and returns the PR, the comment id and the
// issue_comment event the Router gets.
func (w *onceWorld) comment(t *testing.T, author, body string) (int, int64, event.Event) {
	t.Helper()
	pr, err := w.sim.OpenPR("acme/shop", githubsim.PROptions{Author: "writer", Files: map[string]string{t.Name(): "x"}})
	if err != nil {
		t.Fatal(err)
	}
	id, err := w.sim.Comment("acme/shop", pr.Number, author, body)
	if err != nil {
		t.Fatal(err)
	}
	var payload json.RawMessage
	for _, d := range w.sim.Deliveries() {
		if d.Event == "issue_comment" && strings.Contains(string(d.Payload), fmt.Sprintf(`"id":%d,`, id)) {
			payload = d.Payload
		}
	}
	if payload == nil {
		t.Fatalf("no issue_comment delivery for comment %d", id)
	}
	return pr.Number, id, event.Event{Args: event.Args{Event: "issue_comment", Repo: "acme/shop", InstallationID: w.inst, PR: pr.Number}, Payload: payload}
}

// replies returns the comments on pr other than the command.
func (w *onceWorld) replies(pr int, command int64) []githubsim.Comment {
	var out []githubsim.Comment
	for _, c := range w.sim.Comments("acme/shop", pr) {
		if c.ID != command {
			out = append(out, c)
		}
	}
	return out
}

func TestOnce(t *testing.T) {
	t.Parallel()
	for _, eng := range storetest.Engines() {
		t.Run(eng.Name, func(t *testing.T) {
			t.Parallel()
			w := newOnceWorld(t, eng.NewOptions(t))

			t.Run("a reply that fails after the store write is retried alone, and both happen once", func(t *testing.T) {
				t.Parallel()
				var applied atomic.Int32
				r := command.NewRouter(githubapi.Apps{App: w.app}, w.st, slog.New(slog.DiscardHandler), command.Spec{Name: "extend", Usage: "/extend <d>",
					Handler: command.HandlerFunc(func(ctx context.Context, c command.Command) error {
						got, err := c.Once(ctx, "apply", func(context.Context) (string, error) {
							return fmt.Sprintf("applied #%d", applied.Add(1)), nil
						})
						if err != nil {
							return err
						}
						return c.Reply(ctx, "done: "+got)
					})})
				pr, id, e := w.comment(t, "writer", "/extend 1h")
				w.sim.InjectFault(githubsim.Fault{Method: http.MethodPost, PathPrefix: fmt.Sprintf("/repos/acme/shop/issues/%d/comments", pr), Status: 502})
				if err := r.Process(context.Background(), e); err == nil {
					t.Fatal("the first attempt succeeded although its reply failed")
				}
				for range 2 { // the retry, then a late redelivery of the finished command
					if err := r.Process(context.Background(), e); err != nil {
						t.Fatal(err)
					}
				}
				rs := w.replies(pr, id)
				if applied.Load() != 1 || len(rs) != 1 || !strings.Contains(rs[0].Body, "done: applied #1") {
					t.Fatalf("applied %d times, replies %+v", applied.Load(), rs)
				}
				if !strings.HasSuffix(rs[0].Body, fmt.Sprintf("<!-- stagecoach:reply:%d -->", id)) {
					t.Fatalf("the reply has no marker: %q", rs[0].Body)
				}
			})

			t.Run("a reply posted before a failure is found by its marker and not posted again", func(t *testing.T) {
				t.Parallel()
				r := command.NewRouter(githubapi.Apps{App: w.app}, w.st, slog.New(slog.DiscardHandler))
				pr, id, e := w.comment(t, "writer", "/help")
				// The first attempt posted its reply, then died before recording it.
				if err := w.st.StartCommandStep(context.Background(), "acme/shop", id, "reply"); err != nil {
					t.Fatal(err)
				}
				if _, err := w.sim.Comment("acme/shop", pr, w.sim.BotLogin(), fmt.Sprintf("the help\n\n<!-- stagecoach:reply:%d -->", id)); err != nil {
					t.Fatal(err)
				}
				if err := r.Process(context.Background(), e); err != nil {
					t.Fatal(err)
				}
				if rs := w.replies(pr, id); len(rs) != 1 {
					t.Fatalf("replies %+v, want only the first", rs)
				}
			})

			t.Run("a reply started but never posted is posted by the retry", func(t *testing.T) {
				t.Parallel()
				r := command.NewRouter(githubapi.Apps{App: w.app}, w.st, slog.New(slog.DiscardHandler))
				pr, id, e := w.comment(t, "writer", "/help")
				if err := w.st.StartCommandStep(context.Background(), "acme/shop", id, "reply"); err != nil {
					t.Fatal(err)
				}
				// A user quoting the marker does not count as the bot's reply.
				if _, err := w.sim.Comment("acme/shop", pr, "writer", fmt.Sprintf("<!-- stagecoach:reply:%d -->", id)); err != nil {
					t.Fatal(err)
				}
				if err := r.Process(context.Background(), e); err != nil {
					t.Fatal(err)
				}
				var bot int
				for _, c := range w.replies(pr, id) {
					if c.Author == w.sim.BotLogin() {
						bot++
					}
				}
				if bot != 1 {
					t.Fatalf("%d bot replies, want 1", bot)
				}
			})

			t.Run("a failing step is run again and recorded only once it succeeds", func(t *testing.T) {
				t.Parallel()
				var runs atomic.Int32
				r := command.NewRouter(githubapi.Apps{App: w.app}, w.st, slog.New(slog.DiscardHandler), command.Spec{Name: "flaky", Usage: "/flaky",
					Handler: command.HandlerFunc(func(ctx context.Context, c command.Command) error {
						_, err := c.Once(ctx, "apply", func(context.Context) (string, error) {
							if runs.Add(1) == 1 {
								return "", errors.New("store down")
							}
							return "", nil
						})
						return err
					})})
				_, _, e := w.comment(t, "writer", "/flaky")
				if err := r.Process(context.Background(), e); err == nil {
					t.Fatal("want the step's error")
				}
				for range 2 {
					if err := r.Process(context.Background(), e); err != nil {
						t.Fatal(err)
					}
				}
				if runs.Load() != 2 {
					t.Fatalf("the step ran %d times, want 2 (one failure, one success)", runs.Load())
				}
			})
		})
	}
}

func TestReplyCannotBeSteered(t *testing.T) {
	t.Parallel()
	w := newOnceWorld(t, storetest.SQLite(t))
	r := command.NewRouter(githubapi.Apps{App: w.app}, w.st, slog.New(slog.DiscardHandler),
		command.Spec{Name: "extend", Usage: "/extend <d>", Help: "h", Handler: command.HandlerFunc(func(ctx context.Context, c command.Command) error {
			return command.Usagef("%s is not a duration", command.Code(c.Args[0]))
		})},
		command.Spec{Name: "long", Usage: "/long", Help: "h", Handler: command.HandlerFunc(func(ctx context.Context, c command.Command) error {
			return c.Reply(ctx, strings.Repeat("a line of a very long answer\n", 3000))
		})},
	)
	one := func(t *testing.T, pr int, id int64) string {
		t.Helper()
		rs := w.replies(pr, id)
		if len(rs) != 1 {
			t.Fatalf("%d replies, want 1: %+v", len(rs), rs)
		}
		if n := utf8.RuneCountInString(rs[0].Body); n > render.CommentLimit {
			t.Fatalf("reply of %d characters", n)
		}
		return rs[0].Body
	}

	t.Run("an unknown command cannot mention anyone or break its code span", func(t *testing.T) {
		t.Parallel()
		pr, id, e := w.comment(t, "writer", "/x`@someone")
		if err := r.Process(context.Background(), e); err != nil {
			t.Fatal(err)
		}
		body := one(t, pr, id)
		if strings.Contains(body, "@someone") || !strings.Contains(body, "``/x`@\u200dsomeone``") {
			t.Fatalf("reply %q mentions @someone or lost its code span", body)
		}
	})

	t.Run("an argument cannot mention anyone, hide text or forge a marker", func(t *testing.T) {
		t.Parallel()
		pr, id, e := w.comment(t, "writer", "/extend ```@octocat<!--stagecoach:reply:1-->")
		if err := r.Process(context.Background(), e); err != nil {
			t.Fatal(err)
		}
		body := one(t, pr, id)
		if strings.Contains(body, "@octocat") || strings.Contains(body, "<!--stagecoach") || strings.Count(body, "<!--") != 1 {
			t.Fatalf("reply %q", body)
		}
	})

	t.Run("a 70,000-character unknown command gets one reply within GitHub's limit", func(t *testing.T) {
		t.Parallel()
		pr, id, e := w.comment(t, "writer", "/placeholder")
		// GitHub refuses such a comment today; the payload is made by hand to be sure the bot
		// would cope anyway.
		var p map[string]any
		if err := json.Unmarshal(e.Payload, &p); err != nil {
			t.Fatal(err)
		}
		p["comment"].(map[string]any)["body"] = "/" + strings.Repeat("y", 70000)
		var err error
		if e.Payload, err = json.Marshal(p); err != nil {
			t.Fatal(err)
		}
		if err := r.Process(context.Background(), e); err != nil {
			t.Fatal(err)
		}
		if body := one(t, pr, id); !strings.Contains(body, "is not a command I know") {
			t.Fatalf("reply %q", body)
		}
	})

	t.Run("a reply too long for GitHub is shortened with a note and keeps its marker", func(t *testing.T) {
		t.Parallel()
		pr, id, e := w.comment(t, "writer", "/long")
		if err := r.Process(context.Background(), e); err != nil {
			t.Fatal(err)
		}
		body := one(t, pr, id)
		if !strings.Contains(body, "shortened to fit") || !strings.HasSuffix(body, fmt.Sprintf("<!-- stagecoach:reply:%d -->", id)) {
			t.Fatalf("reply ends %q", body[len(body)-300:])
		}
	})
}

func TestCode(t *testing.T) {
	t.Parallel()
	for _, c := range []struct{ in, want string }{
		{"24h", "`24h`"},
		{"a`b", "``a`b``"},
		{"`x", "`` `x ``"},
		{"@alice", "`@\u200dalice`"},
		{"a\nb\rc", "`a b c`"},
		{"x<!--y", "`x<\u200d!--y`"},
		{"  ", "*nothing*"},
		{strings.Repeat("z", 200), "`" + strings.Repeat("z", 99) + "…`"},
	} {
		if got := command.Code(c.in); got != c.want {
			t.Errorf("Code(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

func TestEditedCommentsAreIgnored(t *testing.T) {
	t.Parallel()
	w := newOnceWorld(t, storetest.SQLite(t))
	var ran atomic.Int32
	r := command.NewRouter(githubapi.Apps{App: w.app}, w.st, slog.New(slog.DiscardHandler), command.Spec{Name: "extend", Usage: "/extend <d>",
		Handler: command.HandlerFunc(func(context.Context, command.Command) error { ran.Add(1); return nil })})
	pr, id, e := w.comment(t, "writer", "/extend 1h")
	var p map[string]any
	if err := json.Unmarshal(e.Payload, &p); err != nil {
		t.Fatal(err)
	}
	p["action"] = "edited"
	var err error
	if e.Payload, err = json.Marshal(p); err != nil {
		t.Fatal(err)
	}
	if err := r.Process(context.Background(), e); err != nil {
		t.Fatal(err)
	}
	if ran.Load() != 0 || len(w.replies(pr, id)) != 0 || len(w.sim.Reactions("acme/shop", id)) != 0 {
		t.Fatalf("an edited comment ran %d times or was answered", ran.Load())
	}
}
