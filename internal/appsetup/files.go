package appsetup

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// Dir is the data directory's subdirectory that holds the App's credentials.
const Dir = "github-app"

// Files are where the App's credentials go, each readable by its owner only.
type Files struct {
	// Dir is <data dir>/github-app.
	Dir string
	// App holds the App's id, slug, pages, API URL and OAuth client credentials (JSON).
	App string
	// PrivateKey is the App's PEM private key (STAGECOACH_GITHUB_PRIVATE_KEY_FILE).
	PrivateKey string
	// WebhookSecret is the webhook secret (STAGECOACH_WEBHOOK_SECRET_FILE).
	WebhookSecret string
}

// FilesIn are the credential files below dataDir, as absolute paths.
func FilesIn(dataDir string) (Files, error) {
	abs, err := filepath.Abs(dataDir)
	if err != nil {
		return Files{}, fmt.Errorf("the data directory %q: %w", dataDir, err)
	}
	d := filepath.Join(abs, Dir)
	return Files{Dir: d, App: filepath.Join(d, "app.json"), PrivateKey: filepath.Join(d, "private-key.pem"),
		WebhookSecret: filepath.Join(d, "webhook-secret")}, nil
}

func (f Files) all() []string { return []string{f.App, f.PrivateKey, f.WebhookSecret} }

// Existing lists those of the files that exist already.
func (f Files) Existing() []string {
	var out []string
	for _, p := range f.all() {
		if _, err := os.Lstat(p); err == nil {
			out = append(out, p)
		}
	}
	return out
}

// ErrExists means credentials are there already and would be overwritten.
var ErrExists = errors.New("credentials exist already")

// Prepare makes sure the credentials can be written: it fails with ErrExists, naming the
// files, when any of them exists and force is off, and makes their directory (mode 0700).
func (f Files) Prepare(force bool) error {
	if have := f.Existing(); len(have) > 0 && !force {
		return fmt.Errorf("%w (%s): they belong to an App created before; move them away, or give --force to replace them", ErrExists, strings.Join(have, ", "))
	}
	if err := os.MkdirAll(f.Dir, 0o700); err != nil {
		return fmt.Errorf("making %s: %w", f.Dir, err)
	}
	return nil
}

// Write stores c: each file is written whole to a temporary file of mode 0600 and renamed into
// place, so a reader sees the old file or the new one, never a part. Without force it refuses
// to replace existing files.
func (f Files) Write(c Credentials, force bool) error {
	if err := f.Prepare(force); err != nil {
		return err
	}
	app, err := json.MarshalIndent(struct {
		Credentials
		InstallURL string `json:"install_url"`
	}{c, c.InstallURL()}, "", "  ")
	if err != nil {
		return fmt.Errorf("encoding %s: %w", f.App, err)
	}
	for _, w := range []struct {
		path string
		data []byte
	}{{f.PrivateKey, []byte(c.PrivateKeyPEM)}, {f.WebhookSecret, []byte(c.WebhookSecret)}, {f.App, append(app, '\n')}} {
		if err := writePrivate(w.path, w.data); err != nil {
			return err
		}
	}
	return nil
}

// writePrivate writes data to path atomically with mode 0600.
func writePrivate(path string, data []byte) (err error) {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	defer func() {
		if err != nil {
			os.Remove(tmp.Name())
		}
	}()
	if err := tmp.Chmod(0o600); err != nil {
		tmp.Close()
		return fmt.Errorf("writing %s: %w", path, err)
	}
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return fmt.Errorf("writing %s: %w", path, err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return fmt.Errorf("writing %s: %w", path, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	return nil
}

// Settings are the settings that make the bot use the App whose credentials are in f, as
// NAME=value lines for the environment.
func (f Files) Settings(c Credentials, publicURL string) []string {
	return append(commonSettings(c, publicURL),
		"STAGECOACH_GITHUB_PRIVATE_KEY_FILE="+f.PrivateKey,
		"STAGECOACH_WEBHOOK_SECRET_FILE="+f.WebhookSecret)
}

// Secrets is what `bot setup --print` prints for a secret store.
type Secrets struct {
	// Settings make the bot use the App, the secrets themselves among them: setting → value.
	Settings map[string]string `json:"settings"`
	// OAuth is the App's OAuth client, which the bot does not use today.
	OAuth struct {
		ClientID     string `json:"client_id"`
		ClientSecret string `json:"client_secret"`
	} `json:"oauth"`
	// InstallURL is the page that installs the App.
	InstallURL string `json:"install_url"`
}

// Printed are c's credentials for a secret store.
func Printed(c Credentials, publicURL string) Secrets {
	s := Secrets{Settings: map[string]string{
		"STAGECOACH_GITHUB_PRIVATE_KEY": c.PrivateKeyPEM,
		"STAGECOACH_WEBHOOK_SECRET":     c.WebhookSecret,
	}, InstallURL: c.InstallURL()}
	for _, l := range commonSettings(c, publicURL) {
		k, v, _ := strings.Cut(l, "=")
		s.Settings[k] = v
	}
	s.OAuth.ClientID, s.OAuth.ClientSecret = c.ClientID, c.ClientSecret
	return s
}

func commonSettings(c Credentials, publicURL string) []string {
	s := []string{
		"STAGECOACH_GITHUB_APP_ID=" + strconv.FormatInt(c.AppID, 10),
		"STAGECOACH_GITHUB_APP_SLUG=" + c.Slug,
		"STAGECOACH_PUBLIC_URL=" + strings.TrimRight(publicURL, "/"),
	}
	if c.APIURL != APIURLFor(GitHubCom) {
		s = append(s, "STAGECOACH_GITHUB_API_URL="+c.APIURL)
	}
	return s
}
