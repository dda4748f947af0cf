package store_test

import (
	"context"
	"errors"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stagecoach/stagecoach/internal/store"
	"github.com/stagecoach/stagecoach/internal/store/storetest"
)

// clock is a settable test clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time          { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Advance(d time.Duration) { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }

func TestStore(t *testing.T) {
	t.Parallel()
	for _, e := range storetest.Engines() {
		t.Run(e.Name, func(t *testing.T) {
			t.Parallel()

			t.Run("a redelivery is recorded once", func(t *testing.T) {
				t.Parallel()
				s := storetest.Open(t, e.NewOptions(t))
				ctx := context.Background()
				d := store.Delivery{ID: "d-1", Event: "pull_request", Action: "opened", InstallationID: 7, Repo: "o/r", Payload: []byte(`{"a":1}`)}
				for i, want := range []bool{true, false} {
					tx, err := s.DB().BeginTx(ctx, nil)
					if err != nil {
						t.Fatal(err)
					}
					got, err := s.InsertDeliveryTx(ctx, tx, d)
					if err != nil {
						t.Fatal(err)
					}
					if err := tx.Commit(); err != nil {
						t.Fatal(err)
					}
					if got != want {
						t.Fatalf("insert %d: inserted = %v, want %v", i, got, want)
					}
				}
				got, err := s.Delivery(ctx, "d-1")
				if err != nil {
					t.Fatal(err)
				}
				if string(got.Payload) != `{"a":1}` || got.InstallationID != 7 || got.Repo != "o/r" || got.Action != "opened" {
					t.Fatalf("stored delivery = %+v", got)
				}
				if _, err := s.Delivery(ctx, "nope"); !errors.Is(err, store.ErrNotFound) {
					t.Fatalf("missing delivery: err = %v, want ErrNotFound", err)
				}
			})

			t.Run("a rolled back delivery is not recorded", func(t *testing.T) {
				t.Parallel()
				s := storetest.Open(t, e.NewOptions(t))
				ctx := context.Background()
				tx, err := s.DB().BeginTx(ctx, nil)
				if err != nil {
					t.Fatal(err)
				}
				if _, err := s.InsertDeliveryTx(ctx, tx, store.Delivery{ID: "d-2", Payload: []byte(`{}`)}); err != nil {
					t.Fatal(err)
				}
				tx.Rollback()
				if _, err := s.Delivery(ctx, "d-2"); !errors.Is(err, store.ErrNotFound) {
					t.Fatalf("err = %v, want ErrNotFound", err)
				}
			})

			t.Run("old deliveries are deleted", func(t *testing.T) {
				t.Parallel()
				c := &clock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
				o := e.NewOptions(t)
				o.Now = c.Now
				s := storetest.Open(t, o)
				ctx := context.Background()
				for i, id := range []string{"old", "new"} {
					tx, _ := s.DB().BeginTx(ctx, nil)
					if _, err := s.InsertDeliveryTx(ctx, tx, store.Delivery{ID: id, Payload: []byte(`{}`)}); err != nil {
						t.Fatal(err)
					}
					tx.Commit()
					if i == 0 {
						c.Advance(48 * time.Hour)
					}
				}
				n, err := s.DeleteDeliveriesBefore(ctx, c.Now().Add(-24*time.Hour))
				if err != nil || n != 1 {
					t.Fatalf("deleted %d, %v; want 1", n, err)
				}
				if _, err := s.Delivery(ctx, "new"); err != nil {
					t.Fatalf("the new delivery went too: %v", err)
				}
			})

			t.Run("a lease has one holder until it expires", func(t *testing.T) {
				t.Parallel()
				c := &clock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
				o := e.NewOptions(t)
				o.Now = c.Now
				s := storetest.Open(t, o)
				ctx := context.Background()
				try := func(holder string, want bool) {
					t.Helper()
					got, err := s.TryAcquire(ctx, "stack/a", holder, time.Minute)
					if err != nil {
						t.Fatal(err)
					}
					if got != want {
						t.Fatalf("TryAcquire(%s) = %v, want %v", holder, got, want)
					}
				}
				try("a", true)
				try("b", false)
				try("a", true) // renewal
				c.Advance(59 * time.Second)
				try("b", false)
				c.Advance(2 * time.Second)
				try("b", true) // a's lease expired: a crashed holder never blocks forever
				if err := s.Release(ctx, "stack/a", "a"); err != nil {
					t.Fatal(err)
				}
				try("a", false) // releasing a lease one does not hold changes nothing
				if err := s.Release(ctx, "stack/a", "b"); err != nil {
					t.Fatal(err)
				}
				try("a", true)
				ls, err := s.Leases(ctx)
				if err != nil || len(ls) != 1 || ls[0].Holder != "a" {
					t.Fatalf("Leases = %+v, %v", ls, err)
				}
			})

			t.Run("racing holders never share a lease", func(t *testing.T) {
				t.Parallel()
				s := storetest.Open(t, e.NewOptions(t))
				ctx := context.Background()
				var winners atomic.Int32
				var wg sync.WaitGroup
				for i := range 8 {
					wg.Add(1)
					go func() {
						defer wg.Done()
						ok, err := s.TryAcquire(ctx, "stack/race", string(rune('a'+i)), time.Minute)
						if err != nil {
							t.Error(err)
						}
						if ok {
							winners.Add(1)
						}
					}()
				}
				wg.Wait()
				if n := winners.Load(); n != 1 {
					t.Fatalf("%d holders won the lease, want 1", n)
				}
			})

			t.Run("logs round trip", func(t *testing.T) {
				t.Parallel()
				s := storetest.Open(t, e.NewOptions(t))
				ctx := context.Background()
				start := time.UnixMilli(time.Now().UnixMilli())
				in := store.OperationLog{Stack: "pr-1", Kind: "up", Text: "Updating (pr-1)\n+ 2 created", Started: start, Finished: start.Add(time.Second), Succeeded: true}
				id, err := s.SaveLog(ctx, in)
				if err != nil {
					t.Fatal(err)
				}
				got, err := s.Log(ctx, id)
				if err != nil {
					t.Fatal(err)
				}
				in.ID = id
				if got != in {
					t.Fatalf("log = %+v, want %+v", got, in)
				}
			})
		})
	}
}

