package quant_test

import (
	"context"
	"encoding/binary"
	"errors"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/megapipe/mega/shared/infer"
	"github.com/megapipe/mega/shared/quant"
	"github.com/megapipe/mega/shared/tflite"
)

// zooDir is the Keras zoo of shared/infer (made with the official converter).
var zooDir = filepath.Join("..", "infer", "testdata", "zoo")

func readZoo(t *testing.T, name string) *tflite.Model {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(zooDir, name+".tflite"))
	if err != nil {
		t.Skipf("zoo model absent (%v): run shared/infer/testdata/zoo/make_zoo.py", err)
	}
	m, err := tflite.Parse(b)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func readF32(t *testing.T, path string) []float32 {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	v := make([]float32, len(b)/4)
	for i := range v {
		v[i] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:]))
	}
	return v
}

// TestQuantizeConverterOutput quantizes float models written by the
// TensorFlow converter (shared constants, shape subgraphs from Flatten,
// attention, several inputs and outputs) and holds the int8 model's output
// on the zoo's fixed input to LiteRT's float output (the zoo golden file,
// independent of this package): mean absolute error within 15% of the float
// output's range (binary_ops, whose output concatenates products and
// differences of two int8 inputs, is the widest at 12%).
func TestQuantizeConverterOutput(t *testing.T) {
	for _, name := range []string{"cnn_small_f32", "efficientnet_block_f32", "resnet_small_f32", "separable_f32",
		"transformer_block_f32", "binary_ops_f32", "permute_reshape_f32", "pool1d_global_f32", "unet_f32", "text_classifier_f32", "activations_f32", "mobilenet_v2_f32"} {
		t.Run(name, func(t *testing.T) {
			m := readZoo(t, name)
			ip, err := infer.New(m, infer.Options{})
			if err != nil {
				t.Fatal(err)
			}
			// Calibration: seeded uniform [-1, 1] samples, as make_zoo.py's
			// representative dataset.
			r := rand.New(rand.NewPCG(1, 2))
			var samples [][][]float32
			for range 32 {
				var s [][]float32
				for i := range ip.NumInputs() {
					v := make([]float32, ip.Input(i).NumElements())
					for j := range v {
						if ip.Input(i).Type == tflite.Int32 {
							v[j] = float32(r.IntN(50)) // token ids
						} else {
							v[j] = float32(r.Float64()*2 - 1)
						}
					}
					s = append(s, v)
				}
				samples = append(samples, s)
			}
			q, _, err := quant.Quantize(context.Background(), m, quant.Samples(samples), quant.Options{})
			if err != nil {
				t.Fatal(err)
			}
			qi, err := infer.New(q, infer.Options{})
			if err != nil {
				t.Fatal(err)
			}
			for i := range qi.NumInputs() {
				raw, err := os.ReadFile(filepath.Join(zooDir, name+".in"+string(rune('0'+i))+".bin"))
				if err != nil || len(raw) != len(qi.Input(i).Bytes()) {
					t.Fatalf("input %d: %d bytes (%v) for %v %v", i, len(raw), err, qi.Input(i).Type, qi.Input(i).Shape)
				}
				copy(qi.Input(i).Bytes(), raw)
			}
			if err := qi.Invoke(); err != nil {
				t.Fatal(err)
			}
			want := readF32(t, filepath.Join(zooDir, name+".out0.bin"))
			got := qi.Output(0).Float32s()
			if len(got) != len(want) {
				t.Fatalf("%d outputs, want %d", len(got), len(want))
			}
			// The scale is the float output's range, or its largest magnitude
			// when larger (a random-weight MobileNet's softmax is nearly flat).
			lo, hi, mag := want[0], want[0], float32(0)
			for _, v := range want {
				lo, hi, mag = min(lo, v), max(hi, v), max(mag, float32(math.Abs(float64(v))))
			}
			var sum float64
			for j := range got {
				sum += math.Abs(float64(got[j] - want[j]))
			}
			rel := sum / float64(len(got)) / math.Max(float64(max(hi-lo, mag)), 1e-6)
			t.Logf("mean abs error / range %.4f", rel)
			if rel > 0.15 {
				t.Errorf("int8 output off LiteRT's float output: mean abs error / range %.4f", rel)
			}
		})
	}
}

// TestQuantizeNamesWhatItCannot: an operator without an int8 rule is named
// with its output tensor.
func TestQuantizeNamesWhatItCannot(t *testing.T) {
	m := readZoo(t, "misc_ops_f32")
	_, _, err := quant.Quantize(context.Background(), m, nil, quant.Options{})
	if !errors.Is(err, quant.ErrUnsupported) || !strings.Contains(err.Error(), "CAST") ||
		!strings.Contains(err.Error(), "StatefulPartitionedCall_1:2") {
		t.Errorf("Quantize = %v, want ErrUnsupported naming CAST and its output tensor", err)
	}
}
