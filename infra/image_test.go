package main

import (
	"encoding/json"
	"strings"
	"testing"
)

// taskImage is the image of the service's task definition in a mocked deployment.
func taskImage(t *testing.T, d *deployment) string {
	t.Helper()
	defs := d.one(t, "aws:ecs/taskDefinition:TaskDefinition", "app").Inputs["containerDefinitions"].(string)
	var containers []struct {
		Image string `json:"image"`
	}
	if err := json.Unmarshal([]byte(defs), &containers); err != nil || len(containers) != 1 {
		t.Fatalf("container definitions %s: %v", defs, err)
	}
	return containers[0].Image
}

// Every environment runs the build of the commit it deploys: a pull request its head's, a
// promotion the promoted commit's. A pinned image stays pinned whatever the commit.
func TestServiceRunsTheDeployedCommitsBuild(t *testing.T) {
	t.Parallel()
	for _, file := range committedStacks(t) {
		t.Run(file, func(t *testing.T) {
			t.Parallel()
			stack, values := deployable(t, file)
			if got, want := taskImage(t, mustDeploy(t, stack, values)), "ghcr.io/stagecoach/sample-app:"+testCommit; got != want {
				t.Errorf("image %q, want %q", got, want)
			}
			next := strings.Repeat("fe", 20)
			if got := taskImage(t, mustDeploy(t, stack, withValues(values, map[string]string{keyCommit: next}))); !strings.HasSuffix(got, ":"+next) {
				t.Errorf("after the commit changed to %s the image is %q", next, got)
			}
		})
	}
	t.Run("pinned", func(t *testing.T) {
		t.Parallel()
		stack, values := deployable(t, "dev")
		values = withObjectField(t, withObjectField(t, values, keyService, "imageRepository", ""), keyService, "image", "docker.io/library/nginx:1.27")
		if got := taskImage(t, mustDeploy(t, stack, values)); got != "docker.io/library/nginx:1.27" {
			t.Errorf("pinned image %q", got)
		}
	})
}
