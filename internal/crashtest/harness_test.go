package crashtest

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stagecoach/stagecoach/internal/ephemeral"
	"github.com/stagecoach/stagecoach/internal/ephemeral/demo"
	"github.com/stagecoach/stagecoach/internal/githubsim"
	"github.com/stagecoach/stagecoach/internal/testenv"
	"github.com/stagecoach/stagecoach/internal/toolchain"
)

const (
	secret   = "crash-webhook-secret"
	repoName = "acme/shop"
	// recoverWithin is how soon after a restart (or a kill, for the survivor of two replicas) every
	// PR environment must be in its wanted state.
	recoverWithin = 60 * time.Second
	// measureWithin is how long a trial keeps being watched to measure a late recovery; a PR still
	// not in its wanted state then is abandoned (later trials leave it alone).
	measureWithin = 2 * recoverWithin
)

// binDir holds the bot binary TestMain builds on first use; it is set before any test runs.
var binDir string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "stagecoach-crashtest-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "crashtest:", err)
		os.Exit(1)
	}
	binDir = dir
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// buildBot builds ./cmd/bot once per test binary (without -race: it is the system under test, not
// the test) and returns its path.
var buildBot = sync.OnceValues(func() (string, error) {
	wd, err := os.Getwd()
	if err != nil {
		return "", err
	}
	root := wd
	for {
		if _, err := os.Stat(filepath.Join(root, "go.mod")); err == nil {
			break
		}
		parent := filepath.Dir(root)
		if parent == root {
			return "", fmt.Errorf("no go.mod above %s", wd)
		}
		root = parent
	}
	out := filepath.Join(binDir, "bot")
	cmd := exec.Command("go", "build", "-o", out, "./cmd/bot")
	cmd.Dir = root
	if b, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build ./cmd/bot: %w\n%s", err, b)
	}
	return out, nil
})

// requireTools returns the real Pulumi CLI, skipping (or failing, when STAGECOACH_REQUIRE_TOOLS is
// set) when it is missing.
func requireTools(t *testing.T) toolchain.Tools {
	t.Helper()
	tools, err := toolchain.Find(context.Background(), toolchain.Options{})
	if err != nil {
		testenv.SkipOrFail(t, "the Pulumi CLI is not installed (%v); run `bot toolchain install`", err)
	}
	return tools
}

// seed is STAGECOACH_CRASH_SEED, or a fresh one; it is logged so a failing run can be replayed.
func seed(t *testing.T) uint64 {
	t.Helper()
	if s := os.Getenv("STAGECOACH_CRASH_SEED"); s != "" {
		n, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			t.Fatalf("STAGECOACH_CRASH_SEED=%q: %v", s, err)
		}
		return n
	}
	return uint64(time.Now().UnixNano())
}

// slowPulumi writes a wrapper around the real CLI that sleeps 0.5–2 s (varying by process id) before
// `up` and `destroy`, so that kills land inside operations. The real CLI's directory goes first on
// PATH, so the CLI finds its bundled YAML host there without a "from $PATH" warning.
func slowPulumi(t *testing.T, tools toolchain.Tools, dir string) string {
	t.Helper()
	real, err := filepath.EvalSymlinks(tools.Pulumi)
	if err != nil {
		t.Fatal(err)
	}
	script := fmt.Sprintf(`#!/bin/sh
PATH='%s':"$PATH"
export PATH
for a in "$@"; do
	case "$a" in
	up|destroy)
		ms=$(( 500 + ($$ * 7919) %% 1501 ))
		sleep "$((ms / 1000)).$(printf '%%03d' $((ms %% 1000)))"
		break ;;
	esac
done
exec '%s' "$@"
`, filepath.Dir(real), real)
	path := filepath.Join(dir, "pulumi")
	if err := os.WriteFile(path, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	return path
}

// freeAddr returns a loopback address nobody listens on now; a replica keeps it across restarts.
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// replica is one `bot serve` process, restarted on the same data after each kill.
type replica struct {
	name    string
	addr    string
	logPath string
	env     []string
	bin     string

	mu     sync.Mutex
	cmd    *exec.Cmd
	exited chan struct{}
	starts int
}

// start runs the bot and waits until /healthz answers.
func (r *replica) start(t *testing.T) {
	t.Helper()
	log, err := os.OpenFile(r.logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	r.mu.Lock()
	r.starts++
	fmt.Fprintf(log, "===== crashtest: start %d of replica %s at %s =====\n", r.starts, r.name, time.Now().Format(time.RFC3339Nano))
	r.mu.Unlock()
	cmd := exec.Command(r.bin, "serve")
	cmd.Env = r.env
	cmd.Stdout, cmd.Stderr = log, log
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		log.Close()
		t.Fatalf("starting replica %s: %v", r.name, err)
	}
	exited := make(chan struct{})
	go func() {
		_ = cmd.Wait()
		log.Close()
		close(exited)
	}()
	r.mu.Lock()
	r.cmd, r.exited = cmd, exited
	r.mu.Unlock()

	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := http.Get("http://" + r.addr + "/healthz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		select {
		case <-exited:
			t.Fatalf("replica %s exited while starting:\n%s", r.name, r.tail(40))
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("replica %s did not answer /healthz within 30 s:\n%s", r.name, r.tail(40))
		}
	}
}

