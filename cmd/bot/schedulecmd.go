package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/stagecoach/stagecoach/internal/repoconfig"
	"github.com/stagecoach/stagecoach/internal/schedule"
)

func scheduleCommand(_ context.Context, args []string, now func() time.Time, stdout io.Writer) error {
	fs := newFlags("schedule [FILE]", "Prints, per environment of a .stagecoach.yaml (default ./.stagecoach.yaml): its state now, the next transitions in its time zone, and the awake hours per week with the share saved against always-on.", stdout, true)
	if done, err := parseFlags(fs, args); done {
		return err
	}
	file := repoconfig.FileName
	switch fs.NArg() {
	case 0:
	case 1:
		file = fs.Arg(0)
	default:
		return errors.New("schedule takes one file")
	}
	data, err := os.ReadFile(file)
	if err != nil {
		return fmt.Errorf("reading %s: %w", file, err)
	}
	cfg, err := repoconfig.Parse(file, data)
	if err != nil {
		return err
	}
	if len(cfg.Schedules) == 0 {
		fmt.Fprintf(stdout, "%s has no schedules: every environment is always on.\n", file)
		return nil
	}
	var plans []schedule.Plan
	for _, s := range cfg.Schedules {
		p, err := schedule.NewPlan(s)
		if err != nil {
			return err
		}
		plans = append(plans, p)
	}
	return schedule.WriteReport(stdout, schedule.Evaluate("", now(), plans, nil))
}
