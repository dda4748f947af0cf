package source

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"
)

// evictGrace protects recently used trees from eviction: a caller may still be copying one.
const evictGrace = time.Minute

// entry is one cached tree.
type entry struct {
	size int64
	used time.Time
}

// dir is the cache directory of key (owner/repo/sha, lower case).
func (f *Fetcher) dir(key string) string {
	return filepath.Join(f.cfg.Dir, filepath.FromSlash(key))
}

// sizeFile records a tree's size beside it, so loading the cache does not walk every tree.
func (f *Fetcher) sizeFile(key string) string { return f.dir(key) + ".size" }

// load indexes the trees already in the cache directory; their last use is their directory's mtime.
func (f *Fetcher) load() error {
	f.entries = map[string]*entry{}
	if err := os.MkdirAll(f.cfg.Dir, 0o700); err != nil {
		return fmt.Errorf("creating the source cache: %w", err)
	}
	f.sweepTmp()
	dirs, err := filepath.Glob(filepath.Join(f.cfg.Dir, "*", "*", "*"))
	if err != nil {
		return fmt.Errorf("reading the source cache: %w", err)
	}
	for _, d := range dirs {
		info, err := os.Stat(d)
		if err != nil || !info.IsDir() || !shaPattern.MatchString(filepath.Base(d)) {
			continue
		}
		rel, _ := filepath.Rel(f.cfg.Dir, d)
		key := filepath.ToSlash(rel)
		f.entries[key] = &entry{size: f.readSize(key), used: info.ModTime()}
	}
	return nil
}

// sweepTmp removes what extractions and evictions interrupted by a crash left in <Dir>/.tmp; work
// younger than FetchTimeout may belong to another process sharing the cache and is left alone.
func (f *Fetcher) sweepTmp() {
	tmp := filepath.Join(f.cfg.Dir, ".tmp")
	_ = os.MkdirAll(tmp, 0o700)
	old, _ := os.ReadDir(tmp)
	for _, e := range old {
		if info, err := e.Info(); err == nil && f.now().Sub(info.ModTime()) > f.cfg.FetchTimeout {
			_ = os.RemoveAll(filepath.Join(tmp, e.Name()))
		}
	}
}

// readSize reads a tree's recorded size, measuring the tree when the record is missing.
func (f *Fetcher) readSize(key string) int64 {
	if b, err := os.ReadFile(f.sizeFile(key)); err == nil {
		if n, err := strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64); err == nil {
			return n
		}
	}
	n, _ := treeSize(f.dir(key))
	return n
}

// lookup returns the directory of a cached tree and marks it used.
func (f *Fetcher) lookup(key string) (string, bool) {
	f.mu.Lock()
	e, ok := f.entries[key]
	if ok {
		e.used = f.now()
	}
	f.mu.Unlock()
	if !ok {
		return "", false
	}
	dir := f.dir(key)
	if _, err := os.Stat(dir); err != nil {
		// Removed behind our back.
		f.mu.Lock()
		delete(f.entries, key)
		f.mu.Unlock()
		return "", false
	}
	now := f.now()
	_ = os.Chtimes(dir, now, now)
	// The cache may be over its bound while recently used trees are protected: catch up.
	f.evict(key)
	return dir, true
}

// adopt indexes a tree another process extracted.
func (f *Fetcher) adopt(key string) {
	size := f.readSize(key)
	now := f.now()
	_ = os.Chtimes(f.dir(key), now, now)
	f.mu.Lock()
	f.entries[key] = &entry{size: size, used: now}
	f.mu.Unlock()
	f.evict(key)
}

// install moves an extracted tree into place atomically and evicts what no longer fits.
func (f *Fetcher) install(key, tmp string, size int64) error {
	dir := f.dir(key)
	if err := os.MkdirAll(filepath.Dir(dir), 0o700); err != nil {
		return err
	}
	if err := os.WriteFile(f.sizeFile(key), []byte(strconv.FormatInt(size, 10)), 0o600); err != nil {
		return err
	}
	if err := os.Rename(tmp, dir); err != nil {
		if _, serr := os.Stat(dir); serr != nil {
			return err
		}
		// Another process sharing the cache won the race; its tree is the same commit.
	}
	now := f.now()
	_ = os.Chtimes(dir, now, now)
	f.mu.Lock()
	f.entries[key] = &entry{size: size, used: now}
	f.mu.Unlock()
	f.evict(key)
	return nil
}

// evict removes least recently used trees until the cache fits MaxCacheBytes, never keep and never a
// tree used within evictGrace (the cache may stay over its bound until they age).
func (f *Fetcher) evict(keep string) {
	f.mu.Lock()
	var total int64
	keys := make([]string, 0, len(f.entries))
	for k, e := range f.entries {
		total += e.size
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool { return f.entries[keys[i]].used.Before(f.entries[keys[j]].used) })
	cutoff := f.now().Add(-evictGrace)
	var victims []string
	for _, k := range keys {
		if total <= f.cfg.MaxCacheBytes {
			break
		}
		e := f.entries[k]
		if k == keep || e.used.After(cutoff) {
			continue
		}
		total -= e.size
		victims = append(victims, k)
		delete(f.entries, k)
	}
	f.mu.Unlock()
	for _, k := range victims {
		if err := f.remove(k); err != nil {
			f.log.Warn("evicting a cached repository tree", "tree", k, "err", err)
			continue
		}
		f.log.Debug("evicted a cached repository tree", "tree", k)
	}
}

// remove deletes a cached tree: first out of sight by renaming, then from disk.
func (f *Fetcher) remove(key string) error {
	tmp := filepath.Join(f.cfg.Dir, ".tmp")
	if err := os.MkdirAll(tmp, 0o700); err != nil {
		return err
	}
	trash, err := os.MkdirTemp(tmp, "evict-")
	if err != nil {
		return err
	}
	target := filepath.Join(trash, "tree")
	if err := os.Rename(f.dir(key), target); err != nil && !errors.Is(err, fs.ErrNotExist) {
		_ = os.RemoveAll(trash)
		return err
	}
	_ = os.Remove(f.sizeFile(key))
	return os.RemoveAll(trash)
}

// treeSize adds up the sizes of the regular files below dir.
func treeSize(dir string) (int64, error) {
	var n int64
	err := filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.Type().IsRegular() {
			info, err := d.Info()
			if err != nil {
				return err
			}
			n += info.Size()
		}
		return nil
	})
	return n, err
}
