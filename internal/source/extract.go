package source

import (
	"archive/tar"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"
)

// Errors callers can test with errors.Is.
var (
	// ErrUnsafeArchive reports a tarball entry that would land outside the tree or is not a plain
	// file, directory or link: an absolute path, a ".." component, a link that escapes, a device.
	ErrUnsafeArchive = errors.New("unsafe archive")
	// ErrArchiveTooLarge reports a tarball over the configured byte or file-count cap.
	ErrArchiveTooLarge = errors.New("archive too large")
)

// limits bound one extraction.
type limits struct {
	maxBytes int64 // total bytes of regular files
	maxFiles int   // entries of any kind
}

// stream bounds the bytes of the tar stream (and of the download): the files plus headers and padding,
// so a stream of endless headers cannot run forever.
func (l limits) stream() int64 { return l.maxBytes + int64(l.maxFiles)*4096 + 16<<20 }

// maxLinkHops bounds symbolic link resolution (the kernel's own limit is 40).
const maxLinkHops = 40

// extractor writes one GitHub tarball into a directory.
type extractor struct {
	root   string // destination, absolute and clean
	lim    limits
	prefix string // the archive's single top-level directory, e.g. "acme-app-0123abc"
	bytes  int64
	files  int
	links  []pendingLink
}

// pendingLink is a symbolic link created after every file and directory, so nothing is ever written
// through a link while extracting.
type pendingLink struct {
	entry  string // the entry's name in the archive, for errors
	rel    string // its path below root, slash-separated
	target string
}

// extract unpacks the gzip-compressed tarball r into root (an existing empty directory), dropping
// GitHub's single top-level directory. Every refusal names the offending entry.
func extract(r io.Reader, root string, lim limits) error {
	gz, err := gzip.NewReader(r)
	if err != nil {
		return fmt.Errorf("reading the tarball: %w", err)
	}
	defer gz.Close()
	x := &extractor{root: filepath.Clean(root), lim: lim}
	tr := tar.NewReader(&cappedReader{r: gz, left: lim.stream(),
		err: fmt.Errorf("%w: the tar stream is larger than %d bytes", ErrArchiveTooLarge, lim.stream())})
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return fmt.Errorf("reading the tarball: %w", err)
		}
		if err := x.entry(hdr, tr); err != nil {
			return err
		}
	}
	if x.prefix == "" {
		return fmt.Errorf("%w: the tarball is empty", ErrUnsafeArchive)
	}
	for _, l := range x.links {
		if err := x.link(l); err != nil {
			return err
		}
	}
	// A link checked before a later one existed may go through it: check them all again.
	for _, l := range x.links {
		if _, err := x.resolve(path.Dir(l.rel)+"/"+filepath.ToSlash(l.target), 0); err != nil {
			return fmt.Errorf("%w: entry %q: link to %q: %w", ErrUnsafeArchive, l.entry, l.target, err)
		}
	}
	return nil
}