// running reports whether the process is alive.
func (r *replica) running() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.exited == nil {
		return false
	}
	select {
	case <-r.exited:
		return false
	default:
		return true
	}
}

// kill SIGKILLs the bot's process group and every process descended from it (a child that made its
// own group would otherwise live on), as a machine losing power would, and waits for it to exit.
func (r *replica) kill(t *testing.T) {
	t.Helper()
	r.mu.Lock()
	cmd, exited := r.cmd, r.exited
	r.mu.Unlock()
	if cmd == nil {
		return
	}
	pids := descendants(cmd.Process.Pid)
	_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	for _, pid := range pids {
		_ = syscall.Kill(pid, syscall.SIGKILL)
	}
	select {
	case <-exited:
	case <-time.After(10 * time.Second):
		t.Fatalf("replica %s did not exit 10 s after SIGKILL", r.name)
	}
}

// busy reports whether the bot runs a Pulumi process right now.
func (r *replica) busy() bool {
	r.mu.Lock()
	cmd := r.cmd
	r.mu.Unlock()
	if cmd == nil || !r.running() {
		return false
	}
	return len(descendants(cmd.Process.Pid)) > 0
}

// tail returns the last n lines of the replica's log.
func (r *replica) tail(n int) string {
	b, err := os.ReadFile(r.logPath)
	if err != nil {
		return err.Error()
	}
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// descendants lists the processes below pid, read from /proc.
func descendants(pid int) []int {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return nil
	}
	children := map[int][]int{}
	for _, e := range entries {
		p, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if err != nil {
			continue
		}
		// The command name is in parentheses and may contain spaces: parse after the last ')'.
		s := string(b)
		i := strings.LastIndexByte(s, ')')
		if i < 0 {
			continue
		}
		f := strings.Fields(s[i+1:])
		if len(f) < 2 {
			continue
		}
		ppid, _ := strconv.Atoi(f[1])
		children[ppid] = append(children[ppid], p)
	}
	var out []int
	queue := []int{pid}
	for len(queue) > 0 {
		p := queue[0]
		queue = queue[1:]
		for _, c := range children[p] {
			out = append(out, c)
			queue = append(queue, c)
		}
	}
	return out
}

// balancer stands in for the load balancer in front of the replicas: it forwards each webhook to
// one live replica in turn, or, while tee is on, to every live replica at once (the same delivery
// reaching two replicas). With no replica up it answers 502, which GitHub records as a failed delivery.
type balancer struct {
	mu       sync.Mutex
	backends []string
	next     int
	tee      bool
	client   http.Client
}

func (b *balancer) remove(addr string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.backends = slices.DeleteFunc(b.backends, func(a string) bool { return a == addr })
}

func (b *balancer) add(addr string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if !slices.Contains(b.backends, addr) {
		b.backends = append(b.backends, addr)
	}
}

func (b *balancer) setTee(on bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.tee = on
}

