package ephemeral

import (
	"strings"
	"testing"
	"time"

	"github.com/stagecoach/stagecoach/internal/command"
	"github.com/stagecoach/stagecoach/internal/store"
)

func TestAForkApprovalBindsToTheHeadSeenBeforeTheComment(t *testing.T) {
	t.Parallel()
	a, b := strings.Repeat("a", 40), strings.Repeat("b", 40)
	commented := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		name    string
		row     store.PREnvironment
		head    string
		args    []string
		want    string
		refused string
	}{
		{name: "the head seen before the comment is approved", row: store.PREnvironment{HeadSHA: a, HeadAt: commented.Add(-time.Minute)}, head: a, want: a},
		{name: "a push after the comment is not approved", row: store.PREnvironment{HeadSHA: b, HeadAt: commented.Add(time.Second)}, head: b, refused: "arrived after your comment"},
		{name: "a push in the same second as the comment is not taken as seen", row: store.PREnvironment{HeadSHA: b, HeadAt: commented}, head: b, refused: "arrived after your comment"},
		{name: "a push GitHub has but the bot has not seen is not approved", row: store.PREnvironment{HeadSHA: a, HeadAt: commented.Add(-time.Minute)}, head: b, refused: "bbbbbbb"},
		{name: "an explicit SHA of the head is approved whenever it arrived", row: store.PREnvironment{HeadSHA: b, HeadAt: commented.Add(time.Hour)}, head: b, args: []string{"bbbbbbb"}, want: b},
		{name: "an explicit SHA that is not the head is refused", row: store.PREnvironment{HeadSHA: b}, head: b, args: []string{"aaaaaaa"}, refused: "is not the head"},
		{name: "an argument that is no SHA is refused", row: store.PREnvironment{HeadSHA: a}, head: a, args: []string{"now"}, refused: "takes no argument or a commit SHA"},
		{name: "a head never recorded is not approved", row: store.PREnvironment{}, head: a, refused: "aaaaaaa"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, no := forkApproval(tc.row, tc.head, command.Command{Name: "deploy", Args: tc.args, CreatedAt: commented})
			switch {
			case tc.refused != "" && (no == nil || !strings.Contains(no.msg, tc.refused)):
				t.Fatalf("want a refusal mentioning %q, got %q / %v", tc.refused, got, no)
			case tc.refused == "" && (no != nil || got != tc.want):
				t.Fatalf("want %s approved, got %q / %v", tc.want, got, no)
			}
		})
	}
}

func TestNeedsWork(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		env  store.PREnvironment
		want bool
	}{
		{"a head newer than the deployed one", store.PREnvironment{Want: store.WantDeploy, DesiredSeq: 2, DeployedSeq: 1}, true},
		{"deployed already", store.PREnvironment{Want: store.WantDeploy, DesiredSeq: 2, DeployedSeq: 2}, false},
		{"that head failed; not retried by itself", store.PREnvironment{Want: store.WantDeploy, DesiredSeq: 2, FailedSeq: 2}, false},
		{"waiting for a slot", store.PREnvironment{Want: store.WantDeploy, DesiredSeq: 1, Status: store.PRQueued}, false},
		{"a destroy", store.PREnvironment{Want: store.WantDestroy}, true},
		{"a preview", store.PREnvironment{PreviewWanted: true}, true},
		{"a reason to say in a first comment", store.PREnvironment{Summary: "waiting for /deploy"}, true},
		{"said already", store.PREnvironment{Summary: "waiting for /deploy", CommentID: 7}, false},
	} {
		if got := needsWork(tc.env); got != tc.want {
			t.Errorf("%s: needsWork = %v, want %v", tc.name, got, tc.want)
		}
	}
}
