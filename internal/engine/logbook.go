package engine

import (
	"bytes"
	"fmt"
	"strings"
	"sync"
	"time"
)

// Log size bounds: the first logHeadBytes and the last logTailBytes of an operation's output are kept.
const (
	logHeadBytes = 2 << 20
	logTailBytes = 2 << 20
)

// logBook collects the full log of one operation: the CLI's output (it is the ProgressStreams and
// ErrorProgressStreams writer) and the Runner's own notes. Text strips ANSI escapes and masks secrets,
// at the end, so a secret learnt late (a secret output) is masked too. Safe for concurrent writes.
type logBook struct {
	mu      sync.Mutex
	head    bytes.Buffer
	tail    bytes.Buffer
	omitted int
	clock   Clock
}

func newLogBook(clock Clock) *logBook { return &logBook{clock: clock} }

// Write appends CLI output.
func (b *logBook) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.append(p)
	return len(p), nil
}

// note appends a line of the Runner's own, marked as such.
func (b *logBook) note(format string, args ...any) {
	line := fmt.Sprintf("[stagecoach %s] %s\n", b.clock.Now().UTC().Format(time.RFC3339), fmt.Sprintf(format, args...))
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.head.Len()+b.tail.Len() > 0 && !b.endsWithNewline() {
		b.append([]byte("\n"))
	}
	b.append([]byte(line))
}

func (b *logBook) endsWithNewline() bool {
	last := b.tail.Bytes()
	if len(last) == 0 {
		last = b.head.Bytes()
	}
	return len(last) == 0 || last[len(last)-1] == '\n'
}

// append fills the head, then cuts it at a line boundary and keeps a tail of whole lines.
func (b *logBook) append(p []byte) {
	if b.tail.Len() == 0 && b.omitted == 0 {
		b.head.Write(p)
		if b.head.Len() <= logHeadBytes {
			return
		}
		h := b.head.Bytes()
		cut := logHeadBytes
		if i := bytes.LastIndexByte(h[:cut], '\n'); i >= 0 {
			cut = i + 1
		}
		b.tail.Write(h[cut:])
		b.head.Truncate(cut)
	} else {
		b.tail.Write(p)
	}
	if b.tail.Len() > 2*logTailBytes {
		t := b.tail.Bytes()
		cut := len(t) - logTailBytes
		if i := bytes.IndexByte(t[cut:], '\n'); i >= 0 {
			cut += i + 1
		}
		b.omitted += cut
		rest := append([]byte(nil), t[cut:]...)
		b.tail.Reset()
		b.tail.Write(rest)
	}
}

// Text is the log with ANSI escapes stripped and secrets masked.
func (b *logBook) Text(m *masker) string {
	b.mu.Lock()
	defer b.mu.Unlock()
	var sb strings.Builder
	sb.WriteString(m.mask(stripANSI(b.head.String())))
	if b.omitted > 0 {
		fmt.Fprintf(&sb, "\n[… %d bytes of output omitted …]\n\n", b.omitted)
	}
	sb.WriteString(m.mask(stripANSI(b.tail.String())))
	return sb.String()
}
