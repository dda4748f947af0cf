package repoconfig

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"

	"github.com/google/go-github/v60/github"
	"golang.org/x/sync/singleflight"
)

// ErrNotFound means the repository has no .stagecoach.yaml on its default
// branch (or no default branch at all, as in an empty repository). Such a
// repository has not opted in: the bot stays quiet.
var ErrNotFound = errors.New(FileName + " not found on the default branch")

// DefaultCacheSize is the number of commits whose configuration a Loader
// keeps when NewLoader is given no size.
const DefaultCacheSize = 256

// RepositoriesClient is the part of the GitHub API the Loader uses;
// githubapi.Client satisfies it.
type RepositoriesClient interface {
	GetRepository(ctx context.Context, owner, repo string) (*github.Repository, *github.Response, error)
	GetBranch(ctx context.Context, owner, repo, branch string, maxRedirects int) (*github.Branch, *github.Response, error)
	GetContents(ctx context.Context, owner, repo, path string, opts *github.RepositoryContentGetOptions) (*github.RepositoryContent, []*github.RepositoryContent, *github.Response, error)
}

// Loaded is the outcome of Loader.Load.
type Loaded struct {
	// Config is the parsed configuration; nil when Load returns an error.
	// It is shared with other callers through the cache: treat it as
	// read-only.
	Config *Config
	// Branch is the repository's default branch.
	Branch string
	// SHA is the commit the file was read at. It is set whenever the
	// default branch's head was found, including when Load returns
	// ErrNotFound or a *ValidationError.
	SHA string
}

// Loader reads .stagecoach.yaml from a repository's default branch and
// caches the outcome per commit (a bounded LRU), including a missing or
// invalid file. Concurrent loads of the same commit share one request. It is
// safe for concurrent use.
type Loader struct {
	client RepositoriesClient
	logger *slog.Logger
	cache  *lru
	flight singleflight.Group
}

// NewLoader returns a Loader using client (a githubapi.Client of the
// installation). cacheSize ≤ 0
// means DefaultCacheSize; a nil logger discards logs.
func NewLoader(client RepositoriesClient, logger *slog.Logger, cacheSize int) *Loader {
	if cacheSize <= 0 {
		cacheSize = DefaultCacheSize
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &Loader{client: client, logger: logger, cache: newLRU(cacheSize)}
}

// Load returns the configuration at the head of the repository's default
// branch. It asks GitHub for the default branch and its head on every call
// (two requests) and reads the file only for a commit it has not seen.
//
// Errors: ErrNotFound when the file (or the default branch) does not exist;
// a *ValidationError (check with errors.As) listing every problem when the
// file is invalid; any other error is a failure to reach GitHub and is not
// cached.
func (l *Loader) Load(ctx context.Context, owner, repo string) (Loaded, error) {
	r, _, err := l.client.GetRepository(ctx, owner, repo)
	if err != nil {
		return Loaded{}, fmt.Errorf("getting repository %s/%s: %w", owner, repo, err)
	}
	out := Loaded{Branch: r.GetDefaultBranch()}
	if out.Branch == "" {
		return out, ErrNotFound
	}
	b, resp, err := l.client.GetBranch(ctx, owner, repo, out.Branch, 1)
	if err != nil {
		if isNotFound(resp) {
			return out, ErrNotFound
		}
		return out, fmt.Errorf("getting default branch %s of %s/%s: %w", out.Branch, owner, repo, err)
	}
	out.SHA = b.GetCommit().GetSHA()
	if out.SHA == "" {
		return out, fmt.Errorf("getting default branch %s of %s/%s: no head commit in the response", out.Branch, owner, repo)
	}
	out.Config, err = l.at(ctx, owner, repo, out.SHA)
	return out, err
}

// at returns the configuration at a commit, from the cache or GitHub.
func (l *Loader) at(ctx context.Context, owner, repo, sha string) (*Config, error) {
	key := strings.ToLower(owner+"/"+repo) + "@" + sha
	log := l.logger.With("repo", owner+"/"+repo, "sha", sha)
	if e, ok := l.cache.get(key); ok {
		log.DebugContext(ctx, "repository config from cache")
		return e.config, e.err
	}
	v, err, _ := l.flight.Do(key, func() (any, error) {
		if e, ok := l.cache.get(key); ok {
			return e, nil
		}
		cfg, err := l.fetch(ctx, owner, repo, sha)
		var verr *ValidationError
		if err != nil && !errors.Is(err, ErrNotFound) && !errors.As(err, &verr) {
			return nil, err
		}
		e := entry{config: cfg, err: err}
		l.cache.add(key, e)
		switch {
		case errors.Is(err, ErrNotFound):
			log.DebugContext(ctx, "repository has no config file")
		case err != nil:
			log.InfoContext(ctx, "repository config is invalid", "problems", len(verr.Errors))
		default:
			log.DebugContext(ctx, "repository config loaded")
		}
		return e, nil
	})
	if err != nil {
		return nil, err
	}
	e := v.(entry)
	return e.config, e.err
}

// fetch reads and parses the file at a commit.
func (l *Loader) fetch(ctx context.Context, owner, repo, sha string) (*Config, error) {
	file, dir, resp, err := l.client.GetContents(ctx, owner, repo, FileName, &github.RepositoryContentGetOptions{Ref: sha})
	if err != nil {
		if isNotFound(resp) {
			return nil, ErrNotFound
		}
		return nil, fmt.Errorf("reading %s of %s/%s at %s: %w", FileName, owner, repo, sha, err)
	}
	invalid := func(format string, args ...any) error {
		return &ValidationError{Errors: []FieldError{{File: FileName, Message: fmt.Sprintf(format, args...)}}}
	}
	switch {
	case dir != nil || file == nil:
		return nil, invalid("is a directory, not a file")
	case file.GetType() != "file":
		return nil, invalid("is a %s, not a file", file.GetType())
	case file.GetSize() > MaxFileSize || file.GetEncoding() == "none":
		return nil, invalid("file is %d bytes, more than the %d allowed", file.GetSize(), MaxFileSize)
	}
	text, err := file.GetContent()
	if err != nil {
		return nil, fmt.Errorf("decoding %s of %s/%s at %s: %w", FileName, owner, repo, sha, err)
	}
	return Parse(FileName, []byte(text))
}

func isNotFound(resp *github.Response) bool {
	return resp != nil && resp.StatusCode == http.StatusNotFound
}