func TestOpen(t *testing.T) {
	t.Parallel()
	for _, e := range storetest.Engines() {
		t.Run(e.Name, func(t *testing.T) {
			t.Parallel()

			t.Run("reopening keeps data and migrates nothing twice", func(t *testing.T) {
				t.Parallel()
				o := e.NewOptions(t)
				s := storetest.Open(t, o)
				ctx := context.Background()
				tx, _ := s.DB().BeginTx(ctx, nil)
				if _, err := s.InsertDeliveryTx(ctx, tx, store.Delivery{ID: "kept", Payload: []byte(`{}`)}); err != nil {
					t.Fatal(err)
				}
				tx.Commit()
				s.Close()
				s2 := storetest.Open(t, o)
				if _, err := s2.Delivery(ctx, "kept"); err != nil {
					t.Fatalf("after reopening: %v", err)
				}
			})

			t.Run("replicas starting together migrate safely", func(t *testing.T) {
				t.Parallel()
				o := e.NewOptions(t)
				var wg sync.WaitGroup
				errs := make(chan error, 3)
				for range 3 {
					wg.Add(1)
					go func() {
						defer wg.Done()
						s, err := store.Open(context.Background(), o)
						if err != nil {
							errs <- err
							return
						}
						s.Close()
					}()
				}
				wg.Wait()
				close(errs)
				for err := range errs {
					t.Errorf("concurrent open: %v", err)
				}
			})
		})
	}

	t.Run("a bad URL is named", func(t *testing.T) {
		t.Parallel()
		_, err := store.Open(context.Background(), store.Options{DatabaseURL: "mysql://x"})
		if err == nil {
			t.Fatal("want an error")
		}
	})
}

