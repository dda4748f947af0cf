package chart_test

import (
	"fmt"
	"path"
	"slices"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	psapi "k8s.io/pod-security-admission/api"
	"k8s.io/pod-security-admission/policy"
)

// restricted evaluates a pod with the Pod Security admission's own checks at level restricted,
// latest version, and returns why it would be refused (nothing when it would be admitted).
func restricted(t testing.TB, meta *metav1.ObjectMeta, spec *corev1.PodSpec) []string {
	t.Helper()
	eval, err := policy.NewEvaluator(policy.DefaultChecks(), nil)
	if err != nil {
		t.Fatal(err)
	}
	var forbidden []string
	lv := psapi.LevelVersion{Level: psapi.LevelRestricted, Version: psapi.LatestVersion()}
	for _, r := range eval.EvaluatePod(lv, meta, spec) {
		if !r.Allowed {
			forbidden = append(forbidden, r.ForbiddenReason+": "+r.ForbiddenDetail)
		}
	}
	return forbidden
}

func TestPodsPassPodSecurityRestricted(t *testing.T) {
	t.Parallel()
	eachVariation(t, func(t *testing.T, v variation) {
		p := pod(t, v.values)
		if why := restricted(t, &p.ObjectMeta, &p.Spec); len(why) > 0 {
			t.Errorf("Pod Security %q would refuse the pod:\n%s", psapi.LevelRestricted, strings.Join(why, "\n"))
		}
	})
}

// The check above can fail: values that break "restricted" make it report the reason.
func TestPodSecurityCheckCatchesABadPod(t *testing.T) {
	t.Parallel()
	for _, c := range []struct{ values, reason string }{
		{"securityContext: {runAsUser: 0}\n", "runAsUser=0"},
		{"podSecurityContext: {runAsUser: 0}\nsecurityContext: {runAsUser: null}\n", "runAsUser=0"},
		{"securityContext: {allowPrivilegeEscalation: true}\n", "allowPrivilegeEscalation != false"},
		{"securityContext: {capabilities: {drop: [ALL], add: [NET_ADMIN]}}\n", "unrestricted capabilities"},
		{"securityContext: {seccompProfile: {type: Unconfined}}\n", "seccompProfile"},
		{"securityContext: {runAsNonRoot: false}\npodSecurityContext: {runAsNonRoot: false}\n", "runAsNonRoot != true"},
	} {
		p := pod(t, minimal+c.values)
		why := restricted(t, &p.ObjectMeta, &p.Spec)
		if !slices.ContainsFunc(why, func(w string) bool { return strings.Contains(w, c.reason) }) {
			t.Errorf("with %q the check reported %q, want a reason with %q", c.values, why, c.reason)
		}
	}
}

// "restricted" does not ask for a read-only root filesystem; the chart gives one to every container
// (the volumes are where they write), and mounts the secrets read-only.
func TestRootFilesystemsAreReadOnly(t *testing.T) {
	t.Parallel()
	eachVariation(t, func(t *testing.T, v variation) {
		p := pod(t, v.values)
		for _, c := range allContainers(&p.Spec) {
			sc := c.SecurityContext
			if sc == nil || sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem {
				t.Errorf("container %s: the root filesystem is writable", c.Name)
			}
			for _, m := range c.VolumeMounts {
				if v, err := volume(&p.Spec, m.Name); err == nil && v.Secret != nil && !m.ReadOnly {
					t.Errorf("container %s: the secret volume %s is mounted writable", c.Name, m.Name)
				}
			}
		}
	})
}

// The Pulumi runner runs pull requests' programs: it must get no secret of the bot's. It mounts no
// secret volume, takes no environment from a Secret or ConfigMap, sees only its own directories of the
// data volume (never the database), and shares no process namespace with the bot. The bot does hold
// the secrets, which is how the test knows it looks at the right objects.
func TestRunnerGetsNoSecret(t *testing.T) {
	t.Parallel()
	eachVariation(t, func(t *testing.T, v variation) {
		spec := &pod(t, v.values).Spec
		if p := runnerLeaks(spec); len(p) > 0 {
			t.Error(strings.Join(p, "\n"))
		}
		bot := container(t, spec, "bot")
		if !mountsSecret(spec, bot) {
			t.Error("the bot container mounts no secret volume: the test no longer reads the pod it was written for")
		}
		if _, ok := dbURL(bot); ok != v.postgres {
			t.Errorf("the bot container takes STAGECOACH_DATABASE_URL from a Secret: %v, want %v", ok, v.postgres)
		}
	})
}

