package repoconfig

import (
	"errors"
	"fmt"
	"io"
	"regexp"
	"strings"

	"go.yaml.in/yaml/v3"
)

// MaxFileSize is the largest configuration file accepted (1 MiB, also the
// largest file GitHub's contents API returns inline).
const MaxFileSize = 1 << 20

// internalErrorMessage starts the message reported when decoding panicked,
// which would be a bug in stagecoach or a library it uses.
const internalErrorMessage = "internal error while reading the file (please report it)"

// Parse decodes and validates a configuration file. filename is used only in
// error messages. An empty file (or one holding only comments) yields
// Default().
//
// Every problem is reported at once as a *ValidationError. Parse never
// panics, whatever data holds.
func Parse(filename string, data []byte) (cfg *Config, err error) {
	defer func() {
		if r := recover(); r != nil {
			cfg, err = nil, &ValidationError{Errors: []FieldError{{File: filename, Message: fmt.Sprintf("%s: %v", internalErrorMessage, r)}}}
		}
	}()
	if len(data) > MaxFileSize {
		return nil, &ValidationError{Errors: []FieldError{{File: filename, Message: fmt.Sprintf("file is %d bytes, more than the %d allowed", len(data), MaxFileSize)}}}
	}
	root, fe := readDocument(filename, data)
	if fe != nil {
		return nil, &ValidationError{Errors: []FieldError{*fe}}
	}
	d := &decoder{file: filename, nodes: presence{}}
	c := &Config{}
	if root != nil {
		d.config(root, c)
	}
	applyDefaults(c, d.nodes)
	d.validate(c)
	if len(d.errs) > 0 {
		sortFieldErrors(d.errs)
		return nil, &ValidationError{Errors: d.errs}
	}
	return c, nil
}

// readDocument parses the YAML text, insisting on at most one document. It
// returns a nil node for an empty document.
func readDocument(filename string, data []byte) (*yaml.Node, *FieldError) {
	doc, extra, hasExtra, err := decodeDocuments(data)
	switch {
	case errors.Is(err, io.EOF):
		return nil, nil
	case err != nil:
		return nil, syntaxError(filename, data, err)
	case hasExtra:
		return nil, &FieldError{File: filename, Line: extra.Line, Column: extra.Column, Message: "the file holds more than one YAML document (remove the second \"---\")"}
	}
	if doc.Kind != yaml.DocumentNode || len(doc.Content) == 0 {
		return nil, nil
	}
	root := resolve(doc.Content[0])
	if isNull(root) {
		return nil, nil
	}
	return root, nil
}

func (d *decoder) config(n *yaml.Node, c *Config) {
	if n.Kind != yaml.MappingNode {
		d.fail(n, "", "expected a mapping of settings at the top level, got %s", describe(n))
		return
	}
	d.mapping(n, "", []field{
		{"version", func(v *yaml.Node, p string) {
			if x, ok := d.integer(v, p); ok {
				if x != 1 {
					d.fail(v, p, "unsupported version %d: this stagecoach reads version 1", x)
				}
				c.Version = x
			}
		}},
		{"project", func(v *yaml.Node, p string) { c.Project, _ = d.repoPath(v, p) }},
		{"environments", func(v *yaml.Node, p string) {
			c.Environments = []Environment{}
			d.sequence(v, p, func(item *yaml.Node, ip string) {
				c.Environments = append(c.Environments, d.environment(item, ip))
			})
		}},
		{"promotion", func(v *yaml.Node, p string) {
			d.mapping(v, p, []field{
				{"label_pattern", func(v *yaml.Node, p string) { c.Promotion.LabelPattern, _ = d.nonBlank(v, p) }},
			})
		}},
		{"ephemeral", func(v *yaml.Node, p string) { d.ephemeral(v, p, &c.Ephemeral) }},
		{"schedules", func(v *yaml.Node, p string) { c.Schedules = d.schedules(v, p) }},
	})
}

