package chart_test

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"

	"github.com/stagecoach/stagecoach/internal/testenv/golden"
	"helm.sh/helm/v3/pkg/chartutil"
	"helm.sh/helm/v3/pkg/lint"
	"helm.sh/helm/v3/pkg/lint/support"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// The renderings reviewers read: what `helm template stagecoach deploy/chart/stagecoach` prints for
// each mode, NOTES.txt last. `go -C deploy/chart test ./test -update` rewrites them.
func TestGolden(t *testing.T) {
	t.Parallel()
	checkGolden(t, "testdata/sqlite.golden.yaml", variations[0].values)
	checkGolden(t, "testdata/postgres.golden.yaml", variations[2].values)
}

func checkGolden(t *testing.T, path, values string) {
	t.Helper()
	out := mustRender(t, values)
	var b strings.Builder
	fmt.Fprintf(&b, "# helm template %s deploy/chart/stagecoach -n %s -f values.yaml, with values.yaml:\n", release, namespace)
	comment := func(prefix, text string) {
		for line := range strings.Lines(strings.TrimSpace(text)) {
			fmt.Fprintf(&b, "%s\n", strings.TrimRight(prefix+strings.TrimSuffix(line, "\n"), " "))
		}
	}
	comment("#   ", values)
	for _, m := range manifests(out) {
		fmt.Fprintf(&b, "---\n# Source: %s\n%s\n", m.template, m.yaml)
	}
	for _, name := range slices.Sorted(maps.Keys(out)) {
		if strings.HasSuffix(name, "NOTES.txt") {
			fmt.Fprintf(&b, "---\n# %s:\n", name)
			comment("# ", out[name])
		}
	}
	golden.Assert(t, path, b.String())
}

// What the chart refuses to render, and that it says why.
func TestRefusals(t *testing.T) {
	t.Parallel()
	for _, c := range []struct{ name, values, want string }{
		{"no App id", "", "github.appId is required"},
		{"several replicas on SQLite", minimal + "replicas: 2\n",
			"replicas is 2, but the database is SQLite (database.existingSecret is empty), which allows one writer"},
		{"Postgres without a backend", minimal + "database: {existingSecret: db}\n",
			"with Postgres (database.existingSecret) every replica must see the same Pulumi state, but the backend is empty (file:///data/state)"},
		{"several replicas on Postgres with a file backend", minimal + "replicas: 3\ndatabase: {existingSecret: db}\npulumi: {backendURL: file:///data/state}\n",
			"but the backend is file:///data/state, a directory of one pod's scratch volume"},
		{"a shared file backend without a volume", minimal + "replicas: 2\ndatabase: {existingSecret: db}\npulumi: {backendURL: file:///state, fileBackendShared: true}\n",
			"pulumi.stateVolume names no volume to share it"},
		{"a file backend on no volume", minimal + "pulumi: {backendURL: file:///var/state}\n",
			"names a directory on no volume of the pod"},
		{"a grace period below the shutdown timeout", minimal + "shutdownTimeoutSeconds: 300\nterminationGracePeriodSeconds: 300\n",
			"terminationGracePeriodSeconds (300) must be above shutdownTimeoutSeconds (300)"},
		{"an Ingress without a host", minimal + "ingress: {enabled: true}\n", "ingress.enabled needs ingress.host"},
		{"setuid isolation", minimal + "settings: {STAGECOACH_PULUMI_USER: pulumi}\n", "in this chart Pulumi runs in a container of its own"},
		{"a setting the chart sets", minimal + "settings: {STAGECOACH_DATABASE_URL: postgres://x}\n", "settings.STAGECOACH_DATABASE_URL is set by the chart"},
		{"a misspelt setting", minimal + "settings: {STAGECOACH_WORKER: 4}\n", "settings.STAGECOACH_WORKER is not a setting of stagecoach"},
		{"a misspelt value", minimal + "replica: 2\n", "additional properties 'replica' not allowed"},
		{"the admin port on the main port", minimal + "adminPort: 8080\n", "adminPort 8080 is the main port"},
	} {
		_, err := render(t, c.values)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: got %v, want an error with %q", c.name, err, c.want)
		}
	}
}

