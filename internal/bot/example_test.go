package bot_test

import (
	"context"
	"maps"
	"regexp"
	"slices"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/stagecoach/stagecoach/examples"
	"github.com/stagecoach/stagecoach/internal/bot/bottest"
	"github.com/stagecoach/stagecoach/internal/engine"
	"github.com/stagecoach/stagecoach/internal/githubsim"
	"github.com/stagecoach/stagecoach/internal/repoconfig"
	"github.com/stagecoach/stagecoach/internal/stackkeys"
)

// minimalExample is examples/minimal, the repository the README tells users to copy.
func minimalExample(t *testing.T) map[string]string {
	t.Helper()
	files, err := examples.Minimal()
	if err != nil {
		t.Fatal(err)
	}
	return files
}

// The example repository, copied as the README says, is deployed by the whole bot with the real
// engine: its stack's outputs carry what the bot set for the PR, and a push moves the commit.
func TestMinimalExampleDeploys(t *testing.T) {
	t.Parallel()
	w := bottest.New(t, bottest.Files(minimalExample(t)), bottest.Pulumi(), bottest.StartBot())
	pr := w.OpenPR(githubsim.PROptions{Branch: "feature/greeting"})
	w.Wait("the example's PR environment", func() bool {
		return w.StatusIs(pr.Number, "ready", "https://pr-1.minimal.example.com")
	})
	want := map[string]string{"url": "https://pr-1.minimal.example.com", "pr": "1", "slot": "0", "sleeping": "false",
		"commit": pr.HeadSHA, "ref": "feature/greeting", "greeting": "hello from a pull request"}
	assertOutputs(t, w, "pr-1", want)

	head := w.Push(pr.Number, map[string]string{"app/main.txt": "two"})
	w.Wait("the push deployed", func() bool { return w.PREnv(pr.Number).DeployedSHA == head })
	want["commit"] = head
	assertOutputs(t, w, "pr-1", want)
}

// With an environment listed, a merge promoted to it carries the merge commit and the default
// branch to the program, and a sleep transition keeps them.
func TestMinimalExampleEnvironmentKeepsTheCommit(t *testing.T) {
	t.Parallel()
	files := minimalExample(t)
	files[".stagecoach.yaml"] = strings.Replace(files[".stagecoach.yaml"], "environments: []", `environments:
  - name: dev
    trigger: merge
schedules:
  dev:
    sleep: "CRON_TZ=Europe/Berlin 0 20 * * MON-FRI"
    wake: "CRON_TZ=Europe/Berlin 0 7 * * MON-FRI"`, 1)
	files["infra/Pulumi.dev.yaml"] = "config:\n  minimal:greeting: hello from dev\n"
	w := bottest.New(t, bottest.Files(files), bottest.Pulumi(), bottest.WithClock(bottest.ClockAt(berlin(t, "2026-11-25 12:00"))))
	w.StartBot(bottest.BotOptions{Replica: "one", Scheduled: true, AwaitStartTick: true})
	_, merge := w.MergePR()
	w.WaitDeployed("dev", merge, "success")
	want := map[string]string{"url": "https://pr-0.minimal.example.com", "pr": "0", "slot": "0", "sleeping": "false",
		"commit": merge, "ref": "main", "greeting": "hello from dev"}
	assertOutputs(t, w, "dev", want)

	w.Clock.Set(berlin(t, "2026-11-25 21:30"))
	if st := w.TickUntil("dev", "asleep"); st.State != "asleep" {
		t.Fatalf("dev at night: %+v", st)
	}
	want["sleeping"] = "true"
	assertOutputs(t, w, "dev", want)
}

// assertOutputs checks the outputs of the example's stack in the world's state backend.
func assertOutputs(t *testing.T, w *bottest.World, stack string, want map[string]string) {
	t.Helper()
	got := map[string]string{}
	for k, o := range w.Outputs("minimal", stack) {
		got[k] = o.Value
	}
	if !maps.Equal(got, want) {
		t.Errorf("%s's outputs = %v, want %v", stack, got, want)
	}
}

// The stack key contract: the stagecoach: keys the bot sets are exactly those the example reads
// (infra/'s half is TestProgramReadsEveryKeyTheBotSets in infra/).
func TestStackKeysContract(t *testing.T) {
	t.Parallel()
	files := minimalExample(t)

	t.Run("a PR deploy sets every key but the sleep schedule's, which internal/schedule sets", func(t *testing.T) {
		t.Parallel()
		w := bottest.New(t, bottest.Features(), bottest.Files(files))
		pr := w.OpenPR(githubsim.PROptions{})
		w.Deliver(pr.Number)
		w.Work(context.Background())
		set := []string{repoconfig.DefaultConfigKey}
		ups := 0
		for _, c := range w.Engine.Calls() {
			if c.Kind != string(engine.KindUp) {
				continue
			}
			ups++
			for k, v := range c.Request.Config {
				if strings.HasPrefix(k, stackkeys.Namespace+":") && !slices.Contains(set, k) {
					set = append(set, k)
				}
				if k == stackkeys.Commit && v.Value != pr.HeadSHA {
					t.Errorf("%s = %q, want the head %s", k, v.Value, pr.HeadSHA)
				}
			}
		}
		slices.Sort(set)
		if ups != 1 || !slices.Equal(set, stackkeys.All()) {
			t.Errorf("%d deploys set %v, want one setting %v", ups, set, stackkeys.All())
		}
	})

	t.Run("the example declares and reads exactly the keys the bot sets", func(t *testing.T) {
		t.Parallel()
		var project struct {
			Config  map[string]any    `yaml:"config"`
			Outputs map[string]string `yaml:"outputs"`
		}
		if err := yaml.Unmarshal([]byte(files["infra/Pulumi.yaml"]), &project); err != nil {
			t.Fatal(err)
		}
		var declared []string
		for k := range project.Config {
			if strings.HasPrefix(k, stackkeys.Namespace+":") {
				declared = append(declared, k)
			}
		}
		slices.Sort(declared)
		var read []string
		ref := regexp.MustCompile(`\$\{(` + stackkeys.Namespace + `:[^}]+)\}`)
		for _, v := range project.Outputs {
			for _, m := range ref.FindAllStringSubmatch(v, -1) {
				read = append(read, m[1])
			}
		}
		slices.Sort(read)
		read = slices.Compact(read)
		if !slices.Equal(declared, stackkeys.All()) || !slices.Equal(read, stackkeys.All()) {
			t.Errorf("the example declares %v and reads %v; the bot sets %v", declared, read, stackkeys.All())
		}
	})
}
