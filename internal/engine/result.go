package engine

import "time"

// Kind names the operation that produced a Result.
type Kind string

// The operations the engine runs.
const (
	KindPreview Kind = "preview"
	KindUp      Kind = "up"
	KindDestroy Kind = "destroy"
)

// Op is what the engine did, or would do, to one resource.
type Op string

// Resource operations, as counted in a Result. Engine ops that are variants of these
// (create-replacement, delete-replaced, read, import…) are folded into the closest one.
const (
	OpCreate  Op = "create"
	OpUpdate  Op = "update"
	OpDelete  Op = "delete"
	OpReplace Op = "replace"
	OpSame    Op = "same"
)

// Result is the structured outcome of one stack operation, built from the engine's event stream.
// It is what the renderer turns into PR comments and check runs, and what the store keeps.
type Result struct {
	// Kind is the operation that ran.
	Kind Kind `json:"kind"`
	// Stack is the fully qualified stack name the operation ran on.
	Stack string `json:"stack"`
	// Counts holds the number of resources per operation; absent keys mean zero.
	Counts map[Op]int `json:"counts"`
	// Changes lists each resource that is not OpSame, in engine order.
	Changes []ResourceChange `json:"changes,omitempty"`
	// Outputs are the stack outputs after the operation, secrets already masked as "[secret]".
	Outputs map[string]Output `json:"outputs,omitempty"`
	// Duration is the wall time of the operation.
	Duration time.Duration `json:"duration"`
	// Succeeded is false when the engine reported an error; Errors then says why.
	Succeeded bool `json:"succeeded"`
	// Errors are the engine's diagnostics at error severity, in plain words, secrets masked.
	Errors []string `json:"errors,omitempty"`
	// LogID identifies the full operation log in the store (empty when not stored).
	LogID string `json:"log_id,omitempty"`
}

// ResourceChange is one changed resource with its property diff.
type ResourceChange struct {
	// URN is the resource's Pulumi URN.
	URN string `json:"urn"`
	// Type is the resource type token, e.g. "aws:ec2/vpc:Vpc".
	Type string `json:"type"`
	// Name is the resource's logical name.
	Name string `json:"name"`
	// Op is what happens to the resource.
	Op Op `json:"op"`
	// Diffs lists the changed properties; empty for creates and deletes.
	Diffs []PropertyDiff `json:"diffs,omitempty"`
}

// PropertyDiff is the change of one property path, values rendered as short strings
// (secrets masked as "[secret]").
type PropertyDiff struct {
	// Path is the property path, e.g. "tags.env" or "ingress[0].cidrBlocks".
	Path string `json:"path"`
	// Kind is "add", "delete" or "update"; a "-replace" suffix marks a change that forces replacement.
	Kind string `json:"kind"`
	// Old is the value before; empty for adds.
	Old string `json:"old,omitempty"`
	// New is the value after; empty for deletes.
	New string `json:"new,omitempty"`
}

// Output is one stack output.
type Output struct {
	// Value is the output rendered as a string (JSON for structured values); "[secret]" when Secret.
	Value string `json:"value"`
	// Secret reports whether the value is a secret and was masked.
	Secret bool `json:"secret"`
}

// Changed reports how many resources the operation creates, updates, deletes or replaces.
func (r Result) Changed() int {
	return r.Counts[OpCreate] + r.Counts[OpUpdate] + r.Counts[OpDelete] + r.Counts[OpReplace]
}
