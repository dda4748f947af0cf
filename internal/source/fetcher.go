// Package source fetches a repository at an exact commit as a tarball through the GitHub API, extracts
// it safely (no absolute paths, no "..", no escaping links, no devices, capped bytes and entries) and
// keeps the trees in a per-commit cache bounded in size.
package source

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/google/go-github/v60/github"
	"golang.org/x/sync/singleflight"

	"github.com/stagecoach/stagecoach/internal/render"
)

// Defaults applied by New to zero Config fields.
const (
	// DefaultMaxCacheBytes bounds the whole cache.
	DefaultMaxCacheBytes = 2 << 30
	// DefaultMaxBytes bounds the files of one tarball.
	DefaultMaxBytes = 512 << 20
	// DefaultMaxFiles bounds the entries of one tarball.
	DefaultMaxFiles = 50_000
	// DefaultFetchTimeout bounds one download and extraction.
	DefaultFetchTimeout = 10 * time.Minute
)

// Errors callers can test with errors.Is, besides ErrUnsafeArchive and ErrArchiveTooLarge.
var (
	// ErrNoProject reports a project path that is not a directory holding Pulumi.yaml.
	ErrNoProject = errors.New("no Pulumi project")
	// ErrInvalidPath reports a project path that is absolute or leaves the repository.
	ErrInvalidPath = errors.New("invalid project path")
)

// Config configures a Fetcher. New applies the documented defaults to zero fields.
type Config struct {
	// Dir is the cache directory; trees live in <Dir>/<owner>/<repo>/<sha>. Required, absolute;
	// created when missing.
	Dir string
	// MaxCacheBytes bounds the bytes of all cached trees; the least recently used are evicted.
	// Default 2 GiB. A tree used in the last minute is never evicted.
	MaxCacheBytes int64
	// MaxBytes bounds the total size of the files in one tarball. Default 512 MiB.
	MaxBytes int64
	// MaxFiles bounds the number of entries in one tarball. Default 50,000.
	MaxFiles int
	// FetchTimeout bounds one download and extraction, which continues for the other callers when
	// the caller who started it gives up. Default 10m.
	FetchTimeout time.Duration
}

// Validate reports every problem with the configuration at once.
func (c Config) Validate() error {
	var errs []error
	if c.Dir == "" || !filepath.IsAbs(c.Dir) {
		errs = append(errs, fmt.Errorf("source cache dir %q must be an absolute directory", c.Dir))
	}
	if c.MaxCacheBytes < 0 || c.MaxBytes < 0 || c.MaxFiles < 0 || c.FetchTimeout < 0 {
		errs = append(errs, errors.New("source cache limits must not be negative"))
	}
	return errors.Join(errs...)
}

func (c Config) withDefaults() Config {
	if c.MaxCacheBytes == 0 {
		c.MaxCacheBytes = DefaultMaxCacheBytes
	}
	if c.MaxBytes == 0 {
		c.MaxBytes = DefaultMaxBytes
	}
	if c.MaxFiles == 0 {
		c.MaxFiles = DefaultMaxFiles
	}
	if c.FetchTimeout == 0 {
		c.FetchTimeout = DefaultFetchTimeout
	}
	return c
}

// Archiver hands out tarball download links. go-github's *github.RepositoriesService, authenticated
// as the installation, satisfies it.
type Archiver interface {
	GetArchiveLink(ctx context.Context, owner, repo string, format github.ArchiveFormat,
		opts *github.RepositoryContentGetOptions, maxRedirects int) (*url.URL, *github.Response, error)
}

// Fetcher downloads and caches repository trees. It is safe for concurrent use; concurrent fetches of
// one commit download it once.
type Fetcher struct {
	cfg    Config
	client *http.Client
	log    *slog.Logger
	now    func() time.Time
	group  singleflight.Group

	mu      sync.Mutex
	entries map[string]*entry // by cache key owner/repo/sha
}

