package engine

import (
	"github.com/pulumi/pulumi/sdk/v3/go/auto/optdestroy"
	"github.com/pulumi/pulumi/sdk/v3/go/auto/optpreview"
	"github.com/pulumi/pulumi/sdk/v3/go/auto/optup"
)

// The engine options of each operation: events to the collector, all output (with property diffs,
// without colours) to the log book.

func optPreview(req Request, book *logBook, col *collector) []optpreview.Option {
	return withMessage([]optpreview.Option{
		optpreview.EventStreams(col.ch), optpreview.ProgressStreams(book), optpreview.ErrorProgressStreams(book),
		optpreview.Diff(), optpreview.Color("never"), optpreview.UserAgent(userAgent),
	}, req.Message, optpreview.Message)
}

func optUp(req Request, book *logBook, col *collector) []optup.Option {
	return withMessage([]optup.Option{
		optup.EventStreams(col.ch), optup.ProgressStreams(book), optup.ErrorProgressStreams(book),
		optup.Diff(), optup.Color("never"), optup.UserAgent(userAgent),
	}, req.Message, optup.Message)
}

func optDestroy(req Request, book *logBook, col *collector) []optdestroy.Option {
	return withMessage([]optdestroy.Option{
		optdestroy.EventStreams(col.ch), optdestroy.ProgressStreams(book), optdestroy.ErrorProgressStreams(book),
		optdestroy.Color("never"), optdestroy.UserAgent(userAgent), optdestroy.Remove(),
	}, req.Message, optdestroy.Message)
}

// withMessage adds the operation's message, when there is one, to an operation's options.
func withMessage[O any](opts []O, message string, option func(string) O) []O {
	if message != "" {
		opts = append(opts, option(message))
	}
	return opts
}
