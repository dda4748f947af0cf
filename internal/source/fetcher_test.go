package source

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bradleyfalzon/ghinstallation/v2"
	"github.com/google/go-github/v60/github"

	"github.com/stagecoach/stagecoach/internal/githubsim"
)

// fakeGitHub answers the tarball endpoint with a 302 to a signed download URL, like api.github.com and
// codeload, and counts downloads per commit.
type fakeGitHub struct {
	srv *httptest.Server

	mu        sync.Mutex
	tarballs  map[string][]byte // by sha
	downloads map[string]int
	gate      chan struct{} // when set, downloads wait for it to close
	arrived   chan struct{} // receives once per download that started
}

const downloadToken = "tok-3f9a1c"

func newFakeGitHub(t *testing.T) *fakeGitHub {
	t.Helper()
	g := &fakeGitHub{tarballs: map[string][]byte{}, downloads: map[string]int{}, arrived: make(chan struct{}, 100)}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /api/v3/repos/{owner}/{repo}/tarball/{ref}", func(w http.ResponseWriter, r *http.Request) {
		ref := r.PathValue("ref")
		g.mu.Lock()
		_, ok := g.tarballs[ref]
		g.mu.Unlock()
		if !ok {
			http.Error(w, `{"message":"Not Found"}`, http.StatusNotFound)
			return
		}
		http.Redirect(w, r, "/codeload/"+ref+"?token="+downloadToken, http.StatusFound)
	})
	mux.HandleFunc("GET /codeload/{sha}", func(w http.ResponseWriter, r *http.Request) {
		sha := r.PathValue("sha")
		g.mu.Lock()
		g.downloads[sha]++
		tb, gate := g.tarballs[sha], g.gate
		g.mu.Unlock()
		g.arrived <- struct{}{}
		if gate != nil {
			<-gate
		}
		if r.URL.Query().Get("token") != downloadToken || tb == nil {
			http.Error(w, "bad token", http.StatusInternalServerError)
			return
		}
		_, _ = w.Write(tb)
	})
	g.srv = httptest.NewServer(mux)
	t.Cleanup(g.srv.Close)
	return g
}

func (g *fakeGitHub) add(sha string, tb []byte) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.tarballs[sha] = tb
}

func (g *fakeGitHub) count(sha string) int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.downloads[sha]
}

func (g *fakeGitHub) client(t *testing.T) Archiver {
	t.Helper()
	gh, err := github.NewClient(g.srv.Client()).WithEnterpriseURLs(g.srv.URL+"/api/v3/", g.srv.URL+"/api/v3/")
	if err != nil {
		t.Fatal(err)
	}
	return gh.Repositories
}

func sha(c byte) string { return strings.Repeat(string(c), 40) }

// repoTarball is a small repository with a Pulumi project in infra/ and size bytes of padding.
func repoTarball(t testing.TB, s string, size int) []byte {
	top := "acme-app-" + s[:7] + "/"
	return tarball(t, dir(top), file(top+"README.md", "# "+s+"\n"), dir(top+"infra/"),
		file(top+"infra/Pulumi.yaml", "name: app\nruntime: yaml\n"), file(top+"pad", strings.Repeat("p", size)))
}

func newFetcher(t *testing.T, g *fakeGitHub, cfg Config) *Fetcher {
	t.Helper()
	if cfg.Dir == "" {
		cfg.Dir = filepath.Join(t.TempDir(), "cache")
	}
	f, err := New(cfg, g.srv.Client(), nil)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return f
}

