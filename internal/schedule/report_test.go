package schedule_test

import (
	"bytes"
	"path/filepath"
	"testing"
	"time"

	"github.com/stagecoach/stagecoach/internal/schedule"
	"github.com/stagecoach/stagecoach/internal/testenv/golden"
)

func TestWriteReport(t *testing.T) {
	t.Parallel()
	now := at(t, "Europe/Berlin", "2026-11-27 21:30") // Friday night
	dev := plan(t, "CRON_TZ=Europe/Berlin 0 20 * * MON-FRI", "CRON_TZ=Europe/Berlin 0 7 * * MON-FRI")
	staging := plan(t, "CRON_TZ=America/New_York 0 20 * * FRI", "CRON_TZ=America/New_York 0 7 * * MON")
	staging.Environment = "staging"
	overrides := map[string]*schedule.Override{
		"dev": {State: schedule.Awake, Until: now.Add(90 * time.Minute), By: "alice", At: now},
	}
	var b bytes.Buffer
	if err := schedule.WriteReport(&b, schedule.Evaluate("acme/shop", now, []schedule.Plan{dev, staging}, overrides)); err != nil {
		t.Fatal(err)
	}
	golden.Assert(t, filepath.Join("testdata", "report.golden"), b.String())
}
