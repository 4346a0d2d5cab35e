package tflite

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/megapipe/mega/shared/tflite/tflitetest"
)

// FuzzParse checks that Parse never panics, returns only *FormatError
// values, and that whatever it accepts marshals and parses back to an equal
// model. Seeds: the conformance models under 64 KiB (read in place, when
// present), a hand-written model and a model made with Builder.
func FuzzParse(f *testing.F) {
	if d := tflitetest.Path(); d != "" {
		for _, pat := range []string{"*.tflite", "*.bin"} {
			paths, _ := filepath.Glob(filepath.Join(d, pat))
			for _, p := range paths {
				if b, err := os.ReadFile(p); err == nil && len(b) < 64<<10 {
					f.Add(b)
				}
			}
		}
	}
	f.Add(unchecked(tinyModel()))
	m := tinyModel()
	m.Subgraphs[0].Operators[0].Options = &OtherOptions{Tag: 100}
	m.Metadata = []Metadata{{Name: "min_runtime_version", Buffer: 1}}
	m.Description = "seed"
	f.Add(unchecked(m))
	b := NewBuilder("builder seed")
	x := b.AddActivation("x", Float32, []int{1, 3}, nil)
	w := b.AddConstFloat32("w", []int{2, 3}, []float32{1, 2, 3, 4, 5, 6})
	bias := b.AddConstFloat32("b", []int{2}, []float32{0.5, -0.5})
	y := b.AddActivation("y", Float32, []int{1, 2}, nil)
	z := b.AddActivation("z", Float32, []int{1, 2}, nil)
	b.AddOperator(OpFullyConnected, 1, []int{x, w, bias}, []int{y}, &FullyConnectedOptions{Activation: ActRelu})
	b.AddOperator(OpSoftmax, 1, []int{y}, []int{z}, &SoftmaxOptions{Beta: 1})
	b.SetInputs(x)
	b.SetOutputs(z)
	if bm, err := b.Model(); err == nil {
		if data, err := bm.Marshal(); err == nil {
			f.Add(data)
		}
	}
	recoverPanics = false
	f.Cleanup(func() { recoverPanics = true })
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := Parse(b)
		if err != nil {
			var fe *FormatError
			if !errors.As(err, &fe) {
				t.Fatalf("error %v is a %T, not a *FormatError", err, err)
			}
			return
		}
		out, err := m.Marshal()
		if err != nil {
			if errors.Is(err, ErrUnsupported) {
				return // e.g. options of an unmodeled type that carried fields
			}
			t.Fatalf("Marshal of a parsed model: %v", err)
		}
		m2, err := Parse(out)
		if err != nil {
			t.Fatalf("Parse(Marshal(m)): %v", err)
		}
		if diff := cmp.Diff(m, m2, cmpopts.EquateNaNs()); diff != "" {
			t.Fatalf("round trip (-first +second):\n%s", diff)
		}
	})
}
