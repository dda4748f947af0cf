package repoconfig

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"

	"github.com/stagecoach/stagecoach/internal/githubapi"
)

// Loaders loads repositories' configuration from their default branches, for every feature:
// one Loader, and so one cache, per App installation (a repository belongs to one
// installation). It is safe for concurrent use.
type Loaders struct {
	github githubapi.Installations
	logger *slog.Logger

	mu      sync.Mutex
	loaders map[int64]*Loader
}

// NewLoaders returns Loaders reading through gh; a nil logger discards logs.
func NewLoaders(gh githubapi.Installations, logger *slog.Logger) *Loaders {
	return &Loaders{github: gh, logger: logger, loaders: map[int64]*Loader{}}
}

// Load returns repo's ("owner/name") configuration from its default branch, through the
// installation's cache. Errors are Loader.Load's: ErrNotFound, *ValidationError, or a failure to
// reach GitHub.
func (l *Loaders) Load(ctx context.Context, installation int64, repo string) (Loaded, error) {
	owner, name, ok := strings.Cut(repo, "/")
	if !ok {
		return Loaded{}, fmt.Errorf("repository %q is not owner/name", repo)
	}
	l.mu.Lock()
	one, ok := l.loaders[installation]
	if !ok {
		one = NewLoader(l.github.Installation(installation), l.logger, 0)
		l.loaders[installation] = one
	}
	l.mu.Unlock()
	return one.Load(ctx, owner, name)
}