// The leak check fails when the runner is given what it must not have.
func TestRunnerLeakCheckCatchesALeak(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		name string
		leak func(spec *corev1.PodSpec, runner *corev1.Container)
		want string
	}{
		{"a secret volume", func(spec *corev1.PodSpec, r *corev1.Container) {
			r.VolumeMounts = append(r.VolumeMounts, corev1.VolumeMount{Name: "github", MountPath: "/secrets/github"})
		}, "mounts the secret volume github"},
		{"envFrom", func(spec *corev1.PodSpec, r *corev1.Container) {
			r.EnvFrom = append(r.EnvFrom, corev1.EnvFromSource{SecretRef: &corev1.SecretEnvSource{}})
		}, "envFrom"},
		{"a secret variable", func(spec *corev1.PodSpec, r *corev1.Container) {
			r.Env = append(r.Env, corev1.EnvVar{Name: "X", ValueFrom: &corev1.EnvVarSource{SecretKeyRef: &corev1.SecretKeySelector{}}})
		}, "from a Secret"},
		{"the whole data volume", func(spec *corev1.PodSpec, r *corev1.Container) {
			r.VolumeMounts = append(r.VolumeMounts, corev1.VolumeMount{Name: "data", MountPath: "/data"})
		}, "the database"},
		{"a shared process namespace", func(spec *corev1.PodSpec, r *corev1.Container) {
			share := true
			spec.ShareProcessNamespace = &share
		}, "process namespace"},
		{"another setting", func(spec *corev1.PodSpec, r *corev1.Container) {
			r.Env = append(r.Env, corev1.EnvVar{Name: "STAGECOACH_GITHUB_APP_ID", Value: "1"})
		}, "STAGECOACH_GITHUB_APP_ID"},
	} {
		spec := &pod(t, minimal).Spec
		c.leak(spec, container(t, spec, "pulumi"))
		p := runnerLeaks(spec)
		if !slices.ContainsFunc(p, func(s string) bool { return strings.Contains(s, c.want) }) {
			t.Errorf("giving the runner %s: the check reported %q, want %q", c.name, p, c.want)
		}
	}
}

// runnerEnv is all the environment the runner gets from the pod: where its socket is, and the data
// directory its paths are under.
var runnerEnv = []string{"STAGECOACH_PULUMI_RUNNER", "STAGECOACH_DATA_DIR"}

// runnerMounts are the parts of the data volume the runner may see (subPaths), each at the path the
// bot sees it at.
var runnerMounts = []string{"work", "pulumi-home", "state"}

func runnerLeaks(spec *corev1.PodSpec) []string {
	var p []string
	add := func(format string, args ...any) { p = append(p, fmt.Sprintf(format, args...)) }
	var runner *corev1.Container
	for _, c := range allContainers(spec) {
		if slices.Contains(c.Args, "runner") {
			runner = c
		}
	}
	if runner == nil {
		return []string{"no container runs `bot runner`"}
	}
	if spec.ShareProcessNamespace != nil && *spec.ShareProcessNamespace {
		add("the pod shares one process namespace: the runner's programs could read the bot's /proc")
	}
	if len(runner.EnvFrom) > 0 {
		add("the runner takes envFrom %v", runner.EnvFrom)
	}
	for _, e := range runner.Env {
		if e.ValueFrom != nil {
			add("the runner takes %s from a Secret or the pod (%v)", e.Name, e.ValueFrom)
		}
		if !slices.Contains(runnerEnv, e.Name) {
			add("the runner is given %s; it gets its variables from the bot, per process", e.Name)
		}
	}
	for _, m := range runner.VolumeMounts {
		v, err := volume(spec, m.Name)
		if err != nil {
			add("%v", err)
			continue
		}
		switch {
		case v.Secret != nil || v.Projected != nil || v.ConfigMap != nil || v.CSI != nil:
			add("the runner mounts the secret volume %s at %s", m.Name, m.MountPath)
		case m.Name == "data" && (!slices.Contains(runnerMounts, m.SubPath) || m.MountPath != path.Join("/data", m.SubPath)):
			add("the runner mounts %q of the data volume at %s: it may see only %v, at /data/…, never the database", m.SubPath, m.MountPath, runnerMounts)
		}
	}
	return p
}

func mountsSecret(spec *corev1.PodSpec, c *corev1.Container) bool {
	for _, m := range c.VolumeMounts {
		if v, err := volume(spec, m.Name); err == nil && v.Secret != nil {
			return true
		}
	}
	return false
}

func dbURL(c *corev1.Container) (*corev1.SecretKeySelector, bool) {
	for _, e := range c.Env {
		if e.Name == "STAGECOACH_DATABASE_URL" && e.ValueFrom != nil && e.ValueFrom.SecretKeyRef != nil {
			return e.ValueFrom.SecretKeyRef, true
		}
	}
	return nil, false
}
