package feature

import (
	"context"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"github.com/stagecoach/stagecoach/internal/repoconfig"
	"github.com/stagecoach/stagecoach/internal/source"
)

// Inserter enqueues jobs; *jobs.Inserter satisfies it.
type Inserter interface {
	Insert(ctx context.Context, args river.JobArgs, opts *river.InsertOpts) (*rivertype.JobInsertResult, error)
}

// Sources fetches a repository's Pulumi project at an exact commit; *source.Fetcher satisfies
// it (a githubapi.Client is a source.Archiver).
type Sources interface {
	Project(ctx context.Context, gh source.Archiver, owner, repo, sha, projectPath string) (string, error)
}

// Configs loads a repository's configuration from its default branch; *repoconfig.Loaders
// satisfies it.
type Configs interface {
	Load(ctx context.Context, installation int64, repo string) (repoconfig.Loaded, error)
}
