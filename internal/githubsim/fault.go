package githubsim

import (
	"fmt"
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// activeFault is an injected fault with the number of requests it still affects
// (negative: unlimited).
type activeFault struct {
	Fault
	left int
}

// InjectFault makes the next f.Times requests matching f.Method and f.PathPrefix answer
// f.Status (and/or wait f.Latency). Faults apply in the order injected; a request uses the
// first matching fault with requests left. Faults also apply to token minting and archive
// downloads, so they can simulate any endpoint failing.
//
// Status 403 or 429 answers GitHub's rate-limit responses: with RateLimitReset set, the
// primary limit (X-RateLimit-Remaining: 0, X-RateLimit-Reset, "API rate limit exceeded…");
// otherwise the secondary limit ("You have exceeded a secondary rate limit…", with
// Retry-After when RetryAfter is set). Other statuses answer a JSON error body.
func (s *Sim) InjectFault(f Fault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	left := f.Times
	if left == 0 {
		left = 1
	}
	s.faults = append(s.faults, &activeFault{Fault: f, left: left})
}

// ClearFaults removes every injected fault, including unlimited ones.
func (s *Sim) ClearFaults() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = nil
}

// takeFault consumes one use of the first fault matching r.
func (s *Sim) takeFault(r *http.Request) (Fault, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i, f := range s.faults {
		if f.Method != "" && !strings.EqualFold(f.Method, r.Method) {
			continue
		}
		if !strings.HasPrefix(r.URL.Path, f.PathPrefix) {
			continue
		}
		if f.left > 0 {
			f.left--
			if f.left == 0 {
				s.faults = append(s.faults[:i:i], s.faults[i+1:]...)
			}
		}
		s.notify()
		return f.Fault, true
	}
	return Fault{}, false
}

// applyFault answers r according to a matching fault and reports whether it did; when it
// returns false the request is to be served normally (possibly after injected latency).
func (s *Sim) applyFault(w http.ResponseWriter, r *http.Request, ri *reqInfo) bool {
	f, ok := s.takeFault(r)
	if !ok {
		return false
	}
	ri.fault = true
	if f.Latency > 0 {
		t := time.NewTimer(f.Latency)
		select {
		case <-t.C:
		case <-r.Context().Done():
			t.Stop()
			return true // the client is gone: answer nothing
		case <-s.closing:
			t.Stop()
			writeError(w, http.StatusServiceUnavailable, "Simulator closing")
			return true
		}
	}
	if f.Status == 0 {
		return false
	}
	h := w.Header()
	if f.RetryAfter > 0 {
		h.Set("Retry-After", strconv.Itoa(int(math.Ceil(f.RetryAfter.Seconds()))))
	}
	if !f.RateLimitReset.IsZero() {
		h.Set("X-RateLimit-Limit", "5000")
		h.Set("X-RateLimit-Remaining", "0")
		h.Set("X-RateLimit-Used", "5000")
		h.Set("X-RateLimit-Reset", strconv.FormatInt(f.RateLimitReset.Unix(), 10))
		h.Set("X-RateLimit-Resource", "core")
	}
	rateLimited := f.Status == http.StatusForbidden || f.Status == http.StatusTooManyRequests
	switch {
	case rateLimited && !f.RateLimitReset.IsZero():
		writeJSON(w, f.Status, obj{
			"message":           s.primaryLimitMessage(r, ri),
			"documentation_url": "https://docs.github.com/rest/overview/rate-limits-for-the-rest-api#about-the-primary-rate-limit",
		})
	case rateLimited:
		writeJSON(w, f.Status, obj{
			"message": "You have exceeded a secondary rate limit. Please wait a few minutes before you try again. " +
				"If you reach out to GitHub Support for help, please include the request ID " + h.Get("X-GitHub-Request-Id") + ".",
			"documentation_url": "https://docs.github.com/rest/overview/rate-limits-for-the-rest-api#about-secondary-rate-limits",
		})
	default:
		msg := http.StatusText(f.Status)
		if f.Status >= 500 {
			msg = "Server Error"
		}
		writeError(w, f.Status, msg)
	}
	return true
}

// primaryLimitMessage is GitHub's message for an exhausted primary limit, naming the
// installation whose token the request carries.
func (s *Sim) primaryLimitMessage(r *http.Request, ri *reqInfo) string {
	s.mu.Lock()
	t := s.tokens[credential(r)]
	s.mu.Unlock()
	if t == nil {
		return fmt.Sprintf("API rate limit exceeded for %s.", strings.Split(r.RemoteAddr, ":")[0])
	}
	ri.installationID = t.installationID
	return fmt.Sprintf("API rate limit exceeded for installation ID %d.", t.installationID)
}