// entry extracts one tarball entry.
func (x *extractor) entry(hdr *tar.Header, r io.Reader) error {
	switch hdr.Typeflag {
	case tar.TypeXGlobalHeader:
		// GitHub's pax header carrying the commit id.
		return nil
	}
	x.files++
	if x.files > x.lim.maxFiles {
		return fmt.Errorf("%w: entry %q: more than %d entries", ErrArchiveTooLarge, hdr.Name, x.lim.maxFiles)
	}
	rel, err := x.relative(hdr.Name)
	if err != nil {
		return err
	}
	if rel == "" {
		if hdr.Typeflag != tar.TypeDir {
			return fmt.Errorf("%w: entry %q: the top-level entry is not a directory", ErrUnsafeArchive, hdr.Name)
		}
		return nil
	}
	dst := filepath.Join(x.root, filepath.FromSlash(rel))
	switch hdr.Typeflag {
	case tar.TypeDir:
		if err := os.MkdirAll(dst, 0o755); err != nil {
			return fmt.Errorf("entry %q: %w", hdr.Name, err)
		}
		return nil
	case tar.TypeReg: // archive/tar reports old archives' TypeRegA ('\x00') as TypeReg
		return x.file(hdr, rel, dst, r)
	case tar.TypeSymlink:
		if hdr.Linkname == "" || strings.ContainsRune(hdr.Linkname, 0) {
			return fmt.Errorf("%w: entry %q: empty or invalid link target", ErrUnsafeArchive, hdr.Name)
		}
		if path.IsAbs(hdr.Linkname) || filepath.IsAbs(hdr.Linkname) {
			return fmt.Errorf("%w: entry %q: link to the absolute path %q", ErrUnsafeArchive, hdr.Name, hdr.Linkname)
		}
		if !inside(path.Join(path.Dir(rel), hdr.Linkname)) {
			return fmt.Errorf("%w: entry %q: link to %q escapes the repository", ErrUnsafeArchive, hdr.Name, hdr.Linkname)
		}
		x.links = append(x.links, pendingLink{entry: hdr.Name, rel: rel, target: hdr.Linkname})
		return nil
	case tar.TypeLink:
		return x.hardlink(hdr, dst)
	case tar.TypeChar, tar.TypeBlock, tar.TypeFifo:
		return fmt.Errorf("%w: entry %q: device or pipe files are not allowed", ErrUnsafeArchive, hdr.Name)
	default:
		return fmt.Errorf("%w: entry %q: unsupported entry type %q", ErrUnsafeArchive, hdr.Name, string(hdr.Typeflag))
	}
}

// relative checks an entry name and returns it below the top-level directory ("" for that directory).
func (x *extractor) relative(name string) (string, error) {
	if name == "" || strings.ContainsRune(name, 0) {
		return "", fmt.Errorf("%w: entry %q: empty or invalid name", ErrUnsafeArchive, name)
	}
	if path.IsAbs(name) || filepath.IsAbs(name) || filepath.VolumeName(name) != "" {
		return "", fmt.Errorf("%w: entry %q: absolute path", ErrUnsafeArchive, name)
	}
	parts := strings.Split(strings.TrimSuffix(name, "/"), "/")
	for _, p := range parts {
		if p == ".." {
			return "", fmt.Errorf("%w: entry %q: \"..\" in the path", ErrUnsafeArchive, name)
		}
	}
	top := parts[0]
	if top == "." || top == "" {
		return "", fmt.Errorf("%w: entry %q: no top-level directory", ErrUnsafeArchive, name)
	}
	if x.prefix == "" {
		x.prefix = top
	} else if top != x.prefix {
		return "", fmt.Errorf("%w: entry %q: outside the archive's top-level directory %q", ErrUnsafeArchive, name, x.prefix)
	}
	rel := path.Clean(strings.Join(parts[1:], "/"))
	if rel == "." {
		return "", nil
	}
	return rel, nil
}

// file writes a regular file, counting its bytes against the cap.
func (x *extractor) file(hdr *tar.Header, rel, dst string, r io.Reader) (err error) {
	if err := x.ensureParent(hdr.Name, rel); err != nil {
		return err
	}
	mode := fs.FileMode(0o644)
	if hdr.Mode&0o111 != 0 {
		mode = 0o755
	}
	f, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, mode)
	if err != nil {
		if errors.Is(err, fs.ErrExist) {
			return fmt.Errorf("%w: entry %q: the path appears twice", ErrUnsafeArchive, hdr.Name)
		}
		return fmt.Errorf("entry %q: %w", hdr.Name, err)
	}
	defer func() {
		if cerr := f.Close(); err == nil && cerr != nil {
			err = fmt.Errorf("entry %q: %w", hdr.Name, cerr)
		}
	}()
	room := x.lim.maxBytes - x.bytes
	n, err := io.Copy(f, io.LimitReader(r, room+1))
	x.bytes += n
	if err != nil {
		return fmt.Errorf("entry %q: %w", hdr.Name, err)
	}
	if n > room {
		return fmt.Errorf("%w: entry %q: the files add up to more than %d bytes", ErrArchiveTooLarge, hdr.Name, x.lim.maxBytes)
	}
	return nil
}

