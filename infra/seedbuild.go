package main

import (
	"archive/zip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"time"
)

// seedArchiveName is the built archive's file name in the cache directory.
const seedArchiveName = "seed-linux-arm64.zip"

// goSeedBuild builds the seed command with the Go toolchain (which a Go
// Pulumi program always has) into a Lambda zip.
type goSeedBuild struct {
	// dir is the seed command's source directory. Default in main: "seed",
	// relative to the project directory Pulumi runs the program in.
	dir string
	// cacheDir receives the zip. Default in main: <user cache>/stagecoach-infra.
	cacheDir string
}

// SchemaVersion is the first 16 hex digits of schema.sql's SHA-256: the same
// value the seed command computes from its embedded copy.
func (b goSeedBuild) SchemaVersion() (string, error) {
	schema, err := os.ReadFile(filepath.Join(b.dir, "schema.sql"))
	if err != nil {
		return "", fmt.Errorf("reading the seed schema: %w", err)
	}
	sum := sha256.Sum256(schema)
	return hex.EncodeToString(sum[:])[:16], nil
}

// Archive cross-compiles the seed command for linux/arm64 and zips it as an
// executable "bootstrap". The build is reproducible (-trimpath, no VCS stamp,
// no build id) and the zip has fixed timestamps, so unchanged code yields a
// byte-identical archive and no diff. Concurrent builds are safe: each builds
// in its own directory and renames its zip into place atomically.
func (b goSeedBuild) Archive() (string, error) {
	if err := os.MkdirAll(b.cacheDir, 0o755); err != nil {
		return "", fmt.Errorf("creating the seed build cache: %w", err)
	}
	work, err := os.MkdirTemp(b.cacheDir, "build-")
	if err != nil {
		return "", fmt.Errorf("creating a seed build directory: %w", err)
	}
	defer func() { _ = os.RemoveAll(work) }()

	bin := filepath.Join(work, "bootstrap")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "go", "build", "-trimpath", "-buildvcs=false", "-ldflags=-s -w -buildid=", "-o", bin, ".")
	cmd.Dir = b.dir
	cmd.Env = append(os.Environ(), "GOOS=linux", "GOARCH=arm64", "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build %s for linux/arm64: %w\n%s", b.dir, err, out)
	}

	tmpZip := filepath.Join(work, seedArchiveName)
	if err := zipBootstrap(bin, tmpZip); err != nil {
		return "", err
	}
	final, err := filepath.Abs(filepath.Join(b.cacheDir, seedArchiveName))
	if err != nil {
		return "", fmt.Errorf("locating the seed archive: %w", err)
	}
	if err := os.Rename(tmpZip, final); err != nil {
		return "", fmt.Errorf("moving the seed archive into place: %w", err)
	}
	return final, nil
}

// zipBootstrap writes a zip holding bin as an executable "bootstrap". Pulumi
// passes a .zip archive through unchanged, so the mode bits reach Lambda.
func zipBootstrap(bin, dst string) (err error) {
	in, err := os.Open(bin)
	if err != nil {
		return fmt.Errorf("opening the seed binary: %w", err)
	}
	defer func() { _ = in.Close() }()
	out, err := os.Create(dst)
	if err != nil {
		return fmt.Errorf("creating the seed archive: %w", err)
	}
	defer func() {
		if cerr := out.Close(); err == nil && cerr != nil {
			err = fmt.Errorf("writing the seed archive: %w", cerr)
		}
	}()
	zw := zip.NewWriter(out)
	fh := &zip.FileHeader{Name: "bootstrap", Method: zip.Deflate, Modified: time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)}
	fh.SetMode(0o755)
	w, err := zw.CreateHeader(fh)
	if err != nil {
		return fmt.Errorf("adding bootstrap to the seed archive: %w", err)
	}
	if _, err := io.Copy(w, in); err != nil {
		return fmt.Errorf("adding bootstrap to the seed archive: %w", err)
	}
	if err := zw.Close(); err != nil {
		return fmt.Errorf("finishing the seed archive: %w", err)
	}
	return nil
}
