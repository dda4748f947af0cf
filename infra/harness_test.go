package main

import (
	"archive/zip"
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
	"go.yaml.in/yaml/v3"
)

// committedStacks lists the stacks whose Pulumi.<stack>.yaml is in the repo.
func committedStacks(t *testing.T) []string {
	t.Helper()
	files, err := filepath.Glob("Pulumi.*.yaml")
	if err != nil || len(files) == 0 {
		t.Fatalf("no stack files found: %v", err)
	}
	var out []string
	for _, f := range files {
		out = append(out, strings.TrimSuffix(strings.TrimPrefix(f, "Pulumi."), ".yaml"))
	}
	return out
}

// stackValues reads Pulumi.<stack>.yaml the way Pulumi hands configuration to
// a program (PULUMI_CONFIG): scalars as their text, maps and lists as JSON.
func stackValues(t *testing.T, stack string) map[string]string {
	t.Helper()
	b, err := os.ReadFile("Pulumi." + stack + ".yaml")
	if err != nil {
		t.Fatalf("reading the %s stack file: %v", stack, err)
	}
	var doc struct {
		Config map[string]yaml.Node `yaml:"config"`
	}
	if err := yaml.Unmarshal(b, &doc); err != nil {
		t.Fatalf("parsing Pulumi.%s.yaml: %v", stack, err)
	}
	out := map[string]string{}
	for key, node := range doc.Config {
		if node.Kind == yaml.ScalarNode {
			out[key] = node.Value
			continue
		}
		var v any
		if err := node.Decode(&v); err != nil {
			t.Fatalf("Pulumi.%s.yaml: %s: %v", stack, key, err)
		}
		j, err := json.Marshal(v)
		if err != nil {
			t.Fatalf("Pulumi.%s.yaml: %s: %v", stack, key, err)
		}
		out[key] = string(j)
	}
	return out
}

// testCommit is the commit the tests deploy.
const testCommit = "0123456789abcdef0123456789abcdef01234567"

// deployable turns a committed stack file into the stack the bot would
// deploy: the PR template becomes pr-<n> with the bot's keys set.
func deployable(t *testing.T, file string) (stack string, values map[string]string) {
	t.Helper()
	// The bot sets the commit and the branch on every operation (internal/stackkeys).
	values = withValues(stackValues(t, file), map[string]string{keyCommit: testCommit, keyRef: "main"})
	if file != "pr" {
		return file, values
	}
	return "pr-42", withValues(values, map[string]string{keyPR: "42", keySlot: "7", keyRef: "feature/checkout"})
}

// withValues copies values with changes applied; an empty change deletes the key.
func withValues(values map[string]string, changes map[string]string) map[string]string {
	out := maps.Clone(values)
	for k, v := range changes {
		if v == "" {
			delete(out, k)
			continue
		}
		out[k] = v
	}
	return out
}

// withObjectField returns values with one field of a config object replaced.
func withObjectField(t *testing.T, values map[string]string, key, field string, v any) map[string]string {
	t.Helper()
	obj := map[string]any{}
	if raw := values[key]; raw != "" {
		if err := json.Unmarshal([]byte(raw), &obj); err != nil {
			t.Fatalf("%s: %v", key, err)
		}
	}
	if v == nil {
		delete(obj, field)
	} else {
		obj[field] = v
	}
	j, err := json.Marshal(obj)
	if err != nil {
		t.Fatal(err)
	}
	return withValues(values, map[string]string{key: string(j)})
}

// recorded is one resource the program declared.
type recorded struct {
	Type, Name, ID string
	Inputs         map[string]any
	// Deps are the URNs the resource explicitly depends on.
	Deps          []string
	IgnoreChanges []string
}

// deployment runs the program against Pulumi's mocks and records every
// resource it declares. It implements pulumi.MockResourceMonitor.
type deployment struct {
	region string
	mu     sync.Mutex
	res    []recorded
}

