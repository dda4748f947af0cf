package repoconfig

import (
	"fmt"
	"math"
	"path"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// decoder walks a yaml.Node tree, writing values into the Config and
// collecting every problem with its position instead of stopping at the
// first.
type decoder struct {
	file  string
	errs  []FieldError
	nodes presence
	// offered records the path of every key the schema offers in the
	// mappings visited, so tests can prove the example covers the schema.
	offered map[string]bool
	// visits counts the values walked, aliases included, against
	// maxValues, so an alias bomb cannot make decoding take forever.
	visits int
	// zones caches time zones by name for the file's cron specs.
	zones map[string]*time.Location
	// badScheduleKeys are keys of schedules that are not names, reported
	// with the environments' names once those are known.
	badScheduleKeys []*yaml.Node
}

// maxValues bounds the keys and list items walked in one file, counting
// every repetition through an alias. Real files hold a few hundred.
const maxValues = 100000

// visit counts one walked value; it reports false (once with an error)
// when the file holds too many.
func (d *decoder) visit(n *yaml.Node) bool {
	d.visits++
	if d.visits == maxValues+1 {
		d.fail(n, "", "the file holds more than %d values (counting those repeated through aliases)", maxValues)
	}
	return d.visits <= maxValues
}

// presence maps the dotted path of every non-null value in the file to its
// node, so defaults apply only to absent fields and later checks can point
// at the right line.
type presence map[string]*yaml.Node

// has reports whether the field at path was given in the file.
func (p presence) has(path string) bool {
	_, ok := p[path]
	return ok
}

// near returns the node at path or, if the field is absent, at its closest
// present ancestor; nil if none.
func (p presence) near(field string) *yaml.Node {
	for field != "" {
		if n, ok := p[field]; ok {
			return n
		}
		i := strings.LastIndexAny(field, ".[")
		if i < 0 {
			break
		}
		field = field[:i]
	}
	return nil
}

// field is one known key of a mapping and the function decoding its value.
type field struct {
	key    string
	decode func(v *yaml.Node, path string)
}

func join(parent, key string) string {
	if parent == "" {
		return key
	}
	return parent + "." + key
}

func index(parent string, i int) string {
	return parent + "[" + strconv.Itoa(i) + "]"
}

// fail records a problem at node n (which may be nil when the position is
// unknown).
func (d *decoder) fail(n *yaml.Node, field, format string, args ...any) {
	fe := FieldError{File: d.file, Field: field, Message: fmt.Sprintf(format, args...)}
	if n != nil {
		fe.Line, fe.Column = n.Line, n.Column
	}
	d.errs = append(d.errs, fe)
}

// failAt records a problem about the field at path, located at the field or
// its closest present ancestor.
func (d *decoder) failAt(field, format string, args ...any) {
	d.fail(d.nodes.near(field), field, format, args...)
}

// resolve follows aliases to the anchored node.
func resolve(n *yaml.Node) *yaml.Node {
	for hops := 0; n != nil && n.Kind == yaml.AliasNode && hops < 100; hops++ {
		n = n.Alias
	}
	return n
}

func isNull(n *yaml.Node) bool {
	return n == nil || (n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null")
}

// describe names what a node is, for "expected X, got Y" messages.
func describe(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		switch n.ShortTag() {
		case "!!str":
			return fmt.Sprintf("the string %q", n.Value)
		case "!!int", "!!float":
			return "the number " + n.Value
		case "!!bool":
			return "the boolean " + n.Value
		case "!!null":
			return "null"
		}
		return fmt.Sprintf("%q (tag %s)", n.Value, n.ShortTag())
	}
	return "an unexpected YAML node"
}

// mapping decodes the keys of a mapping node, reporting unknown and
// duplicate keys and skipping null values (a null value means absent).
func (d *decoder) mapping(n *yaml.Node, at string, fields []field) {
	if n.Kind != yaml.MappingNode {
		d.fail(n, at, "expected a mapping, got %s", describe(n))
		return
	}
	known := make([]string, len(fields))
	for i, f := range fields {
		known[i] = f.key
		if d.offered != nil {
			d.offered[join(at, f.key)] = true
		}
	}
	seen := map[string]*yaml.Node{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if !d.visit(n.Content[i]) {
			return
		}
		k, v := resolve(n.Content[i]), resolve(n.Content[i+1])
		if k == nil || k.Kind != yaml.ScalarNode {
			d.fail(n.Content[i], at, "keys must be plain strings")
			continue
		}
		p := join(at, k.Value)
		if k.Value == "<<" {
			d.fail(k, at, "merge keys (<<) are not supported: alias the whole value instead")
			continue
		}
		idx := slices.Index(known, k.Value)
		if idx < 0 {
			d.fail(k, p, "unknown key%s", didYouMean(k.Value, known))
			continue
		}
		if prev, dup := seen[k.Value]; dup {
			d.fail(k, p, "duplicate key (first at line %d)", prev.Line)
			continue
		}
		seen[k.Value] = k
		if isNull(v) {
			continue
		}
		d.nodes[p] = v
		fields[idx].decode(v, p)
	}
}

// sequence calls item for every element of a list node.
func (d *decoder) sequence(n *yaml.Node, at string, item func(v *yaml.Node, path string)) {
	if n.Kind != yaml.SequenceNode {
		d.fail(n, at, "expected a list, got %s", describe(n))
		return
	}
	for i, c := range n.Content {
		if !d.visit(c) {
			return
		}
		p := index(at, i)
		c = resolve(c)
		if isNull(c) {
			d.fail(n.Content[i], p, "empty list item")
			continue
		}
		d.nodes[p] = c
		item(c, p)
	}
}

// str decodes a string; numbers are taken as written, booleans refused (an
// unquoted "true" is almost never meant as text).
func (d *decoder) str(n *yaml.Node, at string) (string, bool) {
	if n.Kind == yaml.ScalarNode {
		switch n.ShortTag() {
		case "!!str", "!!int", "!!float", "!!timestamp":
			return n.Value, true
		case "!!bool":
			d.fail(n, at, "expected a string, got the boolean %s (quote it if you mean the text)", n.Value)
			return "", false
		}
	}
	d.fail(n, at, "expected a string, got %s", describe(n))
	return "", false
}

// nonBlank decodes a string that must contain something.
func (d *decoder) nonBlank(n *yaml.Node, at string) (string, bool) {
	s, ok := d.str(n, at)
	if ok && strings.TrimSpace(s) == "" {
		d.fail(n, at, "must not be empty")
		return "", false
	}
	return s, ok
}

func (d *decoder) integer(n *yaml.Node, at string) (int, bool) {
	if n.Kind != yaml.ScalarNode || n.ShortTag() != "!!int" {
		d.fail(n, at, "expected a whole number, got %s", describe(n))
		return 0, false
	}
	v, err := strconv.ParseInt(n.Value, 0, 64)
	if err != nil || v > math.MaxInt32 || v < math.MinInt32 {
		d.fail(n, at, "number %s is out of range", n.Value)
		return 0, false
	}
	return int(v), true
}

func (d *decoder) boolean(n *yaml.Node, at string) (bool, bool) {
	if n.Kind == yaml.ScalarNode && n.ShortTag() == "!!bool" {
		if v, err := strconv.ParseBool(n.Value); err == nil {
			return v, true
		}
	}
	d.fail(n, at, "expected true or false, got %s", describe(n))
	return false, false
}

// duration decodes a duration in ParseDuration's syntax; a bare 0 is
// accepted, other bare numbers are refused for lack of a unit.
func (d *decoder) duration(n *yaml.Node, at string) (time.Duration, bool) {
	if n.Kind != yaml.ScalarNode {
		d.fail(n, at, "expected a duration such as 90m, 12h or 3d, got %s", describe(n))
		return 0, false
	}
	switch n.ShortTag() {
	case "!!int", "!!float":
		if n.Value == "0" {
			return 0, true
		}
		d.fail(n, at, "invalid duration %s: missing unit (write e.g. %sh or %sd)", n.Value, n.Value, n.Value)
		return 0, false
	case "!!str":
	default:
		d.fail(n, at, "expected a duration such as 90m, 12h or 3d, got %s", describe(n))
		return 0, false
	}
	v, err := ParseDuration(n.Value)
	if err != nil {
		d.fail(n, at, "invalid duration %q: %v", n.Value, err)
		return 0, false
	}
	return v, true
}

func (d *decoder) cron(n *yaml.Node, at string) (Cron, bool) {
	s, ok := d.str(n, at)
	if !ok {
		return Cron{}, false
	}
	c, err := parseCron(s, func(name string) (*time.Location, error) {
		if loc, ok := d.zones[name]; ok {
			return loc, nil
		}
		loc, err := loadLocation(name)
		if err == nil {
			if d.zones == nil {
				d.zones = map[string]*time.Location{}
			}
			d.zones[name] = loc
		}
		return loc, err
	})
	if err != nil {
		d.fail(n, at, "invalid cron spec %q: %v", s, err)
		return Cron{}, false
	}
	return c, true
}

func (d *decoder) timestamp(n *yaml.Node, at string) (time.Time, bool) {
	s, ok := d.str(n, at)
	if !ok {
		return time.Time{}, false
	}
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		d.fail(n, at, "invalid time %q: use RFC 3339 with a zone offset, e.g. 2025-12-24T00:00:00+01:00", s)
		return time.Time{}, false
	}
	return t, true
}

