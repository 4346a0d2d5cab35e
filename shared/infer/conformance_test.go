package infer

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/megapipe/mega/shared/tflite"
)

// testdataDir returns the official-runtime conformance data: the folder
// ../shared/testdata/tflite next to the repository (or $MEGA_TFLITE_TESTDATA),
// read in place. The test skips when it is absent.
func testdataDir(t testing.TB) string {
	t.Helper()
	d := testdataPath()
	if d == "" {
		t.Skip("conformance data absent (../shared/testdata/tflite next to the repository; set MEGA_TFLITE_TESTDATA): " +
			"models and official outputs come from TFLM (tensorflow/tflite-micro) and LiteRT (google-ai-edge/LiteRT)")
	}
	return d
}

// testdataPath returns the conformance folder, or "" when it is absent.
func testdataPath() string {
	if d := os.Getenv("MEGA_TFLITE_TESTDATA"); d != "" {
		return d
	}
	dir, err := filepath.Abs(".")
	if err != nil {
		return ""
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			break
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return ""
		}
		dir = parent
	}
	d := filepath.Join(dir, "..", "shared", "testdata", "tflite")
	if _, err := os.Stat(filepath.Join(d, "MANIFEST.md")); err != nil {
		return ""
	}
	return d
}

func loadModel(t testing.TB, dir, name string) *tflite.Model {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, name))
	if err != nil {
		t.Fatal(err)
	}
	m, err := tflite.Parse(b)
	if err != nil {
		t.Fatalf("parse %s: %v", name, err)
	}
	return m
}

type oracleOutput struct {
	Index  int       `json:"index"`
	Name   string    `json:"name"`
	DType  string    `json:"dtype"`
	Shape  []int     `json:"shape"`
	SHA256 string    `json:"sha256"`
	Values []float64 `json:"values"`
	File   string    `json:"file"`
}

type oracleCase struct {
	Model   string         `json:"model"`
	Inputs  []string       `json:"inputs"`
	Outputs []oracleOutput `json:"outputs"`
}

func loadOracle(t testing.TB, dir string) map[string]oracleCase {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, "oracle", "oracle_results.json"))
	if err != nil {
		t.Fatal(err)
	}
	var cases map[string]oracleCase
	if err := json.Unmarshal(b, &cases); err != nil {
		t.Fatal(err)
	}
	return cases
}

// setInputs applies the oracle's command-line inputs (--in IDX=FILE,
// --in-json IDX=[..], --fill IDX=V); inputs not given are zero, as there.
func setInputs(t testing.TB, ip *Interpreter, dir string, args []string) {
	t.Helper()
	for i := 0; i < ip.NumInputs(); i++ {
		clear(ip.Input(i).Bytes())
	}
	for i := 0; i+1 < len(args); i += 2 {
		flag, val := args[i], args[i+1]
		idxS, v, ok := strings.Cut(val, "=")
		if !ok {
			t.Fatalf("bad oracle input %q", val)
		}
		idx, err := strconv.Atoi(idxS)
		if err != nil {
			t.Fatal(err)
		}
		in := ip.Input(idx)
		switch flag {
		case "--in":
			b, err := os.ReadFile(filepath.Join(dir, v))
			if err != nil {
				t.Fatal(err)
			}
			if len(b) != len(in.Bytes()) {
				t.Fatalf("input %d: %d bytes for %v %v", idx, len(b), in.Type, in.Shape)
			}
			copy(in.Bytes(), b)
		case "--in-json", "--fill":
			var vals []float64
			if flag == "--in-json" {
				if err := json.Unmarshal([]byte(v), &vals); err != nil {
					t.Fatal(err)
				}
			} else {
				f, err := strconv.ParseFloat(v, 64)
				if err != nil {
					t.Fatal(err)
				}
				vals = make([]float64, in.NumElements())
				for j := range vals {
					vals[j] = f
				}
			}
			switch in.Type {
			case tflite.Float32:
				for j, x := range vals {
					in.Float32s()[j] = float32(x)
				}
			case tflite.Int8:
				for j, x := range vals {
					in.Int8s()[j] = int8(x)
				}
			default:
				t.Fatalf("input type %v", in.Type)
			}
		default:
			t.Fatalf("unknown oracle flag %q", flag)
		}
	}
}

