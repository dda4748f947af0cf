package main

import (
	"encoding/json"
	"maps"
	"slices"
	"strconv"
	"strings"
	"testing"
)

func TestSleeping(t *testing.T) {
	t.Parallel()
	for _, file := range committedStacks(t) {
		stack, values := deployable(t, file)
		cfg, err := parse(stack, values)
		if err != nil {
			t.Fatal(err)
		}
		if cfg.Production {
			t.Run(file+" refuses to sleep and declares nothing", func(t *testing.T) {
				t.Parallel()
				d, err := deploy(t, stack, withValues(values, map[string]string{keySleeping: "true"}))
				if err == nil || !strings.Contains(err.Error(), "production stack "+stack+" refuses to sleep") {
					t.Fatalf("deploying a sleeping %s: error %v, want a refusal", stack, err)
				}
				if n := len(d.resources()); n != 0 {
					t.Errorf("a refused configuration still declared %d resources", n)
				}
			})
			continue
		}

		t.Run(file+" sleeps at the floor and wakes to its configured sizes", func(t *testing.T) {
			t.Parallel()
			awake := mustDeploy(t, stack, values)
			asleep := mustDeploy(t, stack, withValues(values, map[string]string{keySleeping: "true"}))

			svc := asleep.one(t, "aws:ecs/service:Service", "app")
			if n := num(svc.Inputs["desiredCount"]); n != 0 {
				t.Errorf("sleeping service runs %v tasks, want 0", n)
			}
			for _, target := range asleep.all("aws:appautoscaling/target:Target") {
				if lo, hi := num(target.Inputs["minCapacity"]), num(target.Inputs["maxCapacity"]); lo != 0 || hi != 0 {
					t.Errorf("sleeping autoscaling bounds %v–%v, want 0–0", lo, hi)
				}
			}
			scaling := field(asleep.one(t, "aws:rds/cluster:Cluster", "db").Inputs, "serverlessv2ScalingConfiguration")
			want := map[string]any{"minCapacity": 0.0, "maxCapacity": 1.0, "secondsUntilAutoPause": 300.0}
			if !maps.Equal(scaling.(map[string]any), want) {
				t.Errorf("sleeping database scaling %v, want %v (auto-pause at 0 ACU)", scaling, want)
			}

			wantChanged := []string{
				"aws:ecs/service:Service::app.desiredCount",
				"aws:rds/cluster:Cluster::db.serverlessv2ScalingConfiguration",
			}
			if cfg.Autoscaling() {
				wantChanged = append(wantChanged,
					"aws:appautoscaling/target:Target::app.maxCapacity", "aws:appautoscaling/target:Target::app.minCapacity")
			}
			slices.Sort(wantChanged)
			if got := changes(awake, asleep); !slices.Equal(got, wantChanged) {
				t.Errorf("sleeping changed %q, want only %q", got, wantChanged)
			}

			woken := mustDeploy(t, stack, withValues(values, map[string]string{keySleeping: "false"}))
			if got := changes(awake, woken); len(got) != 0 {
				t.Errorf("waking differs from never having slept: %q", got)
			}
			if n := num(woken.one(t, "aws:ecs/service:Service", "app").Inputs["desiredCount"]); n != float64(cfg.Service.MinReplicas) {
				t.Errorf("woken service runs %v tasks, want the configured %d", n, cfg.Service.MinReplicas)
			}
		})
	}
}

func TestFlagChanges(t *testing.T) {
	t.Parallel()
	for _, file := range committedStacks(t) {
		t.Run(file, func(t *testing.T) {
			t.Parallel()
			stack, values := deployable(t, file)
			cfg, err := parse(stack, values)
			if err != nil {
				t.Fatal(err)
			}
			if len(cfg.Flags) == 0 || len(cfg.Settings) == 0 {
				t.Fatalf("Pulumi.%s.yaml has no flags or settings to change", file)
			}
			before := mustDeploy(t, stack, values)
			flag := slices.Sorted(maps.Keys(cfg.Flags))[0]
			setting := slices.Sorted(maps.Keys(cfg.Settings))[0]

			with := func(t *testing.T, key string, m any) map[string]string {
				j, err := json.Marshal(m)
				if err != nil {
					t.Fatal(err)
				}
				return withValues(values, map[string]string{key: string(j)})
			}
			flipped := maps.Clone(cfg.Flags)
			flipped[flag] = !flipped[flag]
			added := maps.Clone(cfg.Flags)
			added["dark-mode"] = true
			edited := maps.Clone(cfg.Settings)
			edited[setting] += "-changed"

			for _, tc := range []struct {
				name   string
				values map[string]string
				want   []string
			}{
				{"flipping a flag updates only its parameter", with(t, keyFlags, flipped),
					[]string{"aws:ssm/parameter:Parameter::flag-" + flag + ".insecureValue"}},
				{"adding a flag adds only its parameter", with(t, keyFlags, added),
					[]string{"added aws:ssm/parameter:Parameter::flag-dark-mode"}},
				{"changing a setting updates only its parameter", with(t, keySettings, edited),
					[]string{"aws:ssm/parameter:Parameter::setting-" + setting + ".insecureValue"}},
			} {
				after := mustDeploy(t, stack, tc.values)
				if got := changes(before, after); !slices.Equal(got, tc.want) {
					t.Errorf("%s: changed %q, want %q", tc.name, got, tc.want)
				}
			}

			param := before.one(t, "aws:ssm/parameter:Parameter", "flag-"+flag)
			if param.Inputs["name"] != cfg.parameterPath()+"flags/"+flag || param.Inputs["insecureValue"] != strconv.FormatBool(cfg.Flags[flag]) {
				t.Errorf("flag parameter %v = %v, want %sflags/%s = %v", param.Inputs["name"], param.Inputs["insecureValue"], cfg.parameterPath(), flag, cfg.Flags[flag])
			}
			defs := before.one(t, "aws:ecs/taskDefinition:TaskDefinition", "app").Inputs["containerDefinitions"].(string)
			if !strings.Contains(defs, `"STAGECOACH_PARAMETER_PATH","value":"`+cfg.parameterPath()+`"`) {
				t.Errorf("the task does not learn where its parameters are: %s", defs)
			}
		})
	}
}