func (b *balancer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	b.mu.Lock()
	var targets []string
	if len(b.backends) > 0 {
		if b.tee {
			targets = slices.Clone(b.backends)
		} else {
			targets = []string{b.backends[b.next%len(b.backends)]}
			b.next++
		}
	}
	b.mu.Unlock()
	if len(targets) == 0 {
		http.Error(w, "no replica is up", http.StatusBadGateway)
		return
	}
	statuses := make([]int, len(targets))
	var wg sync.WaitGroup
	for i, addr := range targets {
		wg.Go(func() {
			req, err := http.NewRequestWithContext(r.Context(), r.Method, "http://"+addr+r.URL.RequestURI(), bytes.NewReader(body))
			if err != nil {
				statuses[i] = http.StatusBadGateway
				return
			}
			req.Header = r.Header.Clone()
			resp, err := b.client.Do(req)
			if err != nil {
				statuses[i] = http.StatusBadGateway
				return
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			statuses[i] = resp.StatusCode
		})
	}
	wg.Wait()
	w.WriteHeader(statuses[0])
}

// pull is one pull request the test drives and what its environment must come to.
type pull struct {
	number int
	head   string
	// wantReady is true for an environment ready at head, false for one destroyed.
	wantReady bool
	// commands are the comment ids and names of unknown commands issued on it, each to be answered once.
	commands []command
	// abandoned PRs failed to recover; later trials leave them alone.
	abandoned bool
	// merged PRs were closed by merging: they cannot be reopened, so their slot opens a new PR.
	merged bool
}

type command struct {
	id   int64
	name string
}

// world is the simulator, the shared Pulumi backend and the replicas.
type world struct {
	t        *testing.T
	rng      *rand.Rand
	sim      *githubsim.Sim
	lb       *balancer
	root     string
	backend  string // the file backend's directory
	pulumi   string // the wrapper
	bin      string
	replicas []*replica
	nextPR   int
	// skip are delivery ids an operator does not redeliver (the missed synchronize the sweep must catch).
	skip map[string]bool
	// redelivered are failed delivery ids already sent again.
	redelivered map[string]bool
}

// newWorld starts the simulator with the sample repository (PR environments on, room for many) and
// the balancer; databaseURL "" means SQLite in each replica's data dir.
func newWorld(t *testing.T, s uint64) *world {
	t.Helper()
	tools := requireTools(t)
	bin, err := buildBot()
	if err != nil {
		t.Fatal(err)
	}
	root := t.TempDir()
	sim, err := githubsim.New(githubsim.Options{WebhookSecret: secret, AppSlug: "stagecoach"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(sim.Close)
	sim.AddInstallation("acme")
	files := demo.Files()
	files[".stagecoach.yaml"] = demo.Config + "  max_active: 100\n"
	if _, err := sim.CreateRepo("acme", "shop", files); err != nil {
		t.Fatal(err)
	}
	sim.SetCollaborator(repoName, "dev", "write")
	lb := &balancer{}
	srv := &http.Server{Handler: lb}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	sim.SetWebhookURL("http://" + ln.Addr().String() + "/webhooks/github")
	w := &world{t: t, rng: rand.New(rand.NewPCG(s, s^0x9e3779b97f4a7c15)), sim: sim, lb: lb, root: root,
		backend: filepath.Join(root, "state"), pulumi: slowPulumi(t, tools, root), bin: bin,
		skip: map[string]bool{}, redelivered: map[string]bool{}}
	return w
}

// addReplica prepares (does not start) a replica; all replicas share the database and the backend.
func (w *world) addReplica(name, databaseURL string) *replica {
	w.t.Helper()
	dataDir := filepath.Join(w.root, name)
	if err := os.MkdirAll(dataDir, 0o700); err != nil {
		w.t.Fatal(err)
	}
	r := &replica{name: name, addr: freeAddr(w.t), logPath: filepath.Join(w.root, name+".log"), bin: w.bin}
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "STAGECOACH_") && !strings.HasPrefix(kv, "PULUMI_") {
			env = append(env, kv)
		}
	}
	r.env = append(env,
		"STAGECOACH_ADDR="+r.addr,
		"STAGECOACH_DATA_DIR="+dataDir,
		"STAGECOACH_DATABASE_URL="+databaseURL,
		"STAGECOACH_WEBHOOK_SECRET="+secret,
		"STAGECOACH_GITHUB_APP_ID="+strconv.FormatInt(w.sim.AppID(), 10),
		"STAGECOACH_GITHUB_PRIVATE_KEY="+string(w.sim.AppPrivateKeyPEM()),
		"STAGECOACH_GITHUB_API_URL="+w.sim.URL(),
		"STAGECOACH_GITHUB_APP_SLUG=stagecoach",
		"STAGECOACH_GITHUB_MAX_RETRY_WAIT=2s",
		"STAGECOACH_PULUMI_COMMAND="+w.pulumi,
		"STAGECOACH_PULUMI_BACKEND_URL=file://"+w.backend,
		"STAGECOACH_FILE_BACKEND_SHARED=true", // the replicas share this machine's directory
		"STAGECOACH_SHUTDOWN_TIMEOUT=5s",
		"STAGECOACH_LOG_LEVEL=debug",
		"STAGECOACH_LOG_FORMAT=text",
		"PULUMI_CONFIG_PASSPHRASE=crash-test",
	)
	w.replicas = append(w.replicas, r)
	w.t.Cleanup(func() { r.kill(w.t) })
	return r
}

// up starts r and puts it behind the balancer.
func (w *world) up(r *replica) {
	w.t.Helper()
	r.start(w.t)
	w.lb.add(r.addr)
}

// down takes r out of the balancer and kills it.
func (w *world) down(r *replica) {
	w.t.Helper()
	w.lb.remove(r.addr)
	r.kill(w.t)
}

// open opens a new PR whose environment must become ready.
func (w *world) open() *pull {
	w.t.Helper()
	w.nextPR++
	pr, err := w.sim.OpenPR(repoName, githubsim.PROptions{Author: "dev", Branch: fmt.Sprintf("crash-%d", w.nextPR),
		Files: map[string]string{fmt.Sprintf("app/crash-%d.txt", w.nextPR): "x"}})
	if err != nil {
		w.t.Fatal(err)
	}
	return &pull{number: pr.Number, head: pr.HeadSHA, wantReady: true}
}

func (w *world) push(p *pull) {
	w.t.Helper()
	sha, err := w.sim.PushToPR(repoName, p.number, map[string]string{"app/push.txt": strconv.FormatUint(w.rng.Uint64(), 36)})
	if err != nil {
		w.t.Fatal(err)
	}
	p.head, p.wantReady = sha, true
}

func (w *world) close(p *pull) {
	w.t.Helper()
	p.merged = w.rng.IntN(2) == 0
	if err := w.sim.ClosePR(repoName, p.number, p.merged); err != nil {
		w.t.Fatal(err)
	}
	p.wantReady = false
}

func (w *world) reopen(p *pull) {
	w.t.Helper()
	if err := w.sim.ReopenPR(repoName, p.number); err != nil {
		w.t.Fatal(err)
	}
	p.wantReady = true
}

// command comments an unknown command, which the bot answers once with its help.
func (w *world) command(p *pull) {
	w.t.Helper()
	name := fmt.Sprintf("xyzzy%d", w.rng.IntN(1_000_000))
	id, err := w.sim.Comment(repoName, p.number, "dev", "/"+name)
	if err != nil {
		w.t.Fatal(err)
	}
	p.commands = append(p.commands, command{id: id, name: name})
}

// redeliver sends again, in order, every delivery that failed and that an operator would redeliver.
func (w *world) redeliver() int {
	w.t.Helper()
	n := 0
	for _, d := range w.sim.Deliveries() {
		if d.Redelivery || w.skip[d.ID] || w.redelivered[d.ID] || (d.Status >= 200 && d.Status < 300) {
			continue
		}
		w.redelivered[d.ID] = true
		n++
		if status, err := w.sim.Redeliver(d.ID); err != nil || status >= 300 {
			w.t.Logf("redelivering %s %s.%s: %d %v (left for the sweep)", d.ID, d.Event, d.Action, status, err)
		}
	}
	return n
}

// stackName is the PR environment's stack.
func stackName(p *pull) string { return "pr-" + strconv.Itoa(p.number) }

// locks lists the Pulumi lock files of stack ("" for every stack) in the file backend.
func (w *world) locks(stack string) []string {
	var out []string
	_ = filepath.WalkDir(filepath.Join(w.backend, ".pulumi", "locks"), func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return nil
		}
		if stack == "" || slices.Contains(strings.Split(filepath.ToSlash(path), "/"), stack) {
			out = append(out, path)
		}
		return nil
	})
	return out
}

