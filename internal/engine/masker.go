package engine

import (
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
)

// secretMask replaces secret values in logs, diffs, outputs and errors.
const secretMask = "[secret]"

// minSecretLen is the shortest secret the masker replaces: masking one- and two-character
// values would wreck the text while hiding next to nothing.
const minSecretLen = 3

// masker replaces every known secret value in text with "[secret]", and the bot's own directories
// (an operation's work directory, PULUMI_HOME…) with names that say nothing about the bot's machine.
// It is safe for concurrent use.
type masker struct {
	mu      sync.Mutex
	secrets map[string]struct{}
	sorted  []string // longest first, rebuilt lazily
	paths   []pathName
}

// pathName is a directory and what it is called in text users see ("" strips it).
type pathName struct{ dir, name string }

// pathSeparators are the characters a directory may end in: "/" and, on Windows, "\\".
var pathSeparators = func() string {
	if filepath.Separator == '/' {
		return "/"
	}
	return "/" + string(filepath.Separator)
}()

// addPath makes mask replace dir with name: "dir/x" becomes "name/x" ("x" when name is empty) and
// dir alone becomes name ("." when empty). Longer directories are replaced first.
func (m *masker) addPath(dir, name string) {
	dir = strings.TrimRight(dir, pathSeparators)
	if len(dir) < 2 {
		return
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.paths = append(m.paths, pathName{dir: dir, name: name})
	sort.SliceStable(m.paths, func(i, j int) bool { return len(m.paths[i].dir) > len(m.paths[j].dir) })
}

func newMasker() *masker { return &masker{secrets: map[string]struct{}{}} }

// add registers secret values, together with the forms they take inside JSON strings.
func (m *masker) add(values ...string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, v := range values {
		for _, form := range []string{v, strings.TrimSpace(v), jsonInner(v)} {
			if len(form) >= minSecretLen {
				m.secrets[form] = struct{}{}
			}
		}
	}
	m.sorted = nil
}

// mask returns s with every secret replaced.
func (m *masker) mask(s string) string {
	m.mu.Lock()
	if m.sorted == nil {
		m.sorted = make([]string, 0, len(m.secrets))
		for v := range m.secrets {
			m.sorted = append(m.sorted, v)
		}
		sort.Slice(m.sorted, func(i, j int) bool { return len(m.sorted[i]) > len(m.sorted[j]) })
	}
	secrets, paths := m.sorted, m.paths
	m.mu.Unlock()
	for _, v := range secrets {
		if strings.Contains(s, v) {
			s = strings.ReplaceAll(s, v, secretMask)
		}
	}
	for _, p := range paths {
		if !strings.Contains(s, p.dir) {
			continue
		}
		for _, sep := range []string{"/", string(filepath.Separator)} {
			prefix := ""
			if p.name != "" {
				prefix = p.name + sep
			}
			s = strings.ReplaceAll(s, p.dir+sep, prefix)
		}
		whole := p.name
		if whole == "" {
			whole = "."
		}
		s = strings.ReplaceAll(s, p.dir, whole)
	}
	return s
}

// jsonInner is v as it appears between the quotes of a JSON string.
func jsonInner(v string) string {
	q := strconv.Quote(v)
	return q[1 : len(q)-1]
}

// ansiEscape matches CSI sequences (colours, cursor movement) and OSC sequences (titles, links).
var ansiEscape = regexp.MustCompile(`\x1b\[[0-9;?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)|\x1b[@-Z\\-_]`)

// stripANSI removes terminal escape sequences and carriage returns.
func stripANSI(s string) string {
	s = ansiEscape.ReplaceAllString(s, "")
	return strings.ReplaceAll(s, "\r", "")
}

// secretishEnv reports whether an environment variable's name suggests its value is a secret.
func secretishEnv(name string) bool {
	upper := strings.ToUpper(name)
	for _, word := range []string{"SECRET", "TOKEN", "PASSWORD", "PASSPHRASE", "KEY", "CREDENTIAL", "AUTH", "PRIVATE"} {
		if strings.Contains(upper, word) {
			return true
		}
	}
	return false
}
