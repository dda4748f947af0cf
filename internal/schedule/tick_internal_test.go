package schedule

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"github.com/stagecoach/stagecoach/internal/lease"
	"github.com/stagecoach/stagecoach/internal/repoconfig"
	"github.com/stagecoach/stagecoach/internal/store"
)

// memStore is an in-memory Store.
type memStore struct {
	mu        sync.Mutex
	overrides map[string]store.SleepOverride
	states    map[string]store.SleepState
	lease.Memory
}

func (m *memStore) Repositories(context.Context) ([]store.Repository, error) {
	return []store.Repository{{Repo: "acme/shop", InstallationID: 1}}, nil
}
func (m *memStore) SleepOverrides(context.Context, string) (map[string]store.SleepOverride, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := map[string]store.SleepOverride{}
	for k, v := range m.overrides {
		out[k] = v
	}
	return out, nil
}
func (m *memStore) SetSleepOverride(_ context.Context, o store.SleepOverride) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.overrides[o.Environment] = o
	return nil
}
func (m *memStore) SleepState(_ context.Context, _, env, _ string) (store.SleepState, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	st, ok := m.states[env]
	if !ok {
		return st, store.ErrNotFound
	}
	return st, nil
}
func (m *memStore) SetSleepState(_ context.Context, st store.SleepState) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.states[st.Environment] = st
	return nil
}
func (m *memStore) StackConfig(context.Context, string, string) (map[string]string, error) {
	return map[string]string{}, nil
}
func (m *memStore) SetStackConfig(context.Context, string, string, map[string]string) error {
	return nil
}

type fakeConfigs struct{ cfg *repoconfig.Config }

func (f fakeConfigs) Load(context.Context, int64, string) (repoconfig.Loaded, error) {
	return repoconfig.Loaded{Config: f.cfg, Branch: "main", SHA: "abc"}, nil
}

type fakeJobs struct {
	mu   sync.Mutex
	args []river.JobArgs
}

func (f *fakeJobs) Insert(_ context.Context, a river.JobArgs, _ *river.InsertOpts) (*rivertype.JobInsertResult, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.args = append(f.args, a)
	return &rivertype.JobInsertResult{}, nil
}

// reconcileOnce runs one reconciliation of acme/shop with o and returns the state of the
// transition it enqueued ("" for none).
func reconcileOnce(t *testing.T, o Options) State {
	t.Helper()
	jobs := &fakeJobs{}
	o.Jobs = jobs
	if err := New(o).reconcile(context.Background(), store.Repository{Repo: "acme/shop", InstallationID: 1}); err != nil {
		t.Fatal(err)
	}
	var got State
	for _, a := range jobs.args {
		if tr, ok := a.(TransitionArgs); ok {
			got = tr.State
		}
	}
	return got
}

func TestWakeOnDeploy(t *testing.T) {
	t.Parallel()
	loc, _ := time.LoadLocation("Europe/Berlin")
	sleptAt := time.Date(2026, 11, 25, 20, 0, 0, 0, loc)
	deployedAt := time.Date(2026, 11, 25, 21, 0, 0, 0, loc)
	now := time.Date(2026, 11, 25, 21, 5, 0, 0, loc)
	for _, c := range []struct {
		name         string
		wakeOnDeploy bool
		want         State // the transition enqueued, "" for none
	}{
		{"a deploy wakes a sleeping environment when configured", true, Awake},
		{"by default a deploy keeps it asleep", false, ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			spec := "version: 1\nenvironments:\n  - name: dev\nschedules:\n  dev:\n    sleep: \"CRON_TZ=Europe/Berlin 0 20 * * MON-FRI\"\n    wake: \"CRON_TZ=Europe/Berlin 0 7 * * MON-FRI\"\n"
			if c.wakeOnDeploy {
				spec += "    wake_on_deploy: true\n"
			}
			cfg, err := repoconfig.Parse(".stagecoach.yaml", []byte(spec))
			if err != nil {
				t.Fatal(err)
			}
			st := &memStore{overrides: map[string]store.SleepOverride{},
				states: map[string]store.SleepState{"dev": {Environment: "dev", Stack: "dev", State: "asleep", ChangedAt: sleptAt}}}
			got := reconcileOnce(t, Options{Store: st, Config: fakeConfigs{cfg}, Now: func() time.Time { return now },
				LastDeploy: func(context.Context, string, string, string) (time.Time, error) { return deployedAt, nil }})
			if got != c.want {
				t.Fatalf("transition = %q, want %q", got, c.want)
			}
			if c.wakeOnDeploy {
				o := st.overrides["dev"]
				if want := time.Date(2026, 11, 26, 20, 0, 0, 0, loc); !o.Until.Equal(want) || o.State != "awake" {
					t.Fatalf("override = %+v, want awake until the next scheduled sleep %v", o, want)
				}
			}
		})
	}
}

