package nn

import (
	"math"
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
