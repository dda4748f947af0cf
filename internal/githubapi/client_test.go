package githubapi_test

import (
	"errors"
	"fmt"
	"net/http"
	"testing"

	"github.com/google/go-github/v60/github"

	"github.com/stagecoach/stagecoach/internal/githubapi"
)

func TestIsNotFound(t *testing.T) {
	t.Parallel()
	answer := func(status int) error {
		return &github.ErrorResponse{Response: &http.Response{StatusCode: status}, Message: http.StatusText(status)}
	}
	for _, tc := range []struct {
		name string
		err  error
		want bool
	}{
		{"404", answer(http.StatusNotFound), true},
		{"404 wrapped", fmt.Errorf("reading o/r#7: %w", answer(http.StatusNotFound)), true},
		{"403", answer(http.StatusForbidden), false},
		{"an answer without a response", &github.ErrorResponse{}, false},
		{"a network error", errors.New("connection reset"), false},
		{"no error", nil, false},
	} {
		if got := githubapi.IsNotFound(tc.err); got != tc.want {
			t.Errorf("%s: IsNotFound = %v, want %v", tc.name, got, tc.want)
		}
	}
}
