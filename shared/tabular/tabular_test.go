package tabular_test

import (
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/megapipe/mega/shared/tabular"
)

func TestComputeNormalization(t *testing.T) {
	tests := []struct {
		name    string
		rows    [][]float64
		want    tabular.Normalization
		wantErr error
	}{
		// Population statistics by hand: column 0 is 1, 3 (mean 2, std 1),
		// column 1 is constant (std 0), column 2 is 0, 4 (mean 2, std 2).
		{"two rows", [][]float64{{1, 5, 0}, {3, 5, 4}}, tabular.Normalization{Mean: []float64{2, 5, 2}, Std: []float64{1, 0, 2}}, nil},
		{"one row", [][]float64{{7}}, tabular.Normalization{Mean: []float64{7}, Std: []float64{0}}, nil},
		{"no rows", nil, tabular.Normalization{}, tabular.ErrBadData},
		{"ragged", [][]float64{{1, 2}, {3}}, tabular.Normalization{}, tabular.ErrBadData},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tabular.ComputeNormalization(tt.rows)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("error %v, want %v", err, tt.wantErr)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestApply(t *testing.T) {
	n := tabular.Normalization{Mean: []float64{2, 5, 2}, Std: []float64{1, 0, 4}}
	got := make([]float64, 3)
	n.Apply(got, []float64{4, 6, 0})
	// (4-2)/1, constant feature scaled by 1: 6-5, (0-2)/4.
	if diff := cmp.Diff([]float64{2, 1, -0.5}, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}
