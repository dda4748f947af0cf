package doctor

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/stagecoach/stagecoach/internal/toolchain"
)

func writeScript(t *testing.T, path, body string) string {
	t.Helper()
	if runtime.GOOS == "windows" {
		t.Skip("fake CLIs are shell scripts")
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte("#!/bin/sh\n"+body+"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	return path
}

func fakePulumi(t *testing.T, dir, version string) string {
	return writeScript(t, filepath.Join(dir, "pulumi"), `[ "$1" = version ] && echo v`+version)
}

// machine is toolchain options for an isolated machine whose PATH holds exactly onPath.
func machine(t *testing.T, onPath map[string]string) toolchain.Options {
	return toolchain.Options{
		CacheDir: t.TempDir(),
		LookPath: func(name string) (string, error) {
			if p, ok := onPath[name]; ok {
				return p, nil
			}
			return "", exec.ErrNotFound
		},
	}
}

// runCheck runs c through Run and returns Run's verdict and output.
func runCheck(t *testing.T, c Check) (bool, string) {
	t.Helper()
	var out bytes.Buffer
	ok := Run(context.Background(), &out, []Check{c})
	return ok, out.String()
}

func assertRun(t *testing.T, c Check, wantOK bool, wants ...string) {
	t.Helper()
	ok, out := runCheck(t, c)
	if ok != wantOK {
		t.Errorf("ok = %v, want %v; output:\n%s", ok, wantOK, out)
	}
	for _, w := range wants {
		if !strings.Contains(out, w) {
			t.Errorf("output lacks %q:\n%s", w, out)
		}
	}
}

func TestPulumiCLI(t *testing.T) {
	t.Parallel()

	t.Run("passes with the CLI on PATH and names it", func(t *testing.T) {
		t.Parallel()
		cli := fakePulumi(t, t.TempDir(), toolchain.PulumiVersion)
		assertRun(t, PulumiCLI(machine(t, map[string]string{"pulumi": cli})), true,
			"✓ Pulumi CLI — v"+toolchain.PulumiVersion+" at "+cli+" (found on PATH)")
	})

	t.Run("passes with a different version and notes it", func(t *testing.T) {
		t.Parallel()
		o := machine(t, nil)
		o.Command = fakePulumi(t, t.TempDir(), "3.200.0")
		assertRun(t, PulumiCLI(o), true, "(from STAGECOACH_PULUMI_COMMAND)", "note: pulumi at "+o.Command+" is v3.200.0")
	})

	t.Run("passes with the pinned CLI in the cache", func(t *testing.T) {
		t.Parallel()
		o := machine(t, nil)
		cli := fakePulumi(t, filepath.Join(o.CacheDir, "pulumi-v"+toolchain.PulumiVersion), toolchain.PulumiVersion)
		assertRun(t, PulumiCLI(o), true, "at "+cli+" (pinned build in the cache)")
	})

	t.Run("fails without a CLI and says how to get one", func(t *testing.T) {
		t.Parallel()
		assertRun(t, PulumiCLI(machine(t, nil)), false, "✗ Pulumi CLI — pulumi CLI not found", "fix: run `bot toolchain install`")
	})

	t.Run("fails with only a 0.0.0 CLI on PATH and explains the ldflag", func(t *testing.T) {
		t.Parallel()
		cli := fakePulumi(t, t.TempDir(), "0.0.0")
		assertRun(t, PulumiCLI(machine(t, map[string]string{"pulumi": cli})), false,
			"reports version 0.0.0", "-X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version=v"+toolchain.PulumiVersion)
	})
}

func TestLanguageHosts(t *testing.T) {
	t.Parallel()

	t.Run("passes with the YAML host bundled next to the CLI and lists other hosts", func(t *testing.T) {
		t.Parallel()
		dir := t.TempDir()
		cli := fakePulumi(t, dir, toolchain.PulumiVersion)
		yaml := writeScript(t, filepath.Join(dir, "pulumi-language-yaml"), "echo 1")
		writeScript(t, filepath.Join(dir, "pulumi-language-go"), "echo 1")
		nodejs := writeScript(t, filepath.Join(t.TempDir(), "pulumi-language-nodejs"), "echo 1")
		assertRun(t, LanguageHosts(machine(t, map[string]string{"pulumi": cli, "pulumi-language-nodejs": nodejs})), true,
			"✓ language hosts — yaml at "+yaml+" (bundled with the CLI); also go, nodejs\n")
	})

	t.Run("fails when the CLI has no YAML host", func(t *testing.T) {
		t.Parallel()
		cli := fakePulumi(t, t.TempDir(), toolchain.PulumiVersion)
		assertRun(t, LanguageHosts(machine(t, map[string]string{"pulumi": cli})), false,
			"✗ language hosts — pulumi-language-yaml not found (needed for YAML projects)", "fix: run `bot toolchain install`")
	})

	t.Run("fails on a machine without the CLI, saying so", func(t *testing.T) {
		t.Parallel()
		assertRun(t, LanguageHosts(machine(t, nil)), false, "pulumi-language-yaml not found; and: pulumi CLI not found")
	})
}

func TestBackend(t *testing.T) {
	t.Parallel()

	t.Run("an existing directory is writable and the probe is removed", func(t *testing.T) {
		t.Parallel()
		dir := t.TempDir()
		assertRun(t, Backend("file://"+dir), true, "✓ state backend — "+dir+": writable")
		assertEmpty(t, dir)
	})

	t.Run("a missing directory can be created, and is removed again", func(t *testing.T) {
		t.Parallel()
		parent := t.TempDir()
		dir := filepath.Join(parent, "a", "b", "state")
		assertRun(t, Backend("file://"+dir+"?no_tmp_dir=true"), true, dir+": can be created and written")
		assertEmpty(t, parent)
	})

	t.Run("a directory under a regular file cannot be created", func(t *testing.T) {
		t.Parallel()
		file := filepath.Join(t.TempDir(), "file")
		if err := os.WriteFile(file, nil, 0o644); err != nil {
			t.Fatal(err)
		}
		assertRun(t, Backend("file://"+file+"/state"), false, "/state cannot be used: not a directory", "fix: set STAGECOACH_PULUMI_BACKEND_URL")
		assertRun(t, Backend("file://"+file), false, file+" is not a directory")
	})

	t.Run("a directory under a dangling symlink cannot be created", func(t *testing.T) {
		t.Parallel()
		parent := t.TempDir()
		if err := os.Symlink(filepath.Join(parent, "gone", "x"), filepath.Join(parent, "dangling")); err != nil {
			t.Fatal(err)
		}
		assertRun(t, Backend("file://"+filepath.Join(parent, "dangling", "state")), false, "does not exist and cannot be created")
	})

	t.Run("cloud storage is reported as not checked", func(t *testing.T) {
		t.Parallel()
		for _, u := range []string{"s3://bucket/prefix", "gs://bucket", "azblob://container"} {
			assertRun(t, Backend(u), true, "– state backend — not checked: "+u)
		}
	})

	t.Run("a Pulumi Cloud style URL is checked for reachability", func(t *testing.T) {
		t.Parallel()
		up := httptest.NewServer(http.NotFoundHandler())
		t.Cleanup(up.Close)
		assertRun(t, Backend(up.URL), true, "reachable (HTTP 404)")

		broken := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			w.WriteHeader(http.StatusBadGateway)
		}))
		t.Cleanup(broken.Close)
		assertRun(t, Backend(broken.URL), false, "answered 502 Bad Gateway")

		down := httptest.NewServer(http.NotFoundHandler())
		down.Close()
		assertRun(t, Backend(down.URL), false, "unreachable")
	})

	t.Run("malformed URLs fail", func(t *testing.T) {
		t.Parallel()
		assertRun(t, Backend(""), false, `backend URL "" is not a URL`)
		assertRun(t, Backend("/var/state"), false, "is not a URL")
		assertRun(t, Backend("ftp://x"), false, `unsupported scheme "ftp"`)
		assertRun(t, Backend("file://"), false, "names no directory")
	})
}

