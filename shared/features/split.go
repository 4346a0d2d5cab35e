package features

import (
	"fmt"
	"io"

	"github.com/megapipe/mega/shared/dataset"
	"github.com/megapipe/mega/shared/tabular"
)

// Splits holds a dataset's rows split by the spec, encoded as model inputs.
type Splits struct {
	Train, Val, Test tabular.Split
	// Frames are the raw rows of each split, for profiles.
	Frames map[string]*dataset.Frame
}

// LoadSplits reads the clean dataset (the compact format written by ingest)
// and splits and encodes it.
func (s *Spec) LoadSplits(r io.Reader) (*Splits, error) {
	all, err := dataset.Load(r, nil)
	if err != nil {
		return nil, fmt.Errorf("features: load clean rows: %w", err)
	}
	return s.SplitFrame(all)
}

// SplitFrame splits rows already in memory.
func (s *Spec) SplitFrame(all *dataset.Frame) (*Splits, error) {
	frames := map[string]*dataset.Frame{Train: dataset.NewFrame(all.Schema, 0), Val: dataset.NewFrame(all.Schema, 0),
		Test: dataset.NewFrame(all.Schema, 0)}
	for i := 0; i < all.Len; i++ {
		frames[s.SplitOf(all.RowHash(i))].AppendRow(all, i)
	}
	out := &Splits{Frames: frames}
	for name, dst := range map[string]*tabular.Split{Train: &out.Train, Val: &out.Val, Test: &out.Test} {
		x, y, err := s.Encode(frames[name])
		if err != nil {
			return nil, err
		}
		*dst = tabular.Split{X: x, Y: y}
	}
	return out, nil
}

// Float32 converts rows to float32 (model inputs).
func Float32(rows [][]float64) [][]float32 {
	out := make([][]float32, len(rows))
	flat := make([]float32, 0, len(rows)*max(1, widthOf(rows)))
	for i, r := range rows {
		start := len(flat)
		for _, v := range r {
			flat = append(flat, float32(v))
		}
		out[i] = flat[start:len(flat):len(flat)]
	}
	return out
}

func widthOf(rows [][]float64) int {
	if len(rows) == 0 {
		return 0
	}
	return len(rows[0])
}
