package engine

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/pulumi/pulumi/sdk/v3/go/common/workspace"
)

// ProjectName reads the project name from the Pulumi.yaml (or Pulumi.yml) in dir, as Pulumi itself
// does. It is the one reader of project names: the engine, PR environments, promotions and the
// scheduler all use it, so a project that deploys also sleeps and wakes.
func ProjectName(dir string) (string, error) {
	for _, name := range []string{"Pulumi.yaml", "Pulumi.yml"} {
		path := filepath.Join(dir, name)
		if _, err := os.Stat(path); err != nil {
			continue
		}
		proj, err := workspace.LoadProject(path)
		if err != nil {
			return "", fmt.Errorf("%w: reading the project file %s: %w", ErrInvalidRequest, name, err)
		}
		return string(proj.Name), nil
	}
	return "", fmt.Errorf("%w: the project directory has no Pulumi.yaml (or Pulumi.yml); check `project` in .stagecoach.yaml", ErrInvalidRequest)
}