// enum decodes a string that must be one of allowed.
func (d *decoder) enum(n *yaml.Node, at string, allowed ...string) (string, bool) {
	s, ok := d.str(n, at)
	if !ok {
		return "", false
	}
	if !slices.Contains(allowed, s) {
		d.fail(n, at, "invalid value %q: must be one of %s%s", s, strings.Join(allowed, ", "), didYouMean(s, allowed))
		return "", false
	}
	return s, true
}

// stringList decodes a list of strings, each checked by check (which returns
// a message, or "" when the value is fine).
func (d *decoder) stringList(n *yaml.Node, at string, check func(string) string) []string {
	var out []string
	d.sequence(n, at, func(v *yaml.Node, p string) {
		s, ok := d.str(v, p)
		if !ok {
			return
		}
		if msg := check(s); msg != "" {
			d.fail(v, p, "%s", msg)
			return
		}
		out = append(out, s)
	})
	return out
}

// repoPath decodes a relative path that must stay inside the repository,
// returned cleaned.
func (d *decoder) repoPath(n *yaml.Node, at string) (string, bool) {
	s, ok := d.nonBlank(n, at)
	if !ok {
		return "", false
	}
	switch {
	case strings.ContainsAny(s, "\\\x00"):
		d.fail(n, at, "invalid path %q: use forward slashes", s)
	case strings.HasPrefix(s, "/"):
		d.fail(n, at, "invalid path %q: must be relative to the repository root, not absolute", s)
	case slices.Contains(strings.Split(s, "/"), ".."):
		d.fail(n, at, "invalid path %q: must stay inside the repository (no \"..\")", s)
	case slices.ContainsFunc(strings.Split(s, "/"), func(seg string) bool { return strings.HasPrefix(seg, "-") }):
		d.fail(n, at, "invalid path %q: no part of it may start with '-'", s)
	default:
		return path.Clean(s), true
	}
	return "", false
}

