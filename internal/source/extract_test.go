package source

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// entry is one tarball entry for the tests.
type tarEntry struct {
	name string
	typ  byte
	body string
	link string
	mode int64
}

func dir(name string) tarEntry { return tarEntry{name: name, typ: tar.TypeDir, mode: 0o755} }
func file(name, body string) tarEntry {
	return tarEntry{name: name, typ: tar.TypeReg, body: body, mode: 0o644}
}
func symlink(name, target string) tarEntry {
	return tarEntry{name: name, typ: tar.TypeSymlink, link: target}
}

// tarball builds a gzip tarball the way GitHub does: a pax global header with the commit, then the
// entries (which the caller puts below one top directory, or deliberately not).
func tarball(t testing.TB, entries ...tarEntry) []byte {
	t.Helper()
	var buf bytes.Buffer
	gz := gzip.NewWriter(&buf)
	tw := tar.NewWriter(gz)
	if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeXGlobalHeader, Name: "pax_global_header",
		PAXRecords: map[string]string{"comment": strings.Repeat("a", 40)}, Format: tar.FormatPAX}); err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		h := &tar.Header{Name: e.name, Typeflag: e.typ, Linkname: e.link, Mode: e.mode, Size: int64(len(e.body))}
		if e.typ != tar.TypeReg {
			h.Size = 0
		}
		if err := tw.WriteHeader(h); err != nil {
			t.Fatalf("header %q: %v", e.name, err)
		}
		if h.Size > 0 {
			if _, err := tw.Write([]byte(e.body)); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := gz.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

var roomy = limits{maxBytes: 1 << 20, maxFiles: 100}

func TestExtractWritesTheTreeBelowTheTopDirectory(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	tb := tarball(t,
		dir("acme-app-0123456/"),
		file("acme-app-0123456/README.md", "# app\n"),
		dir("acme-app-0123456/infra/"),
		file("acme-app-0123456/infra/Pulumi.yaml", "name: app\nruntime: yaml\n"),
		tarEntry{name: "acme-app-0123456/bin/run.sh", typ: tar.TypeReg, body: "#!/bin/sh\n", mode: 0o775},
		symlink("acme-app-0123456/infra/readme", "../README.md"),
		symlink("acme-app-0123456/current", "infra"),
		tarEntry{name: "acme-app-0123456/infra/copy.yaml", typ: tar.TypeLink, link: "acme-app-0123456/infra/Pulumi.yaml"},
	)
	if err := extract(bytes.NewReader(tb), root, roomy); err != nil {
		t.Fatalf("extract: %v", err)
	}
	for path, want := range map[string]string{
		"README.md":           "# app\n",
		"infra/Pulumi.yaml":   "name: app\nruntime: yaml\n",
		"infra/readme":        "# app\n",
		"current/Pulumi.yaml": "name: app\nruntime: yaml\n",
		"infra/copy.yaml":     "name: app\nruntime: yaml\n",
		"bin/run.sh":          "#!/bin/sh\n",
	} {
		got, err := os.ReadFile(filepath.Join(root, path))
		if err != nil || string(got) != want {
			t.Errorf("%s = %q, %v; want %q", path, got, err, want)
		}
	}
	if info, err := os.Stat(filepath.Join(root, "bin/run.sh")); err != nil || info.Mode().Perm() != 0o755 {
		t.Errorf("run.sh mode = %v, %v; want 0755", info.Mode(), err)
	}
	if _, err := os.Lstat(filepath.Join(root, "acme-app-0123456")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the top directory was kept: %v", err)
	}
}

func TestExtractRefusesUnsafeEntries(t *testing.T) {
	t.Parallel()
	const top = "acme-app-0123456/"
	tests := []struct {
		name    string
		entries []tarEntry
		want    error
		entry   string // the entry the error must name
	}{
		{"an absolute path", []tarEntry{dir(top), file("/etc/cron.d/evil", "x")}, ErrUnsafeArchive, "/etc/cron.d/evil"},
		{"a dot-dot component", []tarEntry{dir(top), file(top+"../evil", "x")}, ErrUnsafeArchive, top + "../evil"},
		{"a dot-dot deeper down", []tarEntry{dir(top), file(top+"a/b/../../../evil", "x")}, ErrUnsafeArchive, top + "a/b/../../../evil"},
		{"an entry beside the top directory", []tarEntry{dir(top), file("other/x", "x")}, ErrUnsafeArchive, "other/x"},
		{"a link to an absolute path", []tarEntry{dir(top), symlink(top+"passwd", "/etc/passwd")}, ErrUnsafeArchive, top + "passwd"},
		{"a link that climbs out", []tarEntry{dir(top), dir(top + "a/"), symlink(top+"a/up", "../../..")}, ErrUnsafeArchive, top + "a/up"},
		{"a link that climbs out through another link", []tarEntry{dir(top), dir(top + "sub/"),
			symlink(top+"sub/d", ".."), symlink(top+"e", "sub/d/..")}, ErrUnsafeArchive, top + "e"},
		{"a link that escapes once a later link exists", []tarEntry{dir(top),
			symlink(top+"a", "b/.."), symlink(top+"b", ".")}, ErrUnsafeArchive, top + "a"},
		{"a file written through a link", []tarEntry{dir(top), dir(top + "sub/"),
			symlink(top+"l", "sub"), file(top+"l/x", "x")}, ErrUnsafeArchive, top + "l"},
		{"a hard link out of the tree", []tarEntry{dir(top), {name: top + "h", typ: tar.TypeLink, link: "/etc/shadow"}}, ErrUnsafeArchive, top + "h"},
		{"a hard link to a link", []tarEntry{dir(top), file(top+"f", "x"), symlink(top+"s", "f"),
			{name: top + "h", typ: tar.TypeLink, link: top + "s"}}, ErrUnsafeArchive, top + "h"},
		{"a character device", []tarEntry{dir(top), {name: top + "tty", typ: tar.TypeChar}}, ErrUnsafeArchive, top + "tty"},
		{"a block device", []tarEntry{dir(top), {name: top + "sda", typ: tar.TypeBlock}}, ErrUnsafeArchive, top + "sda"},
		{"a named pipe", []tarEntry{dir(top), {name: top + "fifo", typ: tar.TypeFifo}}, ErrUnsafeArchive, top + "fifo"},
		{"a path given twice", []tarEntry{dir(top), file(top+"x", "1"), file(top+"x", "2")}, ErrUnsafeArchive, top + "x"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			root := filepath.Join(t.TempDir(), "tree")
			if err := os.Mkdir(root, 0o755); err != nil {
				t.Fatal(err)
			}
			err := extract(bytes.NewReader(tarball(t, tt.entries...)), root, roomy)
			if !errors.Is(err, tt.want) {
				t.Fatalf("extract = %v, want %v", err, tt.want)
			}
			if !strings.Contains(err.Error(), `"`+tt.entry+`"`) {
				t.Errorf("error %q does not name the entry %q", err, tt.entry)
			}
			// Nothing landed beside the tree.
			if _, err := os.Lstat(filepath.Join(filepath.Dir(root), "evil")); err == nil {
				t.Errorf("a file escaped the tree")
			}
		})
	}
}

