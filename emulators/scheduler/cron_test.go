package scheduler

import (
	"encoding/json"
	"errors"
	"os"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// TestNextGolden compares Next with cronsim 2.7 (testdata/gen_next.py).
func TestNextGolden(t *testing.T) {
	b, err := os.ReadFile("testdata/next.json")
	if err != nil {
		t.Fatal(err)
	}
	var golden struct {
		Cases []struct {
			Spec  string   `json:"spec"`
			Start string   `json:"start"`
			Next  []string `json:"next"`
		} `json:"cases"`
	}
	if err := json.Unmarshal(b, &golden); err != nil {
		t.Fatal(err)
	}
	if len(golden.Cases) == 0 {
		t.Fatal("no golden cases")
	}
	for _, c := range golden.Cases {
		t.Run(c.Spec+"@"+c.Start, func(t *testing.T) {
			s, err := Parse(c.Spec)
			if err != nil {
				t.Fatal(err)
			}
			at, err := time.Parse(time.RFC3339, c.Start)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for range c.Next {
				at = s.Next(at)
				got = append(got, at.Format(time.RFC3339))
			}
			if diff := cmp.Diff(c.Next, got); diff != "" {
				t.Errorf("Next (-cronsim +got):\n%s", diff)
			}
		})
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		spec, field string
	}{
		{"* * * *", ""},
		{"* * * * * *", ""},
		{"60 * * * *", "minute"},
		{"* 24 * * *", "hour"},
		{"* * 0 * *", "day-of-month"},
		{"* * * 13 *", "month"},
		{"* * * * 8", "day-of-week"},
		{"*/0 * * * *", "minute"},
		{"5-1 * * * *", "minute"},
		{"a * * * *", "minute"},
		{"1,,2 * * * *", "minute"},
		{"* * * FOO *", "month"},
		{"-1 * * * *", "minute"},
		{"*/x * * * *", "minute"},
	}
	for _, tt := range tests {
		_, err := Parse(tt.spec)
		var pe *ParseError
		if !errors.As(err, &pe) {
			t.Errorf("Parse(%q) = %v, want a *ParseError", tt.spec, err)
			continue
		}
		if pe.Field != tt.field {
			t.Errorf("Parse(%q) field = %q, want %q (%v)", tt.spec, pe.Field, tt.field, err)
		}
	}
}

func TestNextNever(t *testing.T) {
	s, err := Parse("0 0 30 2 *")
	if err != nil {
		t.Fatal(err)
	}
	if got := s.Next(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)); !got.IsZero() {
		t.Errorf("Next = %v, want the zero time", got)
	}
}

func TestNextDST(t *testing.T) {
	loc, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		t.Skipf("no tzdata: %v", err)
	}
	s, err := Parse("30 2 * * *")
	if err != nil {
		t.Fatal(err)
	}
	// 2026-03-29 02:00 does not exist in Berlin; the next run is a real
	// instant after the start and before the day after.
	start := time.Date(2026, 3, 29, 0, 0, 0, 0, loc)
	got := s.Next(start)
	if !got.After(start) || got.After(time.Date(2026, 3, 30, 2, 30, 0, 0, loc)) {
		t.Errorf("Next(%v) = %v", start, got)
	}
	// Autumn: 02:30 happens twice on 2026-10-25; Next terminates and moves on.
	start = time.Date(2026, 10, 25, 0, 0, 0, 0, loc)
	if got := s.Next(start); !got.After(start) {
		t.Errorf("Next(%v) = %v", start, got)
	}
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{"*/5 * * * *", "15,45 9-17 * * MON-FRI", "0 0 13 * FRI", "5-20/5 */6 * * *", "0 0 30 2 *", "* * * * 7", "a b c d e"} {
		f.Add(s)
	}
	start := time.Date(2026, 11, 27, 4, 52, 13, 0, time.UTC)
	f.Fuzz(func(t *testing.T, spec string) {
		s, err := Parse(spec)
		if err != nil {
			var pe *ParseError
			if !errors.As(err, &pe) {
				t.Fatalf("Parse(%q) error %v is not a *ParseError", spec, err)
			}
			return
		}
		got := s.Next(start)
		if got.IsZero() {
			return
		}
		if !got.After(start) || got.Second() != 0 || got.Nanosecond() != 0 {
			t.Fatalf("Next(%v) = %v for %q", start, got, spec)
		}
		if !s.matches(got) {
			t.Fatalf("Next = %v does not match %q", got, spec)
		}
	})
}
