// Package examples holds repositories to copy, embedded so that the tests deploy exactly the
// files a user copies.
package examples

import (
	"embed"
	"fmt"
	"io/fs"
	"strings"
)

//go:embed all:minimal
var files embed.FS

// Minimal returns the files of examples/minimal, the smallest repository stagecoach deploys
// (.stagecoach.yaml, a Pulumi YAML project under infra/ and a README), by path from the
// repository's root.
func Minimal() (map[string]string, error) {
	out := map[string]string{}
	err := fs.WalkDir(files, "minimal", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := files.ReadFile(p)
		out[strings.TrimPrefix(p, "minimal/")] = string(b)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("reading the minimal example: %w", err)
	}
	return out, nil
}
