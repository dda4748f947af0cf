package crashtest

import (
	"context"
	"fmt"
	"net"
	"net/url"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/stagecoach/stagecoach/internal/githubsim"
	"github.com/stagecoach/stagecoach/internal/testenv"
)

// freshDatabase creates a database of its own on STAGECOACH_TEST_DATABASE_URL's server, dropped at
// cleanup (after the replicas, whose cleanups are registered later), and returns its URL.
func freshDatabase(t *testing.T) string {
	t.Helper()
	base := os.Getenv("STAGECOACH_TEST_DATABASE_URL")
	if base == "" {
		testenv.SkipOrFail(t, "Postgres tests are off: set STAGECOACH_TEST_DATABASE_URL (e.g. postgres://postgres@127.0.0.1:5432/test?sslmode=disable)")
	}
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, base)
	if err != nil {
		t.Fatalf("connecting to STAGECOACH_TEST_DATABASE_URL: %v", err)
	}
	defer conn.Close(ctx)
	name := fmt.Sprintf("crashtest_%d", time.Now().UnixNano())
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize()); err != nil {
		t.Fatalf("creating database %s: %v", name, err)
	}
	t.Cleanup(func() {
		conn, err := pgx.Connect(ctx, base)
		if err != nil {
			return
		}
		defer conn.Close(ctx)
		_, _ = conn.Exec(ctx, "DROP DATABASE IF EXISTS "+pgx.Identifier{name}.Sanitize()+" WITH (FORCE)")
	})
	u, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	u.Path = "/" + name
	return u.String()
}

// TestCrashPostgresReplicas runs two replicas on one Postgres. In each phase it opens, pushes to,
// commands and closes PRs, sends one command and one push to both replicas at once, then kills the
// replica running Pulumi (or a random one); the survivor alone must bring every PR to its wanted
// state within 60 s. The killed replica comes back only when the phase is over.
func TestCrashPostgresReplicas(t *testing.T) {
	s := seed(t)
	t.Logf("seed %d (replay with STAGECOACH_CRASH_SEED=%d)", s, s)
	dbURL := freshDatabase(t)
	w := newWorld(t, s)
	a, b := w.addReplica("a", dbURL), w.addReplica("b", dbURL)
	w.up(a)
	w.up(b)
	fig := &figures{name: "postgres-2-replicas"}
	heads := map[int][]string{}
	var prs []*pull
	for phase := range 2 {
		var acted []*pull
		var teePush *pull
		if phase == 0 {
			for range 4 {
				p := w.open()
				prs = append(prs, p)
				acted = append(acted, p)
			}
			// The same deliveries reach both replicas at once.
			w.lb.setTee(true)
			w.command(prs[0])
			w.push(prs[1])
			teePush = prs[1]
			w.lb.setTee(false)
		} else {
			w.push(prs[0])
			w.command(prs[0])
			w.close(prs[1])
			w.lb.setTee(true)
			w.push(prs[2])
			w.command(prs[2])
			teePush = prs[2]
			w.lb.setTee(false)
			w.close(prs[3])
			acted = prs[:4]
		}
		for _, p := range acted {
			heads[p.number] = append(heads[p.number], p.head)
		}
		delay := time.Duration(w.rng.IntN(3001)) * time.Millisecond
		time.Sleep(delay) // the randomized kill moment: the point of the test
		victim := []*replica{a, b}[w.rng.IntN(2)]
		switch {
		case a.busy() && !b.busy():
			victim = a
		case b.busy() && !a.busy():
			victim = b
		}
		busy := victim.busy()
		survivor := a
		if victim == a {
			survivor = b
		}
		w.down(victim)
		killed := time.Now()
		t.Logf("phase %d: killed replica %s after %s (Pulumi running: %v); %s carries on", phase, victim.name, delay, busy, survivor.name)
		w.redeliver()
		took, why := w.waitConverged(acted, killed, measureWithin)
		for i, p := range acted {
			fig.add(took[i])
			if f := w.look(p); len(f.locks) > 0 {
				fig.locked++
			}
			if took[i] < 0 {
				p.abandoned = true
				t.Errorf("phase %d: PR #%d did not recover within %s of the kill of %s (seed %d)", phase, p.number, measureWithin, victim.name, s)
				w.dump(p, why[i])
				continue
			}
			if took[i] > recoverWithin {
				t.Errorf("phase %d: PR #%d recovered only %s after the kill, want within %s (seed %d)", phase, p.number, took[i].Round(100*time.Millisecond), recoverWithin, s)
				continue
			}
			t.Logf("phase %d: PR #%d recovered %s after the kill", phase, p.number, took[i].Round(100*time.Millisecond))
		}
		// A push delivered to both replicas is deployed once.
		if n := w.deploymentsOf(teePush); n > 1 {
			fig.duplicates += n - 1
			t.Errorf("phase %d: the push to #%d delivered to both replicas was deployed %d times", phase, teePush.number, n)
		}
		if !survivor.running() {
			t.Errorf("phase %d: the surviving replica %s exited:\n%s", phase, survivor.name, survivor.tail(40))
		}
		w.up(victim) // back for the next phase, or to check nothing is done twice once it returns
	}
	// Let the returned replica run a moment against the converged state: it must not redo anything.
	w.waitConverged(prs, time.Now(), 5*time.Second)
	w.finalCheck(fig, prs, heads)
	w.report(fig, s)
}

