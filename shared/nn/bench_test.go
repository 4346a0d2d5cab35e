package nn

import (
	"context"
	"testing"
)

// BenchmarkTrainEpoch measures one training epoch on digits (1437 rows, 64
// features) with a 128-64 teacher.
func BenchmarkTrainEpoch(b *testing.B) {
	x, y := loadDataset(b, "digits.csv")
	data, _ := split80(x, y, 1)
	for b.Loop() {
		if _, _, err := Train(context.Background(), data, Config{Task: Multiclass, Hidden: []int{128, 64}, Epochs: 1, Seed: 1}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkPredict measures the Go forward pass of a 64-128-64-10 network
// per row.
func BenchmarkPredict(b *testing.B) {
	x, y := loadDataset(b, "digits.csv")
	data, _ := split80(x, y, 1)
	m, _, err := Train(context.Background(), data, Config{Task: Multiclass, Hidden: []int{128, 64}, Epochs: 1, Seed: 1})
	if err != nil {
		b.Fatal(err)
	}
	rows := x[:1]
	for b.Loop() {
		if _, err := m.Predict(rows); err != nil {
			b.Fatal(err)
		}
	}
}
