// Package deploy_test checks that the shipped image and manifests keep the isolation SECURITY.md
// promises: every Pulumi process runs as an unprivileged user of its own, and nothing that user can
// read holds a secret. The image itself cannot be built on the development machines (no Docker
// engine); these tests read the files as written.
package deploy_test

import (
	"os"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

func TestManifestKeepsSecretsFromPulumi(t *testing.T) {
	t.Parallel()
	b, err := os.ReadFile("kubernetes/deployment.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var d struct {
		Spec struct {
			Template struct {
				Spec struct {
					SecurityContext map[string]any `yaml:"securityContext"`
					Containers      []struct {
						Name            string `yaml:"name"`
						SecurityContext struct {
							Capabilities struct {
								Add  []string `yaml:"add"`
								Drop []string `yaml:"drop"`
							} `yaml:"capabilities"`
						} `yaml:"securityContext"`
						Env []struct {
							Name  string `yaml:"name"`
							Value string `yaml:"value"`
						} `yaml:"env"`
					} `yaml:"containers"`
					Volumes []struct {
						Name   string `yaml:"name"`
						Secret *struct {
							SecretName  string `yaml:"secretName"`
							DefaultMode *int   `yaml:"defaultMode"`
						} `yaml:"secret"`
					} `yaml:"volumes"`
				} `yaml:"spec"`
			} `yaml:"template"`
		} `yaml:"spec"`
	}
	if err := yaml.Unmarshal(b, &d); err != nil {
		t.Fatalf("deployment.yaml: %v", err)
	}
	pod := d.Spec.Template.Spec
	if _, ok := pod.SecurityContext["fsGroup"]; ok {
		t.Error("fsGroup makes every volume group-readable; the Pulumi user must not share it")
	}
	if v, ok := pod.SecurityContext["runAsNonRoot"]; ok && v == true {
		t.Error("runAsNonRoot: the bot must be root to run Pulumi as another user")
	}
	if len(pod.Containers) != 1 {
		t.Fatalf("%d containers, want 1", len(pod.Containers))
	}
	c := pod.Containers[0]
	var user string
	for _, e := range c.Env {
		if e.Name == "STAGECOACH_PULUMI_USER" {
			user = e.Value
		}
	}
	if user == "" || strings.HasPrefix(user, "0") || user == "root" {
		t.Errorf("STAGECOACH_PULUMI_USER = %q, want the image's unprivileged pulumi user", user)
	}
	caps := strings.Join(c.SecurityContext.Capabilities.Add, ",")
	for _, need := range []string{"SETUID", "SETGID", "CHOWN"} {
		if !strings.Contains(caps, need) {
			t.Errorf("capabilities %q lack %s, which running Pulumi as another user needs", caps, need)
		}
	}
	secrets := 0
	for _, v := range pod.Volumes {
		if v.Secret == nil {
			continue
		}
		secrets++
		if v.Secret.DefaultMode == nil || *v.Secret.DefaultMode&0o077 != 0 {
			t.Errorf("secret volume %s is readable by other users (defaultMode %v); want 0400", v.Name, v.Secret.DefaultMode)
		}
	}
	if secrets == 0 {
		t.Error("no secret volumes found: the test no longer reads the manifest it was written for")
	}
}
