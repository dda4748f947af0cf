package toolchain

import (
	"context"
	"fmt"
	"net/http"
	"time"

	"github.com/blang/semver"
	"github.com/pulumi/pulumi/sdk/v3/go/auto"
)

// installScriptURL is what auto.InstallPulumiCommand fetches first on Linux and macOS.
const installScriptURL = "https://get.pulumi.com/install.sh"

// downloadCLI returns the real downloader: a quick reachability check of get.pulumi.com (so an
// offline machine fails in seconds), then auto.InstallPulumiCommand into root, which puts the CLI
// and its bundled language hosts in root/bin.
func downloadCLI(o Options) func(ctx context.Context, root string) error {
	return func(ctx context.Context, root string) error {
		if err := reachable(ctx, installScriptURL, 5*time.Second); err != nil {
			return err
		}
		ctx, cancel := context.WithTimeout(ctx, 5*time.Minute)
		defer cancel()
		_, err := auto.InstallPulumiCommand(ctx, &auto.PulumiCommandOptions{
			Version: semver.MustParse(PulumiVersion),
			Root:    root,
		})
		if err != nil {
			return fmt.Errorf("auto.InstallPulumiCommand: %w", err)
		}
		o.Logger.Debug("downloaded the pulumi CLI", "root", root)
		return nil
	}
}

// reachable sends a HEAD request to url within timeout.
func reachable(ctx context.Context, url string, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodHead, url, nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("%s unreachable: %w", url, err)
	}
	resp.Body.Close()
	if resp.StatusCode >= 400 {
		return fmt.Errorf("%s answered %s", url, resp.Status)
	}
	return nil
}
