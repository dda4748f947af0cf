package doctor

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/stagecoach/stagecoach/internal/remoteexec"
	"github.com/stagecoach/stagecoach/internal/toolchain"
)

// PulumiCLI checks that a usable Pulumi CLI can be found without building one (toolchain.Find).
func PulumiCLI(o toolchain.Options) Check {
	return Check{
		Name:     "Pulumi CLI",
		Required: true,
		Timeout:  30 * time.Second,
		Fix: "run `bot toolchain install` (downloads or builds the pinned v" + toolchain.PulumiVersion +
			" into the cache), or set STAGECOACH_PULUMI_COMMAND to a pulumi v" + toolchain.MinimumPulumiVersion + "+ binary",
		Run: func(ctx context.Context) (string, error) {
			t, err := toolchain.Find(ctx, o)
			if t.Pulumi == "" {
				return "", err
			}
			detail := fmt.Sprintf("v%s at %s (%s)", t.Version, t.Pulumi, describe(t.Source))
			for _, w := range t.Warnings {
				detail += "\nnote: " + w
			}
			return detail, nil
		},
	}
}

// LanguageHosts checks that the YAML language host can be found, and lists the other language
// hosts found next to the CLI or on PATH.
func LanguageHosts(o toolchain.Options) Check {
	return Check{
		Name:     "language hosts",
		Required: true,
		Timeout:  30 * time.Second,
		Fix:      "run `bot toolchain install` (builds the YAML language host v" + toolchain.YAMLVersion + " into the cache)",
		Run: func(ctx context.Context) (string, error) {
			t, err := toolchain.Find(ctx, o)
			if t.YAMLHost == "" {
				if err == nil || t.Pulumi != "" {
					return "", fmt.Errorf("pulumi-language-yaml %w (needed for YAML projects)", toolchain.ErrNotFound)
				}
				return "", fmt.Errorf("pulumi-language-yaml %w; and: %w", toolchain.ErrNotFound, err)
			}
			detail := fmt.Sprintf("yaml at %s (%s)", t.YAMLHost, describe(t.YAMLSource))
			if others := otherHosts(o, t); len(others) > 0 {
				detail += "; also " + strings.Join(others, ", ")
			}
			return detail, nil
		},
	}
}

// otherHosts names the language hosts other than YAML that the CLI would find.
func otherHosts(o toolchain.Options, t toolchain.Tools) []string {
	lookPath := o.LookPath
	if lookPath == nil {
		lookPath = exec.LookPath
	}
	var dir string
	if real, err := filepath.EvalSymlinks(t.Pulumi); err == nil && t.Pulumi != "" {
		dir = filepath.Dir(real)
	}
	var found []string
	for _, lang := range []string{"go", "nodejs", "python", "dotnet", "java"} {
		name := "pulumi-language-" + lang
		if dir != "" {
			if info, err := os.Stat(filepath.Join(dir, name)); err == nil && !info.IsDir() {
				found = append(found, lang)
				continue
			}
		}
		if _, err := lookPath(name); err == nil {
			found = append(found, lang)
		}
	}
	return found
}

func describe(s toolchain.Source) string {
	switch s {
	case toolchain.SourceEnv:
		return "from STAGECOACH_PULUMI_COMMAND"
	case toolchain.SourcePath:
		return "found on PATH"
	case toolchain.SourceCache:
		return "pinned build in the cache"
	case toolchain.SourceBundled:
		return "bundled with the CLI"
	default:
		return string(s)
	}
}

// Backend checks the Pulumi state backend. For file:// it checks that the directory exists or can
// be created and that a file can be written in it (the probe, and any directory created for it,
// is removed). For http(s):// (Pulumi Cloud) it checks that the server answers; write access needs
// a token and is not checked. s3://, gs:// and azblob:// are not checked: that needs the cloud's
// credentials, and the first stack operation reports access problems.
func Backend(backendURL string) Check {
	return Check{
		Name:     "state backend",
		Required: true,
		Fix: "set STAGECOACH_PULUMI_BACKEND_URL to a writable file:// directory, an s3://, gs:// or azblob:// bucket, " +
			"or https://api.pulumi.com",
		Run: func(ctx context.Context) (string, error) {
			scheme, _, found := strings.Cut(backendURL, "://")
			if backendURL == "" || !found {
				return "", fmt.Errorf("backend URL %q is not a URL", backendURL)
			}
			switch strings.ToLower(scheme) {
			case "file":
				dir, err := fileBackendDir(backendURL)
				if err != nil {
					return "", err
				}
				return probeDir(dir)
			case "s3", "gs", "azblob":
				return "", Skip(backendURL + ": cloud storage needs credentials; the first stack operation checks access")
			case "http", "https":
				return probeHTTP(ctx, backendURL)
			default:
				return "", fmt.Errorf("backend URL %q: unsupported scheme %q", backendURL, scheme)
			}
		},
	}
}

// fileBackendDir turns file:///abs, file://~/dir and file://rel into an absolute directory.
func fileBackendDir(backendURL string) (string, error) {
	p := backendURL[len("file://"):]
	p, _, _ = strings.Cut(p, "?") // options such as ?no_tmp_dir=true
	if p == "" {
		return "", fmt.Errorf("backend URL %q names no directory", backendURL)
	}
	if p == "~" || strings.HasPrefix(p, "~/") {
		home, err := os.UserHomeDir()
		if err != nil {
			return "", fmt.Errorf("backend URL %q: %w", backendURL, err)
		}
		p = filepath.Join(home, p[1:])
	}
	return filepath.Abs(filepath.FromSlash(p))
}