func (d *decoder) environment(n *yaml.Node, at string) Environment {
	var e Environment
	d.mapping(n, at, []field{
		{"name", func(v *yaml.Node, p string) {
			s, ok := d.str(v, p)
			switch {
			case !ok:
			case strings.EqualFold(s, EphemeralScheduleKey):
				d.fail(v, p, "the name %q is reserved for PR environments", s)
			case !envNamePattern.MatchString(s):
				d.fail(v, p, "invalid environment name %q: use up to 32 letters, digits, '.', '_' or '-', starting with a letter or digit", s)
			}
			e.Name = s
		}},
		{"stack", func(v *yaml.Node, p string) {
			if s, ok := d.str(v, p); ok {
				if msg := checkStack(s); msg != "" {
					d.fail(v, p, "%s", msg)
				}
				e.Stack = s
			}
		}},
		{"trigger", func(v *yaml.Node, p string) {
			s, _ := d.enum(v, p, string(TriggerMerge), string(TriggerLabel), string(TriggerCommand))
			e.Trigger = Trigger(s)
		}},
		{"promoters", func(v *yaml.Node, p string) { e.Promoters = d.access(v, p) }},
		{"approvals", func(v *yaml.Node, p string) {
			d.mapping(v, p, []field{
				{"required", func(v *yaml.Node, p string) {
					if x, ok := d.integer(v, p); ok {
						if x < 0 {
							d.fail(v, p, "must not be negative, got %d", x)
						}
						e.Approvals.Required = x
					}
				}},
				{"approvers", func(v *yaml.Node, p string) { e.Approvals.Approvers = d.access(v, p) }},
			})
		}},
		{"soak", func(v *yaml.Node, p string) { e.Soak, _ = d.duration(v, p) }},
		{"allow_skip", func(v *yaml.Node, p string) { e.AllowSkip, _ = d.boolean(v, p) }},
		{"freeze", func(v *yaml.Node, p string) {
			d.sequence(v, p, func(item *yaml.Node, ip string) {
				if w, ok := d.freezeWindow(item, ip); ok {
					e.Freeze = append(e.Freeze, w)
				}
			})
		}},
		{"production", func(v *yaml.Node, p string) { e.Production, _ = d.boolean(v, p) }},
		{"url_output", func(v *yaml.Node, p string) { e.URLOutput, _ = d.nonBlank(v, p) }},
	})
	if n.Kind == yaml.MappingNode && !d.nodes.has(join(at, "name")) {
		d.fail(n, at, "missing required key \"name\"")
	}
	return e
}

func (d *decoder) access(n *yaml.Node, at string) Access {
	var a Access
	levels := make([]string, len(permissionOrder()))
	for i, p := range permissionOrder() {
		levels[i] = string(p)
	}
	d.mapping(n, at, []field{
		{"permission", func(v *yaml.Node, p string) {
			s, _ := d.enum(v, p, levels...)
			a.Permission = Permission(s)
		}},
		{"users", func(v *yaml.Node, p string) { a.Users = d.stringList(v, p, checkUser) }},
		{"teams", func(v *yaml.Node, p string) { a.Teams = d.stringList(v, p, checkTeam) }},
	})
	return a
}

func (d *decoder) freezeWindow(n *yaml.Node, at string) (FreezeWindow, bool) {
	var w FreezeWindow
	ok := true
	keep := func(good bool) {
		ok = ok && good
	}
	d.mapping(n, at, []field{
		{"reason", func(v *yaml.Node, p string) {
			var good bool
			w.Reason, good = d.nonBlank(v, p)
			keep(good)
		}},
		{"cron", func(v *yaml.Node, p string) {
			c, good := d.cron(v, p)
			w.Cron = &c
			keep(good)
		}},
		{"duration", func(v *yaml.Node, p string) {
			var good bool
			w.Duration, good = d.duration(v, p)
			if good && w.Duration <= 0 {
				d.fail(v, p, "must be longer than 0")
				good = false
			}
			keep(good)
		}},
		{"start", func(v *yaml.Node, p string) {
			var good bool
			w.Start, good = d.timestamp(v, p)
			keep(good)
		}},
		{"end", func(v *yaml.Node, p string) {
			var good bool
			w.End, good = d.timestamp(v, p)
			keep(good)
		}},
	})
	if n.Kind != yaml.MappingNode {
		return w, false
	}
	has := func(key string) bool { return d.nodes.has(join(at, key)) }
	if !has("reason") {
		d.fail(n, at, "missing required key \"reason\"")
		ok = false
	}
	switch recurring, oneOff := has("cron") || has("duration"), has("start") || has("end"); {
	case recurring && oneOff:
		d.fail(n, at, "a freeze window is either recurring (cron and duration) or one-off (start and end), not both")
		return w, false
	case recurring:
		for _, key := range []string{"cron", "duration"} {
			if !has(key) {
				d.fail(n, at, "missing required key %q for a recurring window", key)
				ok = false
			}
		}
	case oneOff:
		for _, key := range []string{"start", "end"} {
			if !has(key) {
				d.fail(n, at, "missing required key %q for a one-off window", key)
				ok = false
			}
		}
		if ok && !w.End.After(w.Start) {
			d.fail(d.nodes[join(at, "end")], join(at, "end"), "must be after start (%s)", w.Start.Format("2006-01-02T15:04:05Z07:00"))
			ok = false
		}
	default:
		d.fail(n, at, "a freeze window needs cron and duration (recurring) or start and end (one-off)")
		ok = false
	}
	if !ok || !(has("cron") || has("start")) {
		return w, false
	}
	return w, true
}

