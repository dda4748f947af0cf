package deploy_test

import (
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

// composeService is the part of a Compose service these tests read.
type composeService struct {
	Image       string            `yaml:"image"`
	Command     []string          `yaml:"command"`
	User        string            `yaml:"user"`
	ReadOnly    bool              `yaml:"read_only"`
	CapDrop     []string          `yaml:"cap_drop"`
	CapAdd      []string          `yaml:"cap_add"`
	Privileged  bool              `yaml:"privileged"`
	SecurityOpt []string          `yaml:"security_opt"`
	Environment map[string]string `yaml:"environment"`
	EnvFile     any               `yaml:"env_file"`
	Secrets     []string          `yaml:"secrets"`
	Volumes     []string          `yaml:"volumes"`
}

// mounts maps each volume's target in the container to its source.
func (s composeService) mounts() map[string]string {
	out := map[string]string{}
	for _, v := range s.Volumes {
		src, target, _ := strings.Cut(v, ":")
		target, _, _ = strings.Cut(target, ":")
		out[target] = src
	}
	return out
}

// TestComposeRunnerHasNoSecrets checks deploy/compose.yaml against the runner design: two services of one
// image as the image's user, hardened; the runner gets no secret, no env file, not the data volume,
// and the same work, pulumi-home and state volumes as the bot, at the same paths.
func TestComposeRunnerHasNoSecrets(t *testing.T) {
	t.Parallel()
	b, err := os.ReadFile("compose.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var f struct {
		Services map[string]composeService `yaml:"services"`
		Volumes  map[string]any            `yaml:"volumes"`
		Secrets  map[string]struct {
			File string `yaml:"file"`
		} `yaml:"secrets"`
	}
	if err := yaml.Unmarshal(b, &f); err != nil {
		t.Fatalf("compose.yaml: %v", err)
	}
	c := readContents(t)
	bot, runner := f.Services["bot"], f.Services["runner"]
	if len(f.Services) != 2 || bot.Image == "" {
		t.Fatalf("services %v, want bot and runner", f.Services)
	}
	if !slices.Equal(bot.Command, []string{"serve"}) || !slices.Equal(runner.Command, []string{"runner"}) {
		t.Errorf("commands %q and %q, want [serve] and [runner]", bot.Command, runner.Command)
	}
	socket := bot.Environment["STAGECOACH_PULUMI_RUNNER"]
	if socket == "" || runner.Environment["STAGECOACH_PULUMI_RUNNER"] != socket {
		t.Errorf("STAGECOACH_PULUMI_RUNNER: bot %q, runner %q; both must name the same socket", socket, runner.Environment["STAGECOACH_PULUMI_RUNNER"])
	}
	if runner.Environment["STAGECOACH_DATA_DIR"] != imageData {
		t.Errorf("runner: STAGECOACH_DATA_DIR=%q, want %s", runner.Environment["STAGECOACH_DATA_DIR"], imageData)
	}
	for name, s := range f.Services {
		if s.Image != bot.Image {
			t.Errorf("%s: image %s, want the bot's %s: one image, two roles", name, s.Image, bot.Image)
		}
		if want := c["STAGECOACH_UID"] + ":" + c["STAGECOACH_GID"]; s.User != want {
			t.Errorf("%s: user %q, want %s (the image's user, owner of the volumes)", name, s.User, want)
		}
		if !s.ReadOnly || !slices.Equal(s.CapDrop, []string{"ALL"}) || len(s.CapAdd) > 0 || s.Privileged ||
			!slices.Contains(s.SecurityOpt, "no-new-privileges:true") {
			t.Errorf("%s: want read_only, cap_drop [ALL], no cap_add, not privileged, no-new-privileges", name)
		}
		if s.mounts()["/tmp"] == "" {
			t.Errorf("%s: no volume at /tmp: the root file system is read-only", name)
		}
		if d := s.mounts()["/run/stagecoach"]; d == "" || !strings.HasPrefix(socket, "/run/stagecoach/") {
			t.Errorf("%s: the runner's socket %s is not in a volume both services mount at /run/stagecoach", name, socket)
		}
		for target := range s.mounts() {
			if !slices.Contains(imageDataDirs, target) && target != "/tmp" { // /tmp is 1777 in the image
				t.Errorf("%s: mounts a volume at %s, which the image does not create for its user: a new volume there would be root's", name, target)
			}
		}
	}

	// The runner: nothing secret reaches it, except what the bot sends each Pulumi process.
	if len(runner.Secrets) > 0 || runner.EnvFile != nil {
		t.Errorf("runner: secrets %v, env_file %v; the runner must hold no secret", runner.Secrets, runner.EnvFile)
	}
	secretName := regexp.MustCompile(`(?i)SECRET|KEY|PASSPHRASE|TOKEN|PASSWORD|DATABASE_URL|CREDENTIAL`)
	for k := range runner.Environment {
		if secretName.MatchString(k) {
			t.Errorf("runner: environment %s: the runner must hold no secret", k)
		}
	}
	bm, rm := bot.mounts(), runner.mounts()
	if _, ok := rm[imageData]; ok {
		t.Errorf("runner mounts the data volume at %s: it would read the database", imageData)
	}
	// /tmp too: the CLI writes its event log under the bot's TMPDIR, and the bot reads it.
	for _, dir := range []string{"/data/work", "/data/pulumi-home", "/data/state", "/run/stagecoach", "/tmp"} {
		if bm[dir] == "" || rm[dir] != bm[dir] {
			t.Errorf("%s: bot mounts %q, runner %q; want the same volume at the same path", dir, bm[dir], rm[dir])
		}
	}
	if len(rm) != 5 {
		t.Errorf("runner mounts %v; want only work, pulumi-home, state, the socket directory and /tmp", runner.Volumes)
	}

	// The bot reads its secrets from files.
	if len(bot.Secrets) == 0 {
		t.Error("bot: no secrets")
	}
	for _, s := range bot.Secrets {
		if f.Secrets[s].File == "" {
			t.Errorf("secret %s is not a file", s)
		}
		found := false
		for k, v := range bot.Environment {
			found = found || (strings.HasSuffix(k, "_FILE") && v == "/run/secrets/"+s)
		}
		if !found {
			t.Errorf("bot: no *_FILE setting points at the secret %s (/run/secrets/%s)", s, s)
		}
	}
	for _, v := range bm {
		if _, ok := f.Volumes[v]; !ok {
			t.Errorf("volume %s is not declared", v)
		}
	}
}