// deploymentsOf counts the deployments of p's environment at p's head.
func (w *world) deploymentsOf(p *pull) int {
	n := 0
	for _, d := range w.sim.Deployments(repoName) {
		if d.Environment == stackName(p) && d.SHA == p.head {
			n++
		}
	}
	return n
}

// TestGitHubOutage has GitHub answer 502 to every API call for a minute while PRs are opened,
// pushed to, commanded and closed; afterwards everything must converge with nothing done twice.
func TestGitHubOutage(t *testing.T) {
	s := seed(t)
	t.Logf("seed %d", s)
	w := newWorld(t, s)
	bot := w.addReplica("outage", "")
	w.up(bot)
	var prs []*pull
	for range 2 {
		prs = append(prs, w.open())
	}
	took, why := w.waitConverged(prs, time.Now(), 90*time.Second)
	for i, p := range prs {
		if took[i] < 0 {
			w.dump(p, why[i])
			t.Fatalf("PR #%d was not ready before the outage", p.number)
		}
	}

	const outage = time.Minute
	w.sim.InjectFault(githubsim.Fault{Status: 502, Times: -1})
	started := time.Now()
	w.push(prs[0])
	w.command(prs[0])
	w.close(prs[1])
	prs = append(prs, w.open())
	<-time.After(time.Until(started.Add(outage))) // the outage itself: the point of the test
	w.sim.ClearFaults()
	ended := time.Now()
	t.Logf("GitHub answered 502 to every API call for %s", ended.Sub(started).Round(time.Second))

	// River retries with a growing backoff, so recovery may take longer than after a crash.
	const within = 2 * time.Minute
	fig := &figures{name: "github-502-for-1m"}
	took, why = w.waitConverged(prs, ended, within)
	for i, p := range prs {
		fig.add(took[i])
		if took[i] < 0 {
			p.abandoned = true
			t.Errorf("PR #%d did not converge within %s of the end of the outage", p.number, within)
			w.dump(p, why[i])
			continue
		}
		t.Logf("PR #%d converged %s after the outage", p.number, took[i].Round(100*time.Millisecond))
	}
	w.finalCheck(fig, prs, nil)
	w.report(fig, s)
}

// privatePostgres is a Postgres cluster of the test's own, run as the postgres OS user (initdb
// refuses root), so it can be restarted without disturbing the machine's shared server.
type privatePostgres struct {
	bin, dir, data, log string
	port                int
	cred                *syscall.Credential
}

