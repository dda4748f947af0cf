package repoconfig

import (
	"slices"
	"strings"

	"go.yaml.in/yaml/v3"
)

// validate checks the rules that span fields, after defaults are applied.
// Problems within one field were reported while decoding.
func (d *decoder) validate(c *Config) {
	d.validateEnvironments(c)
	d.validatePromotion(c)
	d.validateEphemeral(&c.Ephemeral)
	d.validateSchedules(c)
}

func (d *decoder) validateEnvironments(c *Config) {
	names := map[string]int{}
	stacks := map[string]int{}
	for i, e := range c.Environments {
		at := index("environments", i)
		if e.Name != "" {
			key := strings.ToLower(e.Name)
			if j, dup := names[key]; dup {
				d.failAt(at+".name", "duplicate environment name %q (first at line %d)", e.Name, d.line(index("environments", j)+".name"))
			} else {
				names[key] = i
			}
		}
		nameDup := e.Name != "" && names[strings.ToLower(e.Name)] != i
		if e.Stack != "" && !(nameDup && !d.nodes.has(at+".stack")) {
			if j, dup := stacks[e.Stack]; dup {
				d.failAt(at+".stack", "stack %q is already used by environment %q (line %d): each environment needs its own stack", e.Stack, c.Environments[j].Name, d.line(index("environments", j)))
			} else {
				stacks[e.Stack] = i
			}
		}
		if i == 0 {
			if e.Soak > 0 {
				d.failAt(at+".soak", "the first environment has no previous environment to soak in")
			}
			if e.AllowSkip {
				d.failAt(at+".allow_skip", "the first environment has no previous stage to skip")
			}
		}
		a := e.Approvals
		if a.Required > 0 && len(a.Approvers.Teams) == 0 && len(a.Approvers.Users) > 0 && len(a.Approvers.Users) < a.Required {
			d.failAt(at+".approvals.required", "needs %d approvals but only %d users may approve", a.Required, len(a.Approvers.Users))
		}
	}
}

func (d *decoder) validatePromotion(c *Config) {
	const at = "promotion.label_pattern"
	pattern := c.Promotion.LabelPattern
	if pattern == "" {
		return
	}
	if strings.Count(pattern, "{env}") != 1 {
		d.failAt(at, "label pattern %q must contain {env} exactly once", pattern)
		return
	}
	for i, e := range c.Environments {
		if e.Trigger != TriggerLabel || e.Name == "" {
			continue
		}
		if msg := checkLabel(c.PromotionLabel(e.Name)); msg != "" {
			d.failAt(index("environments", i)+".name", "promotion %s", msg)
		}
	}
}

func (d *decoder) validateEphemeral(e *Ephemeral) {
	if e.TTL > 0 && e.TTLWarning >= e.TTL {
		d.failAt("ephemeral.ttl_warning", "must be shorter than the TTL (%s)", FormatDuration(e.TTL))
	}
	labels := map[string]string{}
	for _, l := range []struct{ key, value string }{{"opt_in", e.Labels.OptIn}, {"opt_out", e.Labels.OptOut}, {"keep", e.Labels.Keep}} {
		if l.value == "" {
			continue
		}
		key := strings.ToLower(l.value)
		if other, dup := labels[key]; dup {
			d.failAt("ephemeral.labels."+l.key, "label %q is also the %s label", l.value, other)
			continue
		}
		labels[key] = l.key
	}
}

func (d *decoder) validateSchedules(c *Config) {
	var known []string
	for _, e := range c.Environments {
		if e.Name != "" && !slices.ContainsFunc(known, func(k string) bool { return strings.EqualFold(k, e.Name) }) {
			known = append(known, e.Name)
		}
	}
	known = append(known, EphemeralScheduleKey)
	for _, k := range d.badScheduleKeys {
		d.fail(k, "schedules", "the key %s is %s, not an environment name: use one of %s", keyText(k), describe(resolve(k)), strings.Join(known, ", "))
	}
	for _, s := range c.Schedules {
		at := join("schedules", s.Environment)
		ephemeral := strings.EqualFold(s.Environment, EphemeralScheduleKey)
		e, ok := c.Environment(s.Environment)
		switch {
		case !ok && !ephemeral:
			d.failAt(at, "unknown environment %q (known: %s)%s", s.Environment, strings.Join(known, ", "), didYouMean(s.Environment, known))
		case ok && e.Production:
			d.failAt(at, "%q is a production environment%s, and production never sleeps: remove this schedule, or set production: false on %s if it is not production", e.Name, d.productionWhy(c, e), e.Name)
		}
		if !ephemeral && d.nodes.has(at+".grace") {
			d.failAt(at+".grace", "grace applies only to the %s schedule", EphemeralScheduleKey)
		}
		if s.Sleep.Schedule != nil && s.Wake.Schedule != nil && strings.TrimSpace(s.Sleep.Spec) == strings.TrimSpace(s.Wake.Spec) {
			d.failAt(at+".wake", "sleep and wake are the same spec %q", s.Wake.Spec)
		}
	}
}

// productionWhy explains, when the file does not say production: true, why
// an environment is production.
func (d *decoder) productionWhy(c *Config, e *Environment) string {
	for i := range c.Environments {
		if &c.Environments[i] == e && !d.nodes.has(index("environments", i)+".production") {
			return " (the last of several environments is production unless it says production: false)"
		}
	}
	return ""
}

// line returns the line of the field at path, or 0.
func (d *decoder) line(path string) int {
	if n := d.nodes.near(path); n != nil {
		return n.Line
	}
	return 0
}

// keyText renders a mapping key that is not a plain string, on one line.
func keyText(k *yaml.Node) string {
	out, err := yaml.Marshal(k)
	if err != nil {
		return "?"
	}
	return strings.Join(strings.Fields(string(out)), " ")
}
