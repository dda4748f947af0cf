package repoconfig

import (
	"strings"
	"time"

	"github.com/stagecoach/stagecoach/internal/stackkeys"
)

// Defaults of the settings, as documented on the Config types.
const (
	DefaultProject        = "infra"
	DefaultLabelPattern   = "promote:{env}"
	DefaultURLOutput      = "url"
	DefaultPRStack        = "pr-{number}"
	DefaultConfigTemplate = "Pulumi.pr.yaml"
	DefaultTTL            = 72 * time.Hour
	DefaultTTLWarning     = 12 * time.Hour
	DefaultMaxExtension   = 7 * 24 * time.Hour
	DefaultMaxActive      = 10
	DefaultOptInLabel     = "stagecoach:deploy"
	DefaultOptOutLabel    = "stagecoach:skip"
	DefaultKeepLabel      = "stagecoach:keep"
	DefaultConfigKey      = stackkeys.Sleeping
	DefaultGrace          = time.Hour
)

// applyDefaults fills every field absent from the file (per p) with its
// default.
func applyDefaults(c *Config, p presence) {
	if !p.has("version") {
		c.Version = 1
	}
	if !p.has("project") {
		c.Project = DefaultProject
	}
	if !p.has("environments") {
		c.Environments = []Environment{{Name: "dev"}, {Name: "staging"}, {Name: "prod"}}
	}
	last := len(c.Environments) - 1
	for i := range c.Environments {
		e := &c.Environments[i]
		at := index("environments", i)
		if !p.has(at + ".stack") {
			e.Stack = e.Name
		}
		if !p.has(at + ".trigger") {
			e.Trigger = TriggerCommand
			if i == 0 {
				e.Trigger = TriggerMerge
			}
		}
		if !p.has(at + ".promoters.permission") {
			e.Promoters.Permission = PermissionWrite
		}
		if !p.has(at + ".approvals.approvers.permission") {
			e.Approvals.Approvers.Permission = PermissionWrite
		}
		if !p.has(at + ".production") {
			// A lone environment is where changes land first, not a stage
			// they are promoted to: it is production only when it says so.
			e.Production = i == last && last > 0
		}
		if !p.has(at + ".url_output") {
			e.URLOutput = DefaultURLOutput
		}
	}
	if !p.has("promotion.label_pattern") {
		c.Promotion.LabelPattern = DefaultLabelPattern
	}
	ephemeralDefaults(&c.Ephemeral, p)
	if c.Schedules == nil {
		c.Schedules = []Schedule{}
	}
	for i := range c.Schedules {
		s := &c.Schedules[i]
		at := join("schedules", s.Environment)
		if !p.has(at + ".config_key") {
			s.ConfigKey = DefaultConfigKey
		}
		if !p.has(at+".grace") && strings.EqualFold(s.Environment, EphemeralScheduleKey) {
			s.Grace = DefaultGrace
		}
	}
}

func ephemeralDefaults(e *Ephemeral, p presence) {
	set := func(key string) bool { return p.has("ephemeral." + key) }
	if !set("trigger") {
		e.Trigger = EphemeralAuto
	}
	if !set("labels.opt_in") {
		e.Labels.OptIn = DefaultOptInLabel
	}
	if !set("labels.opt_out") {
		e.Labels.OptOut = DefaultOptOutLabel
	}
	if !set("labels.keep") {
		e.Labels.Keep = DefaultKeepLabel
	}
	if !set("stack") {
		e.Stack = DefaultPRStack
	}
	if !set("config_template") {
		e.ConfigTemplate = DefaultConfigTemplate
	}
	if !set("ttl") {
		e.TTL = DefaultTTL
	}
	if !set("ttl_warning") {
		// Half the TTL when the TTL is a day or less, so short TTLs work
		// without also setting the warning.
		e.TTLWarning = min(DefaultTTLWarning, e.TTL/2)
	}
	if !set("max_extension") {
		e.MaxExtension = DefaultMaxExtension
	}
	if !set("max_active") {
		e.MaxActive = DefaultMaxActive
	}
	if !set("forks") {
		e.Forks = ForkApprove
	}
	if !set("url_output") {
		e.URLOutput = DefaultURLOutput
	}
}