// The two modes: SQLite is one pod on a claim, stopped before its successor starts; Postgres is N
// pods on scratch volumes, rolled. The PodDisruptionBudget never blocks a drain of one pod.
func TestModes(t *testing.T) {
	t.Parallel()
	eachVariation(t, func(t *testing.T, v variation) {
		objs := objects(t, v.values)
		d := only[*appsv1.Deployment](t, objs)
		data, err := volume(&d.Spec.Template.Spec, "data")
		if err != nil {
			t.Fatal(err)
		}
		pdb := only[*policyv1.PodDisruptionBudget](t, objs)
		replicas := *d.Spec.Replicas
		var claims int
		for _, o := range objs {
			if _, ok := o.(*corev1.PersistentVolumeClaim); ok {
				claims++
			}
		}
		if v.postgres {
			if replicas < 2 || d.Spec.Strategy.Type != appsv1.RollingUpdateDeploymentStrategyType {
				t.Errorf("Postgres: %d replicas, strategy %s; want several, RollingUpdate", replicas, d.Spec.Strategy.Type)
			}
			if data.EmptyDir == nil || claims != 0 {
				t.Errorf("Postgres: the data volume is %+v and the chart makes %d claims; want an emptyDir and none", data.VolumeSource, claims)
			}
			if pdb.Spec.MinAvailable == nil || *pdb.Spec.MinAvailable != intstr.FromInt32(1) {
				t.Errorf("Postgres: the PodDisruptionBudget is %+v, want minAvailable 1", pdb.Spec)
			}
		} else {
			if replicas != 1 || d.Spec.Strategy.Type != appsv1.RecreateDeploymentStrategyType {
				t.Errorf("SQLite: %d replicas, strategy %s; want 1, Recreate", replicas, d.Spec.Strategy.Type)
			}
			if data.PersistentVolumeClaim == nil || claims != 1 {
				t.Errorf("SQLite: the data volume is %+v and the chart makes %d claims; want the chart's claim", data.VolumeSource, claims)
			}
			if pdb.Spec.MaxUnavailable == nil || *pdb.Spec.MaxUnavailable != intstr.FromInt32(1) {
				t.Errorf("SQLite: the PodDisruptionBudget is %+v, want maxUnavailable 1", pdb.Spec)
			}
		}
	})
}

// The pod's shape: the bot and the runner as a native sidecar (it starts before the bot and stops
// after it), probes on /healthz and /readyz, resources on every container, a grace period above the
// bot's shutdown timeout, scrape annotations, the optional objects when asked for.
func TestPod(t *testing.T) {
	t.Parallel()
	eachVariation(t, func(t *testing.T, v variation) {
		objs := objects(t, v.values)
		p := &only[*appsv1.Deployment](t, objs).Spec.Template
		spec := &p.Spec
		bot, runner := container(t, spec, "bot"), container(t, spec, "pulumi")
		if runner.RestartPolicy == nil || *runner.RestartPolicy != corev1.ContainerRestartPolicyAlways ||
			!slices.ContainsFunc(spec.InitContainers, func(c corev1.Container) bool { return c.Name == "pulumi" }) {
			t.Error("the runner is not a native sidecar (an init container with restartPolicy Always)")
		}
		if !slices.Equal(bot.Args, []string{"serve"}) || !slices.Equal(runner.Args, []string{"runner"}) {
			t.Errorf("args: bot %q, runner %q", bot.Args, runner.Args)
		}
		if bot.LivenessProbe.HTTPGet.Path != "/healthz" || bot.ReadinessProbe.HTTPGet.Path != "/readyz" || bot.StartupProbe.HTTPGet.Path != "/healthz" {
			t.Error("the bot's probes are not /healthz (liveness, start-up) and /readyz (readiness)")
		}
		for _, c := range allContainers(spec) {
			if c.Resources.Requests.Memory().IsZero() || c.Resources.Requests.Cpu().IsZero() || c.Resources.Limits.Memory().IsZero() {
				t.Errorf("container %s: requests %v, limits %v; want CPU and memory requests and a memory limit", c.Name, c.Resources.Requests, c.Resources.Limits)
			}
		}
		shutdown, _ := envValue(bot, "STAGECOACH_SHUTDOWN_TIMEOUT")
		if grace := fmt.Sprintf("%ds", *spec.TerminationGracePeriodSeconds); shutdown == "" || len(grace) < len(shutdown) || (len(grace) == len(shutdown) && grace <= shutdown) {
			t.Errorf("terminationGracePeriodSeconds %s is not above STAGECOACH_SHUTDOWN_TIMEOUT %q", grace, shutdown)
		}
		if p.Annotations["prometheus.io/scrape"] != "true" || p.Annotations["prometheus.io/path"] != "/metrics" || !podHasPort(spec, p.Annotations["prometheus.io/port"]) {
			t.Errorf("scrape annotations %v", p.Annotations)
		}
		if spec.AutomountServiceAccountToken == nil || *spec.AutomountServiceAccountToken || spec.EnableServiceLinks == nil || *spec.EnableServiceLinks {
			t.Error("the pod mounts the API token or gets service links")
		}
		everything := strings.Contains(v.name, "everything")
		for _, kind := range []struct {
			name string
			n    int
		}{
			{"Ingress", count[*networkingv1.Ingress](objs)},
			{"NetworkPolicy", count[*networkingv1.NetworkPolicy](objs)},
		} {
			if (kind.n == 1) != everything {
				t.Errorf("%d %s objects; want one only when asked for", kind.n, kind.name)
			}
		}
		if count[*corev1.ServiceAccount](objs) != 1 || count[*corev1.Service](objs) != 1 {
			t.Error("want one ServiceAccount and one Service")
		}
		if url, ok := envValue(bot, "STAGECOACH_PUBLIC_URL"); everything != ok || (ok && !strings.HasPrefix(url, "http")) {
			t.Errorf("STAGECOACH_PUBLIC_URL = %q, set %v; want it set from publicURL or the Ingress", url, ok)
		}
	})
}