// stackExists reports whether the backend holds the stack's state.
func (w *world) stackExists(stack string) bool {
	for _, pattern := range []string{stack + ".json", stack + ".json.gz"} {
		if m, _ := filepath.Glob(filepath.Join(w.backend, ".pulumi", "stacks", "*", pattern)); len(m) > 0 {
			return true
		}
	}
	return false
}

// facts is what one look at a PR finds.
type facts struct {
	statusComments int
	status         string // the headline word of the one status comment
	deployedHead   bool   // the status comment says the head is deployed
	headRuns       int
	headUnfinished int // check runs of the head not completed
	headSuccess    bool
	newestDeploy   string // latest status of the newest deployment, "" when it has none, "-" without deployments
	staleDeploys   int    // older deployments whose latest status is not final
	stackExists    bool
	locks          []string
	replies        map[string]int // per command: the bot's answers
	eyes           map[string]int // per command: 👀 reactions
}

var finalDeploy = map[string]bool{"success": true, "inactive": true, "failure": true, "error": true}

func (w *world) look(p *pull) facts {
	f := facts{replies: map[string]int{}, eyes: map[string]int{}, newestDeploy: "-"}
	bot := w.sim.BotLogin()
	comments := w.sim.Comments(repoName, p.number)
	for _, c := range comments {
		if c.Author != bot {
			continue
		}
		if strings.Contains(c.Body, ephemeral.Marker) {
			f.statusComments++
			for _, s := range []string{"not deployed", "queued", "previewing", "deploying", "ready", "failed", "destroying", "destroyed"} {
				if strings.Contains(c.Body, "**"+s+"**") {
					f.status = s
					break
				}
			}
			f.deployedHead = strings.Contains(c.Body, "Commit "+p.head[:7]+" is deployed")
			continue
		}
		for _, cmd := range p.commands {
			if strings.Contains(c.Body, "`/"+cmd.name+"`") {
				f.replies[cmd.name]++
			}
		}
	}
	for _, cmd := range p.commands {
		for _, r := range w.sim.Reactions(repoName, cmd.id) {
			if r == "eyes" {
				f.eyes[cmd.name]++
			}
		}
	}
	for _, r := range w.sim.CheckRuns(repoName, p.head) {
		if r.Name != ephemeral.CheckName {
			continue
		}
		f.headRuns++
		if r.Status != "completed" {
			f.headUnfinished++
		}
		f.headSuccess = r.Status == "completed" && r.Conclusion == "success"
	}
	stack := stackName(p)
	var deps []githubsim.Deployment
	for _, d := range w.sim.Deployments(repoName) {
		if d.Environment == stack {
			deps = append(deps, d)
		}
	}
	for i, d := range deps {
		st := w.sim.DeploymentStatuses(repoName, d.ID)
		latest := ""
		if len(st) > 0 {
			latest = st[len(st)-1].State
		}
		if i == len(deps)-1 {
			f.newestDeploy = latest
		} else if !finalDeploy[latest] {
			f.staleDeploys++
		}
	}
	f.stackExists = w.stackExists(stack)
	f.locks = w.locks(stack)
	return f
}