func assertEmpty(t *testing.T, dir string) {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 0 {
		t.Errorf("%s is not empty after the check: %v", dir, entries)
	}
}

func TestSecretsProvider(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name          string
		provider      string
		passphraseSet bool
		ok            bool
		want          string
	}{
		{"passphrase with a passphrase passes", "passphrase", true, true, "✓ secrets provider — passphrase (passphrase set)"},
		{"the default is the passphrase provider", "", false, false, "PULUMI_CONFIG_PASSPHRASE and PULUMI_CONFIG_PASSPHRASE_FILE are unset"},
		{"passphrase without a passphrase fails", "passphrase", false, false, "fix: set PULUMI_CONFIG_PASSPHRASE"},
		{"Pulumi Cloud keys pass", "default", false, true, "Pulumi Cloud manages the keys"},
		{"an AWS KMS alias passes as well formed", "awskms://alias/stagecoach?region=eu-west-1", false, true, "awskms key URL well formed (access to the key is not checked)"},
		{"an AWS KMS ARN passes", "awskms:///arn:aws:kms:eu-west-1:111122223333:key/abcd", false, true, "well formed"},
		{"a Vault key passes", "hashivault://stagecoach", false, true, "hashivault key URL well formed"},
		{"a key URL without a key fails", "gcpkms://", false, false, "names no key"},
		{"an unknown scheme fails", "vault://x", false, false, `unknown scheme "vault"`},
		{"a bad URL fails", "awskms://%zz", false, false, "is not a URL"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			assertRun(t, SecretsProvider(tc.provider, tc.passphraseSet), tc.ok, tc.want)
		})
	}
}
