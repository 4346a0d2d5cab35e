package quant_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"flag"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/megapipe/mega/shared/infer"
	"github.com/megapipe/mega/shared/quant"
	"github.com/megapipe/mega/shared/tflite"
	"github.com/megapipe/mega/shared/tflite/tflitetest"
)

var exportDir = flag.String("quant.export", "", "write every golden case's quantized model and inputs to this folder "+
	"(then run testdata/oracle_golden.py to refresh testdata/golden.json from the official runtime)")

// goldenFile is testdata/golden.json: the official runtime's outputs for
// the quantized models, written by testdata/oracle_golden.py.
type goldenFile struct {
	Runtime string                 `json:"runtime"`
	Cases   map[string]goldenEntry `json:"cases"`
}

type goldenEntry struct {
	ModelSHA256  string         `json:"model_sha256"`
	InputsSHA256 []string       `json:"inputs_sha256"`
	Outputs      []goldenOutput `json:"outputs"`
}

type goldenOutput struct {
	Dtype  string    `json:"dtype"`
	Shape  []int     `json:"shape"`
	Values []float64 `json:"values"`
}

type exportedCase struct {
	Name   string   `json:"name"`
	Model  string   `json:"model"`
	Inputs []string `json:"inputs"`
}

// makeCase quantizes a golden case and encodes its inputs for the
// quantized model. It skips when a conformance model is absent.
func makeCase(t *testing.T, c goldenCase) (model []byte, inputs [][]byte) {
	t.Helper()
	var m *tflite.Model
	if c.conformance != "" {
		d := tflitetest.Dir(t)
		b, err := os.ReadFile(filepath.Join(d, c.conformance))
		if err != nil {
			t.Fatal(err)
		}
		if m, err = tflite.Parse(b); err != nil {
			t.Fatal(err)
		}
	} else {
		m = c.float(t)
	}
	if c.override != nil {
		c.override(m)
	}
	q, _, err := quant.Quantize(context.Background(), m, c.calib, c.opts)
	if err != nil {
		t.Fatalf("Quantize: %v", err)
	}
	model, err = q.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	sg := q.Subgraphs[0]
	if len(sg.Inputs) != len(c.inputs) {
		t.Fatalf("%d inputs, the case has %d", len(sg.Inputs), len(c.inputs))
	}
	for i, ti := range sg.Inputs {
		tn := sg.Tensors[ti]
		if tn.NumElements() != len(c.inputs[i]) {
			t.Fatalf("input %d holds %d values, the case has %d", i, tn.NumElements(), len(c.inputs[i]))
		}
		switch tn.Type {
		case tflite.Float32:
			inputs = append(inputs, tflite.Float32Bytes(c.inputs[i]))
		case tflite.Int8:
			s, zp := tn.Quantization.Scale[0], tn.Quantization.ZeroPoint[0]
			v := make([]int8, len(c.inputs[i]))
			for k, x := range c.inputs[i] {
				v[k] = int8(max(-128, min(127, math.Round(float64(x/s))+float64(zp))))
			}
			inputs = append(inputs, tflite.Int8Bytes(v))
		default:
			t.Fatalf("input %d is %s", i, tn.Type)
		}
	}
	return model, inputs
}

// TestGoldenOfficialRuntime quantizes each case and checks that the Go
// interpreter in xnnpack mode gives exactly the official runtime's outputs
// for the same quantized model (testdata/golden.json, made by
// testdata/oracle_golden.py with ../shared/tools/tflite-oracle).
func TestGoldenOfficialRuntime(t *testing.T) {
	var golden goldenFile
	if *exportDir == "" {
		b, err := os.ReadFile("testdata/golden.json")
		if err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(b, &golden); err != nil {
			t.Fatal(err)
		}
	}
	var exported []exportedCase
	for _, c := range goldenCases() {
		t.Run(c.name, func(t *testing.T) {
			model, inputs := makeCase(t, c)
			sum := sha256.Sum256(model)
			if *exportDir != "" {
				ec := exportedCase{Name: c.name, Model: c.name + ".tflite"}
				if err := os.WriteFile(filepath.Join(*exportDir, ec.Model), model, 0o644); err != nil {
					t.Fatal(err)
				}
				for i, in := range inputs {
					f := fmt.Sprintf("%s.in%d.bin", c.name, i)
					if err := os.WriteFile(filepath.Join(*exportDir, f), in, 0o644); err != nil {
						t.Fatal(err)
					}
					ec.Inputs = append(ec.Inputs, f)
				}
				exported = append(exported, ec)
				return
			}
			want, ok := golden.Cases[c.name]
			if !ok {
				t.Fatalf("no golden outputs for %s: run go test -quant.export DIR and testdata/oracle_golden.py", c.name)
			}
			if got := hex.EncodeToString(sum[:]); got != want.ModelSHA256 {
				t.Fatalf("quantized model sha256 %s, golden.json has %s: the quantizer's output changed; "+
					"regenerate the golden outputs (go test -quant.export DIR, then testdata/oracle_golden.py)", got, want.ModelSHA256)
			}
			for i, in := range inputs {
				s := sha256.Sum256(in)
				if i >= len(want.InputsSHA256) || hex.EncodeToString(s[:]) != want.InputsSHA256[i] {
					t.Fatalf("input %d differs from the one the official runtime ran: regenerate the golden outputs", i)
				}
			}
			q, err := tflite.Parse(model)
			if err != nil {
				t.Fatal(err)
			}
			ip, err := infer.New(q, infer.Options{Requant: infer.XNNPack})
			if err != nil {
				t.Fatalf("infer.New: %v", err)
			}
			for i, in := range inputs {
				copy(ip.Input(i).Bytes(), in)
			}
			if err := ip.Invoke(); err != nil {
				t.Fatal(err)
			}
			if ip.NumOutputs() != len(want.Outputs) {
				t.Fatalf("%d outputs, golden has %d", ip.NumOutputs(), len(want.Outputs))
			}
			for i, wo := range want.Outputs {
				o := ip.Output(i)
				if o.Type.String() != map[string]string{"float32": "FLOAT32", "int8": "INT8"}[wo.Dtype] {
					t.Errorf("output %d: dtype %s, official %s", i, o.Type, wo.Dtype)
					continue
				}
				var got []float64
				switch o.Type {
				case tflite.Float32:
					for _, v := range o.Float32s() {
						got = append(got, float64(v))
					}
				case tflite.Int8:
					for _, v := range o.Int8s() {
						got = append(got, float64(v))
					}
				}
				if len(got) != len(wo.Values) {
					t.Fatalf("output %d: %d values, official %d", i, len(got), len(wo.Values))
				}
				diff := 0
				for k := range got {
					if float32(got[k]) != float32(wo.Values[k]) {
						if diff < 5 {
							t.Errorf("output %d[%d] = %v, official runtime %v", i, k, got[k], wo.Values[k])
						}
						diff++
					}
				}
				if diff > 0 {
					t.Errorf("output %d: %d of %d values differ from the official runtime", i, diff, len(got))
				}
			}
		})
	}
	if *exportDir != "" {
		b, _ := json.MarshalIndent(exported, "", "  ")
		if err := os.WriteFile(filepath.Join(*exportDir, "cases.json"), b, 0o644); err != nil {
			t.Fatal(err)
		}
		t.Logf("exported %d cases to %s", len(exported), *exportDir)
	}
}
