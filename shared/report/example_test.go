package report_test

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/megapipe/mega/shared/report"
	"github.com/megapipe/mega/shared/runs"
)

// memRuns is an in-memory run store; in the CLI it is *runs.Store.
type memRuns map[string]runs.Run

func (m memRuns) Get(_ context.Context, id string) (runs.Run, error) {
	r, ok := m[id]
	if !ok {
		return runs.Run{}, runs.ErrNotFound
	}
	return r, nil
}

// Gather a run's data and render the report. Sources that are not given
// (here the registry, artifacts, drift and alerts) leave their sections
// saying "no data yet".
func Example() {
	t0 := time.Date(2026, 11, 27, 5, 0, 0, 0, time.UTC)
	step := func(start, secs float64) runs.Step {
		s := t0.Add(time.Duration(start * float64(time.Second)))
		return runs.Step{Status: runs.StatusSucceeded, Started: s, Ended: s.Add(time.Duration(secs * float64(time.Second)))}
	}
	store := memRuns{"iris-0123456789": {ID: "iris-0123456789", Dataset: "iris", Status: runs.StatusRunning, Created: t0,
		Steps: map[string]runs.Step{"ingest": step(0, 1.5), "featurize": step(2, 0.5), "train": step(3, 12)}}}

	d, err := report.Gather(context.Background(), report.Sources{Runs: store, Now: func() time.Time { return t0.Add(time.Minute) }}, "iris-0123456789")
	if err != nil {
		fmt.Println(err)
		return
	}
	var page strings.Builder // or an *os.File a person opens
	if err := report.Render(&page, d, report.Options{}); err != nil {
		fmt.Println(err)
		return
	}
	html := page.String()
	fmt.Println("charts drawn:", strings.Count(html, "<svg"))
	fmt.Println("sections without data:", strings.Count(html, `class="empty"`))
	fmt.Println(d.Gaps[report.SectionVersion])
	// Output:
	// charts drawn: 2
	// sections without data: 5
	// the run has not registered a model version yet
}
