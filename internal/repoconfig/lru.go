package repoconfig

import (
	golanglru "github.com/hashicorp/golang-lru/v2"
)

// entry is a cached outcome: a configuration, or ErrNotFound or a
// *ValidationError.
type entry struct {
	config *Config
	err    error
}

// lru is a bounded, least-recently-used cache of outcomes by repository
// and commit (hashicorp/golang-lru). It is safe for concurrent use.
type lru struct {
	cache *golanglru.Cache[string, entry]
}

// newLRU returns a cache of at most size outcomes; size must be positive.
func newLRU(size int) *lru {
	c, err := golanglru.New[string, entry](size)
	if err != nil {
		// golanglru.New fails only for a size ≤ 0, which NewLoader never passes.
		panic("repoconfig: " + err.Error())
	}
	return &lru{cache: c}
}

func (c *lru) get(key string) (entry, bool) { return c.cache.Get(key) }

func (c *lru) add(key string, value entry) { c.cache.Add(key, value) }

// len returns the number of cached outcomes.
func (c *lru) len() int { return c.cache.Len() }
