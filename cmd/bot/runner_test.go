package main

import (
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stagecoach/stagecoach/internal/engine/enginetest"
	"github.com/stagecoach/stagecoach/internal/remoteexec"
)

// `bot runner` serves the Pulumi CLI it finds on the socket it is given, until interrupted.
func TestRunnerCommand(t *testing.T) {
	t.Parallel()
	tools := enginetest.Tools(t)
	dir, err := os.MkdirTemp("", "rx") // short: a socket path has at most 108 bytes
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(dir) })
	sock := filepath.Join(dir, "runner.sock")
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"runner", "--pulumi-runner", sock, "--pulumi-command", tools.Pulumi, "--log-format", "text"},
			func(string) string { return "" }, io.Discard)
	}()
	var out bytes.Buffer
	code, err := (&remoteexec.Client{Socket: sock}).Run(ctx, remoteexec.Request{Args: []string{"version"}, Dir: dir, Env: []string{}}, nil, &out, io.Discard)
	if err != nil || code != 0 || !strings.Contains(out.String(), "3.274") {
		t.Fatalf("pulumi version through the runner: code %d, err %v, output %q", code, err, out.String())
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("the runner stopped with %v", err)
	}
}
