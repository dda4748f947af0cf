package enginetest

import (
	"context"
	"fmt"
	"sync"

	"github.com/stagecoach/stagecoach/internal/engine"
)

// Logs is an in-memory engine.LogStore.
type Logs struct {
	mu   sync.Mutex
	logs map[string]engine.OperationLog
	ids  []string
}

// NewLogs returns an empty log store.
func NewLogs() *Logs { return &Logs{logs: map[string]engine.OperationLog{}} }

// SaveLog stores l and returns its id ("log-1", "log-2", …).
func (s *Logs) SaveLog(_ context.Context, l engine.OperationLog) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	id := fmt.Sprintf("log-%d", len(s.ids)+1)
	s.logs[id] = l
	s.ids = append(s.ids, id)
	return id, nil
}

// Get returns the log with id.
func (s *Logs) Get(id string) (engine.OperationLog, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	l, ok := s.logs[id]
	return l, ok
}

// All returns every stored log in the order saved.
func (s *Logs) All() []engine.OperationLog {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]engine.OperationLog, 0, len(s.ids))
	for _, id := range s.ids {
		out = append(out, s.logs[id])
	}
	return out
}