var (
	namePattern = regexp.MustCompile(`^[A-Za-z0-9_.-]+$`)
	shaPattern  = regexp.MustCompile(`^([0-9a-f]{40}|[0-9a-f]{64})$`)
)

// New returns a Fetcher caching in cfg.Dir. client downloads the tarballs from the links the API
// returns (nil means http.DefaultClient); logger defaults to discarding.
func New(cfg Config, client *http.Client, logger *slog.Logger) (*Fetcher, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("source config: %w", err)
	}
	cfg = cfg.withDefaults()
	if client == nil {
		client = http.DefaultClient
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	f := &Fetcher{cfg: cfg, client: client, log: logger, now: time.Now}
	if err := f.load(); err != nil {
		return nil, err
	}
	return f, nil
}

// Fetch returns the directory holding the repository's tree at sha, downloading it through gh on
// first use. The directory is shared and must not be written to.
func (f *Fetcher) Fetch(ctx context.Context, gh Archiver, owner, repo, sha string) (string, error) {
	sha = strings.ToLower(sha)
	if !namePattern.MatchString(owner) || !namePattern.MatchString(repo) || owner == ".." || repo == ".." || owner == "." || repo == "." {
		return "", fmt.Errorf("fetching %s/%s: invalid repository name", owner, repo)
	}
	if !shaPattern.MatchString(sha) {
		return "", fmt.Errorf("fetching %s/%s at %q: a full commit SHA is required", owner, repo, sha)
	}
	key := strings.ToLower(owner) + "/" + strings.ToLower(repo) + "/" + sha
	if dir, ok := f.lookup(key); ok {
		return dir, nil
	}
	ch := f.group.DoChan(key, func() (any, error) {
		// The download continues for other callers when this one gives up.
		wctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), f.cfg.FetchTimeout)
		defer cancel()
		return f.download(wctx, gh, owner, repo, sha, key)
	})
	select {
	case <-ctx.Done():
		return "", fmt.Errorf("fetching %s/%s at %s: %w", owner, repo, render.ShortSHA(sha), ctx.Err())
	case res := <-ch:
		if res.Err != nil {
			return "", res.Err
		}
		return res.Val.(string), nil
	}
}

// Project returns the directory of the Pulumi project at projectPath ("" or "." for the repository
// root) in the tree at sha. It refuses a path that is absolute or leaves the repository, and says so
// when the directory or its Pulumi.yaml is missing.
func (f *Fetcher) Project(ctx context.Context, gh Archiver, owner, repo, sha, projectPath string) (string, error) {
	clean, err := cleanProjectPath(projectPath)
	if err != nil {
		return "", err
	}
	root, err := f.Fetch(ctx, gh, owner, repo, sha)
	if err != nil {
		return "", err
	}
	where := fmt.Sprintf("%s/%s at %s", owner, repo, render.ShortSHA(sha))
	realRoot, err := filepath.EvalSymlinks(root)
	if err != nil {
		return "", fmt.Errorf("opening %s: %w", where, err)
	}
	dir, err := filepath.EvalSymlinks(filepath.Join(realRoot, filepath.FromSlash(clean)))
	if err != nil {
		return "", fmt.Errorf("%w: project path %q does not exist in %s", ErrNoProject, projectPath, where)
	}
	if rel, err := filepath.Rel(realRoot, dir); err != nil || rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
		return "", fmt.Errorf("%w: project path %q leads outside the repository", ErrInvalidPath, projectPath)
	}
	if info, err := os.Stat(dir); err != nil || !info.IsDir() {
		return "", fmt.Errorf("%w: project path %q is not a directory in %s", ErrNoProject, projectPath, where)
	}
	for _, name := range []string{"Pulumi.yaml", "Pulumi.yml"} {
		if info, err := os.Stat(filepath.Join(dir, name)); err == nil && info.Mode().IsRegular() {
			return dir, nil
		}
	}
	return "", fmt.Errorf("%w: no Pulumi.yaml in %q in %s", ErrNoProject, projectPath, where)
}

