package promotion

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-github/v60/github"

	"github.com/stagecoach/stagecoach/internal/feature"
	"github.com/stagecoach/stagecoach/internal/githubapi"
	"github.com/stagecoach/stagecoach/internal/githubapi/githubapitest"
	"github.com/stagecoach/stagecoach/internal/repoconfig"
	"github.com/stagecoach/stagecoach/internal/store"
)

// memRecords keeps promotions in memory; the Records methods a test does not need panic (nil
// embedded interface), so a test that reaches one says so.
type memRecords struct {
	Records
	mu         sync.Mutex
	promotions []store.Promotion
}

func (m *memRecords) QueuedPromotions(_ context.Context, repo, env string) ([]store.Promotion, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []store.Promotion
	for _, p := range m.promotions {
		if p.Repo == repo && p.Environment == env && !p.Finished() {
			out = append(out, p)
		}
	}
	return out, nil
}

func (m *memRecords) UpdatePromotion(_ context.Context, p store.Promotion) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	for i := range m.promotions {
		if m.promotions[i].ID == p.ID {
			m.promotions[i] = p
		}
	}
	return nil
}

func (m *memRecords) FirstSuccess(context.Context, string, string) (map[string]time.Time, error) {
	return nil, nil
}

func (m *memRecords) Approvals(context.Context, string, string, string) ([]store.ApprovalRecord, error) {
	return nil, nil
}

type staticConfig struct{ cfg *repoconfig.Config }

func (c staticConfig) Load(context.Context, int64, string) (repoconfig.Loaded, error) {
	return repoconfig.Loaded{Config: c.cfg, Branch: "main", SHA: "c0ffee"}, nil
}

// A promotion the gates refuse when its job runs is recorded refused, its Deployment fails, and
// the PR gets one comment explaining the refusal in words the requester can act on: all of it in
// memory, GitHub being the fake.
func TestARefusedPromotionExplainsItselfOnThePR(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	gh := githubapitest.New("stagecoach[bot]")
	d, _, err := gh.CreateDeployment(ctx, "acme", "shop", &github.DeploymentRequest{Ref: github.String("abc1234def"), Environment: github.String("dev")})
	if err != nil {
		t.Fatal(err)
	}
	gh.SetPermission("acme/shop", "reader", githubapi.PermissionLevel{Permission: "read", RoleName: "read"})
	recs := &memRecords{promotions: []store.Promotion{{ID: "p1", Repo: "acme/shop", InstallationID: 1, Environment: "dev", Stack: "dev",
		SHA: "abc1234def", Trigger: TriggerAPI, Requester: "reader", PR: 7, Status: store.PromotionQueued, DeploymentID: d.GetID()}}}
	cfg := &repoconfig.Config{Environments: []repoconfig.Environment{{Name: "dev", Stack: "dev"}}}
	s := New(Options{Deps: feature.Deps{GitHub: gh, Configs: staticConfig{cfg}}, Records: recs})

	if err := s.work(ctx, EnvironmentArgs{Repo: "acme/shop", Environment: "dev", InstallationID: 1}); err != nil {
		t.Fatal(err)
	}

	if got := recs.promotions[0]; got.Status != store.PromotionRefused || !strings.Contains(got.Reason, "permission") {
		t.Errorf("promotion = %s (%q), want refused for permission", got.Status, got.Reason)
	}
	comments := gh.Comments("acme/shop", 7)
	if len(comments) != 1 {
		t.Fatalf("PR #7 has %d comments, want the one refusal: %+v", len(comments), comments)
	}
	body := comments[0].GetBody()
	for _, want := range []string{"Promotion of abc1234 to `dev` refused", "**permission**", "needs write access", "@reader has read"} {
		if !strings.Contains(body, want) {
			t.Errorf("refusal comment lacks %q:\n%s", want, body)
		}
	}
	if got := gh.DeploymentStates(d.GetID()); len(got) != 1 || got[0] != "failure" {
		t.Errorf("deployment states = %v, want [failure]", got)
	}
	if n := gh.Count("GetPermissionLevel"); n != 1 {
		t.Errorf("permission asked %d times, want once", n)
	}
}
