package config_test

import (
	"testing"

	"github.com/stagecoach/stagecoach/internal/config"
)

// Comments link logs only where they are served to whoever clicks: with STAGECOACH_PUBLIC_LOGS off
// or the logs moved to STAGECOACH_ADMIN_ADDR, a link would answer 404.
func TestLogLinkBaseOnlyWhereLogsArePublic(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		http config.HTTP
		want string
	}{
		{"public logs", config.HTTP{PublicURL: "https://bot.example", PublicLogs: true}, "https://bot.example"},
		{"public logs off", config.HTTP{PublicURL: "https://bot.example", PublicLogs: false}, ""},
		{"logs on the admin address", config.HTTP{PublicURL: "https://bot.example", PublicLogs: true, AdminAddr: ":9090"}, ""},
		{"no public URL", config.HTTP{PublicLogs: true}, ""},
	} {
		if got := tc.http.LogLinkBase(); got != tc.want {
			t.Errorf("%s: LogLinkBase() = %q, want %q", tc.name, got, tc.want)
		}
	}
}