// TestProductionIsNeverPutToSleep: validation refuses a schedule on a production environment,
// and the scheduler holds to the rule even for a config that reaches it without validation.
func TestProductionIsNeverPutToSleep(t *testing.T) {
	t.Parallel()
	loc, _ := time.LoadLocation("Europe/Berlin")
	night := time.Date(2026, 11, 25, 23, 0, 0, 0, loc)
	spec := "version: 1\nenvironments:\n  - name: dev\n  - name: prod\n    production: false\nschedules:\n  prod:\n    sleep: \"CRON_TZ=Europe/Berlin 0 20 * * MON-FRI\"\n    wake: \"CRON_TZ=Europe/Berlin 0 7 * * MON-FRI\"\n"
	for _, c := range []struct {
		name    string
		applied string // the state recorded for prod, "" for none
		sleep   bool   // a /sleep override is in force
		want    State  // the transition enqueued, "" for none
	}{
		{"at night production stays awake", "", false, ""},
		{"a /sleep override does not put production to sleep", "", true, ""},
		{"a production stack found asleep is woken", "asleep", false, Awake},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			cfg, err := repoconfig.Parse(".stagecoach.yaml", []byte(spec))
			if err != nil {
				t.Fatal(err)
			}
			prod, _ := cfg.Environment("prod")
			prod.Production = true // as if validation had been bypassed
			st := &memStore{overrides: map[string]store.SleepOverride{}, states: map[string]store.SleepState{}}
			if c.applied != "" {
				st.states["prod"] = store.SleepState{Environment: "prod", Stack: "prod", State: c.applied, ChangedAt: night.Add(-3 * time.Hour)}
			}
			if c.sleep {
				st.overrides["prod"] = store.SleepOverride{Environment: "prod", State: string(Asleep), Until: night.Add(time.Hour), SetBy: "mallory", SetAt: night}
			}
			got := reconcileOnce(t, Options{Store: st, Config: fakeConfigs{cfg}, Now: func() time.Time { return night }})
			if got != c.want {
				t.Fatalf("transition = %q, want %q", got, c.want)
			}
		})
	}
}

func TestOverrideTargetRefusesProduction(t *testing.T) {
	t.Parallel()
	cfg, err := repoconfig.Parse(".stagecoach.yaml", []byte("environments:\n  - name: dev\n  - name: prod\nschedules:\n  dev:\n    sleep: \"CRON_TZ=UTC 0 20 * * *\"\n    wake: \"CRON_TZ=UTC 0 7 * * *\"\n"))
	if err != nil {
		t.Fatal(err)
	}
	s := New(Options{})
	_, _, err = s.overrideTarget(cfg, "prod", 0)
	if err == nil || !strings.Contains(err.Error(), "production never sleeps") {
		t.Fatalf("/sleep prod: %v, want a refusal that says production never sleeps", err)
	}
	if key, _, err := s.overrideTarget(cfg, "dev", 0); err != nil || key != "dev" {
		t.Fatalf("/sleep dev: %q, %v", key, err)
	}
}
