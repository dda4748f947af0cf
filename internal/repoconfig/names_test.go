package repoconfig

import (
	"slices"
	"strings"
	"testing"
)

// Names from .stagecoach.yaml reach the Pulumi CLI as arguments and stack config: none may be read as
// a flag, collide with the bot's own config keys or set a provider's.
func TestNamesNeverBecomeFlagsOrCollide(t *testing.T) {
	t.Parallel()
	const sched = "schedules:\n  dev:\n    sleep: \"CRON_TZ=UTC 0 20 * * *\"\n    wake: \"CRON_TZ=UTC 0 7 * * *\"\n    config_key: "
	for _, tc := range []struct{ name, yaml, want string }{
		{"ephemeral stack -{number}", "ephemeral:\n  stack: \"-{number}\"\n",
			`.stagecoach.yaml:2:10: ephemeral.stack: invalid stack name "-1": it must not start with '-', which the Pulumi CLI would read as a flag`},
		{"ephemeral stack --pr{number}", "ephemeral:\n  stack: \"--pr{number}\"\n",
			`.stagecoach.yaml:2:10: ephemeral.stack: invalid stack name "--pr1": it must not start with '-', which the Pulumi CLI would read as a flag`},
		{"environment stack --help", "environments:\n  - name: dev\n    stack: --help\n",
			`.stagecoach.yaml:3:12: environments[0].stack: invalid stack name "--help": it must not start with '-', which the Pulumi CLI would read as a flag`},
		{"environment stack -s", "environments:\n  - name: dev\n    stack: -s\n",
			`.stagecoach.yaml:3:12: environments[0].stack: invalid stack name "-s": it must not start with '-', which the Pulumi CLI would read as a flag`},
		{"qualified stack with a flag part", "environments:\n  - name: dev\n    stack: acme/-x/dev\n",
			`.stagecoach.yaml:3:12: environments[0].stack: invalid stack name "acme/-x/dev": it must not start with '-', which the Pulumi CLI would read as a flag`},
		{"stack starting with a dot", "environments:\n  - name: dev\n    stack: .dev\n",
			`.stagecoach.yaml:3:12: environments[0].stack: invalid stack name ".dev": use letters, digits, '.', '_' and '-', optionally as org/project/stack`},
		{"stack over 100 characters", "environments:\n  - name: dev\n    stack: " + strings.Repeat("a", 101) + "\n",
			`.stagecoach.yaml:3:12: environments[0].stack: invalid stack name "` + strings.Repeat("a", 101) + `": Pulumi allows at most 100 characters`},
		{"project starting with -", "project: --cwd\n",
			`.stagecoach.yaml:1:10: project: invalid path "--cwd": no part of it may start with '-'`},
		{"absolute project", "project: /etc\n",
			`.stagecoach.yaml:1:10: project: invalid path "/etc": must be relative to the repository root, not absolute`},
		{"project outside the repository", "project: infra/../..\n",
			`.stagecoach.yaml:1:10: project: invalid path "infra/../..": must stay inside the repository (no "..")`},
		{"config key --secret", sched + "--secret\n",
			`.stagecoach.yaml:5:17: schedules.dev.config_key: invalid config key "--secret": it must not start with '-', which the Pulumi CLI would read as a flag`},
		{"config key without a namespace", sched + "sleeping\n",
			`.stagecoach.yaml:5:17: schedules.dev.config_key: invalid config key "sleeping": write namespace:name without spaces`},
		{"the bot's own config key", sched + "stagecoach:pr\n",
			`.stagecoach.yaml:5:17: schedules.dev.config_key: config key "stagecoach:pr" is in the bot's own stagecoach: namespace; use stagecoach:sleeping or a key of your project's namespace`},
		{"the bot's slot key", sched + "stagecoach:slot\n",
			`.stagecoach.yaml:5:17: schedules.dev.config_key: config key "stagecoach:slot" is in the bot's own stagecoach: namespace; use stagecoach:sleeping or a key of your project's namespace`},
		{"a provider's config key", sched + "aws:region\n",
			`.stagecoach.yaml:5:17: schedules.dev.config_key: config key "aws:region" belongs to the aws provider; use a key of your project's namespace, such as myproject:sleeping`},
		{"pulumi's own config key", sched + "pulumi:disable-default-providers\n",
			`.stagecoach.yaml:5:17: schedules.dev.config_key: config key "pulumi:disable-default-providers" belongs to the pulumi provider; use a key of your project's namespace, such as myproject:sleeping`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if got := validationLines(t, tc.yaml); !slices.Contains(got, tc.want) {
				t.Errorf("errors:\n%s\nwant among them:\n%s", strings.Join(got, "\n"), tc.want)
			}
		})
	}

	t.Run("allowed names", func(t *testing.T) {
		t.Parallel()
		for _, yaml := range []string{
			sched + "stagecoach:sleeping\n",
			sched + "shop:asleep\n",
			"environments:\n  - name: dev\n    stack: acme/shop/_dev.1\n",
			"ephemeral:\n  stack: pr-{number}\n",
			"project: infra/app-1\n",
		} {
			if _, err := Parse(".stagecoach.yaml", []byte(yaml)); err != nil {
				t.Errorf("Parse(%q) = %v", yaml, err)
			}
		}
	})
}
