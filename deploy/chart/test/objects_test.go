package chart_test

import (
	"fmt"
	"slices"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation"
)

// Every object of every variation decodes strictly into its API type (objects fails otherwise) and
// hangs together: names and labels the API server accepts, selectors that select the pods, every
// volume, port, Service, claim and ServiceAccount that is referred to exists.
func TestObjectsAreValidKubernetesObjects(t *testing.T) {
	t.Parallel()
	eachVariation(t, func(t *testing.T, v variation) {
		for _, problem := range inconsistencies(objects(t, v.values)) {
			t.Error(problem)
		}
	})
}

// The strict decoding refuses what the API server would: an unknown field, and a kind the chart has
// no business rendering.
func TestStrictDecodingRefusesUnknownFields(t *testing.T) {
	t.Parallel()
	for _, doc := range []string{
		"apiVersion: v1\nkind: Service\nmetadata: {name: x}\nspec: {ports: [{port: 80, targetPrt: http}]}\n",
		"apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: x}\nspec: {replica: 1}\n",
		"apiVersion: v1\nkind: Service\nmetadata: {name: x, name: y}\n",
		"apiVersion: policy/v1beta1\nkind: PodDisruptionBudget\nmetadata: {name: x}\n",
		"apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\nmetadata: {name: x}\n",
	} {
		if _, _, err := strict.Decode([]byte(doc), nil, nil); err == nil {
			t.Errorf("decoded without an error:\n%s", doc)
		}
	}
}

// inconsistencies lists what the API server or the kubelet would refuse, or what would quietly not
// work, beyond the types themselves.
func inconsistencies(objs []runtime.Object) []string {
	var p []string
	add := func(format string, args ...any) { p = append(p, fmt.Sprintf(format, args...)) }
	names := map[string]bool{} // kind/name
	var (
		podLabels labels.Set
		dep       *appsv1.Deployment
	)
	for _, o := range objs {
		m, err := metaOf(o)
		if err != nil {
			add("%v", err)
			continue
		}
		kind := fmt.Sprintf("%T", o)
		if names[kind+"/"+m.Name] {
			add("two %s named %s", kind, m.Name)
		}
		names[kind+"/"+m.Name] = true
		for _, e := range validation.IsDNS1123Subdomain(m.Name) {
			add("%s name %q: %s", kind, m.Name, e)
		}
		if m.Namespace != "" {
			add("%s %s sets a namespace; the release's namespace applies", kind, m.Name)
		}
		p = append(p, badLabels(kind+" "+m.Name, m.Labels)...)
		if d, ok := o.(*appsv1.Deployment); ok {
			dep = d
			podLabels = d.Spec.Template.Labels
			p = append(p, badLabels("the pod template", podLabels)...)
			p = append(p, podInconsistencies(&d.Spec.Template.Spec)...)
			if sel, err := metav1.LabelSelectorAsSelector(d.Spec.Selector); err != nil || !sel.Matches(podLabels) {
				add("the Deployment's selector %v does not select its pods (%v)", d.Spec.Selector, err)
			}
		}
	}
	if dep == nil {
		return append(p, "no Deployment")
	}
	selects := func(what string, sel *metav1.LabelSelector) {
		s, err := metav1.LabelSelectorAsSelector(sel)
		if err != nil || s.Empty() || !s.Matches(podLabels) {
			add("%s selector %v does not select the pods (%v)", what, sel, err)
		}
	}
	for _, o := range objs {
		switch o := o.(type) {
		case *appsv1.Deployment:
			spec := &o.Spec.Template.Spec
			// The data volume's claim is the chart's (the variations name no persistence.existingClaim).
			if v, err := volume(spec, "data"); err != nil {
				add("%v", err)
			} else if c := v.PersistentVolumeClaim; c != nil && !names["*v1.PersistentVolumeClaim/"+c.ClaimName] {
				add("the data volume claims %s, which the chart does not create", c.ClaimName)
			}
			if sa := spec.ServiceAccountName; !names["*v1.ServiceAccount/"+sa] {
				add("the pods run as ServiceAccount %q, which the chart does not create", sa)
			}
		case *corev1.Service:
			selects("the Service's", &metav1.LabelSelector{MatchLabels: o.Spec.Selector})
			for _, port := range o.Spec.Ports {
				if !podHasPort(&dep.Spec.Template.Spec, port.TargetPort.String()) {
					add("the Service's port %s targets %s, which no container has", port.Name, port.TargetPort.String())
				}
			}
		case *policyv1.PodDisruptionBudget:
			selects("the PodDisruptionBudget's", o.Spec.Selector)
		case *networkingv1.NetworkPolicy:
			selects("the NetworkPolicy's", &o.Spec.PodSelector)
			for _, r := range o.Spec.Ingress {
				for _, port := range r.Ports {
					if port.Port == nil || !podHasPort(&dep.Spec.Template.Spec, port.Port.String()) {
						add("the NetworkPolicy admits port %v, which no container has", port.Port)
					}
				}
			}
		case *networkingv1.Ingress:
			for _, r := range o.Spec.Rules {
				for _, e := range validation.IsDNS1123Subdomain(r.Host) {
					add("the Ingress host %q: %s", r.Host, e)
				}
				for _, path := range r.HTTP.Paths {
					s := path.Backend.Service
					if s == nil || !names["*v1.Service/"+s.Name] {
						add("the Ingress routes %s to a Service the chart does not create", path.Path)
						continue
					}
					svc := named[*corev1.Service](objs, s.Name)
					if !slices.ContainsFunc(svc.Spec.Ports, func(p corev1.ServicePort) bool { return p.Name == s.Port.Name }) {
						add("the Ingress routes to port %q, which the Service does not have", s.Port.Name)
					}
				}
			}
		}
	}
	return p
}

