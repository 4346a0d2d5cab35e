package monitoring

import (
	"testing"
	"time"

	"cloud.google.com/go/monitoring/apiv3/v2/monitoringpb"
	"github.com/google/go-cmp/cmp"
	"google.golang.org/protobuf/types/known/durationpb"
)

func TestAlign(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	at := func(s int) time.Time { return t0.Add(time.Duration(s) * time.Second) }
	samples := []sample{
		{end: at(10), value: 1}, {end: at(20), value: 2}, {end: at(30), value: 3},
		{end: at(70), value: 10}, {end: at(80), value: 20},
		{end: at(200), value: 99}, // after end: excluded
	}
	// Windows anchored at end=120 with P=60: (60,120] holds 10,20; (0,60] holds 1,2,3.
	tests := []struct {
		aligner monitoringpb.Aggregation_Aligner
		want    []point
	}{
		{monitoringpb.Aggregation_ALIGN_NONE, []point{{at(10), 1}, {at(20), 2}, {at(30), 3}, {at(70), 10}, {at(80), 20}}},
		{monitoringpb.Aggregation_ALIGN_MEAN, []point{{at(60), 2}, {at(120), 15}}},
		{monitoringpb.Aggregation_ALIGN_MAX, []point{{at(60), 3}, {at(120), 20}}},
		{monitoringpb.Aggregation_ALIGN_MIN, []point{{at(60), 1}, {at(120), 10}}},
		{monitoringpb.Aggregation_ALIGN_SUM, []point{{at(60), 6}, {at(120), 30}}},
		{monitoringpb.Aggregation_ALIGN_COUNT, []point{{at(60), 3}, {at(120), 2}}},
		{monitoringpb.Aggregation_ALIGN_NEXT_OLDER, []point{{at(60), 3}, {at(120), 20}}},
	}
	for _, tt := range tests {
		t.Run(tt.aligner.String(), func(t *testing.T) {
			g, err := parseAggregation(&monitoringpb.Aggregation{AlignmentPeriod: durationpb.New(time.Minute), PerSeriesAligner: tt.aligner})
			if err != nil {
				t.Fatal(err)
			}
			got := align(samples, at(0), at(120), g)
			if diff := cmp.Diff(tt.want, got, cmp.AllowUnexported(point{})); diff != "" {
				t.Errorf("align (-want +got):\n%s", diff)
			}
		})
	}
}

func TestParseAggregationErrors(t *testing.T) {
	for name, a := range map[string]*monitoringpb.Aggregation{
		"rate aligner":       {PerSeriesAligner: monitoringpb.Aggregation_ALIGN_RATE, AlignmentPeriod: durationpb.New(time.Minute)},
		"reducer no aligner": {CrossSeriesReducer: monitoringpb.Aggregation_REDUCE_MEAN},
		"group no reducer":   {PerSeriesAligner: monitoringpb.Aggregation_ALIGN_MEAN, GroupByFields: []string{"metric.label.model"}},
		"percentile reducer": {PerSeriesAligner: monitoringpb.Aggregation_ALIGN_MEAN, CrossSeriesReducer: monitoringpb.Aggregation_REDUCE_PERCENTILE_99},
		"tiny period":        {PerSeriesAligner: monitoringpb.Aggregation_ALIGN_MEAN, AlignmentPeriod: durationpb.New(time.Millisecond)},
		"bad group field":    {PerSeriesAligner: monitoringpb.Aggregation_ALIGN_MEAN, CrossSeriesReducer: monitoringpb.Aggregation_REDUCE_MAX, GroupByFields: []string{"metric.kind"}},
	} {
		if _, err := parseAggregation(a); err == nil {
			t.Errorf("%s: parseAggregation accepted %v", name, a)
		}
	}
}

func TestAlignWindowEdges(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	at := func(s int) time.Time { return t0.Add(time.Duration(s) * time.Second) }
	// A sample exactly at a window's end belongs to that window; the
	// interval's start is exclusive.
	samples := []sample{{end: at(0), value: 100}, {end: at(60), value: 1}, {end: at(61), value: 2}, {end: at(120), value: 3}}
	g := aggregation{period: time.Minute, aligner: monitoringpb.Aggregation_ALIGN_SUM}
	want := []point{{at(60), 1}, {at(120), 5}}
	if diff := cmp.Diff(want, align(samples, at(0), at(120), g), cmp.AllowUnexported(point{})); diff != "" {
		t.Errorf("align (-want +got):\n%s", diff)
	}
	// 7 days of 5-minute points aligned by the minute: one pass, one point per sample.
	var week []sample
	for i := 0; i < 7*24*12; i++ {
		week = append(week, sample{end: at(300 * (i + 1)), value: float64(i)})
	}
	got := align(week, at(0), at(300*len(week)), g)
	if len(got) != len(week) || got[len(got)-1].v != float64(len(week)-1) {
		t.Errorf("week: %d points, last %v", len(got), got[len(got)-1])
	}
}
