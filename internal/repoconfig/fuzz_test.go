package repoconfig

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// FuzzParse proves Parse never panics and always answers with a config or a
// well-formed *ValidationError. Parse recovers panics as a last resort, so
// the test also fails when that recovery was needed: every panic would be a
// bug to fix, not to hide.
func FuzzParse(f *testing.F) {
	seeds, err := filepath.Glob("testdata/*.yaml")
	if err != nil {
		f.Fatal(err)
	}
	invalid, err := filepath.Glob("testdata/invalid/*.yaml")
	if err != nil {
		f.Fatal(err)
	}
	for _, file := range append(seeds, invalid...) {
		data, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	for _, s := range []string{
		"", "~", "schedules:\n  dev:\n    sleep: TZ=0\n    wake: CRON_TZ=UTC\n",
		"environments:\n  - name: a\n    freeze:\n      - {reason: r, cron: \"CRON_TZ=\", duration: 1d}\n",
		"a: &a [*a]\n", "ephemeral: {ttl: 36500d36500d}\n", "\xff\xfe", "environments: [&e {name: x}, *e]\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		cfg, err := Parse(FileName, data)
		if err == nil {
			if cfg == nil {
				t.Fatal("Parse returned neither a config nor an error")
			}
			return
		}
		if cfg != nil {
			t.Fatal("Parse returned a config and an error")
		}
		var verr *ValidationError
		if !errors.As(err, &verr) {
			t.Fatalf("Parse error is %T, want *ValidationError: %v", err, err)
		}
		if len(verr.Errors) == 0 {
			t.Fatal("*ValidationError without errors")
		}
		for _, fe := range verr.Errors {
			if fe.File != FileName || fe.Message == "" || fe.Line < 0 || fe.Column < 0 {
				t.Fatalf("malformed field error %+v", fe)
			}
			if strings.HasPrefix(fe.Message, internalErrorMessage) {
				t.Fatalf("Parse recovered from a panic: %s", fe.Message)
			}
		}
	})
}

// FuzzParseCron proves ParseCron never panics on its own (robfig/cron's
// parser does on inputs such as "TZ=0") and that every accepted spec fires.
func FuzzParseCron(f *testing.F) {
	for _, s := range []string{
		"TZ=0", "CRON_TZ=UTC", "CRON_TZ=", "TZ=", "CRON_TZ=UTC 0 7 * * MON-FRI", "CRON_TZ=Europe/Berlin @daily",
		"CRON_TZ=UTC */0 * * * *", "CRON_TZ=UTC 0-59/61 * * * *", "CRON_TZ=UTC 5-1 * * * *", "CRON_TZ=UTC 0 0 31 2 *",
		"CRON_TZ=UTC\t@every 1h", "CRON_TZ=UTC TZ=UTC 0 * * * *", "CRON_TZ=America/Argentina/Buenos_Aires 0 0 29 2 *",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, spec string) {
		c, err := ParseCron(spec)
		if err != nil {
			if strings.HasPrefix(err.Error(), "malformed spec (") {
				t.Fatalf("ParseCron recovered from a robfig/cron panic on %q: %v", spec, err)
			}
			return
		}
		if c.Location == nil || c.Schedule == nil {
			t.Fatalf("ParseCron(%q) returned an incomplete Cron %+v", spec, c)
		}
		if c.Next(cronProbe).IsZero() {
			t.Fatalf("ParseCron(%q) accepted a spec that never fires", spec)
		}
	})
}