// podInconsistencies checks the references inside a pod.
func podInconsistencies(spec *corev1.PodSpec) []string {
	var p []string
	add := func(format string, args ...any) { p = append(p, fmt.Sprintf(format, args...)) }
	volumes := map[string]bool{}
	for _, v := range spec.Volumes {
		if volumes[v.Name] {
			add("two volumes named %s", v.Name)
		}
		volumes[v.Name] = true
		for _, e := range validation.IsDNS1123Label(v.Name) {
			add("volume name %q: %s", v.Name, e)
		}
	}
	containers := map[string]bool{}
	for _, c := range allContainers(spec) {
		if containers[c.Name] {
			add("two containers named %s", c.Name)
		}
		containers[c.Name] = true
		for _, e := range validation.IsDNS1123Label(c.Name) {
			add("container name %q: %s", c.Name, e)
		}
		mounts := map[string]bool{}
		for _, m := range c.VolumeMounts {
			if !volumes[m.Name] {
				add("container %s mounts %s, which is no volume of the pod", c.Name, m.Name)
			}
			if mounts[m.MountPath] {
				add("container %s mounts two volumes at %s", c.Name, m.MountPath)
			}
			mounts[m.MountPath] = true
		}
		env := map[string]bool{}
		for _, e := range c.Env {
			if env[e.Name] {
				add("container %s sets %s twice", c.Name, e.Name)
			}
			env[e.Name] = true
			for _, msg := range validation.IsEnvVarName(e.Name) {
				add("container %s: variable %q: %s", c.Name, e.Name, msg)
			}
		}
		for _, probe := range []*corev1.Probe{c.StartupProbe, c.LivenessProbe, c.ReadinessProbe} {
			if probe != nil && probe.HTTPGet != nil && !podHasPort(&corev1.PodSpec{Containers: []corev1.Container{*c}}, probe.HTTPGet.Port.String()) {
				add("container %s probes port %s, which it does not have", c.Name, probe.HTTPGet.Port.String())
			}
		}
	}
	return p
}

func badLabels(what string, l map[string]string) []string {
	var p []string
	for k, v := range l {
		for _, e := range validation.IsQualifiedName(k) {
			p = append(p, fmt.Sprintf("%s: label key %q: %s", what, k, e))
		}
		for _, e := range validation.IsValidLabelValue(v) {
			p = append(p, fmt.Sprintf("%s: label %s=%q: %s", what, k, v, e))
		}
	}
	return p
}

// podHasPort reports whether a container of the pod has the port, by name or number.
func podHasPort(spec *corev1.PodSpec, port string) bool {
	for _, c := range allContainers(spec) {
		for _, p := range c.Ports {
			if p.Name == port || fmt.Sprint(p.ContainerPort) == port {
				return true
			}
		}
	}
	return false
}

func metaOf(o runtime.Object) (*metav1.ObjectMeta, error) {
	if m, ok := o.(interface{ GetObjectMeta() metav1.Object }); ok {
		if om, ok := m.GetObjectMeta().(*metav1.ObjectMeta); ok {
			return om, nil
		}
	}
	return nil, fmt.Errorf("%T has no object metadata", o)
}

// named returns the object of type T with the name.
func named[T runtime.Object](objs []runtime.Object, name string) T {
	for _, o := range objs {
		if v, ok := o.(T); ok {
			if m, err := metaOf(v); err == nil && m.Name == name {
				return v
			}
		}
	}
	var zero T
	return zero
}
