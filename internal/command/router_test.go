package command_test

import (
	"context"
	"encoding/json"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/stagecoach/stagecoach/internal/command"
	"github.com/stagecoach/stagecoach/internal/event"
	"github.com/stagecoach/stagecoach/internal/githubapi"
	"github.com/stagecoach/stagecoach/internal/githubapp"
	"github.com/stagecoach/stagecoach/internal/githubsim"
	"github.com/stagecoach/stagecoach/internal/store/storetest"
)

func TestParse(t *testing.T) {
	t.Parallel()
	cases := []struct {
		body string
		name string
		args []string
		ok   bool
	}{
		{"/deploy", "deploy", nil, true},
		{"  /Extend 24h  \nthanks!", "extend", []string{"24h"}, true},
		{"/stagecoach promote prod abc123", "promote", []string{"prod", "abc123"}, true},
		{"/stagecoach /wake dev for 2h", "wake", []string{"dev", "for", "2h"}, true},
		{"/stagecoach", "help", nil, true},
		{"looks good\n/deploy", "", nil, false},
		{"", "", nil, false},
		{"/", "", nil, false},
	}
	for _, c := range cases {
		name, args, ok := command.Parse(c.body)
		if name != c.name || !slices.Equal(args, c.args) || ok != c.ok {
			t.Errorf("Parse(%q) = %q %q %v, want %q %q %v", c.body, name, args, ok, c.name, c.args, c.ok)
		}
	}
}

func TestAllows(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		need, have string
		want       bool
	}{{"write", "admin", true}, {"write", "maintain", true}, {"write", "write", true}, {"write", "triage", false},
		{"write", "read", false}, {"write", "none", false}, {"write", "custom-role", false}, {"admin", "maintain", false}} {
		if got := command.Allows(c.need, c.have); got != c.want {
			t.Errorf("Allows(%s, %s) = %v", c.need, c.have, got)
		}
	}
}

type recorder struct {
	mu  sync.Mutex
	got []command.Command
}

func (r *recorder) Handle(_ context.Context, c command.Command) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.got = append(r.got, c)
	if c.Name == "extend" && len(c.Args) == 0 {
		return command.Usagef("tell me how long, e.g. `/extend 24h`.")
	}
	return nil
}

