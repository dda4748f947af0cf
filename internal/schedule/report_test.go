package schedule_test

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stagecoach/stagecoach/internal/schedule"
)

var update = flag.Bool("update", false, "rewrite golden files")

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
	golden := filepath.Join("testdata", "report.golden")
	if *update {
		os.WriteFile(golden, b.Bytes(), 0o644)
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if b.String() != string(want) {
		t.Fatalf("report differs from %s (run with -update if intended):\n%s", golden, b.String())
	}
}
