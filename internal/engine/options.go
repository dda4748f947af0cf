package engine

import (
	"github.com/pulumi/pulumi/sdk/v3/go/auto/optdestroy"
	"github.com/pulumi/pulumi/sdk/v3/go/auto/optpreview"
	"github.com/pulumi/pulumi/sdk/v3/go/auto/optup"
)

// The engine options of each operation: events to the collector, all output (with property diffs,
// without colours) to the log book.

func optPreview(req Request, book *logBook, col *collector) []optpreview.Option {
	o := []optpreview.Option{
		optpreview.EventStreams(col.ch), optpreview.ProgressStreams(book), optpreview.ErrorProgressStreams(book),
		optpreview.Diff(), optpreview.Color("never"), optpreview.UserAgent(userAgent),
	}
	if req.Message != "" {
		o = append(o, optpreview.Message(req.Message))
	}
	return o
}

func optUp(req Request, book *logBook, col *collector) []optup.Option {
	o := []optup.Option{
		optup.EventStreams(col.ch), optup.ProgressStreams(book), optup.ErrorProgressStreams(book),
		optup.Diff(), optup.Color("never"), optup.UserAgent(userAgent),
	}
	if req.Message != "" {
		o = append(o, optup.Message(req.Message))
	}
	return o
}

func optDestroy(req Request, book *logBook, col *collector) []optdestroy.Option {
	o := []optdestroy.Option{
		optdestroy.EventStreams(col.ch), optdestroy.ProgressStreams(book), optdestroy.ErrorProgressStreams(book),
		optdestroy.Color("never"), optdestroy.UserAgent(userAgent), optdestroy.Remove(),
	}
	if req.Message != "" {
		o = append(o, optdestroy.Message(req.Message))
	}
	return o
}