func count[T runtime.Object](objs []runtime.Object) int {
	n := 0
	for _, o := range objs {
		if _, ok := o.(T); ok {
			n++
		}
	}
	return n
}

// The public URL comes from the Ingress when publicURL is empty, https when it has TLS.
func TestPublicURL(t *testing.T) {
	t.Parallel()
	for _, c := range []struct{ values, want string }{
		{"ingress: {enabled: true, host: bot.example.com}\n", "http://bot.example.com"},
		{"ingress: {enabled: true, host: bot.example.com, tls: [{secretName: tls}]}\n", "https://bot.example.com"},
		{"publicURL: https://elsewhere.example.com/\ningress: {enabled: true, host: bot.example.com}\n", "https://elsewhere.example.com"},
	} {
		bot := container(t, &pod(t, minimal+c.values).Spec, "bot")
		if got, _ := envValue(bot, "STAGECOACH_PUBLIC_URL"); got != c.want {
			t.Errorf("%q: STAGECOACH_PUBLIC_URL = %q, want %q", c.values, got, c.want)
		}
	}
}

// Values from a YAML file reach the variables as the bot reads them: numbers whole, lists joined.
func TestSettingsValues(t *testing.T) {
	t.Parallel()
	bot := container(t, &pod(t, "github: {appId: 123456789}\nsettings: {STAGECOACH_WORKERS: 16, STAGECOACH_REPO_ALLOWLIST: [a/*, b/c], STAGECOACH_PUBLIC_LOGS: false}\n").Spec, "bot")
	for name, want := range map[string]string{
		"STAGECOACH_GITHUB_APP_ID":  "123456789",
		"STAGECOACH_WORKERS":        "16",
		"STAGECOACH_REPO_ALLOWLIST": "a/*,b/c",
		"STAGECOACH_PUBLIC_LOGS":    "false",
	} {
		if got, _ := envValue(bot, name); got != want {
			t.Errorf("%s = %q, want %q", name, got, want)
		}
	}
}

// helm lint --strict, with the chart's Kubernetes version.
func TestLint(t *testing.T) {
	t.Parallel()
	for _, v := range variations {
		vals, err := chartutil.ReadValues([]byte(v.values))
		if err != nil {
			t.Fatal(err)
		}
		kv, err := chartutil.ParseKubeVersion(kubeVersion)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range lint.AllWithKubeVersion(chartDir, vals, namespace, kv).Messages {
			if m.Severity >= support.WarningSev {
				t.Errorf("%s: helm lint: %s", v.name, m)
			}
		}
	}
}
