package repoconfig

import (
	"container/list"
	"sync"
)

// entry is a cached outcome: a configuration, or ErrNotFound or a
// *ValidationError.
type entry struct {
	config *Config
	err    error
}

// lru is a bounded, least-recently-used cache of outcomes by repository and
// commit. It is safe for concurrent use.
type lru struct {
	mu    sync.Mutex
	size  int
	order *list.List // front is most recently used; values are *lruItem
	items map[string]*list.Element
}

type lruItem struct {
	key   string
	value entry
}

func newLRU(size int) *lru {
	return &lru{size: size, order: list.New(), items: map[string]*list.Element{}}
}

func (c *lru) get(key string) (entry, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	el, ok := c.items[key]
	if !ok {
		return entry{}, false
	}
	c.order.MoveToFront(el)
	return el.Value.(*lruItem).value, true
}

func (c *lru) add(key string, value entry) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if el, ok := c.items[key]; ok {
		el.Value.(*lruItem).value = value
		c.order.MoveToFront(el)
		return
	}
	c.items[key] = c.order.PushFront(&lruItem{key: key, value: value})
	for c.order.Len() > c.size {
		oldest := c.order.Back()
		c.order.Remove(oldest)
		delete(c.items, oldest.Value.(*lruItem).key)
	}
}

// len returns the number of cached outcomes.
func (c *lru) len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.order.Len()
}
