package engine

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
)

// pluginPrefixes name the executables the CLI finds next to itself or on PATH.
var pluginPrefixes = []string{"pulumi-language-", "pulumi-resource-", "pulumi-analyzer-", "pulumi-converter-"}

// installBinaries copies the CLI and the plugin executables of languageDirs (and of the CLI's own
// directory) into dst, a directory only this process may write and everyone may read, and returns the
// copied CLI and dst as the one language directory. It lets another user run the pinned toolchain that
// lives in this user's private cache (/root/.cache is 0700). Copies that are already current (same size
// and modification time) are kept, so restarts copy nothing.
func installBinaries(dst, cli string, languageDirs []string) (string, []string, error) {
	if err := os.MkdirAll(dst, 0o755); err != nil {
		return "", nil, fmt.Errorf("creating %s: %w", dst, err)
	}
	if err := os.Chmod(dst, 0o755); err != nil {
		return "", nil, fmt.Errorf("creating %s: %w", dst, err)
	}
	newCLI := filepath.Join(dst, filepath.Base(cli))
	if err := copyExecutable(cli, newCLI); err != nil {
		return "", nil, err
	}
	seen := map[string]bool{filepath.Base(cli): true}
	for _, dir := range append(append([]string(nil), languageDirs...), filepath.Dir(cli)) {
		entries, err := os.ReadDir(dir)
		if err != nil {
			return "", nil, fmt.Errorf("reading the language directory %s: %w", dir, err)
		}
		for _, e := range entries {
			name := e.Name()
			if seen[name] || !hasAnyPrefix(name, pluginPrefixes) {
				continue
			}
			info, err := os.Stat(filepath.Join(dir, name)) // follows the cache's links
			if err != nil || !info.Mode().IsRegular() || info.Mode().Perm()&0o100 == 0 {
				continue
			}
			seen[name] = true
			if err := copyExecutable(filepath.Join(dir, name), filepath.Join(dst, name)); err != nil {
				return "", nil, err
			}
		}
	}
	return newCLI, []string{dst}, nil
}

// copyExecutable copies src (following links) to dst with mode 0755 unless dst already has its size and
// modification time.
func copyExecutable(src, dst string) (err error) {
	info, err := os.Stat(src)
	if err != nil {
		return fmt.Errorf("copying %s: %w", src, err)
	}
	if cur, err := os.Lstat(dst); err == nil && cur.Mode().IsRegular() && cur.Size() == info.Size() &&
		cur.ModTime().Equal(info.ModTime()) && cur.Mode().Perm() == 0o755 {
		return nil
	}
	in, err := os.Open(src)
	if err != nil {
		return fmt.Errorf("copying %s: %w", src, err)
	}
	defer in.Close()
	tmp, err := os.CreateTemp(filepath.Dir(dst), "."+filepath.Base(dst)+".*")
	if err != nil {
		return fmt.Errorf("copying %s: %w", src, err)
	}
	defer func() {
		if err != nil {
			_ = os.Remove(tmp.Name())
		}
	}()
	if _, err := io.Copy(tmp, in); err != nil {
		_ = tmp.Close()
		return fmt.Errorf("copying %s: %w", src, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("copying %s: %w", src, err)
	}
	if err := os.Chmod(tmp.Name(), 0o755); err != nil {
		return fmt.Errorf("copying %s: %w", src, err)
	}
	if err := os.Chtimes(tmp.Name(), info.ModTime(), info.ModTime()); err != nil {
		return fmt.Errorf("copying %s: %w", src, err)
	}
	if err := os.Rename(tmp.Name(), dst); err != nil {
		return fmt.Errorf("copying %s: %w", src, err)
	}
	return nil
}

func hasAnyPrefix(s string, prefixes []string) bool {
	for _, p := range prefixes {
		if strings.HasPrefix(s, p) {
			return true
		}
	}
	return false
}

// prepareRunAs readies the directories for Pulumi processes running as ra: PulumiHome and a file
// backend's directory belong to ra (0700); WorkDir stays this process's (0755: the CLI lists every
// directory above its project), each operation's directory being given to ra; the CLI and its plugins are copied to
// <WorkDir>/bin (0755). It returns the copied CLI and language directories, or says which directory
// ra cannot reach.
func prepareRunAs(ra *runAs, cfg Config, backendDir string) (string, []string, error) {
	if err := os.Chmod(cfg.WorkDir, 0o755); err != nil {
		return "", nil, fmt.Errorf("making %s readable for the pulumi user: %w", cfg.WorkDir, err)
	}
	for _, d := range []string{cfg.PulumiHome, backendDir} {
		if d == "" {
			continue
		}
		if err := ra.own(d); err != nil {
			return "", nil, err
		}
	}
	cli, dirs, err := installBinaries(filepath.Join(cfg.WorkDir, "bin"), cfg.PulumiCommand, cfg.LanguageDirs)
	if err != nil {
		return "", nil, fmt.Errorf("copying the Pulumi CLI where the pulumi user %s can run it: %w", ra.name, err)
	}
	for _, d := range []string{cfg.WorkDir, cfg.PulumiHome, backendDir} {
		if d == "" {
			continue
		}
		if err := ra.reach(d); err != nil {
			return "", nil, err
		}
	}
	return cli, dirs, nil
}