// TestConformanceXNNPack runs every oracle case in XNNPack mode: int8
// outputs must equal the official runtime's bytes, float outputs must agree
// within 1e-5 relative, hashed outputs (pc_conv) must hash the same.
func TestConformanceXNNPack(t *testing.T) {
	dir := testdataDir(t)
	cases := loadOracle(t, dir)
	names := make([]string, 0, len(cases))
	for n := range cases {
		names = append(names, n)
	}
	sort.Strings(names)
	exact, total := 0, 0
	for _, name := range names {
		c := cases[name]
		t.Run(name, func(t *testing.T) {
			ip, err := New(loadModel(t, dir, c.Model), Options{})
			if err != nil {
				t.Fatal(err)
			}
			setInputs(t, ip, dir, c.Inputs)
			if err := ip.Invoke(); err != nil {
				t.Fatal(err)
			}
			for _, want := range c.Outputs {
				got := ip.Output(want.Index)
				total++
				if fmt.Sprint(got.Shape) != fmt.Sprint(want.Shape) {
					t.Errorf("output %d shape %v, want %v", want.Index, got.Shape, want.Shape)
					continue
				}
				sum := sha256.Sum256(got.Bytes())
				if hex.EncodeToString(sum[:]) == want.SHA256 {
					exact++
					continue
				}
				switch {
				case want.DType == "int8" || want.File == "":
					t.Errorf("output %d (%s) differs from the official runtime (sha256 %x, want %s)%s",
						want.Index, want.DType, sum, want.SHA256, diffInt8(got, want))
				default:
					b, err := os.ReadFile(filepath.Join(dir, want.File))
					if err != nil {
						t.Fatal(err)
					}
					checkFloat(t, got.Float32s(), b, 1e-5)
				}
			}
		})
	}
	t.Logf("%d of %d outputs bit-identical to the official runtime", exact, total)
}

func diffInt8(got *Tensor, want oracleOutput) string {
	if got.Type != tflite.Int8 || len(want.Values) == 0 {
		return ""
	}
	var sb strings.Builder
	n := 0
	for i, v := range got.Int8s() {
		if i < len(want.Values) && float64(v) != want.Values[i] {
			if n < 5 {
				fmt.Fprintf(&sb, " [%d] %d want %v;", i, v, want.Values[i])
			}
			n++
		}
	}
	return fmt.Sprintf(": %d elements differ:%s", n, sb.String())
}

func checkFloat(t *testing.T, got []float32, wantBytes []byte, rel float64) {
	t.Helper()
	if len(wantBytes) != 4*len(got) {
		t.Fatalf("%d floats, want %d", len(got), len(wantBytes)/4)
	}
	bad := 0
	for i, g := range got {
		w := math.Float32frombits(binary.LittleEndian.Uint32(wantBytes[4*i:]))
		if d := math.Abs(float64(g) - float64(w)); d > rel*math.Abs(float64(w)) && d > 1e-7 {
			if bad < 5 {
				t.Errorf("[%d] = %v, want %v (rel diff %.3g)", i, g, w, d/math.Abs(float64(w)))
			}
			bad++
		}
	}
	if bad > 0 {
		t.Errorf("%d of %d floats beyond %g relative", bad, len(got), rel)
	}
}

// TestHelloWorldSweep checks all 256 int8 inputs of hello_world_int8 against
// the official runtime (XNNPack mode: exact).
func TestHelloWorldSweep(t *testing.T) {
	dir := testdataDir(t)
	b, err := os.ReadFile(filepath.Join(dir, "hello_world_int8_sweep.json"))
	if err != nil {
		t.Fatal(err)
	}
	var sweep struct {
		Model  string `json:"model"`
		InputQ []int  `json:"input_q"`
		Output []int  `json:"oracle_output_q"`
	}
	if err := json.Unmarshal(b, &sweep); err != nil {
		t.Fatal(err)
	}
	if len(sweep.InputQ) != 256 || len(sweep.Output) != 256 {
		t.Fatalf("sweep has %d inputs and %d outputs", len(sweep.InputQ), len(sweep.Output))
	}
	ip, err := New(loadModel(t, dir, sweep.Model), Options{})
	if err != nil {
		t.Fatal(err)
	}
	mismatch := 0
	for i, q := range sweep.InputQ {
		ip.Input(0).Int8s()[0] = int8(q)
		if err := ip.Invoke(); err != nil {
			t.Fatal(err)
		}
		if got := int(ip.Output(0).Int8s()[0]); got != sweep.Output[i] {
			if mismatch < 5 {
				t.Errorf("input %d: got %d, official runtime %d", q, got, sweep.Output[i])
			}
			mismatch++
		}
	}
	if mismatch > 0 {
		t.Errorf("%d of 256 differ", mismatch)
	}
	// Reference (gemmlowp) requantization differs from the official runtime
	// on 23 of the 256 inputs (MANIFEST.md, "Caveat on bit-exactness").
	ref, err := New(loadModel(t, dir, sweep.Model), Options{Requant: Reference})
	if err != nil {
		t.Fatal(err)
	}
	differ := 0
	for i, q := range sweep.InputQ {
		ref.Input(0).Int8s()[0] = int8(q)
		if err := ref.Invoke(); err != nil {
			t.Fatal(err)
		}
		if got := int(ref.Output(0).Int8s()[0]); got != sweep.Output[i] {
			differ++
		}
	}
	if differ != 23 {
		t.Errorf("reference mode differs from the official runtime on %d of 256 inputs, MANIFEST reports 23", differ)
	}
}

