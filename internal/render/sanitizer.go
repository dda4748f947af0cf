package render

import (
	"cmp"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// masked is what a redacted secret is replaced with, matching the engine's own masking.
const masked = "[secret]"

// ellipsis marks a value cut short.
const ellipsis = "…"

// Length caps for untrusted strings, in bytes after escaping.
const (
	maxName   = 256  // resource names, types, property paths, output names, the stack
	maxID     = 128  // the log id
	maxValue  = 1024 // a property value in a diff
	maxOutput = 256  // an output value in the outputs table
	maxError  = 4096 // one error message
	maxTitle  = 256  // the caller's title
	maxURL    = 512  // the log URL, after escaping
	maxSteps  = 2048 // all next steps together
)

// sanitizer turns untrusted strings into safe display text: it redacts secrets, drops terminal escape
// sequences, makes control and invisible characters visible, and bounds the length. Markdown quoting
// (code spans, fences) is applied afterwards by the callers of its methods.
type sanitizer struct {
	redactor *strings.Replacer // nil when there is nothing to redact
}

// newSanitizer returns a sanitizer that redacts the given secrets, longest first.
func newSanitizer(secrets []string) sanitizer {
	var keep []string
	for _, s := range secrets {
		if len(s) >= MinSecretLen && !slices.Contains(keep, s) {
			keep = append(keep, s)
		}
	}
	if len(keep) == 0 {
		return sanitizer{}
	}
	// strings.Replacer tries the old strings in argument order at each position: longest first
	// makes a secret that contains another be masked whole.
	slices.SortFunc(keep, func(a, b string) int { return cmp.Compare(len(b), len(a)) })
	pairs := make([]string, 0, 2*len(keep))
	for _, s := range keep {
		pairs = append(pairs, s, masked)
	}
	return sanitizer{redactor: strings.NewReplacer(pairs...)}
}

// redact masks the secrets in s.
func (z sanitizer) redact(s string) string {
	if z.redactor == nil {
		return s
	}
	return z.redactor.Replace(s)
}

// line returns s redacted and printable on a single line, at most max bytes.
// Newlines, tabs, other control characters and invisible format characters (bidi overrides,
// zero-width joiners) are written as Go-style escapes: \n, \t, \x00, \u202e.
func (z sanitizer) line(s string, max int) string { return z.clean(s, max, false) }

// block is like line but keeps newlines and tabs, for multi-line text inside a fenced block.
func (z sanitizer) block(s string, max int) string { return z.clean(s, max, true) }

func (z sanitizer) clean(s string, max int, keepLines bool) string {
	return string(z.appendClean(make([]byte, 0, min(len(s), max)), s, max, keepLines))
}

// appendLine appends line(s, max) to dst.
func (z sanitizer) appendLine(dst []byte, s string, max int) []byte {
	return z.appendClean(dst, s, max, false)
}

func (z sanitizer) appendClean(dst []byte, s string, max int, keepLines bool) []byte {
	s = z.redact(s)
	base := len(dst)
	fit := -1 // length of dst at the last point where an ellipsis still fitted after it
	for i := 0; i < len(s); {
		// Fast path: as much printable ASCII as fits before an ellipsis would be needed.
		room := max - len(ellipsis) - (len(dst) - base)
		j := i
		for j < len(s) && j-i < room && s[j] >= 0x20 && s[j] < 0x7f {
			j++
		}
		if j > i {
			dst = append(dst, s[i:j]...)
			i = j
			continue
		}
		if s[i] == 0x1b {
			if n := escapeSequenceLen(s[i:]); n > 0 {
				i += n
				continue
			}
		}
		r, size := rune(s[i]), 1
		if r >= utf8.RuneSelf {
			r, size = utf8.DecodeRuneInString(s[i:])
		}
		start := len(dst)
		switch {
		case r >= 0x20 && r < 0x7f:
			dst = append(dst, s[i])
		case r == utf8.RuneError && size == 1:
			dst = appendHex(dst, `\x`, uint32(s[i]), 2)
		case r == '\n' && keepLines, r == '\t' && keepLines:
			dst = append(dst, byte(r))
		case r == '\r' && keepLines && i+1 < len(s) && s[i+1] == '\n':
			// CRLF: the LF alone ends the line.
		case r == '\n':
			dst = append(dst, `\n`...)
		case r == '\t':
			dst = append(dst, `\t`...)
		case r == '\r':
			dst = append(dst, `\r`...)
		case r < 0x20 || r == 0x7f:
			dst = appendHex(dst, `\x`, uint32(r), 2)
		case !unicode.IsGraphic(r):
			if r <= 0xffff {
				dst = appendHex(dst, `\u`, uint32(r), 4)
			} else {
				dst = appendHex(dst, `\U`, uint32(r), 8)
			}
		default:
			dst = append(dst, s[i:i+size]...)
		}
		if fit < 0 && len(dst)-base > max-len(ellipsis) {
			fit = start
		}
		if len(dst)-base > max {
			return append(dst[:fit], ellipsis...)
		}
		i += size
	}
	return dst
}

// escapeSequenceLen returns the length of the ANSI terminal escape sequence at the start of s
// (CSI "ESC [ … final", OSC "ESC ] … BEL|ESC \", or a two-byte escape), or 0 when s holds none.
func escapeSequenceLen(s string) int {
	if len(s) < 2 || s[0] != 0x1b {
		return 0
	}
	switch s[1] {
	case '[':
		for i := 2; i < len(s); i++ {
			if s[i] >= 0x40 && s[i] <= 0x7e {
				return i + 1
			}
			if s[i] < 0x20 || s[i] > 0x3f {
				return 0
			}
		}
		return 0
	case ']':
		for i := 2; i < len(s); i++ {
			if s[i] == 0x07 {
				return i + 1
			}
			if s[i] == 0x1b {
				if i+1 < len(s) && s[i+1] == '\\' {
					return i + 2
				}
				return 0
			}
		}
		return 0
	}
	if s[1] >= 0x40 && s[1] <= 0x5f {
		return 2
	}
	return 0
}

func appendHex(out []byte, prefix string, v uint32, width int) []byte {
	out = append(out, prefix...)
	h := strconv.FormatUint(uint64(v), 16)
	for range width - len(h) {
		out = append(out, '0')
	}
	return append(out, h...)
}

// longestRun returns the length of the longest run of c in s.
func longestRun[S ~string | ~[]byte](s S, c byte) int {
	longest, run := 0, 0
	for i := 0; i < len(s); i++ {
		if s[i] != c {
			run = 0
			continue
		}
		run++
		longest = max(longest, run)
	}
	return longest
}

// code returns s, already sanitized to one line, as a markdown code span: HTML, emphasis, links
// and @mentions are inert inside it. The delimiter is one backtick longer than any run in s.
// In a table cell, pipes are written as \| (GitHub's table scanner removes the backslash, even
// inside code spans, and never splits a cell at a pipe preceded by a backslash).
func code(s string, inTable bool) string {
	if s == "" {
		return "*empty*"
	}
	delim := strings.Repeat("`", longestRun(s, '`')+1)
	pad := ""
	if s[0] == '`' || s[len(s)-1] == '`' || (s[0] == ' ' && s[len(s)-1] == ' ' && strings.Trim(s, " ") != "") {
		pad = " " // CommonMark strips one space from each side of such a span, unless it is all spaces
	}
	if inTable {
		s = strings.ReplaceAll(s, "|", `\|`)
	}
	return delim + pad + s + pad + delim
}

// CodeSpan returns s, already on one line, as a markdown code span: the delimiter is one backtick
// longer than any run in s, padded when CommonMark would strip a space. An empty s is "*empty*".
// It does not neutralise mentions or HTML comments in s: the caller decides what s may contain.
func CodeSpan(s string) string { return code(s, false) }

// fence returns a fence for a fenced code block around body: backticks, one more than the longest
// run in body and at least three, so no line of body can close it.
func fence(body string) string {
	return strings.Repeat("`", max(3, longestRun(body, '`')+1))
}

// link returns raw as a URL safe inside a markdown autolink <…> or a <…> link destination,
// or "" when raw is not an absolute http(s) URL or is too long.
func (z sanitizer) link(raw string) string {
	raw = z.redact(raw)
	u, err := url.Parse(strings.TrimSpace(raw))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return ""
	}
	s := u.String()
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c <= 0x20 || c >= 0x7f || c == '<' || c == '>' || c == '"' || c == '`' || c == '\\' {
			b.WriteString("%" + strings.ToUpper(strconv.FormatUint(uint64(c)|0x100, 16)[1:]))
			continue
		}
		b.WriteByte(c)
	}
	if b.Len() > maxURL {
		return ""
	}
	return b.String()
}

// oneLine returns caller-supplied markdown on a single line, secrets redacted.
func (z sanitizer) oneLine(md string) string {
	md = z.redact(md)
	md = strings.NewReplacer("\r\n", " ", "\n", " ", "\r", " ").Replace(md)
	return strings.TrimSpace(md)
}
