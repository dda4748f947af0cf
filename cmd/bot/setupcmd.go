package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"time"

	"github.com/stagecoach/stagecoach/internal/appsetup"
	"github.com/stagecoach/stagecoach/internal/config"
)

// setupCommand creates the GitHub App from a manifest through a local page and writes its
// credentials into the data directory (or prints them with --print). Progress goes to stdout,
// or to stderr with --print so that stdout holds only the credentials.
func setupCommand(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	c := newCmdline(config.CommandSetup, "", "Creates stagecoach's GitHub App in one click: serves a local page that posts the App's manifest "+
		"(its name, the webhook URL under the public URL, exactly the permissions and events the bot uses) to GitHub, "+
		"takes the code GitHub sends the browser back with, and writes the App's id, private key, webhook secret and OAuth "+
		"client credentials into <data dir>/"+appsetup.Dir+" (mode 0600), then prints the settings `bot serve` needs "+
		"and the App's install page.", stdout)
	githubURL := c.fs.String("github-url", "", "GitHub's web address: https://github.com, or https://HOST for GitHub Enterprise Server "+
		"(default: the one --github-api-url names, else https://github.com)")
	org := c.fs.String("org", "", "create the App under this organisation (default: the account signed in to GitHub)")
	name := c.fs.String("name", "", "the App's name, unique on that GitHub; GitHub's confirmation page lets you change it "+
		"(default stagecoach, or stagecoach-ORG with --org)")
	listen := c.fs.String("listen", "127.0.0.1:0", "address of the local page, which a browser on this machine opens (port 0: any free port)")
	printOnly := c.fs.Bool("print", false, "print the credentials as JSON for a secret store instead of writing files: the settings (secrets included) and the OAuth client")
	force := c.fs.Bool("force", false, "replace credentials written by an earlier setup")
	if done, err := c.parseArgs(args, 0); done {
		return err
	}
	env := c.getenv(getenv)
	cfg, err := config.LoadFor(config.CommandSetup, env)
	if err != nil {
		return fmt.Errorf("reading settings:\n%w", err)
	}
	if cfg.HTTP.PublicURL == "" {
		return usagef("setup: the App's webhook URL comes from the bot's public URL: give --public-url https://… (or set STAGECOACH_PUBLIC_URL)")
	}
	opts := appsetup.Options{WebURL: *githubURL, Org: *org, Name: *name, PublicURL: cfg.HTTP.PublicURL}
	if env("STAGECOACH_GITHUB_API_URL") != "" {
		opts.APIURL = cfg.GitHub.APIURL
		if opts.WebURL == "" {
			opts.WebURL = appsetup.WebURLFor(opts.APIURL)
		}
	}
	progress := stdout
	var files appsetup.Files
	if *printOnly {
		progress = stderr
	} else {
		// Refuse before the App exists on GitHub rather than after.
		if files, err = appsetup.FilesIn(cfg.Store.DataDir); err != nil {
			return err
		}
		if err := files.Prepare(*force); err != nil {
			return fmt.Errorf("setup: %w", err)
		}
	}
	creds, err := createApp(ctx, opts, *listen, progress)
	if err != nil {
		return err
	}
	if *printOnly {
		return writeJSON(stdout, appsetup.Printed(creds, cfg.HTTP.PublicURL))
	}
	if err := files.Write(creds, *force); err != nil {
		return fmt.Errorf("setup: the App %q exists, but its credentials could not be saved: %w; generate a private key "+
			"and set a webhook secret on its settings page (%s), or delete it there and run `bot setup` again", creds.Slug, err, creds.HTMLURL)
	}
	fmt.Fprintf(stdout, "\nCreated the GitHub App %q (id %d): %s\n", creds.Name, creds.AppID, creds.HTMLURL)
	fmt.Fprintf(stdout, "Wrote its private key, webhook secret and OAuth client credentials to %s (mode 0600).\n", files.Dir)
	fmt.Fprintln(stdout, "\nSet these for `bot serve` (and `bot doctor`):")
	for _, l := range files.Settings(creds, cfg.HTTP.PublicURL) {
		fmt.Fprintln(stdout, "  "+l)
	}
	fmt.Fprintf(stdout, "\nInstall the App on the repositories it should manage: %s\n", creds.InstallURL())
	fmt.Fprintln(stdout, "Then `bot doctor` checks the rest.")
	return nil
}

// createApp serves the local page on listen until GitHub has sent the browser back and the
// code is converted.
func createApp(ctx context.Context, opts appsetup.Options, listen string, progress io.Writer) (appsetup.Credentials, error) {
	ln, err := net.Listen("tcp", listen)
	if err != nil {
		return appsetup.Credentials{}, fmt.Errorf("setup: serving the local page on %s: %w (choose another with --listen)", listen, err)
	}
	local := localURL(listen, ln.Addr())
	s, err := appsetup.New(opts, local)
	if err != nil {
		ln.Close()
		return appsetup.Credentials{}, usagef("setup: %w", err)
	}
	srv := &http.Server{Handler: s, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	defer func() {
		// Let the browser have the last page before stopping.
		stopCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(stopCtx)
	}()
	fmt.Fprintf(progress, "Open %s in a browser signed in to %s", local, s.WebURL())
	if opts.Org != "" {
		fmt.Fprintf(progress, " as an owner of %s", opts.Org)
	}
	fmt.Fprintln(progress, ".")
	fmt.Fprintln(progress, "It sends the App's manifest to GitHub; confirm there, and GitHub sends you back here. Waiting (Ctrl-C stops)…")
	creds, err := s.Wait(ctx)
	if err != nil {
		return creds, fmt.Errorf("setup: %w", err)
	}
	return creds, nil
}

// localURL is the address a browser on this machine opens: the host as given to --listen
// ("localhost" for an unspecified one) and the port listened on.
func localURL(listen string, addr net.Addr) string {
	host, _, _ := net.SplitHostPort(listen)
	if ip := net.ParseIP(host); host == "" || (ip != nil && ip.IsUnspecified()) {
		host = "localhost"
	}
	_, port, _ := net.SplitHostPort(addr.String())
	return "http://" + net.JoinHostPort(host, port)
}
