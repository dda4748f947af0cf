package repoconfig

import (
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestEmptyFileYieldsTheDefaults(t *testing.T) {
	t.Parallel()
	for name, data := range map[string]string{
		"empty":         "",
		"only comments": "# stagecoach is on\n",
		"null document": "~\n",
		"empty mapping": "{}\n",
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			got, err := Parse(FileName, []byte(data))
			if err != nil {
				t.Fatal(err)
			}
			if want := Default(); !reflect.DeepEqual(got, want) {
				t.Errorf("got %+v, want Default() %+v", got, want)
			}
		})
	}
}

func TestDefaults(t *testing.T) {
	t.Parallel()
	t.Run("three environments, the first deployed on merge, the last production", func(t *testing.T) {
		t.Parallel()
		c := Default()
		var got []string
		for _, e := range c.Environments {
			got = append(got, fmt.Sprintf("%s stack=%s trigger=%s production=%t promoters=%s approvers=%s url=%s", e.Name, e.Stack, e.Trigger, e.Production, e.Promoters.Permission, e.Approvals.Approvers.Permission, e.URLOutput))
		}
		want := []string{
			"dev stack=dev trigger=merge production=false promoters=write approvers=write url=url",
			"staging stack=staging trigger=command production=false promoters=write approvers=write url=url",
			"prod stack=prod trigger=command production=true promoters=write approvers=write url=url",
		}
		if !slices.Equal(got, want) {
			t.Errorf("environments:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
		}
		if c.Project != "infra" || c.Version != 1 || c.Promotion.LabelPattern != "promote:{env}" {
			t.Errorf("project %q version %d label pattern %q", c.Project, c.Version, c.Promotion.LabelPattern)
		}
		e := c.Ephemeral
		if e.Enabled || e.Trigger != EphemeralAuto || e.Drafts || e.Stack != "pr-{number}" || e.ConfigTemplate != "Pulumi.pr.yaml" ||
			e.TTL != 72*time.Hour || e.TTLWarning != 12*time.Hour || e.MaxExtension != 168*time.Hour || e.MaxActive != 10 ||
			e.Forks != ForkApprove || e.URLOutput != "url" || e.Labels != (EphemeralLabels{"stagecoach:deploy", "stagecoach:skip", "stagecoach:keep"}) {
			t.Errorf("ephemeral defaults %+v", e)
		}
		if len(c.Schedules) != 0 {
			t.Errorf("schedules %+v, want none", c.Schedules)
		}
	})
	t.Run("an explicit empty environment list turns promotions off", func(t *testing.T) {
		t.Parallel()
		c, err := Parse(FileName, []byte("environments: []\n"))
		if err != nil {
			t.Fatal(err)
		}
		if len(c.Environments) != 0 {
			t.Errorf("environments %+v, want none", c.Environments)
		}
	})
	t.Run("explicit values override the position-based defaults", func(t *testing.T) {
		t.Parallel()
		c, err := Parse(FileName, []byte("environments:\n  - name: dev\n    trigger: command\n  - name: eu\n    production: true\n  - name: us\n    production: false\n"))
		if err != nil {
			t.Fatal(err)
		}
		got := fmt.Sprint(c.Environments[0].Trigger, c.Environments[1].Trigger, c.Environments[1].Production, c.Environments[2].Production)
		if want := fmt.Sprint(TriggerCommand, TriggerCommand, true, false); got != want {
			t.Errorf("got %s, want %s", got, want)
		}
	})
	t.Run("a lone environment is not production unless it says so", func(t *testing.T) {
		t.Parallel()
		for data, want := range map[string]bool{
			"environments:\n  - name: dev\n":                       false,
			"environments:\n  - name: dev\n    production: true\n": true,
		} {
			c, err := Parse(FileName, []byte(data))
			if err != nil {
				t.Fatal(err)
			}
			if c.Environments[0].Production != want {
				t.Errorf("%q: production %t, want %t", data, c.Environments[0].Production, want)
			}
		}
	})
	t.Run("a short ttl halves the warning", func(t *testing.T) {
		t.Parallel()
		c, err := Parse(FileName, []byte("ephemeral:\n  ttl: 6h\n"))
		if err != nil {
			t.Fatal(err)
		}
		if c.Ephemeral.TTLWarning != 3*time.Hour {
			t.Errorf("ttl_warning %v, want 3h", c.Ephemeral.TTLWarning)
		}
	})
	t.Run("grace defaults only for the ephemeral schedule", func(t *testing.T) {
		t.Parallel()
		c, err := Parse(FileName, []byte("schedules:\n  Ephemeral:\n    sleep: \"CRON_TZ=UTC @daily\"\n    wake: \"CRON_TZ=UTC 0 7 * * *\"\n  dev:\n    sleep: \"CRON_TZ=UTC 0 20 * * *\"\n    wake: \"CRON_TZ=UTC 0 7 * * *\"\n"))
		if err != nil {
			t.Fatal(err)
		}
		eph, _ := c.Schedule("ephemeral")
		dev, _ := c.Schedule("dev")
		if eph.Grace != time.Hour || dev.Grace != 0 || eph.ConfigKey != "stagecoach:sleeping" {
			t.Errorf("ephemeral %+v, dev %+v", eph, dev)
		}
	})
	t.Run("null values count as absent", func(t *testing.T) {
		t.Parallel()
		c, err := Parse(FileName, []byte("project:\nephemeral:\n  ttl: ~\n"))
		if err != nil {
			t.Fatal(err)
		}
		if c.Project != "infra" || c.Ephemeral.TTL != 72*time.Hour {
			t.Errorf("project %q ttl %v", c.Project, c.Ephemeral.TTL)
		}
	})
}