func (d *decoder) ephemeral(n *yaml.Node, at string, e *Ephemeral) {
	d.mapping(n, at, []field{
		{"enabled", func(v *yaml.Node, p string) { e.Enabled, _ = d.boolean(v, p) }},
		{"trigger", func(v *yaml.Node, p string) {
			s, _ := d.enum(v, p, string(EphemeralAuto), string(EphemeralLabel), string(EphemeralCommand))
			e.Trigger = EphemeralTrigger(s)
		}},
		{"drafts", func(v *yaml.Node, p string) { e.Drafts, _ = d.boolean(v, p) }},
		{"labels", func(v *yaml.Node, p string) {
			label := func(dst *string) func(*yaml.Node, string) {
				return func(v *yaml.Node, p string) {
					if s, ok := d.str(v, p); ok {
						if msg := checkLabel(s); msg != "" {
							d.fail(v, p, "%s", msg)
						}
						*dst = s
					}
				}
			}
			d.mapping(v, p, []field{
				{"opt_in", label(&e.Labels.OptIn)},
				{"opt_out", label(&e.Labels.OptOut)},
				{"keep", label(&e.Labels.Keep)},
			})
		}},
		{"stack", func(v *yaml.Node, p string) {
			s, ok := d.nonBlank(v, p)
			if !ok {
				return
			}
			e.Stack = s
			if strings.Count(s, "{number}") != 1 {
				d.fail(v, p, "stack pattern %q must contain {number} exactly once", s)
			} else if msg := checkStack(e.StackName(1)); msg != "" {
				d.fail(v, p, "%s", msg)
			}
		}},
		{"config_template", func(v *yaml.Node, p string) { e.ConfigTemplate, _ = d.repoPath(v, p) }},
		{"ttl", func(v *yaml.Node, p string) {
			if x, ok := d.duration(v, p); ok {
				if x <= 0 {
					d.fail(v, p, "must be longer than 0 (use the keep label to exempt an environment)")
				}
				e.TTL = x
			}
		}},
		{"ttl_warning", func(v *yaml.Node, p string) { e.TTLWarning, _ = d.duration(v, p) }},
		{"max_extension", func(v *yaml.Node, p string) { e.MaxExtension, _ = d.duration(v, p) }},
		{"max_active", func(v *yaml.Node, p string) {
			if x, ok := d.integer(v, p); ok {
				if x <= 0 {
					d.fail(v, p, "must be at least 1, got %d", x)
				}
				e.MaxActive = x
			}
		}},
		{"forks", func(v *yaml.Node, p string) {
			s, _ := d.enum(v, p, string(ForkApprove), string(ForkNever))
			e.Forks = ForkPolicy(s)
		}},
		{"url_output", func(v *yaml.Node, p string) { e.URLOutput, _ = d.nonBlank(v, p) }},
		{"slot_pool", func(v *yaml.Node, p string) {
			if x, ok := d.nonBlank(v, p); ok {
				if !slotPoolName.MatchString(x) {
					d.fail(v, p, "want a name of letters, digits, '-', '_' and '.' (at most 64), such as aws-dev-account, got %q", x)
				}
				e.SlotPool = x
			}
		}},
	})
}

// slotPoolName is what ephemeral.slot_pool accepts.
var slotPoolName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$`)

// schedules decodes the mapping from environment name (or "ephemeral") to
// schedule, keeping file order.
func (d *decoder) schedules(n *yaml.Node, at string) []Schedule {
	if n.Kind != yaml.MappingNode {
		d.fail(n, at, "expected a mapping from environment name to schedule, got %s", describe(n))
		return nil
	}
	out := []Schedule{}
	first := map[string]*yaml.Node{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if !d.visit(n.Content[i]) {
			break
		}
		k, v := resolve(n.Content[i]), resolve(n.Content[i+1])
		if k == nil || k.Kind != yaml.ScalarNode {
			d.badScheduleKeys = append(d.badScheduleKeys, n.Content[i])
			continue
		}
		p := join(at, k.Value)
		if prev, dup := first[strings.ToLower(k.Value)]; dup {
			d.fail(k, p, "duplicate schedule for %q (first at line %d)", k.Value, prev.Line)
			continue
		}
		first[strings.ToLower(k.Value)] = k
		d.nodes[p] = k
		if isNull(v) {
			d.fail(k, p, "empty schedule: give sleep and wake")
			continue
		}
		s := Schedule{Environment: k.Value}
		d.mapping(v, p, []field{
			{"sleep", func(v *yaml.Node, p string) { s.Sleep, _ = d.cron(v, p) }},
			{"wake", func(v *yaml.Node, p string) { s.Wake, _ = d.cron(v, p) }},
			{"config_key", func(v *yaml.Node, p string) {
				if x, ok := d.str(v, p); ok {
					if msg := checkConfigKey(x); msg != "" {
						d.fail(v, p, "%s", msg)
					}
					s.ConfigKey = x
				}
			}},
			{"grace", func(v *yaml.Node, p string) { s.Grace, _ = d.duration(v, p) }},
			{"wake_on_deploy", func(v *yaml.Node, p string) { s.WakeOnDeploy, _ = d.boolean(v, p) }},
		})
		if v.Kind == yaml.MappingNode {
			for _, key := range []string{"sleep", "wake"} {
				if !d.nodes.has(join(p, key)) {
					d.fail(k, p, "missing required key %q", key)
				}
			}
		}
		out = append(out, s)
	}
	return out
}
