package chart_test

import (
	"fmt"
	"maps"
	"slices"
	"sort"
	"strings"
	"testing"

	"helm.sh/helm/v3/pkg/chart/loader"
	"helm.sh/helm/v3/pkg/chartutil"
	"helm.sh/helm/v3/pkg/engine"
	"helm.sh/helm/v3/pkg/releaseutil"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/serializer/json"
)

const (
	chartDir  = "../stagecoach"
	release   = "stagecoach"
	namespace = "stagecoach"
)

// kubeVersion is the cluster version the chart is rendered for: the oldest that runs native sidecars
// by default would do as well; the chart asks for nothing version-specific.
const kubeVersion = "v1.33.0"

// A variation is a values file, as `helm template -f` would read it.
type variation struct {
	name, values string
	postgres     bool
}

// minimal is the one value the chart requires.
const minimal = "github: {appId: 123456}\n"

// variations are the renderings every check runs on: both modes, bare and with every optional object.
var variations = []variation{
	{name: "sqlite", values: minimal},
	{name: "sqlite, everything on", values: minimal + `
publicURL: https://bot.example.com/
adminPort: 9090
ingress:
  enabled: true
  className: nginx
  host: bot.example.com
  annotations: {cert-manager.io/cluster-issuer: letsencrypt}
  tls: [{secretName: stagecoach-tls, hosts: [bot.example.com]}]
networkPolicy:
  enabled: true
  ingressFrom: [{namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: ingress-nginx}}}]
  adminFrom: [{namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: monitoring}}}]
  egress: [{to: [{ipBlock: {cidr: 0.0.0.0/0, except: [169.254.169.254/32]}}]}]
persistence: {storageClass: fast, size: 50Gi, keep: false}
serviceAccount: {annotations: {eks.amazonaws.com/role-arn: "arn:aws:iam::123456789012:role/stagecoach"}}
settings:
  STAGECOACH_REPO_ALLOWLIST: [my-org/*, other-org/app]
  STAGECOACH_WORKERS: 16
  STAGECOACH_PUBLIC_LOGS: false
  STAGECOACH_LOG_LEVEL: debug
  STAGECOACH_GITHUB_API_URL: https://github.example.com/api/v3/
extraEnv:
  - {name: AWS_REGION, value: eu-west-1}
  - {name: PULUMI_ACCESS_TOKEN, valueFrom: {secretKeyRef: {name: pulumi-cloud, key: token}}}
extraEnvFrom: [{secretRef: {name: stagecoach-cloud}}]
imagePullSecrets: [{name: registry}]
podAnnotations: {example.com/team: platform}
nodeSelector: {kubernetes.io/arch: amd64}
tolerations: [{key: dedicated, operator: Equal, value: ci, effect: NoSchedule}]
priorityClassName: high
`},
	{name: "postgres", postgres: true, values: minimal + `
replicas: 3
database: {existingSecret: stagecoach-db}
pulumi: {backendURL: "s3://pulumi-state?region=eu-west-1"}
`},
	{name: "postgres, everything on", postgres: true, values: minimal + `
replicas: 2
database: {existingSecret: stagecoach-db, key: STAGECOACH_DATABASE_URL}
pulumi:
  backendURL: s3://pulumi-state
  secretsProvider: awskms://alias/stagecoach
adminPort: 9090
scratch: {sizeLimit: 50Gi}
ingress: {enabled: true, host: bot.example.com}
networkPolicy: {enabled: true}
podDisruptionBudget: {enabled: true}
`},
	{name: "postgres, shared file backend", postgres: true, values: minimal + `
replicas: 2
database: {existingSecret: stagecoach-db}
pulumi:
  backendURL: file:///state
  fileBackendShared: true
  stateVolume: {persistentVolumeClaim: {claimName: pulumi-state}}
`},
}

// eachVariation runs check on every variation, each in a parallel subtest.
func eachVariation(t *testing.T, check func(t *testing.T, v variation)) {
	t.Helper()
	for _, v := range variations {
		t.Run(v.name, func(t *testing.T) {
			t.Parallel()
			check(t, v)
		})
	}
}

// render renders the chart with values (YAML) as `helm template` would, NOTES.txt included.
func render(t testing.TB, values string) (map[string]string, error) {
	t.Helper()
	ch, err := loader.Load(chartDir)
	if err != nil {
		t.Fatalf("loading the chart: %v", err)
	}
	vals, err := chartutil.ReadValues([]byte(values))
	if err != nil {
		t.Fatalf("the test's values do not parse: %v", err)
	}
	kv, err := chartutil.ParseKubeVersion(kubeVersion)
	if err != nil {
		t.Fatal(err)
	}
	caps := chartutil.DefaultCapabilities.Copy()
	caps.KubeVersion = *kv
	opts := chartutil.ReleaseOptions{Name: release, Namespace: namespace, Revision: 1, IsInstall: true}
	rv, err := chartutil.ToRenderValues(ch, vals, opts, caps)
	if err != nil {
		return nil, err
	}
	return engine.Render(ch, rv)
}

