package scheduler

import (
	"fmt"
	"math/bits"
	"strconv"
	"strings"
	"time"
)

// ParseError is a schedule that cannot be parsed.
type ParseError struct {
	Spec  string // the whole schedule
	Field string // minute, hour, day-of-month, month, day-of-week; "" for the whole
	Msg   string
}

func (e *ParseError) Error() string {
	if e.Field == "" {
		return fmt.Sprintf("schedule %q: %s", e.Spec, e.Msg)
	}
	return fmt.Sprintf("schedule %q: %s: %s", e.Spec, e.Field, e.Msg)
}

// Schedule is a parsed 5-field cron schedule.
type Schedule struct {
	spec                          string
	minute, hour, dom, month, dow uint64 // bit i set: value i matches
	domStar, dowStar              bool
}

type field struct {
	name     string
	min, max int
	names    []string // names[i] is the value min+i
}

var fields = [5]field{
	{name: "minute", min: 0, max: 59},
	{name: "hour", min: 0, max: 23},
	{name: "day-of-month", min: 1, max: 31},
	{name: "month", min: 1, max: 12, names: []string{"JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"}},
	{name: "day-of-week", min: 0, max: 7, names: []string{"SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"}},
}

// Parse parses a 5-field schedule.
func Parse(spec string) (*Schedule, error) {
	parts := strings.Fields(spec)
	if len(parts) != 5 {
		return nil, &ParseError{Spec: spec, Msg: fmt.Sprintf("want 5 fields (minute hour day-of-month month day-of-week), got %d", len(parts))}
	}
	s := &Schedule{spec: spec}
	dst := [5]*uint64{&s.minute, &s.hour, &s.dom, &s.month, &s.dow}
	for i, p := range parts {
		set, err := parseField(fields[i], p)
		if err != nil {
			return nil, &ParseError{Spec: spec, Field: fields[i].name, Msg: err.Error()}
		}
		*dst[i] = set
	}
	s.domStar = strings.HasPrefix(parts[2], "*")
	s.dowStar = strings.HasPrefix(parts[4], "*")
	if s.dow&(1<<7) != 0 { // 7 is Sunday
		s.dow = s.dow&^(1<<7) | 1
	}
	return s, nil
}

func parseField(f field, text string) (uint64, error) {
	var set uint64
	for _, item := range strings.Split(text, ",") {
		rng, stepText, hasStep := strings.Cut(item, "/")
		step := 1
		if hasStep {
			n, err := strconv.Atoi(stepText)
			if err != nil || n <= 0 || n > f.max-f.min+1 {
				return 0, fmt.Errorf("bad step %q", stepText)
			}
			step = n
		}
		var lo, hi int
		switch {
		case rng == "*":
			lo, hi = f.min, f.max
			if f.name == "day-of-week" {
				hi = 6
			}
		case strings.Contains(rng, "-"):
			a, b, _ := strings.Cut(rng, "-")
			var err error
			if lo, err = value(f, a); err != nil {
				return 0, err
			}
			if hi, err = value(f, b); err != nil {
				return 0, err
			}
			if lo > hi {
				return 0, fmt.Errorf("range %q runs backwards", rng)
			}
		default:
			v, err := value(f, rng)
			if err != nil {
				return 0, err
			}
			lo, hi = v, v
			if hasStep { // N/step means N-max/step
				hi = f.max
			}
		}
		for v := lo; v <= hi; v += step {
			set |= 1 << uint(v)
		}
	}
	return set, nil
}

func value(f field, s string) (int, error) {
	if s == "" {
		return 0, fmt.Errorf("empty value")
	}
	for i, n := range f.names {
		if strings.EqualFold(s, n) {
			return f.min + i, nil
		}
	}
	v, err := strconv.Atoi(s)
	if err != nil || v < f.min || v > f.max {
		return 0, fmt.Errorf("value %q out of range %d-%d", s, f.min, f.max)
	}
	return v, nil
}

// String is the schedule as parsed.
func (s *Schedule) String() string { return s.spec }

func has(set uint64, v int) bool { return set&(1<<uint(v)) != 0 }

// dayMatches applies cron's day rule: when either day field starts with
// "*", a day must match both; otherwise (both restricted) a day matching
// either matches.
func (s *Schedule) dayMatches(t time.Time) bool {
	d, w := has(s.dom, t.Day()), has(s.dow, int(t.Weekday()))
	if s.domStar || s.dowStar {
		return d && w
	}
	return d || w
}

// Next is the first time strictly after t, at a whole minute in t's
// location, that matches; the zero time if none does within five years
// (for example 0 0 30 2 *).
func (s *Schedule) Next(t time.Time) time.Time {
	loc := t.Location()
	t = t.Truncate(time.Minute).Add(time.Minute)
	limit := t.AddDate(5, 0, 0)
	// next moves t forward to u; across a daylight-saving change u can land
	// at or before t, and then t moves one minute instead.
	next := func(u time.Time) {
		if u.After(t) {
			t = u
		} else {
			t = t.Add(time.Minute)
		}
	}
	for t.Before(limit) {
		switch {
		case !has(s.month, int(t.Month())):
			next(time.Date(t.Year(), t.Month()+1, 1, 0, 0, 0, 0, loc))
		case !s.dayMatches(t):
			next(time.Date(t.Year(), t.Month(), t.Day()+1, 0, 0, 0, 0, loc))
		case !has(s.hour, t.Hour()):
			next(time.Date(t.Year(), t.Month(), t.Day(), t.Hour()+1, 0, 0, 0, loc))
		case !has(s.minute, t.Minute()):
			// The next matching minute in this hour, if any.
			rest := s.minute >> uint(t.Minute()+1) << uint(t.Minute()+1)
			if rest == 0 {
				next(time.Date(t.Year(), t.Month(), t.Day(), t.Hour()+1, 0, 0, 0, loc))
			} else {
				next(time.Date(t.Year(), t.Month(), t.Day(), t.Hour(), bits.TrailingZeros64(rest), 0, 0, loc))
			}
		default:
			return t
		}
	}
	return time.Time{}
}

// matches reports whether t's minute matches the schedule.
func (s *Schedule) matches(t time.Time) bool {
	return has(s.minute, t.Minute()) && has(s.hour, t.Hour()) && has(s.month, int(t.Month())) && s.dayMatches(t)
}
