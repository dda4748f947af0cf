package githubsim

import (
	"encoding/base64"
	"fmt"
	"maps"
	"net/http"
	"net/url"
	"path"
	"slices"
	"strings"
)

// repoRoutes registers repository, branch, commit, contents, archive, collaborator and team
// endpoints.
func (s *Sim) repoRoutes(mux *http.ServeMux) {
	mux.HandleFunc("GET /repos/{owner}/{repo}", s.repoRoute(func(w http.ResponseWriter, r *http.Request, rp *repo) {
		writeJSON(w, http.StatusOK, s.repoObj(rp))
	}))
	mux.HandleFunc("GET /repos/{owner}/{repo}/branches/{branch...}", s.repoRoute(s.getBranch))
	mux.HandleFunc("GET /repos/{owner}/{repo}/commits/{rest...}", s.repoRoute(s.commitRoutes))
	mux.HandleFunc("GET /repos/{owner}/{repo}/contents/{path...}", s.repoRoute(s.getContents))
	mux.HandleFunc("GET /repos/{owner}/{repo}/contents", s.repoRoute(s.getContents))
	mux.HandleFunc("GET /repos/{owner}/{repo}/tarball/{ref...}", s.repoRoute(s.archiveRedirect(tarballKind)))
	mux.HandleFunc("GET /repos/{owner}/{repo}/tarball", s.repoRoute(s.archiveRedirect(tarballKind)))
	mux.HandleFunc("GET /repos/{owner}/{repo}/zipball/{ref...}", s.repoRoute(s.archiveRedirect(zipballKind)))
	mux.HandleFunc("GET /repos/{owner}/{repo}/zipball", s.repoRoute(s.archiveRedirect(zipballKind)))
	mux.HandleFunc("GET /repos/{owner}/{repo}/collaborators/{user}/permission", s.repoRoute(s.getPermission))
	mux.HandleFunc("GET /orgs/{org}/teams/{slug}/memberships/{user}", s.locked(s.getTeamMembership))
}

func (s *Sim) getBranch(w http.ResponseWriter, r *http.Request, rp *repo) {
	name := r.PathValue("branch")
	sha, ok := rp.branches[name]
	if !ok {
		writeError(w, http.StatusNotFound, "Branch not found")
		return
	}
	a := s.repoAPI(rp) + "/branches/" + url.PathEscape(name)
	writeJSON(w, http.StatusOK, obj{
		"name":      name,
		"commit":    s.restCommitObj(rp, rp.commits[sha], false),
		"_links":    obj{"self": a, "html": s.repoWeb(rp) + "/tree/" + name},
		"protected": false,
		"protection": obj{"enabled": false, "required_status_checks": obj{
			"enforcement_level": "off", "contexts": []string{}, "checks": []obj{},
		}},
		"protection_url": a + "/protection",
	})
}

// commitRoutes serves GET …/commits/{ref}, …/commits/{ref}/check-runs and
// …/commits/{sha}/pulls; refs may contain slashes.
func (s *Sim) commitRoutes(w http.ResponseWriter, r *http.Request, rp *repo) {
	rest := r.PathValue("rest")
	if ref, ok := strings.CutSuffix(rest, "/check-runs"); ok {
		s.listCheckRunsForRef(w, r, rp, ref)
		return
	}
	if sha, ok := strings.CutSuffix(rest, "/pulls"); ok {
		s.listPullsForCommit(w, r, rp, sha)
		return
	}
	c, ok := rp.resolveRef(rest)
	if !ok {
		writeValidation(w, "Commit", "sha", "invalid", "No commit found for SHA: "+rest)
		return
	}
	writeJSON(w, http.StatusOK, s.restCommitObj(rp, c, true))
}

