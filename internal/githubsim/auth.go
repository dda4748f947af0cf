package githubsim

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v4"
)

// Installation tokens live an hour, as on GitHub.
const tokenLifetime = time.Hour

// token is an installation access token.
type token struct {
	installationID int64
	expires        time.Time
}

// reqInfo travels in the request context so the recorder learns who authenticated.
type reqInfo struct {
	installationID int64
	app            bool
	fault          bool
}

type reqInfoKey struct{}

func infoOf(r *http.Request) *reqInfo {
	if ri, ok := r.Context().Value(reqInfoKey{}).(*reqInfo); ok {
		return ri
	}
	return &reqInfo{}
}

func withInfo(ctx context.Context, ri *reqInfo) context.Context {
	return context.WithValue(ctx, reqInfoKey{}, ri)
}

// credential returns the credential of an "Authorization: token X" or "Bearer X" header.
func credential(r *http.Request) string {
	scheme, cred, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	if !ok || (!strings.EqualFold(scheme, "token") && !strings.EqualFold(scheme, "bearer")) {
		return ""
	}
	return strings.TrimSpace(cred)
}

// checkJWT validates an app JWT the way GitHub does: RS256 signed by the app key, "iss" the
// app id, "exp" in the future but at most ten minutes ahead, "iat" not in the future. The
// returned message is GitHub's.
func (s *Sim) checkJWT(raw string) (string, bool) {
	claims := &jwt.RegisteredClaims{}
	parser := jwt.NewParser(jwt.WithValidMethods([]string{"RS256"}), jwt.WithoutClaimsValidation())
	_, err := parser.ParseWithClaims(raw, claims, func(*jwt.Token) (any, error) { return &s.key.PublicKey, nil })
	if err != nil {
		return "A JSON web token could not be decoded", false
	}
	if claims.Issuer != strconv.FormatInt(s.opts.AppID, 10) {
		return "'Issuer' claim ('iss') must be an Integer", false
	}
	now := s.opts.Now()
	const drift = 60 * time.Second
	switch {
	case claims.ExpiresAt == nil || !claims.ExpiresAt.After(now):
		return "'Expiration time' claim ('exp') must be a numeric value representing the future time at which the assertion expires", false
	case claims.ExpiresAt.After(now.Add(10*time.Minute + drift)):
		return "'Expiration time' claim ('exp') is too far in the future", false
	case claims.IssuedAt == nil || claims.IssuedAt.After(now.Add(drift)):
		return "'Issued at' claim ('iat') must be an Integer representing the time that the assertion was issued", false
	}
	return "", true
}

// requireApp answers 401 unless the request carries a valid app JWT.
func (s *Sim) requireApp(w http.ResponseWriter, r *http.Request) bool {
	cred := credential(r)
	if cred == "" {
		writeError(w, http.StatusUnauthorized, "A JSON web token could not be decoded")
		return false
	}
	if msg, ok := s.checkJWT(cred); !ok {
		writeError(w, http.StatusUnauthorized, msg)
		return false
	}
	infoOf(r).app = true
	return true
}

// requireInstallation returns the installation whose unexpired token the request carries,
// or answers 401. Caller holds s.mu.
func (s *Sim) requireInstallation(w http.ResponseWriter, r *http.Request) (*installation, bool) {
	cred := credential(r)
	if cred == "" {
		writeError(w, http.StatusUnauthorized, "Requires authentication")
		return nil, false
	}
	t, ok := s.tokens[cred]
	if !ok || !s.opts.Now().Before(t.expires) {
		writeError(w, http.StatusUnauthorized, "Bad credentials")
		return nil, false
	}
	inst := s.installations[t.installationID]
	if inst == nil {
		writeError(w, http.StatusUnauthorized, "Bad credentials")
		return nil, false
	}
	ri := infoOf(r)
	ri.installationID = inst.id
	w.Header().Set("GitHub-Authentication-Token-Expiration", t.expires.UTC().Format("2006-01-02 15:04:05 MST"))
	return inst, true
}

// newTokenValue returns a token shaped like GitHub's installation tokens: "ghs_" and 36
// alphanumerics.
func newTokenValue() string {
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
	b := make([]byte, 36)
	_, _ = rand.Read(b) // crypto/rand.Read never fails
	for i := range b {
		b[i] = alphabet[int(b[i])%len(alphabet)]
	}
	return "ghs_" + string(b)
}

// AddInstallation installs the app on an organisation account and returns the installation
// id. Use AddUserInstallation for a personal account. Installing twice returns the same id.
func (s *Sim) AddInstallation(account string) int64 { return s.addInstallation(account, kindOrg) }

