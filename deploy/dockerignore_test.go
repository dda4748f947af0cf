package deploy_test

import (
	"bufio"
	"encoding/json"
	"errors"
	"io"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// ignoreRule is one .dockerignore line.
type ignoreRule struct {
	pattern string
	re      *regexp.Regexp
	keep    bool // a "!" line: an exception to the rules before it
}

// readDockerignore parses .dockerignore as Docker does, for the syntax it allows here: "#" comments,
// "!" exceptions, path.Match's * and ?, and ** for any number of directories. Character classes and
// escapes are refused rather than half supported.
func readDockerignore(t *testing.T, file string) []ignoreRule {
	t.Helper()
	f, err := os.Open(file)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var rules []ignoreRule
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		r := ignoreRule{}
		if strings.HasPrefix(line, "!") {
			r.keep, line = true, strings.TrimSpace(line[1:])
		}
		if strings.ContainsAny(line, `[]\`) {
			t.Fatalf("%s:%d: %q: this test's matcher does not support character classes or escapes", file, n, line)
		}
		r.pattern = strings.TrimPrefix(path.Clean(line), "/")
		var re strings.Builder
		re.WriteString("^")
		for i := 0; i < len(r.pattern); i++ {
			switch c := r.pattern[i]; {
			case strings.HasPrefix(r.pattern[i:], "**/"):
				re.WriteString("(.*/)?")
				i += 2
			case strings.HasPrefix(r.pattern[i:], "**"):
				re.WriteString(".*")
				i++
			case c == '*':
				re.WriteString("[^/]*")
			case c == '?':
				re.WriteString("[^/]")
			default:
				re.WriteString(regexp.QuoteMeta(string(c)))
			}
		}
		re.WriteString("$")
		r.re = regexp.MustCompile(re.String())
		rules = append(rules, r)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return rules
}

// ignored reports whether Docker leaves file (slash-separated, relative to the context) out of the
// build context: the last rule matching the file or one of its parent directories decides.
func ignored(rules []ignoreRule, file string) bool {
	out := false
	for _, r := range rules {
		for p := file; p != "." && p != "/"; p = path.Dir(p) {
			if r.re.MatchString(p) {
				out = !r.keep
				break
			}
		}
	}
	return out
}

// buildInputs lists, relative to the repository root, every file deploy/image/build.sh reads: the
// source and embedded files of the bot's packages in this module (go list), go.mod and go.sum, and the
// files under deploy/image.
func buildInputs(t *testing.T) []string {
	t.Helper()
	root, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("go", "list", "-deps", "-json=Dir,Module,GoFiles,CgoFiles,SFiles,HFiles,EmbedFiles", "./cmd/bot")
	cmd.Dir = root
	cmd.Stderr = os.Stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	var files []string
	dec := json.NewDecoder(strings.NewReader(string(out)))
	for {
		var p struct {
			Dir                                           string
			Module                                        *struct{ Main bool }
			GoFiles, CgoFiles, SFiles, HFiles, EmbedFiles []string
		}
		if err := dec.Decode(&p); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			t.Fatal(err)
		}
		if p.Module == nil || !p.Module.Main {
			continue
		}
		rel, err := filepath.Rel(root, p.Dir)
		if err != nil {
			t.Fatal(err)
		}
		for _, list := range [][]string{p.GoFiles, p.CgoFiles, p.SFiles, p.HFiles, p.EmbedFiles} {
			for _, f := range list {
				files = append(files, filepath.ToSlash(filepath.Join(rel, f)))
			}
		}
	}
	image, err := os.ReadDir("image")
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range image {
		files = append(files, "deploy/image/"+e.Name())
	}
	return append(files, "go.mod", "go.sum")
}

// TestDockerignoreKeepsBuildInputsOnly checks the build context: everything build.sh reads is in it,
// and repository metadata, data directories, caches and test output are not.
func TestDockerignoreKeepsBuildInputsOnly(t *testing.T) {
	t.Parallel()
	rules := readDockerignore(t, "../.dockerignore")
	inputs := buildInputs(t)
	if len(inputs) < 50 {
		t.Fatalf("only %d build inputs found: %q", len(inputs), inputs)
	}
	for _, f := range inputs {
		if ignored(rules, f) {
			t.Errorf(".dockerignore leaves %s out of the build context, but the image build needs it", f)
		}
	}
	for _, f := range []string{
		".git/HEAD", ".git", // a worktree's .git is a file
		".stagecoach/stagecoach.db", "internal/bot/.stagecoach/stagecoach.db", "cmd/bot/.stagecoach/state/x",
		"bot", "internal/bot/bot.test", "cover.out", "internal/store/cpu.prof",
		".ci/run", "README.md", "deploy/compose.yaml", "infra/main.go", "examples/minimal/README.md",
		".cache/go-build/00/x", "wt-image/go.mod", "deploy/secrets/webhook-secret",
	} {
		if !ignored(rules, f) {
			t.Errorf(".dockerignore keeps %s in the build context; only what the build reads belongs there", f)
		}
	}
}
