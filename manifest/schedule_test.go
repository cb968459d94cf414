package manifest

import (
	"testing"
	"time"
)

// TestScheduleNext checks the next times of schedules as the CronJob controller
// (robfig/cron's standard parser) computes them.
func TestScheduleNext(t *testing.T) {
	ny, err := time.LoadLocation("America/New_York")
	if err != nil {
		t.Skip("no time zone database")
	}
	at := func(s string) time.Time {
		v, err := time.ParseInLocation("2006-01-02 15:04:05", s, time.UTC)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	for _, c := range []struct {
		sched, from, want string
	}{
		{"*/1 * * * *", "2026-12-04 17:31:20", "2026-12-04 17:32:00"},
		{"* * * * *", "2026-12-04 17:31:00", "2026-12-04 17:32:00"},
		{"*/15 * * * *", "2026-12-04 17:31:00", "2026-12-04 17:45:00"},
		{"5/20 * * * *", "2026-12-04 17:46:00", "2026-12-04 18:05:00"},
		{"0 9-17/4 * * *", "2026-12-04 13:00:00", "2026-12-04 17:00:00"},
		{"30 2 * * mon-fri", "2026-12-04 17:00:00", "2026-12-07 02:30:00"}, // Friday evening: Monday
		{"0 0 13 * 5", "2026-12-01 00:00:00", "2026-12-04 00:00:00"},       // both days restricted: either
		{"0 0 13 * *", "2026-12-01 00:00:00", "2026-12-13 00:00:00"},
		{"0 0 31 * *", "2026-11-01 00:00:00", "2026-12-31 00:00:00"},
		{"0 0 29 feb *", "2026-03-01 00:00:00", "2028-02-29 00:00:00"},
		{"@hourly", "2026-12-04 17:31:00", "2026-12-04 18:00:00"},
		{"@daily", "2026-12-04 17:31:00", "2026-12-05 00:00:00"},
		{"@weekly", "2026-12-04 17:31:00", "2026-12-06 00:00:00"},
		{"@monthly", "2026-12-04 17:31:00", "2027-01-01 00:00:00"},
		{"@yearly", "2026-12-04 17:31:00", "2027-01-01 00:00:00"},
		{"@every 90s", "2026-12-04 17:31:00", "2026-12-04 17:32:30"},
		{"0 0 30 2 *", "2026-12-04 17:31:00", ""},
	} {
		s, err := ParseSchedule(c.sched)
		if err != nil {
			t.Errorf("ParseSchedule(%q): %v", c.sched, err)
			continue
		}
		got := s.Next(at(c.from))
		if c.want == "" {
			if !got.IsZero() {
				t.Errorf("%q after %s = %s, want none", c.sched, c.from, got)
			}
		} else if want := at(c.want); !got.Equal(want) {
			t.Errorf("%q after %s = %s, want %s", c.sched, c.from, got, want)
		}
	}
	// in a time zone: 9:00 in New York is 14:00 UTC in winter, 13:00 in summer
	s, _ := ParseSchedule("0 9 * * *")
	if got := s.Next(at("2026-12-04 15:00:00").In(ny)).UTC(); !got.Equal(at("2026-12-05 14:00:00")) {
		t.Errorf("9:00 New York after 15:00 UTC = %s", got)
	}
	if got := s.Next(at("2026-07-04 15:00:00").In(ny)).UTC(); !got.Equal(at("2026-07-05 13:00:00")) {
		t.Errorf("9:00 New York in July = %s", got)
	}
}

func TestParseScheduleErrors(t *testing.T) {
	for _, s := range []string{"", "* * * *", "* * * * * *", "60 * * * *", "* 24 * * *", "* * 0 * *", "* * * 13 *",
		"* * * * 7", "*/0 * * * *", "5-1 * * * *", "a * * * *", "@often", "@every 1ms", "TZ=UTC * * * * *", "CRON_TZ=UTC 0 * * * *"} {
		if _, err := ParseSchedule(s); err == nil {
			t.Errorf("ParseSchedule(%q) accepted", s)
		}
	}
}
