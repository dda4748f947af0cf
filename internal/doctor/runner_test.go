package doctor

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/stagecoach/stagecoach/internal/remoteexec"
)

func TestRunner(t *testing.T) {
	t.Parallel()
	assertRun(t, Runner(""), true, "not used")

	dir, err := os.MkdirTemp("", "rx") // short: a socket path has at most 108 bytes
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(dir) })
	sock := filepath.Join(dir, "runner.sock")
	assertRun(t, Runner(sock), false, "Pulumi runner", "does not answer", "start `bot runner`")

	ln, err := remoteexec.Listen(sock)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- (&remoteexec.Server{Command: fakePulumi(t, t.TempDir(), "3.274.1")}).Serve(ctx, ln) }()
	assertRun(t, Runner(sock), true, sock+" answers and runs pulumi v3.274.1")
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}