// restCommitObj renders a commit as the commits API does; withFiles adds stats and files.
func (s *Sim) restCommitObj(rp *repo, c *commit, withFiles bool) obj {
	a := s.repoAPI(rp)
	person := func(p obj) obj { return obj{"name": p["name"], "email": p["email"], "date": ts(c.at)} }
	author := s.gitPerson(c.author)
	committer := author
	committerUser := s.userObj(c.author)
	if len(c.parents) > 1 {
		committer = s.gitPerson(nil)
		committerUser = s.userObj(s.webFlow())
	}
	parents := []obj{}
	for _, p := range c.parents {
		parents = append(parents, obj{"sha": p, "url": a + "/commits/" + p, "html_url": s.repoWeb(rp) + "/commit/" + p})
	}
	o := obj{
		"sha": c.sha, "node_id": "C_kwDOA" + c.sha[:20],
		"commit": obj{
			"author": person(author), "committer": person(committer), "message": c.message,
			"tree":          obj{"sha": c.treeSHA, "url": a + "/git/trees/" + c.treeSHA},
			"url":           a + "/git/commits/" + c.sha,
			"comment_count": 0,
			"verification":  obj{"verified": false, "reason": "unsigned", "signature": nil, "payload": nil},
		},
		"url": a + "/commits/" + c.sha, "html_url": s.repoWeb(rp) + "/commit/" + c.sha,
		"comments_url": a + "/commits/" + c.sha + "/comments",
		"author":       s.userObj(c.author), "committer": committerUser, "parents": parents,
	}
	if withFiles {
		files := []obj{}
		var adds, dels int
		var parent *commit
		if len(c.parents) > 0 {
			parent = rp.commits[c.parents[0]]
		}
		for _, group := range []struct {
			status string
			paths  []string
		}{{"added", c.added}, {"modified", c.modified}, {"removed", c.removed}} {
			for _, p := range group.paths {
				add, del := 0, 0
				if content, ok := c.files[p]; ok {
					add = strings.Count(content, "\n") + 1
				}
				if parent != nil {
					if old, ok := parent.files[p]; ok {
						del = strings.Count(old, "\n") + 1
					}
				}
				adds, dels = adds+add, dels+del
				files = append(files, obj{
					"sha": blobSHA(c.files[p]), "filename": p, "status": group.status,
					"additions": add, "deletions": del, "changes": add + del,
					"blob_url":     s.repoWeb(rp) + "/blob/" + c.sha + "/" + p,
					"raw_url":      s.repoWeb(rp) + "/raw/" + c.sha + "/" + p,
					"contents_url": a + "/contents/" + p + "?ref=" + c.sha,
				})
			}
		}
		o["stats"] = obj{"total": adds + dels, "additions": adds, "deletions": dels}
		o["files"] = files
	}
	return o
}

// webFlow is the user GitHub credits as committer of web merges.
func (s *Sim) webFlow() *account { return s.accountFor("web-flow") }

func (s *Sim) getContents(w http.ResponseWriter, r *http.Request, rp *repo) {
	ref := r.URL.Query().Get("ref")
	c, ok := rp.resolveRef(ref)
	if !ok {
		writeError(w, http.StatusNotFound, "No commit found for the ref "+ref)
		return
	}
	if ref == "" {
		ref = rp.defaultBranch
	}
	p := strings.Trim(r.PathValue("path"), "/")
	if content, ok := c.files[p]; ok && p != "" {
		o := s.contentObj(rp, c, ref, p, "file")
		enc := base64.StdEncoding.EncodeToString([]byte(content))
		var lines []string
		for len(enc) > 60 {
			lines, enc = append(lines, enc[:60]), enc[60:]
		}
		o["content"] = strings.Join(append(lines, enc), "\n") + "\n"
		o["encoding"] = "base64"
		writeJSON(w, http.StatusOK, o)
		return
	}
	entries := map[string]string{} // name → type
	prefix := p + "/"
	if p == "" {
		prefix = ""
	}
	for f := range c.files {
		rel, ok := strings.CutPrefix(f, prefix)
		if !ok {
			continue
		}
		if name, _, isDir := strings.Cut(rel, "/"); isDir {
			entries[name] = "dir"
		} else {
			entries[name] = "file"
		}
	}
	if len(entries) == 0 {
		writeError(w, http.StatusNotFound, "Not Found")
		return
	}
	list := []obj{}
	for _, name := range slices.Sorted(maps.Keys(entries)) {
		list = append(list, s.contentObj(rp, c, ref, strings.TrimPrefix(prefix+name, "/"), entries[name]))
	}
	writeJSON(w, http.StatusOK, list)
}