// deploy runs the real program (config loading included) for stack with the
// given raw config values, the way `pulumi up` would, with mocked providers.
func deploy(t *testing.T, stack string, values map[string]string) (*deployment, error) {
	t.Helper()
	d := &deployment{region: values[keyRegion]}
	withConfig := func(info *pulumi.RunInfo) { info.Config = values }
	err := pulumi.RunErr(func(ctx *pulumi.Context) error {
		return program(ctx, testSeedCode(t))
	}, pulumi.WithMocks(projectNamespace, stack, d), withConfig)
	return d, err
}

// mustDeploy is deploy for configurations that must be accepted.
func mustDeploy(t *testing.T, stack string, values map[string]string) *deployment {
	t.Helper()
	d, err := deploy(t, stack, values)
	if err != nil {
		t.Fatalf("deploying %s: %v", stack, err)
	}
	return d
}

// prebuiltSeed is seedCode with a stand-in archive, so that tests of the
// program do not cross-compile the seed command (TestSeedBuild does that). The
// schema version is the real one.
type prebuiltSeed struct{ archive string }

func (p prebuiltSeed) Archive() (string, error) { return p.archive, nil }
func (p prebuiltSeed) SchemaVersion() (string, error) {
	return goSeedBuild{dir: "seed"}.SchemaVersion()
}

func testSeedCode(t *testing.T) seedCode {
	t.Helper()
	path := filepath.Join(t.TempDir(), "seed.zip")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	zw := zip.NewWriter(f)
	w, err := zw.Create("bootstrap")
	if err == nil {
		_, err = w.Write([]byte("#!/bin/sh\n"))
	}
	if err == nil {
		err = zw.Close()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		t.Fatal(err)
	}
	return prebuiltSeed{archive: path}
}

func (d *deployment) NewResource(args pulumi.MockResourceArgs) (string, resource.PropertyMap, error) {
	kind := args.TypeToken[strings.LastIndex(args.TypeToken, ":")+1:]
	id := args.Name + "." + kind
	r := recorded{Type: args.TypeToken, Name: args.Name, ID: id, Inputs: plainMap(args.Inputs)}
	if rpc := args.RegisterRPC; rpc != nil {
		r.Deps = rpc.GetDependencies()
		r.IgnoreChanges = rpc.GetIgnoreChanges()
	}
	d.mu.Lock()
	d.res = append(d.res, r)
	d.mu.Unlock()

	out := map[string]any{
		"arn": fmt.Sprintf("arn:aws:mock:%s:123456789012:%s/%s", d.region, kind, args.Name),
	}
	if _, ok := r.Inputs["name"]; !ok {
		out["name"] = args.Name + "-mock"
	}
	switch args.TypeToken {
	case "aws:rds/cluster:Cluster":
		out["endpoint"] = args.Name + ".cluster-mock." + d.region + ".rds.amazonaws.com"
		out["clusterIdentifier"] = args.Name + "-mock"
		out["clusterResourceId"] = "cluster-" + strings.ToUpper(args.Name) + "MOCK"
		out["masterUserSecrets"] = []any{map[string]any{
			"secretArn": "arn:aws:secretsmanager:" + d.region + ":123456789012:secret:rds!cluster-mock",
		}}
	case "aws:lb/loadBalancer:LoadBalancer":
		out["dnsName"] = args.Name + "-mock." + d.region + ".elb.amazonaws.com"
		out["arnSuffix"] = "app/" + args.Name + "/mock"
	case "aws:lb/targetGroup:TargetGroup":
		out["arnSuffix"] = "targetgroup/" + args.Name + "/mock"
	}
	state := args.Inputs.Copy()
	for k, v := range resource.NewPropertyMapFromMap(out) {
		state[k] = v
	}
	return id, state, nil
}

