package engine

import (
	"encoding/json"
	"fmt"
	"reflect"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"github.com/pulumi/pulumi/sdk/v3/go/common/apitype"
	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
)

// Bounds on what a ResourceChange carries.
const (
	maxDiffsPerResource = 100
	maxValueLen         = 200
)

// Signature keys of Pulumi's special values in event property maps.
const (
	sigKey      = "4dabf18193072939515e22adb298388d"
	sigSecret   = "1b47061264138c4ac30d75fd1eb44270"
	sigAsset    = "c44067f5952c0a294b673a41bacd8c17"
	sigArchive  = "0def7320c3a5731c473e5ecbe6d01bc7"
	sigResource = "5cf8f73096256a8f31e491e813e4eb8e"
	unknownVal  = "04da6b54-80e4-46f7-96ec-b56ff0331ba9"
)

// propertyDiffs lists the changed properties of a step. The engine's DetailedDiff is used when the
// provider gave one; otherwise (component resources, providers without detailed diffs) the old and new
// inputs are compared. Keys that force a replacement get a "-replace" suffix.
func propertyDiffs(meta apitype.StepEventMetadata, m *masker) []PropertyDiff {
	var oldIn, oldOut, newIn map[string]any
	if meta.Old != nil {
		oldIn, oldOut = meta.Old.Inputs, meta.Old.Outputs
	}
	if meta.New != nil {
		newIn = meta.New.Inputs
	}
	replaceKeys := map[string]bool{}
	for _, k := range meta.Keys {
		replaceKeys[k] = true
	}

	var diffs []PropertyDiff
	if len(meta.DetailedDiff) > 0 {
		paths := make([]string, 0, len(meta.DetailedDiff))
		for p := range meta.DetailedDiff {
			paths = append(paths, p)
		}
		sort.Strings(paths)
		for _, p := range paths {
			d := meta.DetailedDiff[p]
			old := oldOut
			if d.InputDiff {
				old = oldIn
			}
			pd := PropertyDiff{Path: p, Kind: string(d.Kind)}
			kind, _ := strings.CutSuffix(pd.Kind, "-replace")
			if kind != "add" {
				pd.Old = renderAt(old, p, m)
			}
			if kind != "delete" {
				pd.New = renderAt(newIn, p, m)
			}
			diffs = append(diffs, pd)
		}
	} else {
		diffValues(nil, oldIn, newIn, &diffs, m)
		// Keys the engine reports as changed that the inputs do not show (an output-only drift).
		for _, k := range meta.Diffs {
			if !hasPathUnder(diffs, k) {
				diffs = append(diffs, PropertyDiff{Path: formatPath(resource.PropertyPath{k}), Kind: "update",
					Old: render(oldOut[k], m), New: render(newIn[k], m)})
			}
		}
	}
	for i := range diffs {
		if !strings.HasSuffix(diffs[i].Kind, "-replace") && replaceKeys[topKey(diffs[i].Path)] {
			diffs[i].Kind += "-replace"
		}
	}
	if len(diffs) > maxDiffsPerResource {
		n := len(diffs) - maxDiffsPerResource
		diffs = append(diffs[:maxDiffsPerResource], PropertyDiff{Path: fmt.Sprintf("(%d more)", n), Kind: "update"})
	}
	return diffs
}

// diffValues appends the leaf-level differences between old and new at path.
func diffValues(path resource.PropertyPath, old, new any, out *[]PropertyDiff, m *masker) {
	if reflect.DeepEqual(old, new) {
		return
	}
	om, oldIsMap := asPlainMap(old)
	nm, newIsMap := asPlainMap(new)
	if oldIsMap && newIsMap {
		keys := map[string]bool{}
		for k := range om {
			keys[k] = true
		}
		for k := range nm {
			keys[k] = true
		}
		sorted := make([]string, 0, len(keys))
		for k := range keys {
			sorted = append(sorted, k)
		}
		sort.Strings(sorted)
		for _, k := range sorted {
			diffValues(appendPath(path, k), om[k], nm[k], out, m)
		}
		return
	}
	oa, oldIsList := old.([]any)
	na, newIsList := new.([]any)
	if oldIsList && newIsList {
		for i := 0; i < max(len(oa), len(na)); i++ {
			var o, n any
			if i < len(oa) {
				o = oa[i]
			}
			if i < len(na) {
				n = na[i]
			}
			diffValues(appendPath(path, i), o, n, out, m)
		}
		return
	}
	d := PropertyDiff{Path: formatPath(path)}
	switch {
	case old == nil:
		d.Kind, d.New = "add", render(new, m)
	case new == nil:
		d.Kind, d.Old = "delete", render(old, m)
	default:
		d.Kind, d.Old, d.New = "update", render(old, m), render(new, m)
	}
	*out = append(*out, d)
}

