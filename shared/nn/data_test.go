package nn

import (
	"encoding/csv"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"testing"
)

// loadDataset reads a CSV from testdata/datasets at the repository root whose
// last column is the label.
func loadDataset(t testing.TB, name string) ([][]float64, []float64) {
	t.Helper()
	return loadCSV(t, filepath.Join("..", "..", "testdata", "datasets", name))
}

// loadCSV reads a CSV with a header whose last column is the label.
func loadCSV(t testing.TB, name string) ([][]float64, []float64) {
	t.Helper()
	f, err := os.Open(name)
	if err != nil {
		t.Skipf("dataset %s: %v", name, err)
	}
	defer f.Close()
	recs, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatalf("read %s: %v", name, err)
	}
	var x [][]float64
	var y []float64
	for i, r := range recs[1:] {
		row := make([]float64, len(r)-1)
		for j, s := range r {
			v, err := strconv.ParseFloat(s, 64)
			if err != nil {
				t.Fatalf("%s row %d col %d: %v", name, i+1, j, err)
			}
			if j == len(r)-1 {
				y = append(y, v)
			} else {
				row[j] = v
			}
		}
		x = append(x, row)
	}
	return x, y
}

// split80 shuffles rows with a fixed seed and splits them 80/10/10.
func split80(x [][]float64, y []float64, seed uint64) (Data, Split) {
	idx := rand.New(rand.NewPCG(seed, 1)).Perm(len(x))
	part := func(ids []int) Split {
		var s Split
		for _, i := range ids {
			s.X = append(s.X, x[i])
			s.Y = append(s.Y, y[i])
		}
		return s
	}
	a, b := len(x)*8/10, len(x)*9/10
	return Data{Train: part(idx[:a]), Val: part(idx[a:b])}, part(idx[b:])
}
