package render

import (
	"strings"
	"testing"
	"unicode/utf8"
)

func TestCode(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		in      string
		inTable bool
		want    string
	}{
		{"plain text", "web-sg", false, "`web-sg`"},
		{"a backtick inside takes a longer delimiter", "a`b", false, "``a`b``"},
		{"a run of backticks takes a longer one still", "a``b`", false, "``` a``b` ```"},
		{"a leading backtick is padded", "`x", false, "`` `x ``"},
		{"surrounding spaces are padded so they survive", " a ", false, "`  a  `"},
		{"only spaces need no padding", "  ", false, "`  `"},
		{"pipes are escaped in a table", "a|b", true, "`a\\|b`"},
		{"a backslash before a pipe stays literal in a table", `a\|b`, true, "`a\\\\|b`"},
		{"pipes are left alone outside a table", "a|b", false, "`a|b`"},
		{"empty is said in words", "", true, "*empty*"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := code(tt.in, tt.inTable); got != tt.want {
				t.Errorf("code(%q, %v) = %q, want %q", tt.in, tt.inTable, got, tt.want)
			}
		})
	}
}

func TestSanitizerLine(t *testing.T) {
	t.Parallel()
	z := newSanitizer(nil)
	tests := []struct {
		name string
		in   string
		want string
	}{
		{"newlines and tabs are escaped", "a\nb\tc\r\n", `a\nb\tc\r\n`},
		{"terminal colours are dropped", "\x1b[1;31merror\x1b[0m: \x1b]8;;http://x\x07link\x1b]8;;\x07", "error: link"},
		{"a lone escape is shown", "a\x1bb", `a\x1bb`},
		{"bidi overrides and zero-width joiners are shown", "a\u202eb\u200dc", `a\u202eb\u200dc`},
		{"invalid UTF-8 is shown as bytes", "a\xffb", `a\xffb`},
		{"other controls are shown", "\x00\x7f", `\x00\x7f`},
		{"letters, symbols and spaces pass", "café ☕ 日本\u00a0x", "café ☕ 日本\u00a0x"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := z.line(tt.in, 100); got != tt.want {
				t.Errorf("line(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
	t.Run("long text is cut at a character boundary with an ellipsis", func(t *testing.T) {
		t.Parallel()
		for _, in := range []string{strings.Repeat("x", 300), strings.Repeat("é", 300), strings.Repeat("\n", 300), "ab" + strings.Repeat("日", 100)} {
			got := z.line(in, 101)
			if len(got) > 101 || !utf8.ValidString(got) || !strings.HasSuffix(got, ellipsis) {
				t.Errorf("line(%.20q…, 101) = %q (%d bytes)", in, got, len(got))
			}
			if len(got) < 101-len(ellipsis)-len(`\n`)-1 {
				t.Errorf("line(%.20q…, 101) cut too much: %d bytes", in, len(got))
			}
		}
		if got := z.line(strings.Repeat("x", 101), 101); got != strings.Repeat("x", 101) {
			t.Errorf("text of exactly the limit was cut: %q", got)
		}
	})
}

func TestSanitizerBlock(t *testing.T) {
	t.Parallel()
	got := newSanitizer(nil).block("line one\r\n\tline two\rthree\x1b[0m", 100)
	if want := "line one\n\tline two\\rthree"; got != want {
		t.Errorf("block = %q, want %q", got, want)
	}
}

func TestSanitizerRedact(t *testing.T) {
	t.Parallel()
	z := newSanitizer([]string{"abcd", "abcdef", "abc", "", "abcd"})
	tests := map[string]string{
		"xxabcdefxx": "xx[secret]xx", // the longer secret is masked whole
		"abcd-abcd":  "[secret]-[secret]",
		"abc":        "abc", // shorter than MinSecretLen
	}
	for in, want := range tests {
		if got := z.redact(in); got != want {
			t.Errorf("redact(%q) = %q, want %q", in, got, want)
		}
	}
	if got := z.line("zabcdefz", 5); strings.Contains(got, "abcd") {
		t.Errorf("a secret survived truncation: %q", got)
	}
}

func TestSanitizerLink(t *testing.T) {
	t.Parallel()
	z := newSanitizer([]string{"tok3n-value"})
	tests := []struct {
		name string
		in   string
		want string
	}{
		{"https passes", "https://ci.example.com/logs/1?x=y#L2", "https://ci.example.com/logs/1?x=y#L2"},
		{"spaces and angle brackets are encoded", "https://x.example/a b?q=<c>", "https://x.example/a%20b?q=%3Cc%3E"},
		{"non-ASCII is encoded", "https://x.example/é", "https://x.example/%C3%A9"},
		{"javascript is refused", "javascript:alert(1)", ""},
		{"relative is refused", "/logs/1", ""},
		{"secrets are masked", "https://x.example/?t=tok3n-value", "https://x.example/?t=[secret]"},
		{"too long is refused", "https://x.example/" + strings.Repeat("a", maxURL), ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := z.link(tt.in); got != tt.want {
				t.Errorf("link(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

func TestLogLink(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ base, id, want string }{
		{"https://bot.example/", "42", "https://bot.example/logs/42"},
		{"https://bot.example", "a b", "https://bot.example/logs/a%20b"},
		{"", "42", ""},
		{"https://bot.example", "", ""},
	} {
		if got := LogLink(tc.base, tc.id); got != tc.want {
			t.Errorf("LogLink(%q, %q) = %q, want %q", tc.base, tc.id, got, tc.want)
		}
	}
}
