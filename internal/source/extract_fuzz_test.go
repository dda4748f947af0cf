package source

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// FuzzExtract feeds arbitrary tar streams (gzipped here, so the fuzzer mutates the tar itself)
// to extract: it never panics, and whatever it leaves behind, success or refusal, stays inside
// the destination: no file, directory or link resolves outside it.
func FuzzExtract(f *testing.F) {
	untar := func(gz []byte) []byte {
		r, err := gzip.NewReader(bytes.NewReader(gz))
		if err != nil {
			f.Fatal(err)
		}
		var b bytes.Buffer
		if _, err := b.ReadFrom(r); err != nil {
			f.Fatal(err)
		}
		return b.Bytes()
	}
	f.Add(untar(tarball(f, dir("a-1/"), file("a-1/README.md", "# a\n"), symlink("a-1/l", "README.md"))))
	f.Add(untar(tarball(f, dir("a-1/"), symlink("a-1/up", "../.."), file("a-1/up/x", "x"))))
	f.Add(untar(tarball(f, file("a-1/../../etc/passwd", "x"))))
	f.Add(untar(tarball(f, dir("a-1/"), tarEntry{name: "a-1/h", typ: tar.TypeLink, link: "/etc/passwd"})))
	f.Add(untar(tarball(f, dir("a-1/"), symlink("a-1/d", "/tmp"), tarEntry{name: "a-1/d/f", typ: tar.TypeReg, body: "x", mode: 0o644})))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, data []byte) {
		var gz bytes.Buffer
		w := gzip.NewWriter(&gz)
		w.Write(data)
		w.Close()
		parent, err := os.MkdirTemp("", "fuzz-extract-")
		if err != nil {
			t.Fatal(err)
		}
		defer os.RemoveAll(parent)
		root := filepath.Join(parent, "root")
		if err := os.Mkdir(root, 0o755); err != nil {
			t.Fatal(err)
		}
		_ = extract(bytes.NewReader(gz.Bytes()), root, limits{maxBytes: 1 << 20, maxFiles: 64})
		entries, err := os.ReadDir(parent)
		if err != nil {
			t.Fatal(err)
		}
		if len(entries) != 1 {
			t.Fatalf("extract wrote beside its destination: %v", entries)
		}
		realRoot, err := filepath.EvalSymlinks(root)
		if err != nil {
			t.Fatal(err)
		}
		filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return nil
			}
			resolved, err := filepath.EvalSymlinks(p)
			if err != nil {
				return nil // a dangling link inside the tree points nowhere
			}
			if resolved != realRoot && !strings.HasPrefix(resolved, realRoot+string(filepath.Separator)) {
				t.Fatalf("%s resolves to %s, outside %s", p, resolved, realRoot)
			}
			return nil
		})
	})
}
