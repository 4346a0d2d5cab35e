package tabular

import (
	"errors"
	"fmt"
	"math"
)

// Task is what a model predicts, which decides its output head and loss.
type Task string

// The three tasks.
const (
	// Multiclass: one logit per class, softmax, cross-entropy.
	Multiclass Task = "multiclass"
	// Binary: one logit, sigmoid (probability of class 1), binary cross-entropy.
	Binary Task = "binary"
	// Regression: one linear output, mean squared error.
	Regression Task = "regression"
)

// ErrBadData marks malformed or inconsistent rows; nn.ErrBadData is the
// same error.
var ErrBadData = errors.New("bad data")

// Split is one part of a dataset: rows of raw feature values and one label per
// row (class index 0..C-1 for multiclass, 0 or 1 for binary, the target value
// for regression).
type Split struct {
	X [][]float64
	Y []float64
}

// Normalization standardizes raw feature values: z = (x - Mean) / Std. A
// standard deviation of zero (a constant feature) is treated as 1.
type Normalization struct {
	Mean []float64 `json:"mean"`
	Std  []float64 `json:"std"`
}

// ComputeNormalization returns the per-feature mean and (population) standard
// deviation of rows.
func ComputeNormalization(rows [][]float64) (Normalization, error) {
	if len(rows) == 0 {
		return Normalization{}, fmt.Errorf("compute normalization: no rows: %w", ErrBadData)
	}
	n := len(rows[0])
	mean := make([]float64, n)
	for i, r := range rows {
		if len(r) != n {
			return Normalization{}, fmt.Errorf("compute normalization: row %d has %d features, want %d: %w", i, len(r), n, ErrBadData)
		}
		for j, v := range r {
			mean[j] += v
		}
	}
	for j := range mean {
		mean[j] /= float64(len(rows))
	}
	std := make([]float64, n)
	for _, r := range rows {
		for j, v := range r {
			d := v - mean[j]
			std[j] += d * d
		}
	}
	for j := range std {
		std[j] = math.Sqrt(std[j] / float64(len(rows)))
	}
	return Normalization{Mean: mean, Std: std}, nil
}

// Scale returns 1/std of feature j, with constant features (std 0 or not finite) mapped to 1.
func (n Normalization) Scale(j int) float64 {
	s := n.Std[j]
	if s == 0 || math.IsNaN(s) || math.IsInf(s, 0) {
		return 1
	}
	return 1 / s
}

// Apply writes the standardized values of x into dst (as long as x).
func (n Normalization) Apply(dst, x []float64) {
	for j, v := range x {
		dst[j] = (v - n.Mean[j]) * n.Scale(j)
	}
}