func TestFetcherCachesPerCommit(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	g := newFakeGitHub(t)
	g.add(sha('a'), repoTarball(t, sha('a'), 10))
	f := newFetcher(t, g, Config{})
	gh := g.client(t)

	t.Run("the first fetch downloads and extracts", func(t *testing.T) {
		dir, err := f.Fetch(ctx, gh, "acme", "app", sha('a'))
		if err != nil {
			t.Fatalf("Fetch: %v", err)
		}
		if want := filepath.Join(f.cfg.Dir, "acme", "app", sha('a')); dir != want {
			t.Errorf("dir = %s, want %s", dir, want)
		}
		if b, err := os.ReadFile(filepath.Join(dir, "README.md")); err != nil || string(b) != "# "+sha('a')+"\n" {
			t.Errorf("README.md = %q, %v", b, err)
		}
	})
	t.Run("later fetches use the cache", func(t *testing.T) {
		if _, err := f.Fetch(ctx, gh, "ACME", "App", strings.ToUpper(sha('a'))); err != nil {
			t.Fatalf("Fetch: %v", err)
		}
		if n := g.count(sha('a')); n != 1 {
			t.Errorf("downloads = %d, want 1", n)
		}
	})
	t.Run("a restarted fetcher finds the cached tree", func(t *testing.T) {
		again := newFetcher(t, g, Config{Dir: f.cfg.Dir})
		if _, err := again.Fetch(ctx, gh, "acme", "app", sha('a')); err != nil {
			t.Fatalf("Fetch: %v", err)
		}
		if n := g.count(sha('a')); n != 1 {
			t.Errorf("downloads = %d, want 1", n)
		}
	})
	t.Run("concurrent fetches of one commit download it once", func(t *testing.T) {
		g.add(sha('b'), repoTarball(t, sha('b'), 10))
		gate := make(chan struct{})
		g.mu.Lock()
		g.gate = gate
		g.mu.Unlock()
		const n = 5
		var started, done sync.WaitGroup
		errs := make(chan error, n)
		started.Add(n)
		done.Add(n)
		for range n {
			go func() {
				defer done.Done()
				started.Done()
				_, err := f.Fetch(ctx, gh, "acme", "app", sha('b'))
				errs <- err
			}()
		}
		started.Wait()
		finished := make(chan struct{})
		go func() { done.Wait(); close(finished) }()
		select {
		case <-g.arrived: // the one download is under way; the other callers wait for it or find the cache
		case <-finished: // every fetch failed before downloading; reported below
		}
		close(gate)
		<-finished
		close(errs)
		for err := range errs {
			if err != nil {
				t.Errorf("Fetch: %v", err)
			}
		}
		if c := g.count(sha('b')); c != 1 {
			t.Errorf("downloads = %d, want 1", c)
		}
	})
}

func TestFetcherRefusesAnUnsafeTarball(t *testing.T) {
	t.Parallel()
	g := newFakeGitHub(t)
	top := "acme-app-ccccccc/"
	g.add(sha('c'), tarball(t, dir(top), file(top+"ok", "x"), file(top+"../../escape", "x")))
	f := newFetcher(t, g, Config{})
	_, err := f.Fetch(context.Background(), g.client(t), "acme", "app", sha('c'))
	if !errors.Is(err, ErrUnsafeArchive) || !strings.Contains(err.Error(), "../../escape") {
		t.Fatalf("Fetch = %v, want ErrUnsafeArchive naming the entry", err)
	}
	if _, err := os.Stat(filepath.Join(f.cfg.Dir, "acme", "app", sha('c'))); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a refused tree is in the cache: %v", err)
	}
	if left, _ := os.ReadDir(filepath.Join(f.cfg.Dir, ".tmp")); len(left) != 0 {
		t.Errorf("extraction left %d entries in .tmp", len(left))
	}
	// Failures are not cached: the next fetch tries again.
	if _, err := f.Fetch(context.Background(), g.client(t), "acme", "app", sha('c')); err == nil || g.count(sha('c')) != 2 {
		t.Errorf("second Fetch = %v after %d downloads, want another refused download", err, g.count(sha('c')))
	}
}

func TestFetcherReportsDownloadErrors(t *testing.T) {
	t.Parallel()
	g := newFakeGitHub(t)
	f := newFetcher(t, g, Config{})
	ctx := context.Background()
	t.Run("unknown commit", func(t *testing.T) {
		_, err := f.Fetch(ctx, g.client(t), "acme", "app", sha('d'))
		if err == nil || !strings.Contains(err.Error(), "asking GitHub for the tarball of acme/app at ddddddd") {
			t.Errorf("Fetch = %v", err)
		}
	})
	t.Run("failed download, without the signed URL's token", func(t *testing.T) {
		g.add(sha('e'), nil) // the API hands out a link, the download fails
		_, err := f.Fetch(ctx, g.client(t), "acme", "app", sha('e'))
		if err == nil || !strings.Contains(err.Error(), "HTTP 500") || strings.Contains(err.Error(), downloadToken) {
			t.Errorf("Fetch = %v, want HTTP 500 without the token", err)
		}
	})
	t.Run("invalid names and refs are refused before any request", func(t *testing.T) {
		for _, c := range []struct{ owner, repo, ref string }{
			{"acme", "app", "main"}, {"acme", "app", sha('a')[:12]}, {"..", "app", sha('a')}, {"acme", "a/b", sha('a')},
		} {
			if _, err := f.Fetch(ctx, g.client(t), c.owner, c.repo, c.ref); err == nil {
				t.Errorf("Fetch(%q, %q, %q) succeeded", c.owner, c.repo, c.ref)
			}
		}
	})
}

