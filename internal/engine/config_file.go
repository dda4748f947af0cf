package engine

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"go.yaml.in/yaml/v3"
)

// ConfigFile reads the plain values of a stack config file such as Pulumi.pr.yaml (file is
// relative to dir), so they can be applied to another stack: PR stacks are made from a template
// this way. A missing file is no config. Secure values are refused: they are encrypted for the
// file's own stack and cannot be reused.
func ConfigFile(dir, file string) (map[string]ConfigValue, error) {
	out := map[string]ConfigValue{}
	b, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(file)))
	if errors.Is(err, os.ErrNotExist) {
		return out, nil
	}
	if err != nil {
		return nil, fmt.Errorf("reading the stack config file %s: %w", file, err)
	}
	var doc struct {
		Config map[string]any `yaml:"config"`
	}
	if err := yaml.Unmarshal(b, &doc); err != nil {
		return nil, fmt.Errorf("reading the stack config file %s: %w", file, err)
	}
	for k, v := range doc.Config {
		switch v := v.(type) {
		case string:
			out[k] = ConfigValue{Value: v}
		case map[string]any:
			if _, ok := v["secure"]; ok {
				return nil, fmt.Errorf("the stack config file %s holds a secure value (%s): encrypted values belong to one stack and cannot be copied to another; set it in the program's defaults or provide it outside the file", file, k)
			}
			j, _ := yaml.Marshal(v)
			return nil, fmt.Errorf("the stack config file %s: %s is structured (%s); only plain values are supported", file, k, strings.TrimSpace(string(j)))
		case nil:
			out[k] = ConfigValue{}
		default:
			out[k] = ConfigValue{Value: fmt.Sprint(v)}
		}
	}
	return out, nil
}