func TestRouter(t *testing.T) {
	t.Parallel()
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
	sim.SetCollaborator("acme/shop", "maintainer", "maintain")
	sim.SetCollaborator("acme/shop", "reader", "read")
	app, err := githubapp.New(githubapp.Config{AppID: sim.AppID(), PrivateKey: sim.AppPrivateKeyPEM(), APIURL: sim.URL()}, nil)
	if err != nil {
		t.Fatal(err)
	}
	st := storetest.Open(t, storetest.SQLite(t))

	// Each subtest comments on its own PR, through the simulator so the payload is GitHub's shape.
	run := func(t *testing.T, author, body string) (*recorder, []githubsim.Comment, int64) {
		t.Helper()
		pr, err := sim.OpenPR("acme/shop", githubsim.PROptions{Author: "writer", Files: map[string]string{t.Name(): "x"}})
		if err != nil {
			t.Fatal(err)
		}
		id, err := sim.Comment("acme/shop", pr.Number, author, body)
		if err != nil {
			t.Fatal(err)
		}
		d := sim.Deliveries()
		var payload json.RawMessage
		for i := len(d) - 1; i >= 0; i-- {
			if d[i].Event == "issue_comment" && strings.Contains(string(d[i].Payload), body) {
				payload = d[i].Payload
				break
			}
		}
		rec := &recorder{}
		r := command.NewRouter(githubapi.Apps{App: app}, st, slog.New(slog.DiscardHandler),
			command.Spec{Name: "extend", Usage: "/extend <duration>", Help: "keep the environment longer", Handler: rec},
			command.Spec{Name: "destroy", Usage: "/destroy", Help: "tear the environment down", Permission: "maintain", Handler: rec},
		)
		err = r.Process(context.Background(), event.Event{Args: event.Args{Event: "issue_comment", Repo: "acme/shop", InstallationID: inst, PR: pr.Number}, Payload: payload})
		if err != nil {
			t.Fatal(err)
		}
		var replies []githubsim.Comment
		for _, c := range sim.Comments("acme/shop", pr.Number) {
			if c.ID != id {
				replies = append(replies, c)
			}
		}
		return rec, replies, id
	}

	t.Run("a permitted command reaches its handler with its arguments and the author's role", func(t *testing.T) {
		t.Parallel()
		rec, replies, id := run(t, "writer", "/extend 24h")
		if len(rec.got) != 1 || rec.got[0].Args[0] != "24h" || rec.got[0].Permission != "write" || rec.got[0].Author != "writer" {
			t.Fatalf("handled %+v", rec.got)
		}
		if len(replies) != 0 {
			t.Fatalf("unexpected replies %+v", replies)
		}
		if r := sim.Reactions("acme/shop", id); !slices.Contains(r, "eyes") {
			t.Fatalf("reactions = %v, want eyes", r)
		}
	})

	t.Run("a reader is refused with the permission needed", func(t *testing.T) {
		t.Parallel()
		rec, replies, _ := run(t, "reader", "/extend 24h")
		if len(rec.got) != 0 || len(replies) != 1 || !strings.Contains(replies[0].Body, "needs write access") {
			t.Fatalf("handled %v, replies %+v", rec.got, replies)
		}
	})

	t.Run("a command needing more than write checks that", func(t *testing.T) {
		t.Parallel()
		rec, replies, _ := run(t, "writer", "/destroy")
		if len(rec.got) != 0 || len(replies) != 1 || !strings.Contains(replies[0].Body, "needs maintain access") {
			t.Fatalf("handled %v, replies %+v", rec.got, replies)
		}
		rec, replies, _ = run(t, "maintainer", "/stagecoach destroy")
		if len(rec.got) != 1 || len(replies) != 0 {
			t.Fatalf("maintainer: handled %v, replies %+v", rec.got, replies)
		}
	})

	t.Run("someone who is no collaborator is refused", func(t *testing.T) {
		t.Parallel()
		rec, replies, _ := run(t, "stranger", "/extend 1h")
		if len(rec.got) != 0 || len(replies) != 1 || !strings.Contains(replies[0].Body, "you have none") {
			t.Fatalf("handled %v, replies %+v", rec.got, replies)
		}
	})

	t.Run("an unknown command is answered with help", func(t *testing.T) {
		t.Parallel()
		_, replies, _ := run(t, "writer", "/deploy-everything now")
		if len(replies) != 1 || !strings.Contains(replies[0].Body, "not a command I know") || !strings.Contains(replies[0].Body, "/extend <duration>") {
			t.Fatalf("replies %+v", replies)
		}
	})

	t.Run("a malformed command is answered with its usage", func(t *testing.T) {
		t.Parallel()
		_, replies, _ := run(t, "writer", "/extend")
		if len(replies) != 1 || !strings.Contains(replies[0].Body, "Usage: `/extend <duration>`") {
			t.Fatalf("replies %+v", replies)
		}
	})

	t.Run("help lists every command", func(t *testing.T) {
		t.Parallel()
		_, replies, _ := run(t, "reader", "/help")
		if len(replies) != 1 || !strings.Contains(replies[0].Body, "/destroy") || !strings.Contains(replies[0].Body, "/extend") {
			t.Fatalf("replies %+v", replies)
		}
	})

	t.Run("the bot's own comments are ignored", func(t *testing.T) {
		t.Parallel()
		rec, replies, _ := run(t, sim.BotLogin(), "/extend 24h")
		if len(rec.got) != 0 || len(replies) != 0 {
			t.Fatalf("handled %v, replies %+v", rec.got, replies)
		}
	})
}