// cleanProjectPath checks a repository-relative project path and returns it cleaned ("." for the root).
func cleanProjectPath(p string) (string, error) {
	if strings.HasPrefix(p, "/") || filepath.IsAbs(p) || strings.ContainsRune(p, 0) {
		return "", fmt.Errorf("%w: %q is absolute; give a path relative to the repository root", ErrInvalidPath, p)
	}
	for _, part := range strings.Split(filepath.ToSlash(p), "/") {
		if part == ".." {
			return "", fmt.Errorf("%w: %q leaves the repository", ErrInvalidPath, p)
		}
	}
	clean := filepath.ToSlash(filepath.Clean(filepath.FromSlash(p)))
	if clean == "" {
		clean = "."
	}
	return clean, nil
}

// download fetches and extracts one tarball into the cache and returns its directory.
func (f *Fetcher) download(ctx context.Context, gh Archiver, owner, repo, sha, key string) (string, error) {
	where := fmt.Sprintf("%s/%s at %s", owner, repo, render.ShortSHA(sha))
	dir := f.dir(key)
	if _, err := os.Stat(dir); err == nil {
		// Extracted meanwhile by another process sharing the cache.
		f.adopt(key)
		return dir, nil
	}
	started := f.now()
	link, ghResp, err := gh.GetArchiveLink(ctx, owner, repo, github.Tarball, &github.RepositoryContentGetOptions{Ref: sha}, 1)
	if err != nil {
		return "", fmt.Errorf("asking GitHub for the tarball of %s: %w", where, err)
	}
	if !link.IsAbs() && ghResp != nil && ghResp.Response != nil && ghResp.Request != nil {
		link = ghResp.Request.URL.ResolveReference(link)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, link.String(), nil)
	if err != nil {
		return "", fmt.Errorf("downloading the tarball of %s: %w", where, err)
	}
	resp, err := f.client.Do(req)
	if err != nil {
		// The link may carry a token: name only its host.
		var uerr *url.Error
		if errors.As(err, &uerr) {
			err = uerr.Err
		}
		return "", fmt.Errorf("downloading the tarball of %s from %s: %w", where, link.Host, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("downloading the tarball of %s from %s: HTTP %s", where, link.Host, resp.Status)
	}

	tmpRoot := filepath.Join(f.cfg.Dir, ".tmp")
	if err := os.MkdirAll(tmpRoot, 0o700); err != nil {
		return "", fmt.Errorf("preparing the cache: %w", err)
	}
	tmp, err := os.MkdirTemp(tmpRoot, "extract-")
	if err != nil {
		return "", fmt.Errorf("preparing the cache: %w", err)
	}
	defer os.RemoveAll(tmp) // a no-op once renamed
	lim := limits{maxBytes: f.cfg.MaxBytes, maxFiles: f.cfg.MaxFiles}
	body := &cappedReader{r: resp.Body, left: lim.stream(),
		err: fmt.Errorf("%w: the download is larger than %d bytes", ErrArchiveTooLarge, lim.stream())}
	if err := extract(body, tmp, lim); err != nil {
		return "", fmt.Errorf("extracting the tarball of %s: %w", where, err)
	}
	size, err := treeSize(tmp)
	if err != nil {
		return "", fmt.Errorf("extracting the tarball of %s: %w", where, err)
	}
	if err := f.install(key, tmp, size); err != nil {
		return "", fmt.Errorf("caching the tree of %s: %w", where, err)
	}
	f.log.Info("fetched repository tree", "repo", owner+"/"+repo, "sha", sha, "bytes", size,
		"duration", f.now().Sub(started))
	return dir, nil
}

// cappedReader fails with err once more than left bytes were read.
type cappedReader struct {
	r    io.Reader
	left int64
	err  error
}

func (c *cappedReader) Read(p []byte) (int, error) {
	if c.left <= 0 {
		return 0, c.err
	}
	if int64(len(p)) > c.left {
		p = p[:c.left]
	}
	n, err := c.r.Read(p)
	c.left -= int64(n)
	return n, err
}
