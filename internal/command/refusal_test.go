package command_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stagecoach/stagecoach/internal/command"
	"github.com/stagecoach/stagecoach/internal/event"
	"github.com/stagecoach/stagecoach/internal/githubapi"
	"github.com/stagecoach/stagecoach/internal/githubapi/githubapitest"
	"github.com/stagecoach/stagecoach/internal/store"
)

// memSteps keeps command steps in memory.
type memSteps struct {
	mu    sync.Mutex
	steps map[string]store.CommandStep
}

func key(repo string, comment int64, step string) string {
	return fmt.Sprintf("%s/%d/%s", repo, comment, step)
}

func (m *memSteps) CommandStep(_ context.Context, repo string, comment int64, step string) (store.CommandStep, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	st, ok := m.steps[key(repo, comment, step)]
	if !ok {
		return st, store.ErrNotFound
	}
	return st, nil
}

func (m *memSteps) StartCommandStep(_ context.Context, repo string, comment int64, step string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.steps[key(repo, comment, step)].State != store.StepDone {
		m.steps[key(repo, comment, step)] = store.CommandStep{State: store.StepStarted, UpdatedAt: time.Now()}
	}
	return nil
}

func (m *memSteps) FinishCommandStep(_ context.Context, repo string, comment int64, step, result string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.steps[key(repo, comment, step)].State != store.StepDone {
		m.steps[key(repo, comment, step)] = store.CommandStep{State: store.StepDone, Result: result, UpdatedAt: time.Now()}
	}
	return nil
}

// commentEvent is an issue_comment "created" delivery of body by author on PR 7.
func commentEvent(t *testing.T, id int64, author, body string) event.Event {
	t.Helper()
	payload, err := json.Marshal(map[string]any{
		"action":  "created",
		"issue":   map[string]any{"number": 7, "pull_request": map[string]any{"url": "x"}},
		"comment": map[string]any{"id": id, "body": body, "created_at": time.Now()},
		"sender":  map[string]any{"login": author, "type": "User"},
	})
	if err != nil {
		t.Fatal(err)
	}
	return event.Event{Args: event.Args{Event: "issue_comment", Repo: "acme/shop", InstallationID: 1, PR: 7}, Payload: payload}
}

// The router sees the command (👀), asks GitHub for the commenter's permission and, below what
// the command needs, answers once with what is needed and what the commenter has, without running
// it; with enough permission it runs the command and says nothing. In memory, GitHub being the fake.
func TestTheRouterRefusesACommandBelowItsPermission(t *testing.T) {
	t.Parallel()
	gh := githubapitest.New("stagecoach[bot]")
	gh.SetPermission("acme/shop", "wr", githubapi.PermissionLevel{Permission: "write", RoleName: "write"})
	gh.SetPermission("acme/shop", "ma", githubapi.PermissionLevel{Permission: "write", RoleName: "maintain"})
	var mu sync.Mutex
	var ran []string
	destroy := command.HandlerFunc(func(_ context.Context, c command.Command) error {
		mu.Lock()
		defer mu.Unlock()
		ran = append(ran, c.Author)
		return nil
	})
	r := command.NewRouter(gh, &memSteps{steps: map[string]store.CommandStep{}}, slog.New(slog.DiscardHandler),
		command.Spec{Name: "destroy", Usage: "/destroy", Help: "tear it down", Permission: "maintain", Handler: destroy})

	for _, c := range []struct {
		id     int64
		author string
	}{{101, "wr"}, {102, "stranger"}, {103, "ma"}} {
		if err := r.Process(context.Background(), commentEvent(t, c.id, c.author, "/destroy")); err != nil {
			t.Fatalf("%s: %v", c.author, err)
		}
		if got := gh.Reactions(c.id); len(got) != 1 || got[0] != "eyes" {
			t.Errorf("%s's comment has reactions %v, want [eyes]", c.author, got)
		}
	}

	if len(ran) != 1 || ran[0] != "ma" {
		t.Errorf("the command ran for %v, want only the maintainer", ran)
	}
	comments := gh.Comments("acme/shop", 7)
	if len(comments) != 2 {
		t.Fatalf("PR has %d replies, want one refusal each for wr and stranger: %+v", len(comments), comments)
	}
	for i, want := range []string{"@wr, `/destroy` needs maintain access to this repository; you have write.",
		"@stranger, `/destroy` needs maintain access to this repository; you have none."} {
		if !strings.Contains(comments[i].GetBody(), want) {
			t.Errorf("reply %d = %q, want it to say %q", i, comments[i].GetBody(), want)
		}
	}
}
