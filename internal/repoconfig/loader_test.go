package repoconfig

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-github/v60/github"

	"github.com/stagecoach/stagecoach/internal/githubapi"
)

// fakeGitHub speaks GitHub's REST JSON for the three endpoints the Loader
// uses: the repository, a branch and a file's contents at a ref.
type fakeGitHub struct {
	mu            sync.Mutex
	defaultBranch string
	head          string            // SHA of the default branch; "" = the branch does not exist
	files         map[string]string // content of .stagecoach.yaml by commit SHA
	dirs          map[string]bool   // commits where .stagecoach.yaml is a directory
	failContents  int               // answer this many contents requests with 500
	release       chan struct{}     // if set, contents requests wait for it to close
	branchAsked   chan struct{}     // if set, receives a value per branch request

	repoHits, branchHits, contentHits atomic.Int32
	refs                              []string // refs asked of the contents endpoint
}

func (g *fakeGitHub) setHead(sha, content string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.head = sha
	if g.files == nil {
		g.files = map[string]string{}
	}
	g.files[sha] = content
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func notFound(w http.ResponseWriter) {
	writeJSON(w, http.StatusNotFound, map[string]string{"message": "Not Found", "documentation_url": "https://docs.github.com/rest"})
}

func (g *fakeGitHub) handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /repos/{owner}/{repo}", func(w http.ResponseWriter, r *http.Request) {
		g.repoHits.Add(1)
		if !strings.EqualFold(r.PathValue("owner"), "acme") || !strings.EqualFold(r.PathValue("repo"), "web") { // GitHub ignores case here
			notFound(w)
			return
		}
		g.mu.Lock()
		defer g.mu.Unlock()
		writeJSON(w, http.StatusOK, map[string]any{"id": 1, "name": "web", "full_name": "acme/web", "default_branch": g.defaultBranch})
	})
	mux.HandleFunc("GET /repos/{owner}/{repo}/branches/{branch}", func(w http.ResponseWriter, r *http.Request) {
		g.branchHits.Add(1)
		if g.branchAsked != nil {
			g.branchAsked <- struct{}{}
		}
		g.mu.Lock()
		defer g.mu.Unlock()
		if r.PathValue("branch") != g.defaultBranch || g.head == "" {
			writeJSON(w, http.StatusNotFound, map[string]string{"message": "Branch not found"})
			return
		}
		writeJSON(w, http.StatusOK, map[string]any{"name": g.defaultBranch, "commit": map[string]any{"sha": g.head}, "protected": false})
	})
	mux.HandleFunc("GET /repos/{owner}/{repo}/contents/{path...}", func(w http.ResponseWriter, r *http.Request) {
		g.contentHits.Add(1)
		if g.release != nil {
			<-g.release
		}
		ref := r.URL.Query().Get("ref")
		g.mu.Lock()
		defer g.mu.Unlock()
		g.refs = append(g.refs, ref)
		if g.failContents > 0 {
			g.failContents--
			writeJSON(w, http.StatusInternalServerError, map[string]string{"message": "Server Error"})
			return
		}
		if r.PathValue("path") != FileName {
			notFound(w)
			return
		}
		if g.dirs[ref] {
			writeJSON(w, http.StatusOK, []map[string]any{{"type": "file", "name": "a.yaml", "path": FileName + "/a.yaml"}})
			return
		}
		content, ok := g.files[ref]
		if !ok {
			notFound(w)
			return
		}
		// GitHub wraps base64 content at 60 characters.
		enc := base64.StdEncoding.EncodeToString([]byte(content))
		var wrapped strings.Builder
		for len(enc) > 60 {
			wrapped.WriteString(enc[:60] + "\n")
			enc = enc[60:]
		}
		wrapped.WriteString(enc + "\n")
		writeJSON(w, http.StatusOK, map[string]any{
			"type": "file", "encoding": "base64", "size": len(content), "name": FileName, "path": FileName,
			"content": wrapped.String(), "sha": "blob-" + ref,
		})
	})
	return mux
}

// newTestLoader starts a fake GitHub and returns a Loader talking to it
// through the real go-github client.
func newTestLoader(t *testing.T, g *fakeGitHub, cacheSize int) *Loader {
	t.Helper()
	srv := httptest.NewServer(g.handler())
	t.Cleanup(srv.Close)
	client := github.NewClient(srv.Client())
	base, err := url.Parse(srv.URL + "/")
	if err != nil {
		t.Fatal(err)
	}
	client.BaseURL = base
	return NewLoader(githubapi.REST{C: client}, slog.New(slog.DiscardHandler), cacheSize)
}

