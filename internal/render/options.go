package render

// GitHub's size limits, in characters. The renderer bounds UTF-8 bytes, which are never fewer than
// characters however GitHub counts them (code points or UTF-16 units), so a byte bound is a safe bound.
const (
	// CommentLimit is the largest issue or pull request comment body GitHub accepts.
	CommentLimit = 65536
	// CheckLimit is the largest check run output.summary or output.text GitHub accepts.
	CheckLimit = 65535
	// DefaultLimit is the comment budget used when Options.Limit is zero: CommentLimit less
	// 5,536 bytes of headroom for the status lines, expiry and commands the caller wraps around it.
	DefaultLimit = 60000
	// MinLimit is the smallest budget the renderer honours; smaller limits are raised to it.
	// It leaves room for the parts that are never trimmed: the headline, the first errors,
	// the trimmed note, the next steps and the footer.
	MinLimit = 8192
	// MinSecretLen is the shortest Options.Secrets entry that is redacted; shorter values
	// (a "1" or "yes") cannot be hidden meaningfully and would mangle unrelated text.
	MinSecretLen = 4
)

// Options tunes one rendering. The zero value renders with a default title and DefaultLimit.
type Options struct {
	// Title is the headline's subject as inline markdown, e.g. "Preview of `pr-42` at abc1234"; the
	// renderer makes it bold, so it holds no bold of its own. Default: "<Kind> of `<Stack>`".
	// Newlines become spaces; a title longer than 256 bytes is replaced by the default.
	Title string
	// LogURL is an http(s) link to the full operation log, shown in the footer and in the trimmed note.
	// Default: none; Result.LogID is named instead when set. URLs longer than 512 bytes are not linked.
	LogURL string
	// NextSteps are markdown lines the caller supplies (commands and the like), rendered as a list
	// under "Next steps". Default: none. Each line is kept on one line; lines past 2,048 bytes in total are dropped.
	NextSteps []string
	// Limit is the largest output in bytes. Default (zero): DefaultLimit for Markdown and CheckLimit
	// for CheckOutput, where it is also capped at CheckLimit. Values below MinLimit are raised to MinLimit.
	// A caller that wraps the result in more than DefaultLimit's headroom passes its own budget.
	Limit int
	// Secrets are extra values to redact wherever they appear in the result, on top of the engine's own
	// masking. Default: none. Entries shorter than MinSecretLen are ignored.
	Secrets []string
}

// limit resolves Options.Limit against a default and a ceiling (0 for none).
func (o Options) limit(def, ceiling int) int {
	l := o.Limit
	if l == 0 {
		l = def
	}
	if ceiling > 0 && l > ceiling {
		l = ceiling
	}
	return max(l, MinLimit)
}