// TestReferenceModeOrigins checks, in Reference mode, the assertions of each
// model's origin test (TFLM person_detection_test.cc and hello_world_test.cc).
func TestReferenceModeOrigins(t *testing.T) {
	dir := testdataDir(t)
	t.Run("person_detect", func(t *testing.T) {
		ip, err := New(loadModel(t, dir, "person_detect.tflite"), Options{Requant: Reference})
		if err != nil {
			t.Fatal(err)
		}
		for _, tc := range []struct {
			file   string
			person bool
			want   []int8 // the oracle README's figure for reference kernels, where given
		}{{"person_image_int8.bin", true, nil}, {"no_person_image_int8.bin", false, []int8{57, -57}}} {
			setInputs(t, ip, dir, []string{"--in", "0=" + tc.file})
			if err := ip.Invoke(); err != nil {
				t.Fatal(err)
			}
			out := ip.Output(0).Int8s()
			if (out[1] > out[0]) != tc.person {
				t.Errorf("%s: scores %v, want person=%v", tc.file, out, tc.person)
			}
			if tc.want != nil && fmt.Sprint(out) != fmt.Sprint(tc.want) {
				t.Errorf("%s: reference kernels give %v, the oracle README reports %v", tc.file, out, tc.want)
			}
		}
	})
	t.Run("hello_world_int8", func(t *testing.T) {
		ip, err := New(loadModel(t, dir, "hello_world_int8.tflite"), Options{Requant: Reference})
		if err != nil {
			t.Fatal(err)
		}
		in, out := ip.Input(0), ip.Output(0)
		for _, x := range []float64{0.77, 1.57, 2.3, 3.14} {
			q := int8(math.Round(x/float64(in.Scale())) + float64(in.ZeroPoint()))
			in.Int8s()[0] = q
			if err := ip.Invoke(); err != nil {
				t.Fatal(err)
			}
			y := float64(out.Int8s()[0]-int8(out.ZeroPoint())) * float64(out.Scale())
			if math.Abs(y-math.Sin(x)) > 0.05 {
				t.Errorf("x=%v (q=%d): y=%v, sin=%v", x, q, y, math.Sin(x))
			}
		}
	})
	t.Run("hello_world_float", func(t *testing.T) {
		ip, err := New(loadModel(t, dir, "hello_world_float.tflite"), Options{Requant: Reference})
		if err != nil {
			t.Fatal(err)
		}
		for _, x := range []float32{0, 1, 3, 5} {
			ip.Input(0).Float32s()[0] = x
			if err := ip.Invoke(); err != nil {
				t.Fatal(err)
			}
			if y := ip.Output(0).Float32s()[0]; math.Abs(float64(y)-math.Sin(float64(x))) > 0.05 {
				t.Errorf("x=%v: y=%v, sin=%v", x, y, math.Sin(float64(x)))
			}
		}
	})
}

// TestEveryModelLoads loads and runs every model in the conformance folder
// in both modes.
func TestEveryModelLoads(t *testing.T) {
	dir := testdataDir(t)
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, e := range ents {
		if !strings.HasSuffix(e.Name(), ".tflite") && !strings.HasSuffix(e.Name(), ".bin") || strings.HasSuffix(e.Name(), "_int8.bin") {
			continue
		}
		for _, mode := range []Requant{XNNPack, Reference} {
			ip, err := New(loadModel(t, dir, e.Name()), Options{Requant: mode})
			if err != nil {
				t.Errorf("%s (%v): %v", e.Name(), mode, err)
				continue
			}
			if err := ip.Invoke(); err != nil {
				t.Errorf("%s (%v): invoke: %v", e.Name(), mode, err)
			}
		}
		n++
	}
	if n != 13 {
		t.Errorf("ran %d models, the MANIFEST lists 13", n)
	}
}