// contentObj is the metadata of a file or directory in the contents API.
func (s *Sim) contentObj(rp *repo, c *commit, ref, p, typ string) obj {
	a := s.repoAPI(rp)
	sha := blobSHA(c.files[p])
	size := len(c.files[p])
	var download any
	if typ == "dir" {
		sha, size = treeSHA(subtree(c.files, p)), 0
	} else {
		tok := newTokenValue()[4:]
		s.archives[tok] = archiveLink{repo: rp, sha: c.sha, kind: "raw", path: p, expires: s.now().Add(archiveLinkLifetime)}
		download = fmt.Sprintf("%s/_raw/%s/%s/%s/%s?token=%s", s.srv.URL, rp.owner.login, rp.name, c.sha, p, tok)
	}
	self := a + "/contents/" + p + "?ref=" + url.QueryEscape(ref)
	git := a + "/git/blobs/" + sha
	html := s.repoWeb(rp) + "/blob/" + ref + "/" + p
	if typ == "dir" {
		git, html = a+"/git/trees/"+sha, s.repoWeb(rp)+"/tree/"+ref+"/"+p
	}
	return obj{
		"type": typ, "size": size, "name": path.Base(p), "path": p, "sha": sha, "url": self,
		"git_url": git, "html_url": html, "download_url": download,
		"_links": obj{"self": self, "git": git, "html": html},
	}
}

func subtree(files map[string]string, dir string) map[string]string {
	out := map[string]string{}
	for p, c := range files {
		if strings.HasPrefix(p, dir+"/") {
			out[p] = c
		}
	}
	return out
}

// getPermission answers the collaborator permission endpoint: "permission" is the legacy
// admin/write/read/none value, "role_name" the precise role.
func (s *Sim) getPermission(w http.ResponseWriter, r *http.Request, rp *repo) {
	a := s.accountFor(r.PathValue("user"))
	role := s.permissionOf(rp, a.login)
	legacy := map[string]string{"admin": "admin", "maintain": "write", "write": "write", "triage": "read", "read": "read"}[role]
	if legacy == "" {
		legacy = "none"
	}
	u := s.userObj(a)
	u["permissions"] = obj{
		"admin": role == "admin", "maintain": role == "admin" || role == "maintain",
		"push": legacy == "admin" || legacy == "write", "triage": role != "none" && role != "read",
		"pull": role != "none",
	}
	if custom := s.customRoles[strings.ToLower(rp.fullName())][strings.ToLower(a.login)]; custom != "" {
		role = custom
	}
	u["role_name"] = role
	writeJSON(w, http.StatusOK, obj{"permission": legacy, "role_name": role, "user": u})
}

// getTeamMembership answers 200 with state "active" for a member, 200 with state "pending" for
// an invited login, and 404 otherwise. It needs a token of the installation on the organisation.
func (s *Sim) getTeamMembership(w http.ResponseWriter, r *http.Request) {
	inst, ok := s.requireInstallation(w, r)
	if !ok {
		return
	}
	org, slug, user := r.PathValue("org"), r.PathValue("slug"), r.PathValue("user")
	key := strings.ToLower(org + "/" + slug)
	state := "active"
	if !s.teams[key][strings.ToLower(user)] {
		state = "pending"
	}
	if !strings.EqualFold(inst.account.login, org) || (state == "pending" && !s.teamInvites[key][strings.ToLower(user)]) {
		writeError(w, http.StatusNotFound, "Not Found")
		return
	}
	writeJSON(w, http.StatusOK, obj{
		"url":   fmt.Sprintf("%s/organizations/%d/team/%s/memberships/%s", s.api(), inst.account.id, slug, user),
		"role":  "member",
		"state": state,
	})
}
