package toolchain

import (
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestCommand(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dir := t.TempDir()
	cli := writeScript(t, filepath.Join(dir, "pulumi"), `echo "args=$*"
echo "path=$PATH"
echo "api=$PULUMI_AUTOMATION_API extra=$EXTRA"
echo "cwd=$(pwd)"
read line; echo "stdin=$line"
echo "to stderr" >&2
exit 7`)
	tools := Tools{Pulumi: cli, Version: "3.274.1", LanguageDirs: []string{"/lang"}}

	t.Run("runs the CLI non-interactively with the tools in front of PATH", func(t *testing.T) {
		t.Parallel()
		cmd, err := tools.Command()
		if err != nil {
			t.Fatal(err)
		}
		if got := cmd.Version().String(); got != "3.274.1" {
			t.Errorf("Version = %s", got)
		}
		work := t.TempDir()
		var extraOut bytes.Buffer
		stdout, stderr, code, err := cmd.Run(ctx, work, strings.NewReader("hello\n"), []io.Writer{&extraOut}, nil,
			[]string{"EXTRA=yes", "PATH=/custom"}, "stack", "ls")
		if err == nil || code != 7 {
			t.Fatalf("code = %d, err = %v, want exit status 7", code, err)
		}
		real, _ := filepath.EvalSymlinks(work)
		for _, want := range []string{
			"args=--non-interactive stack ls\n",
			"path=/lang" + string(os.PathListSeparator) + dir + string(os.PathListSeparator) + "/custom\n",
			"api=true extra=yes\n",
			"stdin=hello\n",
		} {
			if !strings.Contains(stdout, want) {
				t.Errorf("stdout lacks %q:\n%s", want, stdout)
			}
		}
		if !strings.Contains(stdout, "cwd="+work) && !strings.Contains(stdout, "cwd="+real) {
			t.Errorf("stdout does not show the work dir %s:\n%s", work, stdout)
		}
		if stderr != "to stderr\n" {
			t.Errorf("stderr = %q", stderr)
		}
		if extraOut.String() != stdout {
			t.Errorf("additional output got %q, want a copy of stdout", extraOut.String())
		}
	})

	t.Run("keeps an explicit --non-interactive and arguments after --", func(t *testing.T) {
		t.Parallel()
		cmd, err := tools.Command()
		if err != nil {
			t.Fatal(err)
		}
		stdout, _, _, _ := cmd.Run(ctx, t.TempDir(), strings.NewReader(""), nil, nil, nil,
			"up", "--non-interactive", "--", "--non-interactive")
		if !strings.Contains(stdout, "args=up --non-interactive -- --non-interactive\n") {
			t.Errorf("stdout = %s", stdout)
		}
	})

	t.Run("refuses tools without a CLI", func(t *testing.T) {
		t.Parallel()
		if _, err := (Tools{}).Command(); err == nil {
			t.Error("Command() of empty Tools succeeded")
		}
	})
}
