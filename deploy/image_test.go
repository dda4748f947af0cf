package deploy_test

import (
	"bufio"
	"net"
	"os"
	"path"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/stagecoach/stagecoach/internal/config"
	"github.com/stagecoach/stagecoach/internal/toolchain"
)

// The image's paths, as SECURITY.md, deploy/README.md and the runner design name them.
const (
	imageToolchain = "/opt/stagecoach/toolchain"
	imageHome      = "/home/stagecoach"
	imageData      = "/data"
)

// imageDataDirs are the directories the image creates for its user: the data directory and the parts
// of it the runner mounts (deploy/compose.yaml), plus the runner's socket directory.
var imageDataDirs = []string{"/data", "/data/work", "/data/pulumi-home", "/data/state", "/run/stagecoach"}

// readContents parses deploy/image/contents.env: KEY=value lines, comments and blank lines.
func readContents(t *testing.T) map[string]string {
	t.Helper()
	f, err := os.Open("image/contents.env")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	out := map[string]string{}
	line := regexp.MustCompile(`^([A-Z][A-Z0-9_]*)=([^\s"'$\x60]+)$`)
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		s := sc.Text()
		if s == "" || strings.HasPrefix(s, "#") {
			continue
		}
		m := line.FindStringSubmatch(s)
		if m == nil {
			t.Fatalf("contents.env:%d: %q is not KEY=value (no spaces, quotes or expansions: bash sources the file)", n, s)
		}
		if _, dup := out[m[1]]; dup {
			t.Fatalf("contents.env:%d: %s is set twice", n, m[1])
		}
		out[m[1]] = m[2]
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// TestImageContentsMatchPins keeps the image's list of contents equal to the pins it repeats: the
// toolchain's, go.mod's and the Dockerfile's ARG defaults.
func TestImageContentsMatchPins(t *testing.T) {
	t.Parallel()
	c := readContents(t)
	gomod, err := os.ReadFile("../go.mod")
	if err != nil {
		t.Fatal(err)
	}
	goDirective := regexp.MustCompile(`(?m)^go (\S+)$`).FindSubmatch(gomod)
	if goDirective == nil {
		t.Fatal("go.mod has no go directive")
	}
	// Python comes with the Debian release; NODE_MAJOR must be a Node.js line with a Debian image.
	python := map[string]string{"bookworm": "3.11", "trixie": "3.13"}[c["DEBIAN_RELEASE"]]
	for key, want := range map[string]string{
		"PULUMI_VERSION":      toolchain.PulumiVersion,
		"PULUMI_YAML_VERSION": toolchain.YAMLVersion,
		"GO_VERSION":          string(goDirective[1]),
		"PYTHON_VERSION":      python,
		"STAGECOACH_UID":      "10001", // the runner design, the chart and compose.yaml use it
		"STAGECOACH_GID":      "10001",
	} {
		if c[key] != want {
			t.Errorf("contents.env: %s=%s, want %s", key, c[key], want)
		}
	}
	if !regexp.MustCompile(`^[1-9][0-9]*$`).MatchString(c["NODE_MAJOR"]) {
		t.Errorf("contents.env: NODE_MAJOR=%q is not a major version", c["NODE_MAJOR"])
	}

	// Every ARG default in the Dockerfile is an entry of contents.env, with the same value.
	df := readDockerfile(t, "Dockerfile")
	defaults := map[string]string{}
	for name, def := range df.GlobalArgs {
		defaults[name] = def
	}
	for _, s := range df.Stages {
		for _, in := range s.all("ARG") {
			if name, def, ok := strings.Cut(in.Args, "="); ok {
				defaults[name] = def
			}
		}
	}
	for name, def := range defaults {
		switch v, ok := c[name]; {
		case !ok:
			t.Errorf("Dockerfile: ARG %s=%s is not in image/contents.env, the list of what the image holds", name, def)
		case v != def:
			t.Errorf("Dockerfile: ARG %s=%s, but image/contents.env says %s", name, def, v)
		}
	}
	for _, name := range []string{"DEBIAN_RELEASE", "GO_VERSION", "NODE_MAJOR", "STAGECOACH_UID", "STAGECOACH_GID"} {
		if _, ok := defaults[name]; !ok {
			t.Errorf("Dockerfile: no ARG %s: the image would not follow image/contents.env", name)
		}
	}
	if want := "golang:" + c["GO_VERSION"] + "-" + c["DEBIAN_RELEASE"]; df.Stages[0].From.Args != want {
		t.Errorf("build stage FROM %s, want %s", df.Stages[0].From.Args, want)
	}
	if want := "node:" + c["NODE_MAJOR"] + "-" + c["DEBIAN_RELEASE"] + "-slim"; df.Stages[len(df.Stages)-1].From.Args != want {
		t.Errorf("runtime stage FROM %s, want %s", df.Stages[len(df.Stages)-1].From.Args, want)
	}
}

// TestImageRunsAsItsUser checks the runtime stage: the non-root user stagecoach owns /data, runs the bot
// with no capability, finds the root-owned toolchain, and starts `bot serve` under an init.
func TestImageRunsAsItsUser(t *testing.T) {
	t.Parallel()
	c := readContents(t)
	df := readDockerfile(t, "Dockerfile")
	if len(df.Stages) != 2 {
		t.Fatalf("%d stages, want 2 (build, runtime)", len(df.Stages))
	}
	build, rt := df.Stages[0], df.Stages[1]
	uid, gid := c["STAGECOACH_UID"], c["STAGECOACH_GID"]

	// The build stage's work is build.sh, which the tests run (TestBuildScript).
	if run := build.one(t, "RUN"); !regexp.MustCompile(`(^| )deploy/image/build\.sh /out$`).MatchString(run.Args) {
		t.Errorf("line %d: the build stage runs %q; want its one command to be deploy/image/build.sh /out", run.Line, run.Args)
	}
	copied := map[string]bool{}
	for _, in := range rt.all("COPY") {
		if strings.Contains(in.Args, "--chown") || strings.Contains(in.Args, "--chmod") {
			t.Errorf("line %d: COPY %s: what the build stage made stays root's, so the user cannot replace it", in.Line, in.Args)
		}
		copied[in.Args] = true
	}
	for _, want := range []string{"--from=build /out/ /", "--from=build /usr/local/go /usr/local/go"} {
		if !copied[want] {
			t.Errorf("the runtime stage lacks COPY %s", want)
		}
	}

	// The user: numeric, so that Kubernetes' runAsNonRoot can check it; not root; owner of /data.
	if user := rt.one(t, "USER").Args; user != uid+":"+gid || uid == "0" {
		t.Errorf("USER %s, want %s:%s (numeric, not root)", user, uid, gid)
	}
	runs := strings.Join(argsOf(rt.all("RUN")), "\n")
	for _, want := range []string{
		`groupadd --gid "\$\{?STAGECOACH_GID\}?" stagecoach\b`,
		`useradd --uid "\$\{?STAGECOACH_UID\}?" --gid "\$\{?STAGECOACH_GID\}?" --create-home --home-dir ` + imageHome + ` .*stagecoach\b`,
		`install -d -m 0700 -o "\$\{?STAGECOACH_UID\}?" -g "\$\{?STAGECOACH_GID\}?" +` + regexp.QuoteMeta(strings.Join(imageDataDirs, " ")) + `( |$)`,
	} {
		if !regexp.MustCompile(want).MatchString(runs) {
			t.Errorf("the runtime stage's RUN does not match %s:\n%s", want, runs)
		}
	}
	if w := rt.one(t, "WORKDIR").Args; w != imageHome {
		t.Errorf("WORKDIR %s, want the user's home %s", w, imageHome)
	}
	if v := rt.one(t, "VOLUME").Args; v != imageData {
		t.Errorf("VOLUME %s, want %s", v, imageData)
	}
	// The old layout: root with capabilities, running Pulumi as a second user.
	for _, in := range rt.Instructions {
		for _, gone := range []string{"setcap", "STAGECOACH_PULUMI_USER", "chmod u+s", "10002"} {
			if strings.Contains(in.Args, gone) {
				t.Errorf("line %d: %s %s: the image runs as one unprivileged user, without %s", in.Line, in.Keyword, in.Args, gone)
			}
		}
	}

	// The environment: the bot finds the toolchain under /opt and its data in /data.
	env := rt.env(t)
	if got := path.Join(env["XDG_CACHE_HOME"], "stagecoach", "toolchain"); got != imageToolchain {
		t.Errorf("ENV XDG_CACHE_HOME=%s: the toolchain package would look in %s, not %s", env["XDG_CACHE_HOME"], got, imageToolchain)
	}
	if env["STAGECOACH_DATA_DIR"] != imageData {
		t.Errorf("ENV STAGECOACH_DATA_DIR=%s, want %s", env["STAGECOACH_DATA_DIR"], imageData)
	}
	if !strings.HasPrefix(env["PATH"], "/usr/local/go/bin:") {
		t.Errorf("ENV PATH=%s: Pulumi compiles Go programs with the go command, which it finds on PATH", env["PATH"])
	}

	// What runs: `bot serve` by default, under tini (PID 1 reaps orphaned plugin processes).
	installed := aptPackages(rt)
	entry := execForm(t, rt.one(t, "ENTRYPOINT"), rt.one(t, "ENTRYPOINT").Args)
	if !slices.Equal(entry, []string{"tini", "--", "bot"}) || !slices.Contains(installed, "tini") {
		t.Errorf("ENTRYPOINT %q, want [\"tini\", \"--\", \"bot\"] with tini installed by apt-get", entry)
	}
	if cmd := execForm(t, rt.one(t, "CMD"), rt.one(t, "CMD").Args); !slices.Equal(cmd, []string{"serve"}) {
		t.Errorf("CMD %q, want [\"serve\"]", cmd)
	}
	var addr string
	for _, s := range config.Settings() {
		if s.Env == "STAGECOACH_ADDR" {
			addr = s.Default
		}
	}
	_, port, err := net.SplitHostPort(addr)
	if err != nil {
		t.Fatalf("STAGECOACH_ADDR's default %q: %v", addr, err)
	}
	if e := rt.one(t, "EXPOSE").Args; e != port {
		t.Errorf("EXPOSE %s, want %s (STAGECOACH_ADDR's default)", e, port)
	}
	hc := rt.one(t, "HEALTHCHECK")
	_, probe, ok := strings.Cut(hc.Args, "CMD ")
	if !ok {
		t.Fatalf("line %d: HEALTHCHECK %s has no CMD", hc.Line, hc.Args)
	}
	argv := execForm(t, hc, probe)
	if !slices.Contains(installed, argv[0]) || !strings.Contains(probe, "127.0.0.1:"+port+"/healthz") {
		t.Errorf("HEALTHCHECK %q: want a tool the stage installs asking 127.0.0.1:%s/healthz", argv, port)
	}
	for _, need := range []string{"ca-certificates", "git", "python3", "python3-venv"} {
		if !slices.Contains(installed, need) {
			t.Errorf("the runtime stage does not install %s", need)
		}
	}
}

// TestDockerfileLint holds the Dockerfile to the hadolint rules that apply to it, since hadolint
// itself is not packaged by Debian: pinned base images, apt-get without recommends and without its
// lists left in the layer, exec form, and the syntax directive RUN --mount needs.
func TestDockerfileLint(t *testing.T) {
	t.Parallel()
	df := readDockerfile(t, "Dockerfile")
	if df.Syntax == "" {
		t.Error("no `# syntax=docker/dockerfile:1` line: RUN --mount needs BuildKit's Dockerfile frontend")
	}
	for _, s := range df.Stages {
		image := s.From.Args
		if i := strings.LastIndex(image, ":"); i < 0 || strings.HasSuffix(image, ":latest") || strings.Contains(image, "$") {
			t.Errorf("line %d: FROM %s: pin the image's tag (DL3006, DL3007)", s.From.Line, image)
		}
		for _, in := range s.all("RUN") {
			if !strings.Contains(in.Args, "apt-get install") {
				continue
			}
			for _, want := range []string{"apt-get update", "apt-get install -y --no-install-recommends", "rm -rf /var/lib/apt/lists/*"} {
				if !strings.Contains(in.Args, want) {
					t.Errorf("line %d: a RUN that installs packages lacks %q (DL3009, DL3015)", in.Line, want)
				}
			}
		}
		for _, in := range s.Instructions {
			switch in.Keyword {
			case "ENTRYPOINT", "CMD":
				execForm(t, in, in.Args)
			case "MAINTAINER":
				t.Errorf("line %d: MAINTAINER is deprecated (DL4000)", in.Line)
			}
		}
	}
}

func argsOf(ins []instruction) []string {
	out := make([]string, 0, len(ins))
	for _, in := range ins {
		out = append(out, in.Args)
	}
	return out
}

// aptPackages lists what the stage's RUN instructions install with apt-get install.
func aptPackages(s stage) []string {
	var out []string
	for _, in := range s.all("RUN") {
		for _, cmd := range strings.Split(in.Args, "&&") {
			_, rest, ok := strings.Cut(cmd, "apt-get install")
			if !ok {
				continue
			}
			for _, f := range strings.Fields(rest) {
				if !strings.HasPrefix(f, "-") {
					out = append(out, f)
				}
			}
		}
	}
	return out
}
