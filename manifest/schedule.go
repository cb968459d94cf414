package manifest

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Schedule is a CronJob's schedule as the CronJob controller reads it (robfig/cron's
// standard parser): five fields (minute hour day-of-month month day-of-week) with *, ?,
// lists, ranges, steps and month and weekday names, or a macro (@yearly, @annually,
// @monthly, @weekly, @daily, @midnight, @hourly, @every DURATION).
type Schedule struct {
	minute, hour, dom, month, dow uint64
	// domStar, dowStar: the field was * or ?, so the day matches on the other field alone
	// (with both restricted, either one matching is enough, as in cron).
	domStar, dowStar bool
	every            time.Duration // @every: a fixed period instead of fields
}

type cronField struct {
	min, max int
	names    map[string]int
}

var cronFields = []cronField{
	{0, 59, nil}, {0, 23, nil}, {1, 31, nil},
	{1, 12, map[string]int{"jan": 1, "feb": 2, "mar": 3, "apr": 4, "may": 5, "jun": 6, "jul": 7, "aug": 8, "sep": 9, "oct": 10, "nov": 11, "dec": 12}},
	{0, 6, map[string]int{"sun": 0, "mon": 1, "tue": 2, "wed": 3, "thu": 4, "fri": 5, "sat": 6}},
}

var cronMacros = map[string]string{
	"@yearly": "0 0 1 1 *", "@annually": "0 0 1 1 *", "@monthly": "0 0 1 * *",
	"@weekly": "0 0 * * 0", "@daily": "0 0 * * *", "@midnight": "0 0 * * *", "@hourly": "0 * * * *",
}

// ParseSchedule parses a CronJob's spec.schedule.
func ParseSchedule(s string) (*Schedule, error) {
	s = strings.TrimSpace(s)
	if strings.HasPrefix(s, "TZ=") || strings.HasPrefix(s, "CRON_TZ=") {
		return nil, fmt.Errorf("cannot use TZ or CRON_TZ in schedule, use timeZone field instead")
	}
	if rest, ok := strings.CutPrefix(s, "@every "); ok {
		d, err := time.ParseDuration(strings.TrimSpace(rest))
		if err != nil || d < time.Second {
			return nil, fmt.Errorf("failed to parse duration %q: a duration of at least 1s", rest)
		}
		return &Schedule{every: d.Truncate(time.Second)}, nil
	}
	if strings.HasPrefix(s, "@") {
		m, ok := cronMacros[strings.ToLower(s)]
		if !ok {
			return nil, fmt.Errorf("unrecognized descriptor: %s", s)
		}
		s = m
	}
	fields := strings.Fields(s)
	if len(fields) != 5 {
		return nil, fmt.Errorf("expected exactly 5 fields, found %d: %s", len(fields), s)
	}
	var sc Schedule
	out := []*uint64{&sc.minute, &sc.hour, &sc.dom, &sc.month, &sc.dow}
	for i, f := range fields {
		bits, star, err := cronFields[i].parse(f)
		if err != nil {
			return nil, err
		}
		*out[i] = bits
		switch i {
		case 2:
			sc.domStar = star
		case 4:
			sc.dowStar = star
		}
	}
	return &sc, nil
}

// parse reads one field: a comma-separated list of *, ?, N, N-M, each with an optional
// /STEP (N/STEP runs from N to the field's maximum).
func (f cronField) parse(s string) (bits uint64, star bool, err error) {
	for _, part := range strings.Split(s, ",") {
		rng, stepStr, hasStep := strings.Cut(part, "/")
		lo, hi := f.min, f.max
		partStar := false
		switch {
		case rng == "*" || rng == "?":
			partStar = true
		default:
			a, b, isRange := strings.Cut(rng, "-")
			if lo, err = f.value(a); err != nil {
				return 0, false, err
			}
			hi = lo
			if isRange {
				if hi, err = f.value(b); err != nil {
					return 0, false, err
				}
			} else if hasStep {
				hi = f.max
			}
		}
		step := 1
		if hasStep {
			if step, err = strconv.Atoi(stepStr); err != nil || step <= 0 {
				return 0, false, fmt.Errorf("bad step %q in %q", stepStr, part)
			}
		}
		if lo < f.min || hi > f.max || lo > hi {
			return 0, false, fmt.Errorf("%q is out of range (%d-%d)", part, f.min, f.max)
		}
		for v := lo; v <= hi; v += step {
			bits |= 1 << uint(v)
		}
		star = star || partStar && step == 1
	}
	return bits, star, nil
}

func (f cronField) value(s string) (int, error) {
	if v, ok := f.names[strings.ToLower(s)]; ok {
		return v, nil
	}
	v, err := strconv.Atoi(s)
	if err != nil {
		return 0, fmt.Errorf("failed to parse int from %s: %w", s, err)
	}
	return v, nil
}

// Next returns the first time after t that the schedule names, in t's location; the zero
// time when none comes within five years (February 30th).
func (s *Schedule) Next(t time.Time) time.Time {
	if s.every > 0 {
		return t.Add(s.every - time.Duration(t.Nanosecond())*time.Nanosecond)
	}
	loc := t.Location()
	t = t.Add(time.Minute - time.Duration(t.Second())*time.Second - time.Duration(t.Nanosecond())) // the next whole minute
	limit := t.Year() + 5
	for t.Year() <= limit {
		switch {
		case s.month&(1<<uint(t.Month())) == 0:
			t = time.Date(t.Year(), t.Month()+1, 1, 0, 0, 0, 0, loc)
		case !s.dayMatches(t):
			t = time.Date(t.Year(), t.Month(), t.Day()+1, 0, 0, 0, 0, loc)
		case s.hour&(1<<uint(t.Hour())) == 0:
			// in whole hours from midnight, so that a change of clocks is crossed once
			t = time.Date(t.Year(), t.Month(), t.Day(), t.Hour()+1, 0, 0, 0, loc)
		case s.minute&(1<<uint(t.Minute())) == 0:
			t = t.Add(time.Minute)
		default:
			return t
		}
	}
	return time.Time{}
}

func (s *Schedule) dayMatches(t time.Time) bool {
	dom := s.dom&(1<<uint(t.Day())) != 0
	dow := s.dow&(1<<uint(t.Weekday())) != 0
	if s.domStar || s.dowStar {
		return dom && dow
	}
	return dom || dow
}
