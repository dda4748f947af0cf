package engine

import (
	"context"
	"time"
)

// LogStore keeps the full logs of operations for the dashboard (the store implements it).
type LogStore interface {
	// SaveLog stores the full log of one operation and returns its id.
	SaveLog(ctx context.Context, l OperationLog) (string, error)
}

// OperationLog is the full log of one operation: the CLI's progress output with ANSI escapes stripped
// and secrets masked, plus the Runner's own notes (waits, cleared locks).
type OperationLog struct {
	// Stack is the fully qualified stack name.
	Stack string
	// Kind is the operation: preview, up, destroy or refresh.
	Kind string
	// Text is the log.
	Text string
	// Started and Finished bound the operation.
	Started, Finished time.Time
	// Succeeded reports whether the operation succeeded.
	Succeeded bool
}