// staleRuns counts this PR's check runs on earlier commits that were left in progress.
func (w *world) staleRuns(p *pull, heads []string) int {
	n := 0
	for _, sha := range heads {
		if sha == p.head {
			continue
		}
		for _, r := range w.sim.CheckRuns(repoName, sha) {
			if r.Name == ephemeral.CheckName && r.Status != "completed" {
				n++
			}
		}
	}
	return n
}

// converged reports whether p is in its wanted state, and if not, why.
func (f facts) converged(p *pull) (bool, string) {
	var why []string
	if f.statusComments != 1 {
		why = append(why, fmt.Sprintf("%d status comments", f.statusComments))
	}
	if p.wantReady {
		if f.status != "ready" || !f.deployedHead {
			why = append(why, fmt.Sprintf("status %q, head %s deployed: %v", f.status, p.head[:7], f.deployedHead))
		}
		if f.headRuns == 0 || f.headUnfinished > 0 || !f.headSuccess {
			why = append(why, fmt.Sprintf("head check runs %d, unfinished %d, last successful %v", f.headRuns, f.headUnfinished, f.headSuccess))
		}
		if f.newestDeploy != "success" {
			why = append(why, fmt.Sprintf("newest deployment %q", f.newestDeploy))
		}
		if !f.stackExists {
			why = append(why, "no stack in the backend")
		}
	} else {
		if f.status != "destroyed" {
			why = append(why, fmt.Sprintf("status %q", f.status))
		}
		if f.headUnfinished > 0 {
			why = append(why, fmt.Sprintf("%d head check runs unfinished", f.headUnfinished))
		}
		if f.newestDeploy != "-" && f.newestDeploy != "inactive" && f.newestDeploy != "failure" && f.newestDeploy != "error" {
			why = append(why, fmt.Sprintf("newest deployment %q", f.newestDeploy))
		}
		if f.stackExists {
			why = append(why, "the stack is still in the backend")
		}
	}
	if len(f.locks) > 0 {
		why = append(why, fmt.Sprintf("locked: %v", f.locks))
	}
	for name, n := range f.replies {
		if n != 1 {
			why = append(why, fmt.Sprintf("%d replies to /%s", n, name))
		}
	}
	for _, c := range p.commands {
		if f.replies[c.name] == 0 {
			why = append(why, fmt.Sprintf("no reply to /%s", c.name))
		}
	}
	return len(why) == 0, strings.Join(why, "; ")
}

