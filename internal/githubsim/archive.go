package githubsim

import (
	"archive/tar"
	"archive/zip"
	"bytes"
	"compress/gzip"
	"fmt"
	"maps"
	"net/http"
	"path"
	"slices"
	"strings"
	"time"
)

// Archive links expire like codeload's signed URLs.
const archiveLinkLifetime = 5 * time.Minute

const (
	tarballKind = "legacy.tar.gz"
	zipballKind = "legacy.zip"
	rawKind     = "raw"
)

// archiveLink is a signed download URL handed out by the tarball/zipball endpoints.
type archiveLink struct {
	repo    *repo
	sha     string
	kind    string // tarballKind, zipballKind or rawKind
	path    string // file path, for rawKind
	expires time.Time
}

// archiveRedirect answers GET /repos/{o}/{r}/tarball/{ref} (and zipball) with a 302 to a
// short-lived signed URL on the simulator, as GitHub redirects to codeload.github.com.
func (s *Sim) archiveRedirect(kind string) func(http.ResponseWriter, *http.Request, *repo) {
	return func(w http.ResponseWriter, r *http.Request, rp *repo) {
		c, ok := rp.resolveRef(r.PathValue("ref"))
		if !ok {
			writeError(w, http.StatusNotFound, "Not Found")
			return
		}
		tok := newTokenValue()[4:]
		s.archives[tok] = archiveLink{repo: rp, sha: c.sha, kind: kind, expires: s.now().Add(archiveLinkLifetime)}
		loc := fmt.Sprintf("%s/_codeload/%s/%s/%s/%s?token=%s", s.srv.URL, rp.owner.login, rp.name, kind, c.sha, tok)
		w.Header().Set("Location", loc)
		w.WriteHeader(http.StatusFound)
	}
}

// serveArchive serves a signed archive URL: no Authorization needed, the token in the query
// must be valid for exactly this repository, commit and format.
func (s *Sim) serveArchive(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	link, ok := s.archives[r.URL.Query().Get("token")]
	valid := ok && link.kind != rawKind && s.opts.Now().Before(link.expires) && link.sha == r.PathValue("sha") &&
		link.kind == r.PathValue("kind") && strings.EqualFold(link.repo.fullName(), r.PathValue("owner")+"/"+r.PathValue("repo"))
	var files map[string]string
	var at time.Time
	var top string
	if valid {
		c := link.repo.commits[link.sha]
		files, at = c.files, c.at
		top = fmt.Sprintf("%s-%s-%s", link.repo.owner.login, link.repo.name, link.sha[:7])
	}
	s.mu.Unlock()
	if !valid {
		writeError(w, http.StatusNotFound, "Not Found")
		return
	}
	var body []byte
	var err error
	if link.kind == tarballKind {
		body, err = tarball(top, link.sha, at, files)
		w.Header().Set("Content-Type", "application/x-gzip")
		w.Header().Set("Content-Disposition", "attachment; filename="+top+".tar.gz")
	} else {
		body, err = zipball(top, link.sha, at, files)
		w.Header().Set("Content-Type", "application/zip")
		w.Header().Set("Content-Disposition", "attachment; filename="+top+".zip")
	}
	if err != nil {
		writeError(w, http.StatusInternalServerError, "Server Error")
		return
	}
	w.Header().Set("ETag", `"`+link.sha+`"`)
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(body)
}

// archiveEntries lists the directories (with trailing "/") and files of an archive whose
// single top directory is top, in the order git archive writes them.
func archiveEntries(top string, files map[string]string) []string {
	set := map[string]bool{top + "/": true}
	for p := range files {
		for d := path.Dir(p); d != "."; d = path.Dir(d) {
			set[top+"/"+d+"/"] = true
		}
		set[top+"/"+p] = true
	}
	return slices.Sorted(maps.Keys(set))
}

// tarball renders files as GitHub does: gzip, a pax global header whose comment is the commit
// SHA (as git archive writes it), one top directory "{owner}-{repo}-{shortsha}/".
func tarball(top, sha string, at time.Time, files map[string]string) ([]byte, error) {
	var buf bytes.Buffer
	gz := gzip.NewWriter(&buf)
	tw := tar.NewWriter(gz)
	err := tw.WriteHeader(&tar.Header{
		Typeflag: tar.TypeXGlobalHeader, Name: "pax_global_header",
		PAXRecords: map[string]string{"comment": sha}, Format: tar.FormatPAX,
	})
	if err != nil {
		return nil, fmt.Errorf("writing pax header: %w", err)
	}
	for _, name := range archiveEntries(top, files) {
		hdr := &tar.Header{Name: name, ModTime: at, Uname: "root", Gname: "root", Format: tar.FormatPAX}
		content := ""
		if strings.HasSuffix(name, "/") {
			hdr.Typeflag, hdr.Mode = tar.TypeDir, 0o775
		} else {
			content = files[strings.TrimPrefix(name, top+"/")]
			hdr.Typeflag, hdr.Mode, hdr.Size = tar.TypeReg, 0o664, int64(len(content))
		}
		if err := tw.WriteHeader(hdr); err != nil {
			return nil, fmt.Errorf("writing %s: %w", name, err)
		}
		if _, err := tw.Write([]byte(content)); err != nil {
			return nil, fmt.Errorf("writing %s: %w", name, err)
		}
	}
	if err := tw.Close(); err != nil {
		return nil, fmt.Errorf("closing tar: %w", err)
	}
	if err := gz.Close(); err != nil {
		return nil, fmt.Errorf("closing gzip: %w", err)
	}
	return buf.Bytes(), nil
}

// zipball renders files as GitHub's zipball: same layout, the SHA as the archive comment.
func zipball(top, sha string, at time.Time, files map[string]string) ([]byte, error) {
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	if err := zw.SetComment(sha); err != nil {
		return nil, fmt.Errorf("writing zip comment: %w", err)
	}
	for _, name := range archiveEntries(top, files) {
		hdr := &zip.FileHeader{Name: name, Method: zip.Deflate, Modified: at}
		if strings.HasSuffix(name, "/") {
			hdr.Method = zip.Store
		}
		f, err := zw.CreateHeader(hdr)
		if err != nil {
			return nil, fmt.Errorf("writing %s: %w", name, err)
		}
		if !strings.HasSuffix(name, "/") {
			if _, err := f.Write([]byte(files[strings.TrimPrefix(name, top+"/")])); err != nil {
				return nil, fmt.Errorf("writing %s: %w", name, err)
			}
		}
	}
	if err := zw.Close(); err != nil {
		return nil, fmt.Errorf("closing zip: %w", err)
	}
	return buf.Bytes(), nil
}

// serveRaw serves a contents API download_url, like raw.githubusercontent.com with a token.
func (s *Sim) serveRaw(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	link, ok := s.archives[r.URL.Query().Get("token")]
	valid := ok && link.kind == rawKind && s.opts.Now().Before(link.expires) && link.sha == r.PathValue("sha") &&
		link.path == r.PathValue("path") && strings.EqualFold(link.repo.fullName(), r.PathValue("owner")+"/"+r.PathValue("repo"))
	var content string
	if valid {
		content = link.repo.commits[link.sha].files[link.path]
	}
	s.mu.Unlock()
	if !valid {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.WriteHeader(http.StatusNotFound)
		_, _ = w.Write([]byte("404: Not Found"))
		return
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write([]byte(content))
}