func appendPath(p resource.PropertyPath, elem any) resource.PropertyPath {
	return append(append(resource.PropertyPath(nil), p...), elem)
}

// asPlainMap returns v as a map unless it is one of Pulumi's special values (secret, asset…).
func asPlainMap(v any) (map[string]any, bool) {
	mv, ok := v.(map[string]any)
	if !ok {
		return nil, false
	}
	if _, special := mv[sigKey]; special {
		return nil, false
	}
	return mv, true
}

// renderAt renders the value at a property path such as "tags.env" or "ingress[0].cidrBlocks".
func renderAt(props map[string]any, path string, m *masker) string {
	pp, err := resource.ParsePropertyPath(path)
	if err != nil {
		return ""
	}
	var v any = props
	for _, elem := range pp {
		switch e := elem.(type) {
		case string:
			mv, ok := v.(map[string]any)
			if !ok {
				return ""
			}
			v = mv[e]
		case int:
			lv, ok := v.([]any)
			if !ok || e < 0 || e >= len(lv) {
				return ""
			}
			v = lv[e]
		}
	}
	return render(v, m)
}

// render turns a property value into a short string: strings as they are, secrets as "[secret]",
// structures as compact JSON, everything cut to maxValueLen.
func render(v any, m *masker) string {
	var s string
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		if x == unknownVal {
			return "[unknown]"
		}
		s = x
	case bool:
		s = strconv.FormatBool(x)
	case float64:
		s = strconv.FormatFloat(x, 'f', -1, 64)
	default:
		b, err := json.Marshal(redactSpecial(v))
		if err != nil {
			return fmt.Sprint(v)
		}
		s = string(b)
		s = strings.Trim(s, `"`) // a special value rendered alone, e.g. "[secret]"
	}
	s = m.mask(s)
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		s = s[:i] + " …"
	}
	if len(s) > maxValueLen {
		cut := maxValueLen
		for cut > 0 && !isRuneStart(s[cut]) {
			cut--
		}
		s = s[:cut] + "…"
	}
	return s
}

func isRuneStart(b byte) bool { return b&0xC0 != 0x80 }

// redactSpecial replaces Pulumi's special values inside a structure by short markers.
func redactSpecial(v any) any {
	switch x := v.(type) {
	case map[string]any:
		if sig, ok := x[sigKey].(string); ok {
			switch sig {
			case sigSecret:
				return secretMask
			case sigAsset:
				return "[asset]"
			case sigArchive:
				return "[archive]"
			case sigResource:
				if urn, ok := x["urn"].(string); ok {
					return urn
				}
				return "[resource]"
			}
			return "[value]"
		}
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[k] = redactSpecial(e)
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = redactSpecial(e)
		}
		return out
	case string:
		if x == unknownVal {
			return "[unknown]"
		}
	}
	return v
}

var identifier = regexp.MustCompile(`^[A-Za-z_$][A-Za-z0-9_$]*$`)

// formatPath renders a property path the way Pulumi does: a.b[0]["odd key"].
func formatPath(p resource.PropertyPath) string {
	var sb strings.Builder
	for i, elem := range p {
		switch e := elem.(type) {
		case int:
			fmt.Fprintf(&sb, "[%d]", e)
		case string:
			switch {
			case !identifier.MatchString(e):
				fmt.Fprintf(&sb, "[%q]", e)
			case i > 0:
				sb.WriteString("." + e)
			default:
				sb.WriteString(e)
			}
		}
	}
	return sb.String()
}

// topKey is the first element of a rendered property path.
func topKey(path string) string {
	pp, err := resource.ParsePropertyPath(path)
	if err != nil || len(pp) == 0 {
		return path
	}
	if s, ok := pp[0].(string); ok {
		return s
	}
	return path
}

func hasPathUnder(diffs []PropertyDiff, key string) bool {
	for _, d := range diffs {
		if topKey(d.Path) == key {
			return true
		}
	}
	return false
}