func (d *deployment) Call(args pulumi.MockCallArgs) (resource.PropertyMap, error) {
	if args.Token == "aws:index/getAvailabilityZones:getAvailabilityZones" {
		var names []any
		for _, s := range []string{"a", "b", "c"} {
			names = append(names, d.region+s)
		}
		return resource.NewPropertyMapFromMap(map[string]any{"id": d.region, "names": names}), nil
	}
	return nil, fmt.Errorf("the program called %s, which the test mocks do not answer", args.Token)
}

// all returns the recorded resources of one type, in name order.
func (d *deployment) all(typ string) []recorded {
	d.mu.Lock()
	defer d.mu.Unlock()
	var out []recorded
	for _, r := range d.res {
		if r.Type == typ {
			out = append(out, r)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// one returns the resource of type typ named name, failing the test if absent.
func (d *deployment) one(t *testing.T, typ, name string) recorded {
	t.Helper()
	for _, r := range d.all(typ) {
		if r.Name == name {
			return r
		}
	}
	t.Fatalf("no %s named %s was declared", typ, name)
	return recorded{}
}

// resources returns every recorded resource keyed by type::name.
func (d *deployment) resources() map[string]recorded {
	d.mu.Lock()
	defer d.mu.Unlock()
	out := map[string]recorded{}
	for _, r := range d.res {
		out[r.Type+"::"+r.Name] = r
	}
	return out
}

// changes lists what differs between two deployments: resources added or
// removed, and for resources in both, the input keys whose values differ.
func changes(before, after *deployment) []string {
	a, b := before.resources(), after.resources()
	var out []string
	for _, k := range slices.Sorted(maps.Keys(a)) {
		rb, ok := b[k]
		if !ok {
			out = append(out, "removed "+k)
			continue
		}
		ra := a[k]
		keys := map[string]bool{}
		for f := range ra.Inputs {
			keys[f] = true
		}
		for f := range rb.Inputs {
			keys[f] = true
		}
		for _, f := range slices.Sorted(maps.Keys(keys)) {
			if !reflect.DeepEqual(ra.Inputs[f], rb.Inputs[f]) {
				out = append(out, k+"."+f)
			}
		}
	}
	for _, k := range slices.Sorted(maps.Keys(b)) {
		if _, ok := a[k]; !ok {
			out = append(out, "added "+k)
		}
	}
	return out
}

// plainMap converts resource inputs to plain Go values (secrets and outputs
// unwrapped, archives as their content hash).
func plainMap(m resource.PropertyMap) map[string]any {
	out := make(map[string]any, len(m))
	for k, v := range m {
		out[string(k)] = plain(v)
	}
	return out
}

func plain(v resource.PropertyValue) any {
	switch {
	case v.IsSecret():
		return plain(v.SecretValue().Element)
	case v.IsOutput():
		return plain(v.OutputValue().Element)
	case v.IsObject():
		return plainMap(v.ObjectValue())
	case v.IsArray():
		var out []any
		for _, e := range v.ArrayValue() {
			out = append(out, plain(e))
		}
		return out
	case v.IsArchive():
		// Pulumi diffs archives by content, so record the content hash.
		a := *v.ArchiveValue()
		if err := a.EnsureHash(); err != nil {
			return "archive error: " + err.Error()
		}
		return "archive:" + a.Hash
	case v.IsString():
		return v.StringValue()
	case v.IsNumber():
		return v.NumberValue()
	case v.IsBool():
		return v.BoolValue()
	case v.IsNull():
		return nil
	}
	return v.String()
}

// field walks nested objects: field(r.Inputs, "a", "b") is r.Inputs["a"]["b"].
func field(m map[string]any, path ...string) any {
	var cur any = m
	for _, p := range path {
		obj, ok := cur.(map[string]any)
		if !ok {
			return nil
		}
		cur = obj[p]
	}
	return cur
}

// strs converts a recorded list of strings.
func strs(v any) []string {
	var out []string
	list, _ := v.([]any)
	for _, e := range list {
		s, _ := e.(string)
		out = append(out, s)
	}
	return out
}

// num converts a recorded number (0 when absent).
func num(v any) float64 { f, _ := v.(float64); return f }
