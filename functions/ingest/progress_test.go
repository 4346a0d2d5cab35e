package ingest

import (
	"context"
	"io"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/google/go-cmp/cmp"
)

func TestProgressOverTwoPasses(t *testing.T) {
	var got []float64
	p := newProgress(context.Background(), nil, "r", 100, 2)
	p.every = 0
	p.recorder = func(_ context.Context, frac float64) { got = append(got, frac) }
	data := strings.Repeat("x", 100)
	for range 2 {
		r := p.wrap(io.NopCloser(iotest.HalfReader(strings.NewReader(data))))
		if _, err := io.Copy(io.Discard, iotest.OneByteReader(r)); err != nil {
			t.Fatal(err)
		}
	}
	if len(got) != 200 {
		t.Fatalf("%d progress records, want one per read (200)", len(got))
	}
	want := []float64{0.005, 0.25, 0.5, 0.75, 0.99}
	if diff := cmp.Diff(want, []float64{got[0], got[49], got[99], got[149], got[199]}); diff != "" {
		t.Errorf("progress (-want +got):\n%s", diff)
	}
}

func TestProgressUnknownSize(t *testing.T) {
	p := newProgress(context.Background(), nil, "r", 0, 1)
	p.every = 0
	p.recorder = func(context.Context, float64) { t.Fatal("recorded progress of a file of unknown size") }
	if _, err := io.Copy(io.Discard, p.wrap(io.NopCloser(strings.NewReader("abc")))); err != nil {
		t.Fatal(err)
	}
}