const (
	sha1 = "1111111111111111111111111111111111111111"
	sha2 = "2222222222222222222222222222222222222222"
)

// A long file exercises GitHub's line-wrapped base64.
const validFile = "# PR environments for the web app\nversion: 1\nproject: deploy/pulumi\nephemeral:\n  enabled: true\n  ttl: 2d\n"

func TestLoader(t *testing.T) {
	t.Parallel()
	ctx := context.Background()

	t.Run("reads the file at the default branch head and reports the commit", func(t *testing.T) {
		t.Parallel()
		g := &fakeGitHub{defaultBranch: "trunk"}
		g.setHead(sha1, validFile)
		l := newTestLoader(t, g, 0)
		got, err := l.Load(ctx, "acme", "web")
		if err != nil {
			t.Fatal(err)
		}
		if got.SHA != sha1 || got.Branch != "trunk" {
			t.Errorf("loaded at %s@%s, want trunk@%s", got.Branch, got.SHA, sha1)
		}
		if got.Config.Project != "deploy/pulumi" || !got.Config.Ephemeral.Enabled || got.Config.Ephemeral.TTL != 48*time.Hour {
			t.Errorf("config %+v", got.Config)
		}
		if len(g.refs) != 1 || g.refs[0] != sha1 {
			t.Errorf("contents read at refs %q, want exactly the head commit %s", g.refs, sha1)
		}
	})

	t.Run("a second load of the same commit is served from the cache", func(t *testing.T) {
		t.Parallel()
		g := &fakeGitHub{defaultBranch: "main"}
		g.setHead(sha1, validFile)
		l := newTestLoader(t, g, 0)
		first, err := l.Load(ctx, "acme", "web")
		if err != nil {
			t.Fatal(err)
		}
		second, err := l.Load(ctx, "Acme", "Web")
		if err != nil {
			t.Fatal(err)
		}
		if second.Config != first.Config {
			t.Errorf("second load parsed anew instead of using the cache")
		}
		if n := g.contentHits.Load(); n != 1 {
			t.Errorf("contents requested %d times, want 1", n)
		}
		if n := g.branchHits.Load(); n != 2 {
			t.Errorf("branch requested %d times, want 2 (the head is checked on every load)", n)
		}
	})

	t.Run("a new default branch head re-reads the file", func(t *testing.T) {
		t.Parallel()
		g := &fakeGitHub{defaultBranch: "main"}
		g.setHead(sha1, validFile)
		l := newTestLoader(t, g, 0)
		if _, err := l.Load(ctx, "acme", "web"); err != nil {
			t.Fatal(err)
		}
		g.setHead(sha2, "project: infra2\n")
		got, err := l.Load(ctx, "acme", "web")
		if err != nil {
			t.Fatal(err)
		}
		if got.SHA != sha2 || got.Config.Project != "infra2" {
			t.Errorf("loaded %s with project %q, want %s with infra2", got.SHA, got.Config.Project, sha2)
		}
		if n := g.contentHits.Load(); n != 2 {
			t.Errorf("contents requested %d times, want 2", n)
		}
	})

	t.Run("a missing file is ErrNotFound, cached per commit", func(t *testing.T) {
		t.Parallel()
		g := &fakeGitHub{defaultBranch: "main", head: sha1}
		l := newTestLoader(t, g, 0)
		for range 2 {
			got, err := l.Load(ctx, "acme", "web")
			if !errors.Is(err, ErrNotFound) {
				t.Fatalf("Load error = %v, want ErrNotFound", err)
			}
			if got.SHA != sha1 || got.Config != nil {
				t.Errorf("Load = %+v, want the SHA and no config", got)
			}
		}
		if n := g.contentHits.Load(); n != 1 {
			t.Errorf("contents requested %d times, want 1", n)
		}
	})

	t.Run("an invalid file is a ValidationError, cached per commit", func(t *testing.T) {
		t.Parallel()
		g := &fakeGitHub{defaultBranch: "main"}
		g.setHead(sha1, "ephemeral:\n  ttl: 3x\n  max_active: 0\n")
		l := newTestLoader(t, g, 0)
		for range 2 {
			got, err := l.Load(ctx, "acme", "web")
			var verr *ValidationError
			if !errors.As(err, &verr) {
				t.Fatalf("Load error = %v, want *ValidationError", err)
			}
			want := ".stagecoach.yaml:2:8: ephemeral.ttl: invalid duration \"3x\": unknown unit \"x\" (use ns, us, ms, s, m, h or d)\n" +
				".stagecoach.yaml:3:15: ephemeral.max_active: must be at least 1, got 0"
			if verr.Error() != want {
				t.Errorf("errors:\n%s\nwant:\n%s", verr, want)
			}
			if got.SHA != sha1 {
				t.Errorf("SHA %q, want %s", got.SHA, sha1)
			}
		}
		if n := g.contentHits.Load(); n != 1 {
			t.Errorf("contents requested %d times, want 1", n)
		}
	})

	t.Run("a directory in place of the file is a ValidationError", func(t *testing.T) {
		t.Parallel()
		g := &fakeGitHub{defaultBranch: "main", head: sha1, dirs: map[string]bool{sha1: true}}
		l := newTestLoader(t, g, 0)
		_, err := l.Load(ctx, "acme", "web")
		var verr *ValidationError
		if !errors.As(err, &verr) || verr.Error() != ".stagecoach.yaml: is a directory, not a file" {
			t.Errorf("Load error = %v, want a ValidationError saying it is a directory", err)
		}
	})

	t.Run("an empty repository has no config", func(t *testing.T) {
		t.Parallel()
		g := &fakeGitHub{defaultBranch: "main"}
		l := newTestLoader(t, g, 0)
		if _, err := l.Load(ctx, "acme", "web"); !errors.Is(err, ErrNotFound) {
			t.Errorf("Load error = %v, want ErrNotFound", err)
		}
	})

	t.Run("an unknown repository is an error, not ErrNotFound", func(t *testing.T) {
		t.Parallel()
		g := &fakeGitHub{defaultBranch: "main", head: sha1}
		l := newTestLoader(t, g, 0)
		_, err := l.Load(ctx, "acme", "gone")
		var gerr *github.ErrorResponse
		if err == nil || errors.Is(err, ErrNotFound) || !errors.As(err, &gerr) || !strings.HasPrefix(err.Error(), "getting repository acme/gone: ") {
			t.Errorf("Load error = %v, want the wrapped GitHub 404", err)
		}
	})

	t.Run("a GitHub failure is returned and not cached", func(t *testing.T) {
		t.Parallel()
		g := &fakeGitHub{defaultBranch: "main", failContents: 1}
		g.setHead(sha1, validFile)
		l := newTestLoader(t, g, 0)
		_, err := l.Load(ctx, "acme", "web")
		var verr *ValidationError
		if err == nil || errors.Is(err, ErrNotFound) || errors.As(err, &verr) {
			t.Fatalf("Load error = %v, want a transport error", err)
		}
		if _, err := l.Load(ctx, "acme", "web"); err != nil {
			t.Fatalf("Load after the failure: %v", err)
		}
		if n := g.contentHits.Load(); n != 2 {
			t.Errorf("contents requested %d times, want 2", n)
		}
	})

	t.Run("the cache evicts the least recently used commit", func(t *testing.T) {
		t.Parallel()
		g := &fakeGitHub{defaultBranch: "main"}
		g.setHead(sha2, validFile)
		g.setHead(sha1, validFile)
		l := newTestLoader(t, g, 1)
		for _, sha := range []string{sha1, sha2, sha1} {
			g.setHead(sha, validFile)
			if _, err := l.Load(ctx, "acme", "web"); err != nil {
				t.Fatal(err)
			}
		}
		if n := g.contentHits.Load(); n != 3 {
			t.Errorf("contents requested %d times, want 3 with room for one commit", n)
		}
		if n := l.cache.len(); n != 1 {
			t.Errorf("cache holds %d entries, want 1", n)
		}
	})

	t.Run("concurrent loads of one commit read the file once", func(t *testing.T) {
		t.Parallel()
		const n = 8
		g := &fakeGitHub{defaultBranch: "main", release: make(chan struct{}), branchAsked: make(chan struct{}, n)}
		g.setHead(sha1, validFile)
		l := newTestLoader(t, g, 0)
		var wg sync.WaitGroup
		errs := make(chan error, n)
		configs := make(chan *Config, n)
		for range n {
			wg.Go(func() {
				got, err := l.Load(ctx, "acme", "web")
				errs <- err
				configs <- got.Config
			})
		}
		// Hold the first contents request until every caller has asked
		// for the branch head, then let it finish.
		for range n {
			<-g.branchAsked
		}
		close(g.release)
		wg.Wait()
		close(errs)
		close(configs)
		for err := range errs {
			if err != nil {
				t.Fatal(err)
			}
		}
		var first *Config
		for c := range configs {
			if first == nil {
				first = c
			} else if c != first {
				t.Errorf("callers got different configs")
			}
		}
		if got := g.contentHits.Load(); got != 1 {
			t.Errorf("contents requested %d times, want 1", got)
		}
	})
}
