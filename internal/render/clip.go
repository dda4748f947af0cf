package render

import (
	"net/url"
	"strings"
	"unicode/utf8"
)

// Clip shortens s to at most n characters (runes), ending in "…" when it had to cut. It is the one
// helper for GitHub's field limits (a deployment status's 140-character description, a reply's
// quoted text).
func Clip(s string, n int) string {
	if n <= 0 {
		return ""
	}
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return string(r[:n-1]) + "…"
}

// ShortSHA is a commit's usual seven-character abbreviation.
func ShortSHA(sha string) string { return sha[:min(7, len(sha))] }

// LogLink links to operation log id under base (the bot's public URL), "" when either is empty.
func LogLink(base, id string) string {
	if base == "" || id == "" {
		return ""
	}
	return strings.TrimRight(base, "/") + "/logs/" + url.PathEscape(id)
}
