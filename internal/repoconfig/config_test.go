package repoconfig

import (
	"fmt"
	"os"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"time"
)

// cronless strips the parsed schedules and locations out of a Config so it
// can be compared with reflect.DeepEqual, returning the zones by path.
func cronless(c *Config) map[string]string {
	zones := map[string]string{}
	strip := func(path string, cr *Cron) {
		if cr.Schedule == nil || cr.Location == nil {
			zones[path] = "<unparsed>"
		} else {
			zones[path] = cr.Location.String()
		}
		cr.Schedule, cr.Location = nil, nil
	}
	for i := range c.Environments {
		for j := range c.Environments[i].Freeze {
			if w := &c.Environments[i].Freeze[j]; w.Cron != nil {
				strip(fmt.Sprintf("environments[%d].freeze[%d]", i, j), w.Cron)
			}
		}
	}
	for i := range c.Schedules {
		strip("schedules."+c.Schedules[i].Environment+".sleep", &c.Schedules[i].Sleep)
		strip("schedules."+c.Schedules[i].Environment+".wake", &c.Schedules[i].Wake)
	}
	return zones
}

func TestExampleParsesToTheDocumentedValues(t *testing.T) {
	t.Parallel()
	data, err := os.ReadFile("testdata/example.stagecoach.yaml")
	if err != nil {
		t.Fatal(err)
	}
	got, err := Parse("example.stagecoach.yaml", data)
	if err != nil {
		t.Fatalf("the annotated example must parse cleanly:\n%v", err)
	}
	berlin, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		t.Fatal(err)
	}
	friday := got.Environments[2].Freeze[0].Cron.Next(time.Date(2025, 6, 2, 0, 0, 0, 0, time.UTC))
	if want := time.Date(2025, 6, 6, 18, 0, 0, 0, berlin); !friday.Equal(want) {
		t.Errorf("weekend freeze starts %v, want %v", friday, want)
	}
	plus1 := time.FixedZone("", 3600)
	want := &Config{
		Version: 1,
		Project: "infra",
		Environments: []Environment{
			{
				Name: "dev", Stack: "dev", Trigger: TriggerMerge,
				Promoters: Access{Permission: PermissionWrite},
				Approvals: Approvals{Approvers: Access{Permission: PermissionWrite}},
				URLOutput: "url",
			},
			{
				Name: "staging", Stack: "acme/website/staging", Trigger: TriggerLabel,
				Promoters: Access{Permission: PermissionWrite, Users: []string{"alice", "bob"}, Teams: []string{"acme/platform"}},
				Approvals: Approvals{Approvers: Access{Permission: PermissionWrite}},
				Soak:      time.Hour,
				URLOutput: "url",
			},
			{
				Name: "prod", Stack: "prod", Trigger: TriggerCommand,
				Promoters: Access{Permission: PermissionMaintain},
				Approvals: Approvals{Required: 2, Approvers: Access{Permission: PermissionWrite, Users: []string{"carol", "dave"}, Teams: []string{"acme/sre"}}},
				Soak:      24 * time.Hour,
				Freeze: []FreezeWindow{
					{Reason: "weekend, nobody on call", Cron: &Cron{Spec: "CRON_TZ=Europe/Berlin 0 18 * * FRI", Fields: "0 18 * * FRI"}, Duration: 62 * time.Hour},
					{Reason: "end-of-year freeze", Start: time.Date(2025, 12, 20, 0, 0, 0, 0, plus1), End: time.Date(2026, 1, 5, 9, 0, 0, 0, plus1)},
				},
				Production: true,
				URLOutput:  "website_url",
			},
		},
		Promotion: Promotion{LabelPattern: "promote:{env}"},
		Ephemeral: Ephemeral{
			Enabled: true, Trigger: EphemeralAuto,
			Labels:         EphemeralLabels{OptIn: "stagecoach:deploy", OptOut: "stagecoach:skip", Keep: "stagecoach:keep"},
			Stack:          "pr-{number}",
			ConfigTemplate: "Pulumi.pr.yaml",
			TTL:            72 * time.Hour, TTLWarning: 12 * time.Hour, MaxExtension: 7 * 24 * time.Hour,
			MaxActive: 5, SlotPool: "aws-dev-account", Forks: ForkApprove, URLOutput: "url",
		},
		Schedules: []Schedule{
			{Environment: "dev", Sleep: Cron{Spec: "CRON_TZ=Europe/Berlin 0 20 * * MON-FRI", Fields: "0 20 * * MON-FRI"}, Wake: Cron{Spec: "CRON_TZ=Europe/Berlin 0 7 * * MON-FRI", Fields: "0 7 * * MON-FRI"}, ConfigKey: "stagecoach:sleeping"},
			{Environment: "ephemeral", Sleep: Cron{Spec: "CRON_TZ=America/New_York 0 19 * * *", Fields: "0 19 * * *"}, Wake: Cron{Spec: "CRON_TZ=America/New_York 0 8 * * MON-FRI", Fields: "0 8 * * MON-FRI"}, ConfigKey: "stagecoach:sleeping", Grace: time.Hour, WakeOnDeploy: true},
		},
	}
	zones := cronless(got)
	wantZones := map[string]string{
		"environments[2].freeze[0]": "Europe/Berlin",
		"schedules.dev.sleep":       "Europe/Berlin", "schedules.dev.wake": "Europe/Berlin",
		"schedules.ephemeral.sleep": "America/New_York", "schedules.ephemeral.wake": "America/New_York",
	}
	if !reflect.DeepEqual(zones, wantZones) {
		t.Errorf("zones = %v, want %v", zones, wantZones)
	}
	// time.Time values from different parses of the same instant compare
	// with Equal, not DeepEqual.
	for _, w := range [][2]time.Time{{got.Environments[2].Freeze[1].Start, want.Environments[2].Freeze[1].Start}, {got.Environments[2].Freeze[1].End, want.Environments[2].Freeze[1].End}} {
		if !w[0].Equal(w[1]) {
			t.Errorf("one-off freeze bound %v, want %v", w[0], w[1])
		}
	}
	got.Environments[2].Freeze[1].Start, got.Environments[2].Freeze[1].End = time.Time{}, time.Time{}
	want.Environments[2].Freeze[1].Start, want.Environments[2].Freeze[1].End = time.Time{}, time.Time{}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("example parsed to\n%+v\nwant\n%+v", got, want)
	}
}