func TestExtractCaps(t *testing.T) {
	t.Parallel()
	const top = "acme-app-0123456/"
	t.Run("total bytes", func(t *testing.T) {
		t.Parallel()
		tb := tarball(t, dir(top), file(top+"a", strings.Repeat("x", 600)), file(top+"b", strings.Repeat("y", 600)))
		err := extract(bytes.NewReader(tb), t.TempDir(), limits{maxBytes: 1000, maxFiles: 100})
		if !errors.Is(err, ErrArchiveTooLarge) || !strings.Contains(err.Error(), `"`+top+`b"`) {
			t.Errorf("extract = %v, want ErrArchiveTooLarge naming %sb", err, top)
		}
	})
	t.Run("file count", func(t *testing.T) {
		t.Parallel()
		entries := []tarEntry{dir(top)}
		for _, n := range []string{"a", "b", "c", "d"} {
			entries = append(entries, file(top+n, n))
		}
		err := extract(bytes.NewReader(tarball(t, entries...)), t.TempDir(), limits{maxBytes: 1000, maxFiles: 4})
		if !errors.Is(err, ErrArchiveTooLarge) || !strings.Contains(err.Error(), `"`+top+`d"`) {
			t.Errorf("extract = %v, want ErrArchiveTooLarge naming %sd", err, top)
		}
	})
	t.Run("within both", func(t *testing.T) {
		t.Parallel()
		tb := tarball(t, dir(top), file(top+"a", strings.Repeat("x", 500)), file(top+"b", strings.Repeat("y", 500)))
		if err := extract(bytes.NewReader(tb), t.TempDir(), limits{maxBytes: 1000, maxFiles: 3}); err != nil {
			t.Errorf("extract at exactly the caps = %v", err)
		}
	})
}

func TestExtractRefusesWhatIsNotAGitHubTarball(t *testing.T) {
	t.Parallel()
	if err := extract(strings.NewReader("not gzip"), t.TempDir(), roomy); err == nil {
		t.Error("extract accepted a stream that is not gzip")
	}
	if err := extract(bytes.NewReader(tarball(t)), t.TempDir(), roomy); !errors.Is(err, ErrUnsafeArchive) {
		t.Errorf("extract of an empty tarball = %v, want ErrUnsafeArchive", err)
	}
}
