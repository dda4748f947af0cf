package command

import (
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/google/go-github/v60/github"

	"github.com/stagecoach/stagecoach/internal/render"
)

// maxEcho is how many characters of a user's text a reply quotes.
const maxEcho = 100

// replySearchSlack is how far before a reply step started the PR's comments are searched for
// it: GitHub's clock and ours may disagree a little.
const replySearchSlack = 10 * time.Minute

// zwj is the zero-width joiner put after an @ in echoed text: GitHub then links no mention.
const zwj = "\u200d"

// shortenedNote ends a reply that was cut to fit GitHub's limit.
const shortenedNote = "\n\n*This reply was shortened to fit GitHub's 65,536-character limit for comments.*"

// Code quotes text a user typed (a command, an argument) for a reply as an inline code span that
// the text cannot steer: line breaks and control characters become spaces, it is cut to 100
// characters, every @ is followed by a zero-width joiner so no mention is linked even outside the
// span, HTML comments are broken up, and the backtick delimiter is longer than any run of
// backticks in the text, so the span cannot be closed early.
func Code(s string) string {
	s = strings.Map(func(r rune) rune {
		switch {
		case r == '\u200d' || r == '\u200c' || r == '\u200b':
			return r
		case unicode.IsControl(r), unicode.In(r, unicode.Zl, unicode.Zp), unicode.Is(unicode.Cf, r):
			return ' ' // newlines, bidi overrides and other invisible formatting
		}
		return r
	}, s)
	s = render.Clip(s, maxEcho)
	s = neutralise(strings.ReplaceAll(s, "@", "@"+zwj))
	if strings.Trim(s, " ") == "" {
		return "*nothing*"
	}
	return render.CodeSpan(s)
}

// neutralise breaks up HTML comment openers, so text cannot hide the rest of a reply or forge a
// reply marker.
func neutralise(s string) string {
	return strings.ReplaceAll(s, "<!--", "<"+zwj+"!--")
}

// replyMarker is the hidden line that ends the reply to the command in comment id.
func replyMarker(id int64) string {
	return "<!-- stagecoach:reply:" + strconv.FormatInt(id, 10) + " -->"
}

// replyBody is body as posted in reply to comment id: HTML comments broken up, shortened to fit
// GitHub's limit with a note saying so, and ending in the reply marker.
func replyBody(id int64, body string) string {
	marker := replyMarker(id)
	return fit(neutralise(body), render.CommentLimit-len(marker)-2) + "\n\n" + marker
}

// fit returns s when it has at most limit bytes (bytes are never fewer than the characters GitHub
// counts), or else s cut at a line break (or a character when no line break is near) with a note.
func fit(s string, limit int) string {
	if len(s) <= limit {
		return s
	}
	n := limit - len(shortenedNote)
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	cut := s[:n]
	if i := strings.LastIndexByte(cut, '\n'); i >= 0 && n-i < 4096 {
		cut = cut[:i]
	}
	return cut + shortenedNote
}

// isReply reports whether cm is a bot's comment ending in the marker of the reply to comment id.
func isReply(cm *github.IssueComment, id int64) bool {
	return cm.GetUser().GetType() == "Bot" && strings.HasSuffix(strings.TrimSpace(cm.GetBody()), replyMarker(id))
}