// mustRender is render for values that must render.
func mustRender(t testing.TB, values string) map[string]string {
	t.Helper()
	out, err := render(t, values)
	if err != nil {
		t.Fatalf("rendering the chart: %v", err)
	}
	return out
}

// manifests lists the YAML documents of a rendering that hold an object, by template file name and
// then in their order in the file, each with its template's name.
func manifests(out map[string]string) []manifest {
	var all []manifest
	for _, name := range slices.Sorted(maps.Keys(out)) {
		if strings.HasSuffix(name, "NOTES.txt") {
			continue
		}
		docs := releaseutil.SplitManifests(out[name])
		keys := slices.Collect(maps.Keys(docs))
		sort.Sort(releaseutil.BySplitManifestsOrder(keys))
		for _, key := range keys {
			if doc := docs[key]; hasObject(doc) {
				all = append(all, manifest{template: name, yaml: doc})
			}
		}
	}
	return all
}

type manifest struct{ template, yaml string }

// hasObject reports whether a YAML document holds more than comments.
func hasObject(doc string) bool {
	for line := range strings.Lines(doc) {
		if l := strings.TrimSpace(line); l != "" && !strings.HasPrefix(l, "#") {
			return true
		}
	}
	return false
}

// scheme knows exactly the kinds the chart may render; any other is an error.
var scheme = func() *runtime.Scheme {
	s := runtime.NewScheme()
	for _, add := range []func(*runtime.Scheme) error{
		corev1.AddToScheme, appsv1.AddToScheme, policyv1.AddToScheme, networkingv1.AddToScheme,
	} {
		if err := add(s); err != nil {
			panic(err)
		}
	}
	return s
}()

// strict decodes YAML into the Go type of its apiVersion and kind, refusing unknown and duplicate
// fields, as the API server's strict field validation does.
var strict = json.NewSerializerWithOptions(json.DefaultMetaFactory, scheme, scheme,
	json.SerializerOptions{Yaml: true, Strict: true})

// objects renders values and decodes every object strictly.
func objects(t testing.TB, values string) []runtime.Object {
	t.Helper()
	var objs []runtime.Object
	for _, m := range manifests(mustRender(t, values)) {
		obj, gvk, err := strict.Decode([]byte(m.yaml), nil, nil)
		if err != nil {
			t.Fatalf("%s does not decode strictly into a Kubernetes API type: %v\n%s", m.template, err, m.yaml)
		}
		if gvk.Kind == "" || gvk.Version == "" {
			t.Fatalf("%s has no apiVersion or kind:\n%s", m.template, m.yaml)
		}
		objs = append(objs, obj)
	}
	return objs
}

// only returns the one object of type T.
func only[T runtime.Object](t testing.TB, objs []runtime.Object) T {
	t.Helper()
	var found []T
	for _, o := range objs {
		if v, ok := o.(T); ok {
			found = append(found, v)
		}
	}
	if len(found) != 1 {
		var zero T
		t.Fatalf("%d objects of type %T, want 1", len(found), zero)
	}
	return found[0]
}

// pod is the Deployment's pod template.
func pod(t testing.TB, values string) *corev1.PodTemplateSpec {
	t.Helper()
	return &only[*appsv1.Deployment](t, objects(t, values)).Spec.Template
}

// container finds a container of a pod by name among its containers and init containers.
func container(t testing.TB, spec *corev1.PodSpec, name string) *corev1.Container {
	t.Helper()
	for _, list := range [][]corev1.Container{spec.Containers, spec.InitContainers} {
		for i := range list {
			if list[i].Name == name {
				return &list[i]
			}
		}
	}
	t.Fatalf("the pod has no container %q", name)
	return nil
}

// allContainers lists a pod's init containers and containers.
func allContainers(spec *corev1.PodSpec) []*corev1.Container {
	var out []*corev1.Container
	for _, list := range [][]corev1.Container{spec.InitContainers, spec.Containers} {
		for i := range list {
			out = append(out, &list[i])
		}
	}
	return out
}

func envValue(c *corev1.Container, name string) (string, bool) {
	for _, e := range c.Env {
		if e.Name == name {
			return e.Value, true
		}
	}
	return "", false
}

func volume(spec *corev1.PodSpec, name string) (*corev1.Volume, error) {
	for i := range spec.Volumes {
		if spec.Volumes[i].Name == name {
			return &spec.Volumes[i], nil
		}
	}
	return nil, fmt.Errorf("no volume %q", name)
}