// duplicates counts what was done more than once: status comments beyond one, replies and 👀
// beyond one per command.
func (f facts) duplicates() int {
	n := max(0, f.statusComments-1)
	for _, c := range f.replies {
		n += max(0, c-1)
	}
	for _, c := range f.eyes {
		n += max(0, c-1)
	}
	return n
}

// waitConverged polls every PR until each is in its wanted state or the deadline passes, and
// returns each PR's time to converge from since (-1 when it did not) and the last reason it was not.
func (w *world) waitConverged(prs []*pull, since time.Time, deadline time.Duration) ([]time.Duration, []string) {
	took := make([]time.Duration, len(prs))
	why := make([]string, len(prs))
	for i := range took {
		took[i] = -1
	}
	end := since.Add(deadline)
	tick := time.NewTicker(200 * time.Millisecond)
	defer tick.Stop()
	for {
		left := 0
		for i, p := range prs {
			if took[i] >= 0 {
				continue
			}
			if ok, reason := w.look(p).converged(p); ok {
				took[i] = time.Since(since)
			} else {
				why[i] = reason
				left++
			}
		}
		if left == 0 || time.Now().After(end) {
			return took, why
		}
		<-tick.C // poll the simulator and the backend directory again
	}
}

// dump logs what a failing PR looked like and each replica's last log lines.
func (w *world) dump(p *pull, why string) {
	w.t.Helper()
	var b strings.Builder
	fmt.Fprintf(&b, "PR #%d (want ready=%v at %s) did not recover: %s\n", p.number, p.wantReady, p.head[:7], why)
	for _, c := range w.sim.Comments(repoName, p.number) {
		fmt.Fprintf(&b, "--- comment %d by %s:\n%s\n", c.ID, c.Author, clip(c.Body, 1200))
	}
	for _, r := range w.replicas {
		fmt.Fprintf(&b, "--- replica %s log (last 60 lines, PR #%d lines first):\n", r.name, p.number)
		fmt.Fprintln(&b, grepTail(r.logPath, fmt.Sprintf("pr=%d", p.number), 25))
		fmt.Fprintln(&b, "...")
		fmt.Fprintln(&b, r.tail(35))
	}
	w.t.Log(b.String())
}

