package lease

import (
	"context"
	"sync"
	"time"
)

// Memory is a Table in memory, for tests of the features' logic without a database. Its clock is
// Now (default time.Now). The zero value is ready to use.
type Memory struct {
	Now func() time.Time

	mu   sync.Mutex
	rows map[string]memoryRow
}

type memoryRow struct {
	holder string
	until  time.Time
}

func (m *Memory) now() time.Time {
	if m.Now != nil {
		return m.Now()
	}
	return time.Now()
}

// TryAcquire implements Table.
func (m *Memory) TryAcquire(_ context.Context, key, holder string, ttl time.Duration) (bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.rows == nil {
		m.rows = map[string]memoryRow{}
	}
	now := m.now()
	if r, ok := m.rows[key]; ok && r.holder != holder && r.until.After(now) {
		return false, nil
	}
	m.rows[key] = memoryRow{holder: holder, until: now.Add(ttl)}
	return true, nil
}

// Release implements Table.
func (m *Memory) Release(_ context.Context, key, holder string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if r, ok := m.rows[key]; ok && r.holder == holder {
		delete(m.rows, key)
	}
	return nil
}

// LeaseHolder implements Table.
func (m *Memory) LeaseHolder(_ context.Context, key string) (string, bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	r, ok := m.rows[key]
	if !ok {
		return "", false, nil
	}
	return r.holder, r.until.After(m.now()), nil
}