func startPrivatePostgres(t *testing.T) *privatePostgres {
	t.Helper()
	fail := func(format string, args ...any) { testenv.SkipOrFail(t, format, args...) }
	initdbs, _ := filepath.Glob("/usr/lib/postgresql/*/bin/initdb")
	if len(initdbs) == 0 {
		fail("no Postgres server binaries in /usr/lib/postgresql/*/bin (apt-get install postgresql)")
	}
	u, err := user.Lookup("postgres")
	if err != nil {
		fail("no postgres OS user to run a private cluster as: %v", err)
	}
	uid, _ := strconv.ParseUint(u.Uid, 10, 32)
	gid, _ := strconv.ParseUint(u.Gid, 10, 32)
	dir, err := os.MkdirTemp("", "crashtest-pg-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Chown(dir, int(uid), int(gid)); err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	pg := &privatePostgres{bin: filepath.Dir(initdbs[len(initdbs)-1]), dir: dir, data: filepath.Join(dir, "data"),
		log: filepath.Join(dir, "postgres.log"), port: port, cred: &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}}
	pg.run(t, "initdb", "-D", pg.data, "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-sync")
	pg.run(t, "pg_ctl", "-D", pg.data, "-l", pg.log, "-w", "-t", "60", "-o",
		fmt.Sprintf("-p %d -k %s -c listen_addresses=127.0.0.1 -c fsync=off", port, dir), "start")
	t.Cleanup(func() { pg.ctl("stop", "-m", "immediate") })
	return pg
}

func (pg *privatePostgres) url() string {
	return fmt.Sprintf("postgres://postgres@127.0.0.1:%d/postgres?sslmode=disable", pg.port)
}

func (pg *privatePostgres) command(name string, args ...string) *exec.Cmd {
	cmd := exec.Command(filepath.Join(pg.bin, name), args...)
	cmd.Dir = pg.dir
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: pg.cred}
	return cmd
}

func (pg *privatePostgres) run(t *testing.T, name string, args ...string) {
	t.Helper()
	if out, err := pg.command(name, args...).CombinedOutput(); err != nil {
		log, _ := os.ReadFile(pg.log)
		t.Fatalf("%s %v: %v\n%s\n%s", name, args, err, out, log)
	}
}

func (pg *privatePostgres) ctl(args ...string) error {
	return pg.command("pg_ctl", append([]string{"-D", pg.data, "-w", "-t", "60"}, args...)...).Run()
}

// TestCrashPostgresRestart restarts the bot's (private) Postgres while deploys run; the bot must
// carry on without being restarted and bring every PR to its wanted state.
func TestCrashPostgresRestart(t *testing.T) {
	s := seed(t)
	t.Logf("seed %d", s)
	pg := startPrivatePostgres(t)
	w := newWorld(t, s)
	bot := w.addReplica("pg-restart", pg.url())
	w.up(bot)
	fig := &figures{name: "postgres-restarted-mid-deploy"}
	var prs []*pull
	for round := range 2 {
		if round == 0 {
			prs = append(prs, w.open(), w.open())
		} else {
			w.push(prs[0])
			w.close(prs[1])
		}
		// Restart the database as soon as a Pulumi operation runs.
		deadline := time.Now().Add(30 * time.Second)
		tick := time.NewTicker(50 * time.Millisecond)
		for !bot.busy() && time.Now().Before(deadline) {
			<-tick.C
		}
		tick.Stop()
		busy := bot.busy()
		if err := pg.ctl("restart", "-m", "fast"); err != nil {
			log, _ := os.ReadFile(pg.log)
			t.Fatalf("restarting Postgres: %v\n%s", err, log)
		}
		restarted := time.Now()
		t.Logf("round %d: Postgres restarted (Pulumi running: %v)", round, busy)
		took, why := w.waitConverged(prs, restarted, measureWithin)
		for i, p := range prs {
			fig.add(took[i])
			if took[i] < 0 {
				p.abandoned = true
				t.Errorf("round %d: PR #%d did not recover within %s of the database restart", round, p.number, measureWithin)
				w.dump(p, why[i])
				continue
			}
			if took[i] > recoverWithin {
				t.Errorf("round %d: PR #%d recovered only %s after the database restart, want within %s", round, p.number, took[i].Round(100*time.Millisecond), recoverWithin)
				continue
			}
			t.Logf("round %d: PR #%d recovered %s after the database restart", round, p.number, took[i].Round(100*time.Millisecond))
		}
		if !bot.running() {
			t.Fatalf("the bot exited when its database restarted:\n%s", bot.tail(40))
		}
	}
	w.finalCheck(fig, prs, nil)
	w.report(fig, s)
}
