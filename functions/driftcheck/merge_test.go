package driftcheck

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/megapipe/mega/functions/collect"
	"github.com/megapipe/mega/shared/blob"
	"github.com/megapipe/mega/shared/drift"
	"github.com/megapipe/mega/shared/predlog"
)

// A period over three layouts: a window with collect's aggregate (and a
// stale per-batch profile beside it, not counted), a window of the former
// per-batch layout, and a window whose aggregate is corrupt (skipped and
// named). The merge equals the rows folded in one pass.
func TestMergeLayouts(t *testing.T) {
	b, err := drift.NewReferenceBuilder([]drift.Feature{{Name: "x", Kind: drift.Numeric}})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 300 {
		if err := b.Add(drift.Row{drift.Num(float64(i%13) - 6)}); err != nil {
			t.Fatal(err)
		}
	}
	ref, err := b.Build()
	if err != nil {
		t.Fatal(err)
	}
	fold := func(lo, hi int) *drift.Window {
		w, err := drift.NewWindow(ref)
		if err != nil {
			t.Fatal(err)
		}
		for i := lo; i < hi; i++ {
			if err := w.Add(drift.Row{drift.Num(float64(i%11) * 0.7)}); err != nil {
				t.Fatal(err)
			}
		}
		return w
	}
	enc := func(v any) []byte {
		data, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		return data
	}
	ctx := context.Background()
	st := &memStore{objs: map[string][]byte{}}
	at := time.Date(2026, 11, 27, 10, 12, 0, 0, time.UTC)
	c := &Checker{Store: st, Bucket: "a", Period: 10 * time.Minute, Window: 5 * time.Minute, Policy: drift.DefaultPolicy()}
	w0, w1, w2 := at.Add(-12*time.Minute), at.Add(-7*time.Minute), at.Add(-2*time.Minute) // 10:00, 10:05, 10:10
	if got := WindowStarts(at, c.Period, c.Window); !cmp.Equal(got, []time.Time{w0, w1, w2}) {
		t.Fatalf("window starts %v", got)
	}
	// 10:00: the aggregate of rows [0, 100), and a stale per-batch profile.
	st.Put(ctx, "a", predlog.AggregateName("m", "v1", w0), enc(&collect.Aggregate{Window: fold(0, 100)}), blob.WriteOptions{})
	st.Put(ctx, "a", predlog.WindowPrefix("m", w0)+"old-v1.profile.json", enc(fold(1000, 1050)), blob.WriteOptions{})
	// 10:05: three per-batch profiles of rows [100, 160), and another
	// version's.
	for k := range 3 {
		st.Put(ctx, "a", fmt.Sprintf("%sb%d-v1.profile.json", predlog.WindowPrefix("m", w1), k), enc(fold(100+20*k, 120+20*k)), blob.WriteOptions{})
	}
	st.Put(ctx, "a", predlog.WindowPrefix("m", w1)+"b0-v2.profile.json", enc(fold(0, 10)), blob.WriteOptions{})
	// 10:10: a corrupt aggregate.
	st.Put(ctx, "a", predlog.AggregateName("m", "v1", w2), []byte(`{"version":1,"features":[]}`), blob.WriteOptions{})

	got, n, skipped, err := c.merge(ctx, "m", "v1", ref, at)
	if err != nil {
		t.Fatal(err)
	}
	want := fold(0, 160)
	if diff := cmp.Diff(want.Features, got.Features, cmpopts.EquateApprox(1e-12, 1e-12)); diff != "" {
		t.Errorf("merged window vs one pass (-want +got):\n%s", diff)
	}
	if n != 4 {
		t.Errorf("%d profiles merged, want 4 (1 aggregate, 3 per-batch)", n)
	}
	if _, ok := skipped[predlog.AggregateName("m", "v1", w2)]; !ok || len(skipped) != 1 {
		t.Errorf("skipped %v, want the corrupt aggregate only", skipped)
	}
}