func TestFetcherEvictsLeastRecentlyUsedTrees(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	g := newFakeGitHub(t)
	for _, c := range []byte("cde") {
		g.add(sha(c), repoTarball(t, sha(c), 1000))
	}
	f := newFetcher(t, g, Config{MaxCacheBytes: 1500})
	gh := g.client(t)
	now := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	f.now = func() time.Time { return now }
	cached := func(c byte) bool {
		_, err := os.Stat(filepath.Join(f.cfg.Dir, "acme", "app", sha(c)))
		return err == nil
	}
	fetch := func(c byte) {
		t.Helper()
		if _, err := f.Fetch(ctx, gh, "acme", "app", sha(c)); err != nil {
			t.Fatalf("Fetch %c: %v", c, err)
		}
	}

	fetch('c')
	now = now.Add(2 * time.Minute)
	fetch('d')
	if cached('c') || !cached('d') {
		t.Errorf("after d: c cached %v, d cached %v; want only d (the bound fits one tree)", cached('c'), cached('d'))
	}
	now = now.Add(10 * time.Second)
	fetch('e')
	if !cached('d') || !cached('e') {
		t.Errorf("after e: d cached %v, e cached %v; want both (d was used %s ago)", cached('d'), cached('e'), 10*time.Second)
	}
	now = now.Add(2 * time.Minute)
	fetch('e') // a use of e alone makes room by evicting d
	if cached('d') || !cached('e') {
		t.Errorf("later: d cached %v, e cached %v; want only e", cached('d'), cached('e'))
	}
	if n := g.count(sha('e')); n != 1 {
		t.Errorf("e downloaded %d times, want 1", n)
	}
}

func TestProjectThroughTheGitHubSimulator(t *testing.T) {
	t.Parallel()
	sim, err := githubsim.New(githubsim.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(sim.Close)
	inst := sim.AddInstallation("acme")
	repo, err := sim.CreateRepo("acme", "app", map[string]string{
		"README.md":         "# app\n",
		"infra/Pulumi.yaml": "name: app\nruntime: yaml\n",
		"docs/guide.md":     "guide\n",
	})
	if err != nil {
		t.Fatal(err)
	}
	tr, err := ghinstallation.New(http.DefaultTransport, sim.AppID(), inst, sim.AppPrivateKeyPEM())
	if err != nil {
		t.Fatal(err)
	}
	tr.BaseURL = sim.URL()
	gh, err := github.NewClient(&http.Client{Transport: tr}).WithEnterpriseURLs(sim.URL(), sim.URL())
	if err != nil {
		t.Fatal(err)
	}
	f, err := New(Config{Dir: t.TempDir()}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()

	dir, err := f.Project(ctx, gh.Repositories, "acme", "app", repo.HeadSHA, "infra")
	if err != nil {
		t.Fatalf("Project: %v", err)
	}
	if b, err := os.ReadFile(filepath.Join(dir, "Pulumi.yaml")); err != nil || !strings.Contains(string(b), "runtime: yaml") {
		t.Errorf("Pulumi.yaml = %q, %v", b, err)
	}
	for _, tt := range []struct {
		path string
		want error
	}{
		{"", ErrNoProject},
		{"docs", ErrNoProject},
		{"missing", ErrNoProject},
		{"README.md", ErrNoProject},
		{"../app", ErrInvalidPath},
		{"infra/../../x", ErrInvalidPath},
		{"/infra", ErrInvalidPath},
	} {
		t.Run(fmt.Sprintf("path %q", tt.path), func(t *testing.T) {
			_, err := f.Project(ctx, gh.Repositories, "acme", "app", repo.HeadSHA, tt.path)
			if !errors.Is(err, tt.want) || !strings.Contains(err.Error(), fmt.Sprintf("%q", tt.path)) {
				t.Errorf("Project = %v, want %v naming the path", err, tt.want)
			}
		})
	}
}