var (
	envNamePattern  = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,31}$`)
	stackPattern    = regexp.MustCompile(`^[A-Za-z0-9_][A-Za-z0-9._-]*(/[A-Za-z0-9_][A-Za-z0-9._-]*){0,2}$`)
	userPattern     = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9-]{0,38}(\[bot\])?$`)
	teamPattern     = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9-]{0,38}/[A-Za-z0-9][A-Za-z0-9_.-]*$`)
	configKeyFormat = regexp.MustCompile(`^[A-Za-z0-9_][A-Za-z0-9_.-]*:[A-Za-z0-9_][A-Za-z0-9_.-]*$`)
)

// maxLabelLength is GitHub's limit on label names.
const maxLabelLength = 50

func checkUser(s string) string {
	if !userPattern.MatchString(s) {
		return fmt.Sprintf("invalid GitHub login %q", s)
	}
	return ""
}

func checkTeam(s string) string {
	if !teamPattern.MatchString(s) {
		return fmt.Sprintf("invalid team %q: write it as org/team-slug", s)
	}
	return ""
}

func checkStack(s string) string {
	switch {
	case strings.HasPrefix(s, "-") || strings.Contains(s, "/-"):
		return fmt.Sprintf("invalid stack name %q: it must not start with '-', which the Pulumi CLI would read as a flag", s)
	case len(s) > 100:
		return fmt.Sprintf("invalid stack name %q: Pulumi allows at most 100 characters", s)
	case !stackPattern.MatchString(s):
		return fmt.Sprintf("invalid stack name %q: use letters, digits, '.', '_' and '-', optionally as org/project/stack", s)
	}
	return ""
}

// providerNamespaces are config namespaces of Pulumi itself and of well-known providers: a schedule
// setting one of their keys would change how the provider deploys, not ask the program to sleep.
var providerNamespaces = []string{"aws", "azure", "azure-native", "gcp", "google-native", "kubernetes", "pulumi"}

// checkConfigKey checks a schedule's config_key: namespace:name, not a flag, not one of the bot's own
// keys (only the default stagecoach:sleeping is allowed) and not a provider's.
func checkConfigKey(s string) string {
	ns, _, _ := strings.Cut(s, ":")
	switch {
	case strings.HasPrefix(s, "-"):
		return fmt.Sprintf("invalid config key %q: it must not start with '-', which the Pulumi CLI would read as a flag", s)
	case !configKeyFormat.MatchString(s):
		return fmt.Sprintf("invalid config key %q: write namespace:name without spaces", s)
	case strings.EqualFold(ns, "stagecoach") && s != DefaultConfigKey:
		return fmt.Sprintf("config key %q is in the bot's own stagecoach: namespace; use %s or a key of your project's namespace", s, DefaultConfigKey)
	case slices.ContainsFunc(providerNamespaces, func(p string) bool { return strings.EqualFold(p, ns) }):
		return fmt.Sprintf("config key %q belongs to the %s provider; use a key of your project's namespace, such as myproject:sleeping", s, ns)
	}
	return ""
}

func checkLabel(s string) string {
	switch {
	case strings.TrimSpace(s) == "":
		return "must not be empty"
	case len([]rune(s)) > maxLabelLength:
		return fmt.Sprintf("label %q is longer than GitHub's %d characters", s, maxLabelLength)
	}
	return ""
}