func TestSleep(t *testing.T) {
	t.Parallel()
	for _, e := range storetest.Engines() {
		t.Run(e.Name, func(t *testing.T) {
			t.Parallel()
			s := storetest.Open(t, e.NewOptions(t))
			ctx := context.Background()
			at := time.UnixMilli(time.Date(2026, 11, 27, 20, 0, 0, 0, time.UTC).UnixMilli())

			t.Run("an override replaces the previous one of its environment", func(t *testing.T) {
				for _, o := range []store.SleepOverride{
					{Repo: "o/r", Environment: "dev", State: "awake", Until: at.Add(time.Hour), SetBy: "alice", SetAt: at},
					{Repo: "o/r", Environment: "dev", State: "asleep", Until: at.Add(2 * time.Hour), SetBy: "bob", SetAt: at},
					{Repo: "o/r", Environment: "staging", State: "awake", Until: at.Add(time.Hour), SetBy: "alice", SetAt: at},
				} {
					if err := s.SetSleepOverride(ctx, o); err != nil {
						t.Fatal(err)
					}
				}
				got, err := s.SleepOverrides(ctx, "o/r")
				if err != nil {
					t.Fatal(err)
				}
				want := store.SleepOverride{Repo: "o/r", Environment: "dev", State: "asleep", Until: at.Add(2 * time.Hour), SetBy: "bob", SetAt: at}
				if len(got) != 2 || got["dev"] != want {
					t.Fatalf("overrides = %+v", got)
				}
			})

			t.Run("the applied state and the value before sleep are kept", func(t *testing.T) {
				if _, err := s.SleepState(ctx, "o/r", "dev", "dev"); !errors.Is(err, store.ErrNotFound) {
					t.Fatalf("err = %v, want ErrNotFound", err)
				}
				in := store.SleepState{Repo: "o/r", Environment: "dev", Stack: "dev", State: "asleep", PreviousValue: "false", HadValue: true, ChangedAt: at}
				if err := s.SetSleepState(ctx, in); err != nil {
					t.Fatal(err)
				}
				got, err := s.SleepState(ctx, "o/r", "dev", "dev")
				if err != nil || got != in {
					t.Fatalf("got %+v, %v", got, err)
				}
			})
		})
	}
}

func TestMigrationVersionsAreUnique(t *testing.T) {
	t.Parallel()
	seen := map[int]string{}
	for _, m := range store.MigrationsForTest() {
		if prev, ok := seen[m.Version]; ok {
			t.Errorf("version %d is used by %q and %q", m.Version, prev, m.Name)
		}
		seen[m.Version] = m.Name
	}
}

func TestStackConfig(t *testing.T) {
	t.Parallel()
	for _, e := range storetest.Engines() {
		t.Run(e.Name, func(t *testing.T) {
			t.Parallel()
			s := storetest.Open(t, e.NewOptions(t))
			ctx := context.Background()
			if err := s.SetStackConfig(ctx, "o/r", "pr-7", map[string]string{"stagecoach:pr": "7", "stagecoach:slot": "3"}); err != nil {
				t.Fatal(err)
			}
			if err := s.SetStackConfig(ctx, "o/r", "pr-7", map[string]string{"stagecoach:sleeping": "true", "stagecoach:slot": ""}); err != nil {
				t.Fatal(err)
			}
			got, err := s.StackConfig(ctx, "o/r", "pr-7")
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != 2 || got["stagecoach:pr"] != "7" || got["stagecoach:sleeping"] != "true" {
				t.Fatalf("config = %v", got)
			}
			if err := s.DeleteStackConfig(ctx, "o/r", "pr-7"); err != nil {
				t.Fatal(err)
			}
			if got, _ := s.StackConfig(ctx, "o/r", "pr-7"); len(got) != 0 {
				t.Fatalf("after delete: %v", got)
			}
			for _, inst := range []int64{1, 2} {
				if err := s.TouchRepository(ctx, "o/r", inst); err != nil {
					t.Fatal(err)
				}
			}
			repos, err := s.Repositories(ctx)
			if err != nil || len(repos) != 1 || repos[0].InstallationID != 2 {
				t.Fatalf("repositories = %+v, %v", repos, err)
			}
		})
	}
}

func TestTheSQLiteDatabaseIsPrivate(t *testing.T) {
	t.Parallel()
	o := storetest.SQLite(t)
	storetest.Open(t, o)
	for _, f := range []string{o.SQLitePath, o.SQLitePath + "-wal"} {
		info, err := os.Stat(f)
		if err != nil {
			t.Fatal(err)
		}
		if info.Mode().Perm() != 0o600 {
			t.Fatalf("%s has mode %v, want 0600", f, info.Mode().Perm())
		}
	}
}
