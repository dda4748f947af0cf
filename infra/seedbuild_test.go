package main

import (
	"archive/zip"
	"bytes"
	"debug/elf"
	"io"
	"os"
	"testing"
)

// TestSeedBuild cross-compiles the real seed command the way `pulumi up` does.
func TestSeedBuild(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("-short: skipping the linux/arm64 build of infra/seed")
	}
	b := goSeedBuild{dir: "seed", cacheDir: t.TempDir()}
	path, err := b.Archive()
	if err != nil {
		t.Fatalf("Archive: %v", err)
	}
	first, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}

	t.Run("the zip holds one executable linux/arm64 bootstrap", func(t *testing.T) {
		zr, err := zip.NewReader(bytes.NewReader(first), int64(len(first)))
		if err != nil {
			t.Fatal(err)
		}
		if len(zr.File) != 1 || zr.File[0].Name != "bootstrap" {
			t.Fatalf("zip entries %v, want only bootstrap", zr.File)
		}
		f := zr.File[0]
		if f.Mode().Perm()&0o111 == 0 {
			t.Errorf("bootstrap mode %v is not executable: Lambda could not start it", f.Mode())
		}
		rc, err := f.Open()
		if err != nil {
			t.Fatal(err)
		}
		bin, err := io.ReadAll(rc)
		_ = rc.Close()
		if err != nil {
			t.Fatal(err)
		}
		exe, err := elf.NewFile(bytes.NewReader(bin))
		if err != nil {
			t.Fatalf("bootstrap is not an ELF binary: %v", err)
		}
		if exe.Machine != elf.EM_AARCH64 || exe.Class != elf.ELFCLASS64 {
			t.Errorf("bootstrap is %v %v, want 64-bit arm64 for the arm64 function", exe.Class, exe.Machine)
		}
	})

	t.Run("rebuilding unchanged code yields the same bytes", func(t *testing.T) {
		again, err := b.Archive()
		if err != nil {
			t.Fatal(err)
		}
		second, err := os.ReadFile(again)
		if err != nil {
			t.Fatal(err)
		}
		if again != path || !bytes.Equal(first, second) {
			t.Error("a rebuild changed the archive: every deploy would update the seed function")
		}
	})

	t.Run("a broken source directory is reported", func(t *testing.T) {
		_, err := goSeedBuild{dir: t.TempDir(), cacheDir: t.TempDir()}.Archive()
		if err == nil {
			t.Fatal("building an empty directory succeeded")
		}
	})
}
