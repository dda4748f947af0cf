package config_test

import (
	"strings"
	"testing"

	"github.com/stagecoach/stagecoach/internal/config"
)

// Several replicas on Postgres with a state backend on one replica's disk would orphan stacks: the
// combination is refused at start, with what to do instead.
func TestPostgresNeedsASharedStateBackend(t *testing.T) {
	t.Parallel()
	const pg = "postgres://stagecoach@db/stagecoach"
	for _, tc := range []struct {
		name    string
		env     map[string]string
		refused bool
	}{
		{"SQLite with the default file backend", nil, false},
		{"Postgres with the default file backend", map[string]string{"STAGECOACH_DATABASE_URL": pg}, true},
		{"Postgres with an explicit file backend", map[string]string{"STAGECOACH_DATABASE_URL": pg, "STAGECOACH_PULUMI_BACKEND_URL": "file:///data/state"}, true},
		{"Postgres with S3", map[string]string{"STAGECOACH_DATABASE_URL": pg, "STAGECOACH_PULUMI_BACKEND_URL": "s3://bucket/state"}, false},
		{"Postgres with a file backend declared shared", map[string]string{"STAGECOACH_DATABASE_URL": pg, "STAGECOACH_FILE_BACKEND_SHARED": "true"}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c, err := config.Load(func(k string) string { return tc.env[k] })
			if err != nil {
				t.Fatal(err)
			}
			err = c.Validate()
			if !tc.refused {
				if err != nil {
					t.Fatalf("Validate = %v, want no problem", err)
				}
				return
			}
			for _, want := range []string{"STAGECOACH_PULUMI_BACKEND_URL", "Postgres", "orphaned", "s3://", "STAGECOACH_FILE_BACKEND_SHARED=true"} {
				if err == nil || !strings.Contains(err.Error(), want) {
					t.Errorf("Validate = %v, want it to say %q", err, want)
				}
			}
		})
	}
}

func TestRunnerSetting(t *testing.T) {
	t.Parallel()
	load := func(env map[string]string) error {
		c, err := config.Load(func(k string) string { return env[k] })
		if err != nil {
			t.Fatal(err)
		}
		return c.Validate()
	}
	if err := load(map[string]string{"STAGECOACH_PULUMI_RUNNER": "/run/stagecoach/runner.sock"}); err != nil {
		t.Errorf("an absolute socket: %v", err)
	}
	if err := load(map[string]string{"STAGECOACH_PULUMI_RUNNER": "runner.sock"}); err == nil || !strings.Contains(err.Error(), "STAGECOACH_PULUMI_RUNNER") {
		t.Errorf("a relative socket: %v", err)
	}
	err := load(map[string]string{"STAGECOACH_PULUMI_RUNNER": "/run/r.sock", "STAGECOACH_PULUMI_USER": "pulumi"})
	if err == nil || !strings.Contains(err.Error(), "STAGECOACH_PULUMI_USER: must be empty when STAGECOACH_PULUMI_RUNNER is set") {
		t.Errorf("runner and user: %v", err)
	}
}
