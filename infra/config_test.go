package main

import (
	"strings"
	"testing"
)

// parse runs the program's config parsing on raw values.
func parse(stack string, values map[string]string) (Config, error) {
	return parseConfig(stack, func(k string) (string, bool) { v, ok := values[k]; return v, ok })
}

func TestCommittedStackFilesAreValid(t *testing.T) {
	t.Parallel()
	for _, file := range committedStacks(t) {
		t.Run(file, func(t *testing.T) {
			t.Parallel()
			stack, values := deployable(t, file)
			if _, err := parse(stack, values); err != nil {
				t.Fatalf("Pulumi.%s.yaml as stack %s: %v", file, stack, err)
			}
		})
	}
}

func TestConfigRules(t *testing.T) {
	t.Parallel()
	type mutation func(t *testing.T, v map[string]string) map[string]string
	set := func(key, value string) mutation {
		return func(_ *testing.T, v map[string]string) map[string]string {
			return withValues(v, map[string]string{key: value})
		}
	}
	setField := func(key, f string, value any) mutation {
		return func(t *testing.T, v map[string]string) map[string]string { return withObjectField(t, v, key, f, value) }
	}
	tests := []struct {
		name   string
		file   string
		stack  string // default: the file's deployable stack
		change []mutation
		want   []string
	}{
		{name: "prod refuses a single availability zone", file: "prod",
			change: []mutation{setField(keyNetwork, "azCount", 1)},
			want:   []string{"stagecoach-infra:network.azCount: production needs 3 availability zones, got 1"}},
		{name: "prod refuses two availability zones", file: "prod",
			change: []mutation{setField(keyNetwork, "azCount", 2)},
			want:   []string{"production needs 3 availability zones, got 2"}},
		{name: "prod refuses to sleep", file: "prod",
			change: []mutation{set(keySleeping, "true")},
			want:   []string{"stagecoach:sleeping: production stack prod refuses to sleep"}},
		{name: "prod refuses seeding", file: "prod",
			change: []mutation{setField(keySeed, "enabled", true), setField(keySeed, "secretsExtensionLayerArn",
				"arn:aws:lambda:eu-west-1:015030872274:layer:AWS-Parameters-and-Secrets-Lambda-Extension-Arm64:11")},
			want: []string{"stagecoach-infra:seed.enabled: sample data is never loaded into production"}},
		{name: "prod refuses a single NAT gateway", file: "prod",
			change: []mutation{setField(keyNetwork, "natGateways", "single")},
			want:   []string{"natGateways: production needs one NAT gateway per zone"}},
		{name: "prod refuses an unprotected database", file: "prod",
			change: []mutation{setField(keyDatabase, "deletionProtection", false)},
			want:   []string{"deletionProtection: production databases must be protected"}},
		{name: "prod refuses a single-instance database", file: "prod",
			change: []mutation{setField(keyDatabase, "instances", 1)},
			want:   []string{"instances: production runs a multi-AZ cluster of at least 2 instances, got 1"}},
		{name: "prod refuses short backups", file: "prod",
			change: []mutation{setField(keyDatabase, "backupRetentionDays", 3)},
			want:   []string{"production keeps at least 7 days of backups, got 3"}},
		{name: "prod refuses a fixed replica count", file: "prod",
			change: []mutation{setField(keyService, "maxReplicas", 3)},
			want:   []string{"maxReplicas: production autoscales on load"}},
		{name: "prod refuses fewer replicas than zones", file: "prod",
			change: []mutation{setField(keyService, "minReplicas", 2)},
			want:   []string{"minReplicas: production runs at least one replica per zone (3), got 2"}},
		{name: "prod refuses silent alarms", file: "prod",
			change: []mutation{setField(keyMonitoring, "notify", false)},
			want:   []string{"notify: production alarms must notify"}},
		{name: "the prod stack must be marked production", file: "prod",
			change: []mutation{set(keyProduction, "false")},
			want:   []string{"stack prod must set production: true"}},
		{name: "dev refuses the whole internet", file: "dev",
			change: []mutation{setField(keyNetwork, "allowedCidrs", []string{"0.0.0.0/0"})},
			want:   []string{"0.0.0.0/0 opens a non-production environment to the internet"}},
		{name: "dev refuses an allowed range inside the environments' space", file: "dev",
			change: []mutation{setField(keyNetwork, "allowedCidrs", []string{"10.20.0.0/16"})},
			want:   []string{"10.20.0.0/16 overlaps 10.0.0.0/8, the environments' address space"}},
		{name: "a fixed stack refuses a range in the PR pool", file: "dev",
			change: []mutation{setField(keyNetwork, "vpcCidr", "10.128.0.0/16")},
			want:   []string{"10.128.0.0/16 is outside the fixed-environment pool 10.0.0.0/9"}},
		{name: "a fixed stack refuses a non-canonical range", file: "dev",
			change: []mutation{setField(keyNetwork, "vpcCidr", "10.10.1.0/16")},
			want:   []string{"10.10.1.0/16 is not a canonical IPv4 network address (did you mean 10.10.0.0/16?)"}},
		{name: "a fixed stack needs a range", file: "staging",
			change: []mutation{setField(keyNetwork, "vpcCidr", nil)},
			want:   []string{"vpcCidr: want an IPv4 CIDR"}},
		{name: "dev refuses a task size Fargate does not offer", file: "dev",
			change: []mutation{setField(keyService, "memoryMiB", 4096)},
			want:   []string{"memoryMiB: Fargate with 256 CPU units takes [512 1024 2048] MiB, got 4096"}},
		{name: "unknown fields are refused", file: "dev",
			change: []mutation{setField(keyNetwork, "azcount", 2)},
			want:   []string{`stagecoach-infra:network: unknown field "azcount"`}},
		{name: "misspelled fields are refused", file: "staging",
			change: []mutation{setField(keyDatabase, "backupDays", 7)},
			want:   []string{`stagecoach-infra:database: unknown field "backupDays"`}},
		{name: "a missing section is refused", file: "dev",
			change: []mutation{set(keyService, "")},
			want:   []string{"stagecoach-infra:service is required"}},
		{name: "sleeping must be a boolean", file: "dev",
			change: []mutation{set(keySleeping, "sometimes")},
			want:   []string{`stagecoach:sleeping: want true or false, got "sometimes"`}},
		{name: "flags must be booleans", file: "dev",
			change: []mutation{set(keyFlags, `{"new-checkout":"yes"}`)},
			want:   []string{"stagecoach-infra:flags: json: cannot unmarshal string"}},
		{name: "a fixed stack refuses the bot's PR keys", file: "dev",
			change: []mutation{set(keyPR, "3"), set(keySlot, "1")},
			want:   []string{"stagecoach:pr and stagecoach:slot belong to pr-<n> stacks only"}},
		{name: "a PR stack requires a slot", file: "pr",
			change: []mutation{set(keySlot, "")},
			want:   []string{"stagecoach:slot is required on PR stacks: an integer 0–255"}},
		{name: "a PR stack refuses slot 256", file: "pr",
			change: []mutation{set(keySlot, "256")},
			want:   []string{"stagecoach:slot: want an integer 0–255, got 256"}},
		{name: "a PR stack refuses a negative slot", file: "pr",
			change: []mutation{set(keySlot, "-2")},
			want:   []string{"stagecoach:slot: want an integer 0–255, got -2"}},
		{name: "a PR stack refuses another PR's number", file: "pr",
			change: []mutation{set(keyPR, "41")},
			want:   []string{"stagecoach:pr: stack pr-42 wants pr 42, got 41"}},
		{name: "a PR stack refuses a configured range", file: "pr",
			change: []mutation{setField(keyNetwork, "vpcCidr", "10.40.0.0/16")},
			want:   []string{"PR stacks take their range from stagecoach:slot; remove vpcCidr"}},
		{name: "the PR template is not deployable as itself", file: "pr", stack: "pr",
			change: []mutation{set(keyPR, ""), set(keySlot, "")},
			want:   []string{"stack pr is the PR template or a copy of it: the bot deploys it as pr-<n>"}},
		{name: "a PR stack must come from the template", file: "dev", stack: "pr-5",
			change: []mutation{set(keyPR, "5"), set(keySlot, "0")},
			want: []string{
				"stack pr-5 is a PR stack but not ephemeral",
				"PR stacks take their range from stagecoach:slot",
			}},
		{name: "the image's tag is the commit, so a commit is needed", file: "pr",
			change: []mutation{set(keyCommit, "")},
			want:   []string{`stagecoach-infra:service.imageRepository: the image's tag is the deployed commit, but stagecoach:commit is "", not a full SHA`}},
		{name: "a short SHA is not a commit", file: "staging",
			change: []mutation{set(keyCommit, "0123456")},
			want:   []string{`stagecoach:commit is "0123456", not a full SHA`}},
		{name: "the image repository carries no tag", file: "dev",
			change: []mutation{setField(keyService, "imageRepository", "ghcr.io/acme/shop:latest")},
			want:   []string{`imageRepository: want a repository without tag or digest (the commit is the tag), got "ghcr.io/acme/shop:latest"`}},
		{name: "a registry port is not a tag, but a digest is refused", file: "dev",
			change: []mutation{setField(keyService, "imageRepository", "registry:5000/shop@sha256:00")},
			want:   []string{`want a repository without tag or digest`}},
		{name: "an image is pinned or built, not both", file: "dev",
			change: []mutation{setField(keyService, "image", "ghcr.io/acme/shop:1.0")},
			want:   []string{"stagecoach-infra:service: set imageRepository or image, not both"}},
		{name: "an image is needed", file: "dev",
			change: []mutation{setField(keyService, "imageRepository", "")},
			want:   []string{"stagecoach-infra:service: set imageRepository (the image CI builds, tagged with the commit's SHA) or image (a pinned reference)"}},
		{name: "every problem is reported at once", file: "prod",
			change: []mutation{set(keySleeping, "true"), setField(keyNetwork, "azCount", 1), setField(keyDatabase, "deletionProtection", false)},
			want:   []string{"refuses to sleep", "production needs 3 availability zones", "must be protected from deletion"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			stack, values := deployable(t, tc.file)
			if tc.stack != "" {
				stack = tc.stack
			}
			for _, m := range tc.change {
				values = m(t, values)
			}
			_, err := parse(stack, values)
			if err == nil {
				t.Fatalf("stack %s was accepted, want errors %q", stack, tc.want)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error does not say %q:\n%v", w, err)
				}
			}
		})
	}
}

func TestConfigDefaults(t *testing.T) {
	t.Parallel()
	stack, values := deployable(t, "dev")
	cfg, err := parse(stack, values)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Service.ContainerPort != 8080 || cfg.Service.HealthCheckPath != "/healthz" || cfg.Database.EngineVersion != "16.6" {
		t.Errorf("defaults = port %d, path %q, engine %q; want 8080, /healthz, 16.6",
			cfg.Service.ContainerPort, cfg.Service.HealthCheckPath, cfg.Database.EngineVersion)
	}
	values = withObjectField(t, values, keyService, "containerPort", 9000)
	if cfg, err = parse(stack, values); err != nil || cfg.Service.ContainerPort != 9000 {
		t.Errorf("containerPort 9000 parsed as %d (%v)", cfg.Service.ContainerPort, err)
	}
}