// hardlink links to a regular file extracted before it.
func (x *extractor) hardlink(hdr *tar.Header, dst string) error {
	target, err := x.relative(hdr.Linkname)
	if err != nil || target == "" {
		return fmt.Errorf("%w: entry %q: hard link to %q outside the repository", ErrUnsafeArchive, hdr.Name, hdr.Linkname)
	}
	rel, _ := filepath.Rel(x.root, dst)
	if err := x.ensureParent(hdr.Name, filepath.ToSlash(rel)); err != nil {
		return err
	}
	src := filepath.Join(x.root, filepath.FromSlash(target))
	info, err := os.Lstat(src)
	if err != nil || !info.Mode().IsRegular() {
		return fmt.Errorf("%w: entry %q: hard link to %q, which is not a file extracted before it", ErrUnsafeArchive, hdr.Name, hdr.Linkname)
	}
	if err := os.Link(src, dst); err != nil {
		return fmt.Errorf("entry %q: %w", hdr.Name, err)
	}
	return nil
}

// link creates a symbolic link once everything else exists, refusing one whose real target — following
// the links before it — leaves the tree.
func (x *extractor) link(l pendingLink) error {
	if err := x.ensureParent(l.entry, l.rel); err != nil {
		return err
	}
	dst := filepath.Join(x.root, filepath.FromSlash(l.rel))
	if _, err := x.resolve(path.Dir(l.rel)+"/"+filepath.ToSlash(l.target), 0); err != nil {
		return fmt.Errorf("%w: entry %q: link to %q: %w", ErrUnsafeArchive, l.entry, l.target, err)
	}
	if err := os.Symlink(filepath.FromSlash(l.target), dst); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return fmt.Errorf("%w: entry %q: the path appears twice", ErrUnsafeArchive, l.entry)
		}
		return fmt.Errorf("entry %q: %w", l.entry, err)
	}
	return nil
}

// ensureParent creates the directories above rel, refusing to go through anything that is not a real
// directory (links are only created at the end, and never below another link).
func (x *extractor) ensureParent(entry, rel string) error {
	dir := x.root
	parts := strings.Split(rel, "/")
	for _, p := range parts[:len(parts)-1] {
		dir = filepath.Join(dir, p)
		info, err := os.Lstat(dir)
		switch {
		case errors.Is(err, fs.ErrNotExist):
			if err := os.Mkdir(dir, 0o755); err != nil {
				return fmt.Errorf("entry %q: %w", entry, err)
			}
		case err != nil:
			return fmt.Errorf("entry %q: %w", entry, err)
		case !info.IsDir():
			return fmt.Errorf("%w: entry %q: a parent path is a file or link", ErrUnsafeArchive, entry)
		}
	}
	return nil
}

// resolve follows rel (slash-separated, relative to the root) component by component through the links
// already on disk, as the kernel would, and fails when it would leave the root. Missing components are
// taken as they are.
func (x *extractor) resolve(rel string, hops int) (string, error) {
	cur := "" // resolved so far, relative to root; "" is the root
	parts := strings.Split(rel, "/")
	for i, p := range parts {
		switch p {
		case "", ".":
			continue
		case "..":
			if cur == "" {
				return "", errors.New("it leaves the repository")
			}
			cur = path.Dir(cur)
			if cur == "." {
				cur = ""
			}
			continue
		}
		next := path.Join(cur, p)
		info, err := os.Lstat(filepath.Join(x.root, filepath.FromSlash(next)))
		if err != nil || info.Mode()&fs.ModeSymlink == 0 {
			cur = next
			continue
		}
		if hops++; hops > maxLinkHops {
			return "", errors.New("too many levels of links")
		}
		target, err := os.Readlink(filepath.Join(x.root, filepath.FromSlash(next)))
		if err != nil {
			return "", err
		}
		if path.IsAbs(filepath.ToSlash(target)) {
			return "", errors.New("it leaves the repository")
		}
		// No lexical cleaning: "link/.." means the parent of the link's target, not the link's directory.
		rest := strings.Join(append([]string{path.Dir(next), filepath.ToSlash(target)}, parts[i+1:]...), "/")
		return x.resolve(rest, hops)
	}
	return cur, nil
}

// inside reports whether a slash-separated path relative to the root stays at or below it, lexically.
func inside(rel string) bool {
	c := path.Clean(rel)
	return c != ".." && !strings.HasPrefix(c, "../") && !path.IsAbs(c)
}
