package engine

import (
	"strings"
	"testing"
	"time"
)

func TestMasker(t *testing.T) {
	t.Parallel()
	m := newMasker()
	m.add("hunter22", `quote"d\secret`, "ab", "")
	for in, want := range map[string]string{
		"password hunter22 here":             "password [secret] here",
		`{"v":"quote\"d\\secret"}`:           `{"v":"[secret]"}`,
		`raw quote"d\secret`:                 "raw [secret]",
		"ab is too short to mask, so is abc": "ab is too short to mask, so is abc",
	} {
		if got := m.mask(in); got != want {
			t.Errorf("mask(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestStripANSI(t *testing.T) {
	t.Parallel()
	in := "\x1b[1m\x1b[38;5;2m+ 1 created\x1b[0m\r\n\x1b]8;;https://x\x07link\x1b]8;;\x07"
	if got := stripANSI(in); got != "+ 1 created\nlink" {
		t.Errorf("stripANSI = %q", got)
	}
}

type fixedClock struct{ t time.Time }

func (c fixedClock) Now() time.Time                       { return c.t }
func (c fixedClock) After(time.Duration) <-chan time.Time { return nil }

func TestLogBook(t *testing.T) {
	t.Parallel()
	clock := fixedClock{time.Date(2026, 5, 1, 9, 30, 0, 0, time.UTC)}
	t.Run("notes, colours and secrets", func(t *testing.T) {
		b := newLogBook(clock)
		m := newMasker()
		_, _ = b.Write([]byte("\x1b[32mUpdating (dev):\x1b[0m token=s3cr3t"))
		b.note("cleared %d lock", 1)
		m.add("s3cr3t") // learnt after the output was written
		want := "Updating (dev): token=[secret]\n[stagecoach 2026-05-01T09:30:00Z] cleared 1 lock\n"
		if got := b.Text(m); got != want {
			t.Errorf("Text = %q, want %q", got, want)
		}
	})
	t.Run("a huge log keeps its head and tail in whole lines", func(t *testing.T) {
		b := newLogBook(clock)
		line := strings.Repeat("x", 99) + "\n"
		lines := (logHeadBytes + 3*logTailBytes) / len(line)
		for i := 0; i < lines; i++ {
			_, _ = b.Write([]byte(line))
		}
		_, _ = b.Write([]byte("the last line\n"))
		text := b.Text(newMasker())
		if len(text) > logHeadBytes+2*logTailBytes+100 {
			t.Errorf("log is %d bytes, want it bounded", len(text))
		}
		if !strings.HasPrefix(text, line) || !strings.HasSuffix(text, line+"the last line\n") || !strings.Contains(text, "bytes of output omitted") {
			t.Errorf("log does not keep head, marker and tail")
		}
		for _, l := range strings.Split(strings.TrimSuffix(text, "\n"), "\n") {
			if l != strings.TrimSuffix(line, "\n") && l != "the last line" && !strings.Contains(l, "omitted") && l != "" {
				t.Fatalf("a line was cut: %q", l)
			}
		}
	})
}