func clip(s string, n int) string {
	if len(s) > n {
		return s[:n] + "…"
	}
	return s
}

// grepTail returns the last n lines of the file that contain needle.
func grepTail(path, needle string, n int) string {
	f, err := os.Open(path)
	if err != nil {
		return err.Error()
	}
	defer f.Close()
	var lines []string
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		if strings.Contains(sc.Text(), needle) {
			lines = append(lines, sc.Text())
		}
	}
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// figures are a run's results, printed at its end and copied into BENCHMARKS.md.
type figures struct {
	name      string
	trials    int
	recovered int
	times     []time.Duration
	// locked counts trials (and, at the end, PRs) whose stack had a lock file left.
	locked     int
	duplicates int
	// comments counts status comments not in their wanted state at the end (e.g. stuck at "deploying").
	comments int
	// runs counts check runs left not completed at the end, on the head or on earlier commits.
	runs int
	// deploys counts deployments whose latest status is not final at the end.
	deploys int
}

func (f *figures) add(took time.Duration) {
	f.trials++
	if took >= 0 && took <= recoverWithin {
		f.recovered++
	}
	if took >= 0 {
		f.times = append(f.times, took)
	}
}

func (f *figures) String() string {
	med, worst := "-", "-"
	if len(f.times) > 0 {
		s := slices.Clone(f.times)
		slices.Sort(s)
		med = s[len(s)/2].Round(100 * time.Millisecond).String()
		worst = s[len(s)-1].Round(100 * time.Millisecond).String()
	}
	return fmt.Sprintf("%s: trials=%d recovered_within_60s=%d median_recover=%s max_recover=%s stacks_locked=%d duplicates=%d "+
		"comments_unfinished=%d check_runs_unfinished=%d deployments_unfinished=%d",
		f.name, f.trials, f.recovered, med, worst, f.locked, f.duplicates, f.comments, f.runs, f.deploys)
}

// finalCheck looks at every PR once more at the end of a run: what is still wrong goes into f, and
// a PR that had recovered but is no longer in its wanted state, or anything done twice, fails the test.
func (w *world) finalCheck(f *figures, prs []*pull, heads map[int][]string) {
	w.t.Helper()
	for _, p := range prs {
		fa := w.look(p)
		f.duplicates += fa.duplicates()
		if len(fa.locks) > 0 {
			f.locked++
		}
		want := "ready"
		if !p.wantReady {
			want = "destroyed"
		}
		if fa.status != want {
			f.comments++
		}
		f.runs += fa.headUnfinished + w.staleRuns(p, heads[p.number])
		if fa.newestDeploy != "-" && !finalDeploy[fa.newestDeploy] {
			f.deploys++
		}
		f.deploys += fa.staleDeploys
		if ok, why := fa.converged(p); !ok && !p.abandoned { // abandoned PRs failed the test when they did not recover
			w.t.Errorf("PR #%d was in its wanted state but no longer is: %s", p.number, why)
		}
		if d := fa.duplicates(); d > 0 {
			w.t.Errorf("PR #%d: %d duplicates (status comments %d, replies %v, 👀 %v)", p.number, d, fa.statusComments, fa.replies, fa.eyes)
		}
	}
	if l := w.locks(""); len(l) > 0 {
		w.t.Errorf("lock files left in the backend: %v", l)
	}
}

// report logs the figures and fails the test when any trial did not recover.
func (w *world) report(f *figures, s uint64) {
	w.t.Helper()
	line := f.String()
	w.t.Logf("FIGURES %s seed=%d", line, s)
	fmt.Printf("crashtest %s seed=%d\n", line, s)
	if f.recovered != f.trials {
		w.t.Errorf("%d of %d trials did not reach their wanted state within %s (replay with STAGECOACH_CRASH_SEED=%d)",
			f.trials-f.recovered, f.trials, recoverWithin, s)
	}
}
