package toolchain

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"time"

	"github.com/blang/semver"
)

// version is a parsed CLI version; String() has no leading v.
type version = semver.Version

// VersionError reports a Pulumi CLI whose version stagecoach refuses.
type VersionError struct {
	// Path is the binary that was asked.
	Path string
	// Reported is what `pulumi version` printed, trimmed.
	Reported string
}

// Error explains the refusal and how to fix it.
func (e *VersionError) Error() string {
	v, err := semver.ParseTolerant(e.Reported)
	switch {
	case err != nil:
		return fmt.Sprintf("pulumi at %s printed %q for `pulumi version`, which is not a version", e.Path, e.Reported)
	case v.Equals(semver.Version{}):
		return fmt.Sprintf("pulumi at %s reports version 0.0.0: it was built without "+
			"-ldflags \"-X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version=v%s\", "+
			"and the Automation API refuses it; rebuild it with that flag, or let stagecoach build the pinned CLI "+
			"(`bot toolchain install`)", e.Path, PulumiVersion)
	default:
		return fmt.Sprintf("pulumi at %s is v%s; stagecoach needs at least v%s (pinned v%s): upgrade it, "+
			"or let stagecoach build the pinned CLI (`bot toolchain install`)", e.Path, v, MinimumPulumiVersion, PulumiVersion)
	}
}

// probeVersion runs `path version` and accepts versions from MinimumPulumiVersion on.
func probeVersion(ctx context.Context, path string) (version, error) {
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	var stdout, stderr bytes.Buffer
	var err error
	for attempt := 0; attempt < 5; attempt++ {
		stdout.Reset()
		stderr.Reset()
		cmd := exec.CommandContext(ctx, path, "version")
		cmd.Env = append(os.Environ(), "PULUMI_SKIP_UPDATE_CHECK=true")
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		// ETXTBSY: a file just written may still be open for writing in a child that another
		// goroutine is forking (golang/go#22315); it clears as soon as that child execs.
		if err = cmd.Run(); !errors.Is(err, syscall.ETXTBSY) {
			break
		}
		time.Sleep(time.Duration(attempt+1) * 20 * time.Millisecond)
	}
	if err != nil {
		if msg := lastLine(stderr.String()); msg != "" {
			return version{}, fmt.Errorf("running %s version: %w: %s", path, err, msg)
		}
		return version{}, fmt.Errorf("running %s version: %w", path, err)
	}
	reported := lastLine(stdout.String())
	v, err := semver.ParseTolerant(reported)
	if err != nil || v.LT(semver.MustParse(MinimumPulumiVersion)) {
		return version{}, &VersionError{Path: path, Reported: reported}
	}
	return v, nil
}

// lastLine is the last non-blank line of s, trimmed.
func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return strings.TrimSpace(lines[len(lines)-1])
}