// AddUserInstallation installs the app on a personal (user) account and returns its id.
func (s *Sim) AddUserInstallation(login string) int64 { return s.addInstallation(login, kindUser) }

func (s *Sim) addInstallation(login, kind string) int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	a := s.accountFor(login)
	for _, inst := range s.installations {
		if inst.account == a {
			return inst.id
		}
	}
	a.kind = kind
	inst := &installation{id: s.newID(), account: a, createdAt: s.now()}
	s.installations[inst.id] = inst
	s.notify()
	return inst.id
}

// InstallationToken mints an installation token directly, for tests that do not go through
// the JWT flow. It expires after an hour of Options.Now.
func (s *Sim) InstallationToken(installationID int64) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.installations[installationID] == nil {
		return "", fmt.Errorf("installation %d does not exist", installationID)
	}
	return s.mintToken(installationID).value, nil
}

type mintedToken struct {
	value   string
	expires time.Time
}

func (s *Sim) mintToken(installationID int64) mintedToken {
	v := newTokenValue()
	exp := s.now().Add(tokenLifetime)
	s.tokens[v] = &token{installationID: installationID, expires: exp}
	return mintedToken{value: v, expires: exp}
}

func (s *Sim) appRoutes(mux *http.ServeMux) {
	mux.HandleFunc("GET /app", s.appRoute(func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, s.appObj())
	}))
	mux.HandleFunc("GET /app/installations", s.appRoute(func(w http.ResponseWriter, r *http.Request) {
		list := []obj{}
		for _, inst := range sortedInstallations(s.installations) {
			list = append(list, s.installationObj(inst))
		}
		writePage(w, r, list)
	}))
	mux.HandleFunc("GET /app/installations/{id}", s.appRoute(func(w http.ResponseWriter, r *http.Request) {
		if inst := s.installationByPath(r); inst != nil {
			writeJSON(w, http.StatusOK, s.installationObj(inst))
			return
		}
		writeError(w, http.StatusNotFound, "Not Found")
	}))
	mux.HandleFunc("POST /app/installations/{id}/access_tokens", s.appRoute(func(w http.ResponseWriter, r *http.Request) {
		inst := s.installationByPath(r)
		if inst == nil {
			writeError(w, http.StatusNotFound, "Not Found")
			return
		}
		t := s.mintToken(inst.id)
		s.notify()
		writeJSON(w, http.StatusCreated, obj{
			"token":                t.value,
			"expires_at":           ts(t.expires),
			"permissions":          appPermissions(),
			"repository_selection": "all",
		})
	}))
	byAccount := func(w http.ResponseWriter, login string) {
		for _, inst := range s.installations {
			if strings.EqualFold(inst.account.login, login) {
				writeJSON(w, http.StatusOK, s.installationObj(inst))
				return
			}
		}
		writeError(w, http.StatusNotFound, "Not Found")
	}
	mux.HandleFunc("GET /repos/{owner}/{repo}/installation", s.appRoute(func(w http.ResponseWriter, r *http.Request) {
		if rp, err := s.lookupRepo(r.PathValue("owner") + "/" + r.PathValue("repo")); err == nil && rp.installationID != 0 {
			writeJSON(w, http.StatusOK, s.installationObj(s.installationOf(rp)))
			return
		}
		writeError(w, http.StatusNotFound, "Not Found")
	}))
	mux.HandleFunc("GET /orgs/{org}/installation", s.appRoute(func(w http.ResponseWriter, r *http.Request) {
		byAccount(w, r.PathValue("org"))
	}))
	mux.HandleFunc("GET /users/{user}/installation", s.appRoute(func(w http.ResponseWriter, r *http.Request) {
		byAccount(w, r.PathValue("user"))
	}))
	mux.HandleFunc("GET /installation/repositories", func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		defer s.mu.Unlock()
		inst, ok := s.requireInstallation(w, r)
		if !ok {
			return
		}
		repos := []obj{}
		for _, rp := range s.sortedRepos() {
			if rp.installationID == inst.id {
				repos = append(repos, s.repoObj(rp))
			}
		}
		writeJSON(w, http.StatusOK, obj{"total_count": len(repos), "repositories": repos, "repository_selection": "all"})
	})
}

// appRoute wraps a handler that needs an app JWT; the handler runs under s.mu.
func (s *Sim) appRoute(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if !s.requireApp(w, r) {
			return
		}
		s.mu.Lock()
		defer s.mu.Unlock()
		h(w, r)
	}
}

func (s *Sim) installationByPath(r *http.Request) *installation {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil {
		return nil
	}
	return s.installations[id]
}

// errNoInstallation is returned by helpers given a repository owner the app is not installed on.
var errNoInstallation = errors.New("the app is not installed on this account: call AddInstallation first")