// probeDir checks that dir exists or can be created and that a file can be written in it.
func probeDir(dir string) (string, error) {
	info, err := os.Stat(dir)
	switch {
	case err == nil && !info.IsDir():
		return "", fmt.Errorf("%s is not a directory", dir)
	case err != nil && !errors.Is(err, os.ErrNotExist):
		if pe, ok := errors.AsType[*os.PathError](err); ok {
			err = pe.Err // the path is in the message already
		}
		return "", fmt.Errorf("%s cannot be used: %w", dir, err)
	}
	note := "writable"
	if err != nil { // missing: create it for the probe, then remove what was created
		top := dir
		for parent := filepath.Dir(top); parent != top; parent = filepath.Dir(top) {
			if _, err := os.Stat(parent); err == nil {
				break
			}
			top = parent
		}
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return "", fmt.Errorf("%s does not exist and cannot be created: %w", dir, err)
		}
		defer func() {
			for d := dir; ; d = filepath.Dir(d) {
				if os.Remove(d) != nil || d == top {
					return
				}
			}
		}()
		note = "can be created and written; created on first use"
	}
	f, err := os.CreateTemp(dir, ".stagecoach-doctor-*")
	if err != nil {
		return "", fmt.Errorf("%s is not writable: %w", dir, err)
	}
	_, werr := f.WriteString("stagecoach doctor probe\n")
	cerr := f.Close()
	rerr := os.Remove(f.Name())
	if err := errors.Join(werr, cerr, rerr); err != nil {
		return "", fmt.Errorf("%s is not writable: %w", dir, err)
	}
	return fmt.Sprintf("%s: %s", dir, note), nil
}

// probeHTTP checks that a Pulumi Cloud style backend answers HTTP.
func probeHTTP(ctx context.Context, backendURL string) (string, error) {
	u, err := url.Parse(backendURL)
	if err != nil || u.Host == "" {
		return "", fmt.Errorf("backend URL %q is not a valid URL", backendURL)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return "", err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return "", fmt.Errorf("%s unreachable: %w", u.Host, err)
	}
	resp.Body.Close()
	if resp.StatusCode >= 500 {
		return "", fmt.Errorf("%s answered %s", u.Host, resp.Status)
	}
	return fmt.Sprintf("%s reachable (HTTP %d); write access needs PULUMI_ACCESS_TOKEN and is not checked", u.Host, resp.StatusCode), nil
}

// SecretsProvider checks the secrets provider setting. "passphrase" (also the default, "") needs
// PULUMI_CONFIG_PASSPHRASE or PULUMI_CONFIG_PASSPHRASE_FILE; "default" and "service" (Pulumi Cloud)
// need nothing here; a key-management URL must be well formed (access to the key is not checked).
func SecretsProvider(provider string, passphraseSet bool) Check {
	// The key-management URL schemes Pulumi accepts as secrets providers.
	secretsSchemes := []string{"awskms", "azurekeyvault", "gcpkms", "hashivault"}
	return Check{
		Name:     "secrets provider",
		Required: true,
		Fix: "set PULUMI_CONFIG_PASSPHRASE or PULUMI_CONFIG_PASSPHRASE_FILE for the passphrase provider, or set " +
			"STAGECOACH_SECRETS_PROVIDER to a key URL (" + strings.Join(secretsSchemes, "://…, ") + "://…)",
		Run: func(context.Context) (string, error) {
			switch provider {
			case "", "passphrase":
				if !passphraseSet {
					return "", errors.New("passphrase provider without a passphrase: PULUMI_CONFIG_PASSPHRASE and PULUMI_CONFIG_PASSPHRASE_FILE are unset")
				}
				return "passphrase (passphrase set)", nil
			case "default", "service":
				return provider + " (Pulumi Cloud manages the keys)", nil
			}
			u, err := url.Parse(provider)
			if err != nil {
				return "", fmt.Errorf("secrets provider %q is not a URL: %w", provider, err)
			}
			known := false
			for _, s := range secretsSchemes {
				known = known || u.Scheme == s
			}
			if !known {
				return "", fmt.Errorf("secrets provider %q: unknown scheme %q", provider, u.Scheme)
			}
			if strings.Trim(u.Host+u.Path, "/") == "" {
				return "", fmt.Errorf("secrets provider %q names no key", provider)
			}
			return u.Scheme + " key URL well formed (access to the key is not checked)", nil
		},
	}
}

// Runner checks that the `bot runner` at socket answers and runs the Pulumi CLI (STAGECOACH_PULUMI_RUNNER);
// without a socket Pulumi runs as the bot's child and there is nothing to check. It runs only
// `pulumi version`: whether the runner sees the shared directories is checked when `serve` starts,
// because that needs files written there.
func Runner(socket string) Check {
	return Check{
		Name:     "Pulumi runner",
		Required: true,
		Timeout:  30 * time.Second,
		Fix:      "start `bot runner` with STAGECOACH_PULUMI_RUNNER set to the same socket (the chart's pulumi container), or unset it to run Pulumi as the bot's child",
		Run: func(ctx context.Context) (string, error) {
			if socket == "" {
				return "", Skip("not used: Pulumi runs as the bot's child (STAGECOACH_PULUMI_RUNNER is empty)")
			}
			var out strings.Builder
			c := &remoteexec.Client{Socket: socket, DialWait: time.Second}
			if _, err := c.Run(ctx, remoteexec.Request{Args: []string{"version"}, Dir: "/", Env: []string{}}, nil, &out, io.Discard); err != nil {
				return "", err
			}
			return fmt.Sprintf("%s answers and runs pulumi %s", socket, strings.TrimSpace(out.String())), nil
		},
	}
}
