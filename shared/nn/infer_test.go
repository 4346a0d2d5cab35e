package nn

import (
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"

	"github.com/megapipe/mega/shared/infer"
	"github.com/megapipe/mega/shared/tflite"
)

// TestGoInterpreter runs the committed batch-1 fixture models in the Go
// TFLite interpreter (shared/infer, which serves them), with the batch
// resized to all the fixture rows, and compares with the official runtime's
// outputs.
func TestGoInterpreter(t *testing.T) {
	for _, f := range oracleFixtures {
		t.Run(f.name, func(t *testing.T) {
			b, err := os.ReadFile(filepath.Join(oracleDir, f.name+".tflite"))
			if err != nil {
				t.Fatal(err)
			}
			tm, err := tflite.Parse(b)
			if err != nil {
				t.Fatal(err)
			}
			ip, err := infer.New(tm, infer.Options{})
			if err != nil {
				t.Fatal(err)
			}
			in := readFloat32s(t, filepath.Join(oracleDir, f.name+".in.bin"))
			want := readFloat32s(t, filepath.Join(oracleDir, f.name+".out.bin"))
			if err := ip.ResizeInput(0, []int{f.rows, len(in) / f.rows}); err != nil {
				t.Fatal(err)
			}
			copy(ip.Input(0).Float32s(), in)
			if err := ip.Invoke(); err != nil {
				t.Fatal(err)
			}
			got := ip.Output(0).Float32s()
			if len(got) != len(want) {
				t.Fatalf("%d outputs, want %d", len(got), len(want))
			}
			worst := 0.0
			for i := range got {
				d := math.Abs(float64(got[i])-float64(want[i])) / math.Max(1, math.Abs(float64(want[i])))
				worst = math.Max(worst, d)
				if d > 1e-5 {
					t.Errorf("output %d: Go interpreter %.8g, TFLite %.8g", i, got[i], want[i])
				}
			}
			t.Logf("largest difference from the official runtime %.3g (relative above 1)", worst)
		})
	}
}

// TestExportMatchesInterpreter exports random models of every task, with and
// without hidden layers and with unusual normalizations, and checks that the
// Go interpreter's outputs on the exported file match Model.Predict.
func TestExportMatchesInterpreter(t *testing.T) {
	for _, task := range []Task{Multiclass, Binary, Regression} {
		for _, hidden := range [][]int{{}, {5, 3}} {
			t.Run(fmt.Sprintf("%s/%v", task, hidden), func(t *testing.T) {
				rng := rand.New(rand.NewPCG(uint64(len(hidden)), 9))
				const inputs, rows = 4, 50
				norm := Normalization{Mean: []float64{100, -3, 0, 7}, Std: []float64{25, 0.5, 0, 1}} // std 0: constant feature
				m := newModel(task, inputs, 3, hidden, norm, rng)
				if task == Binary {
					m = newModel(task, inputs, 2, hidden, norm, rng)
				}
				m.TargetMean, m.TargetStd = 40, 12
				if task != Regression {
					m.TargetMean, m.TargetStd = 0, 0
				}
				for _, l := range m.Layers {
					for k := range l.B {
						l.B[k] = rng.NormFloat64()
					}
				}
				x := make([][]float64, rows)
				var in []float32
				for i := range x {
					x[i] = []float64{100 + 25*rng.NormFloat64(), -3 + 0.5*rng.NormFloat64(), 0, 7 + rng.NormFloat64()}
					for j, v := range x[i] {
						x[i][j] = float64(float32(v))
						in = append(in, float32(v))
					}
				}
				want, err := m.Predict(x)
				if err != nil {
					t.Fatal(err)
				}
				b, err := m.TFLite()
				if err != nil {
					t.Fatal(err)
				}
				tm, err := tflite.Parse(b)
				if err != nil {
					t.Fatal(err)
				}
				checkGraph(t, b, m)
				ip, err := infer.New(tm, infer.Options{})
				if err != nil {
					t.Fatal(err)
				}
				if err := ip.ResizeInput(0, []int{rows, inputs}); err != nil {
					t.Fatal(err)
				}
				copy(ip.Input(0).Float32s(), in)
				if err := ip.Invoke(); err != nil {
					t.Fatal(err)
				}
				got := ip.Output(0).Float32s()
				for i, r := range want {
					for k, v := range r {
						g := float64(got[i*m.Outputs()+k])
						if d := math.Abs(g-v) / math.Max(1, math.Abs(v)); d > 1e-5 {
							t.Errorf("row %d output %d: interpreter %.8g, Predict %.8g", i, k, g, v)
						}
					}
				}
			})
		}
	}
}