func TestExampleSetsEveryKeyTheSchemaOffers(t *testing.T) {
	t.Parallel()
	data, err := os.ReadFile("testdata/example.stagecoach.yaml")
	if err != nil {
		t.Fatal(err)
	}
	root, fe := readDocument("example.stagecoach.yaml", data)
	if fe != nil {
		t.Fatal(fe)
	}
	d := &decoder{nodes: presence{}, offered: map[string]bool{}}
	d.config(root, &Config{})
	generic := regexp.MustCompile(`\[\d+\]`)
	normalize := func(p string) string {
		p = generic.ReplaceAllString(p, "[]")
		if rest, ok := strings.CutPrefix(p, "schedules."); ok {
			if _, key, ok := strings.Cut(rest, "."); ok {
				return "schedules.*." + key
			}
			return "schedules.*"
		}
		return p
	}
	set := map[string]bool{}
	for p := range d.nodes {
		set[normalize(p)] = true
	}
	if len(d.offered) < 40 {
		t.Fatalf("only %d keys offered; the schema walk is broken", len(d.offered))
	}
	for p := range d.offered {
		if !set[normalize(p)] {
			t.Errorf("the example does not show %s", normalize(p))
		}
	}
}

func TestConfigLookups(t *testing.T) {
	t.Parallel()
	c, err := Parse(FileName, []byte("environments:\n  - name: dev\n  - name: staging\n    trigger: label\n  - name: prod\n    trigger: label\npromotion:\n  label_pattern: \"ship-to/{env}\"\nephemeral:\n  stack: preview-{number}-web\n"))
	if err != nil {
		t.Fatal(err)
	}
	if e, ok := c.Environment("STAGING"); !ok || e.Name != "staging" {
		t.Errorf("Environment(STAGING) = %v, %t", e, ok)
	}
	if e, ok := c.Previous("prod"); !ok || e.Name != "staging" {
		t.Errorf("Previous(prod) = %v, %t", e, ok)
	}
	if _, ok := c.Previous("dev"); ok {
		t.Errorf("Previous(dev) found an environment")
	}
	if got := c.PromotionLabel("prod"); got != "ship-to/prod" {
		t.Errorf("PromotionLabel(prod) = %q", got)
	}
	if e, ok := c.LabelEnvironment("Ship-To/Prod"); !ok || e.Name != "prod" {
		t.Errorf("LabelEnvironment(Ship-To/Prod) = %v, %t", e, ok)
	}
	if _, ok := c.LabelEnvironment("ship-to/dev"); ok {
		t.Errorf("dev has trigger merge, yet its label promotes")
	}
	if got := c.Ephemeral.StackName(42); got != "preview-42-web" {
		t.Errorf("StackName(42) = %q", got)
	}
}

func TestPermissionAllows(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		min, actual Permission
		want        bool
	}{
		{PermissionWrite, PermissionAdmin, true},
		{PermissionWrite, PermissionMaintain, true},
		{PermissionWrite, PermissionWrite, true},
		{PermissionWrite, PermissionTriage, false},
		{PermissionWrite, "none", false},
		{PermissionRead, "READ", true},
		{"", PermissionAdmin, false},
	} {
		if got := tc.min.Allows(tc.actual); got != tc.want {
			t.Errorf("%q.Allows(%q) = %t, want %t", tc.min, tc.actual, got, tc.want)
		}
	}
}
