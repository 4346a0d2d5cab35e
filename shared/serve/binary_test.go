package serve

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"math"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/megapipe/mega/shared/nn"
	"github.com/megapipe/mega/shared/tflite"
)

// binRows are rows the binary form can carry (it has no null).
var binRows = []struct {
	age    int32
	plan   string
	income float64
}{{35, "pro", 60}, {22, "basic", 12.5}, {71, "enterprise", -3}}

// binTensor is one input of a test request: JSON header part and raw data.
type binTensor struct {
	name, dt string
	shape    []int
	raw      []byte
}

// binBody builds a request in the binary tensor data extension, written
// from the extension's specification (independently of the server's
// parser), and returns the body and the JSON header length.
func binBody(t testing.TB, ins []binTensor, extra map[string]any) ([]byte, int) {
	t.Helper()
	var js []map[string]any
	var bin []byte
	for _, in := range ins {
		js = append(js, map[string]any{"name": in.name, "datatype": in.dt, "shape": in.shape,
			"parameters": map[string]any{"binary_data_size": len(in.raw)}})
		bin = append(bin, in.raw...)
	}
	req := map[string]any{"inputs": js}
	for k, v := range extra {
		req[k] = v
	}
	h, err := json.Marshal(req)
	if err != nil {
		t.Fatal(err)
	}
	return append(h, bin...), len(h)
}

func le32(vs ...int32) []byte {
	var b []byte
	for _, v := range vs {
		b = binary.LittleEndian.AppendUint32(b, uint32(v))
	}
	return b
}

func leF32(vs ...float32) []byte {
	var b []byte
	for _, v := range vs {
		b = binary.LittleEndian.AppendUint32(b, math.Float32bits(v))
	}
	return b
}

func leF64(vs ...float64) []byte {
	var b []byte
	for _, v := range vs {
		b = binary.LittleEndian.AppendUint64(b, math.Float64bits(v))
	}
	return b
}

func strs(vs ...string) []byte {
	var b []byte
	for _, v := range vs {
		b = binary.LittleEndian.AppendUint32(b, uint32(len(v)))
		b = append(b, v...)
	}
	return b
}

// binRowsTensors is binRows as three binary tensors (INT32, BYTES, FP64).
func binRowsTensors() []binTensor {
	var ages []int32
	var plans []string
	var incomes []float64
	for _, r := range binRows {
		ages, plans, incomes = append(ages, r.age), append(plans, r.plan), append(incomes, r.income)
	}
	n := len(binRows)
	return []binTensor{
		{"age", "INT32", []int{n}, le32(ages...)},
		{"plan", "BYTES", []int{n, 1}, strs(plans...)},
		{"income", "FP64", []int{n}, leF64(incomes...)},
	}
}

// postBin sends a body with Inference-Header-Content-Length hl (none if
// hl < 0) and returns the recorder.
func postBin(h http.Handler, path string, body []byte, hl int) *httptest.ResponseRecorder {
	req := httptest.NewRequest("POST", path, bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/octet-stream")
	if hl >= 0 {
		req.Header.Set("Inference-Header-Content-Length", strconv.Itoa(hl))
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

// v2Answer is a decoded v2 answer, binary outputs included.
type v2Answer struct {
	Outputs []struct {
		Name       string          `json:"name"`
		Datatype   string          `json:"datatype"`
		Shape      []int           `json:"shape"`
		Data       json.RawMessage `json:"data"`
		Parameters struct {
			BinaryDataSize *int `json:"binary_data_size"`
		} `json:"parameters"`
	} `json:"outputs"`
	probs  [][]float32
	labels []string
}

func readV2Answer(t *testing.T, rec *httptest.ResponseRecorder) v2Answer {
	t.Helper()
	body := rec.Body.Bytes()
	hl := len(body)
	if v := rec.Header().Get("Inference-Header-Content-Length"); v != "" {
		var err error
		if hl, err = strconv.Atoi(v); err != nil || hl > len(body) {
			t.Fatalf("Inference-Header-Content-Length %q, body %d bytes", v, len(body))
		}
	}
	var a v2Answer
	if err := json.Unmarshal(body[:hl], &a); err != nil {
		t.Fatalf("header is not JSON: %v: %q", err, body[:hl])
	}
	bin := body[hl:]
	for _, o := range a.Outputs {
		var raw []byte
		if sz := o.Parameters.BinaryDataSize; sz != nil {
			if *sz > len(bin) {
				t.Fatalf("output %s: binary_data_size %d, %d bytes left", o.Name, *sz, len(bin))
			}
			raw, bin = bin[:*sz], bin[*sz:]
		}
		switch o.Name {
		case "probabilities", "value":
			var flat []float32
			if raw != nil {
				for i := 0; i+4 <= len(raw); i += 4 {
					flat = append(flat, math.Float32frombits(binary.LittleEndian.Uint32(raw[i:])))
				}
			} else if err := json.Unmarshal(o.Data, &flat); err != nil {
				t.Fatal(err)
			}
			k := 1
			if len(o.Shape) == 2 {
				k = o.Shape[1]
			}
			for i := 0; i < o.Shape[0]; i++ {
				a.probs = append(a.probs, flat[i*k:(i+1)*k])
			}
		case "label":
			if raw != nil {
				for len(raw) >= 4 {
					n := int(binary.LittleEndian.Uint32(raw))
					a.labels = append(a.labels, string(raw[4:4+n]))
					raw = raw[4+n:]
				}
			} else if err := json.Unmarshal(o.Data, &a.labels); err != nil {
				t.Fatal(err)
			}
		}
	}
	if len(bin) != 0 {
		t.Errorf("%d bytes of binary data no output claims", len(bin))
	}
	return a
}

// The binary extension gives the outputs of the interpreter run directly on
// the rows encoded by package features, in every mix of binary and JSON
// outputs.
func TestV2Binary(t *testing.T) {
	model := fcModel(t, 3, tflite.OpSoftmax)
	classes := []string{"stay", "leave", "maybe"}
	spec := testSpec(nn.Multiclass, classes)
	s := newTestServer(t, ModelConfig{Name: "m", Version: "v2", TFLite: model, Spec: spec})
	var raw [][]float32
	for _, r := range binRows {
		x := make([]float32, spec.Width())
		if err := spec.EncodeObject(map[string]any{"age": float64(r.age), "plan": r.plan, "income": r.income}, x); err != nil {
			t.Fatal(err)
		}
		raw = append(raw, direct(t, model, x))
	}
	wantProbs, wantLabels, _ := wantOutputs(TaskMulticlass, raw)
	tests := []struct {
		name      string
		extra     map[string]any
		binary    []string // outputs expected in binary form
		hasHeader bool
	}{
		{"binary_data_output", map[string]any{"parameters": map[string]any{"binary_data_output": true}}, []string{"probabilities", "label"}, true},
		{"per output", map[string]any{"outputs": []any{
			map[string]any{"name": "probabilities", "parameters": map[string]any{"binary_data": true}},
			map[string]any{"name": "label", "parameters": map[string]any{"binary_data": false}}}}, []string{"probabilities"}, true},
		{"json outputs", nil, nil, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			body, hl := binBody(t, binRowsTensors(), tc.extra)
			rec := postBin(s, "/v2/models/m/infer", body, hl)
			if rec.Code != http.StatusOK {
				t.Fatalf("status %d: %s", rec.Code, rec.Body)
			}
			if got := rec.Header().Get("Inference-Header-Content-Length") != ""; got != tc.hasHeader {
				t.Errorf("Inference-Header-Content-Length present %v, want %v", got, tc.hasHeader)
			}
			a := readV2Answer(t, rec)
			var bin []string
			for _, o := range a.Outputs {
				if o.Parameters.BinaryDataSize != nil {
					bin = append(bin, o.Name)
				}
			}
			if diff := cmp.Diff(tc.binary, bin); diff != "" {
				t.Errorf("binary outputs (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(wantProbs, a.probs); diff != "" {
				t.Errorf("probabilities (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(wantLabels, a.labels); diff != "" {
				t.Errorf("labels (-want +got):\n%s", diff)
			}
		})
	}

	// One [n, 3] FP32 tensor is refused for this model (it has a category),
	// but a numeric model takes it in binary form too.
	reg := fcModel(t, 1, 0)
	s2 := newTestServer(t, ModelConfig{Name: "r", Version: "v1", TFLite: reg})
	body, hl := binBody(t, []binTensor{{"x", "FP32", []int{2, 4}, leF32(1, 0, 1, 2, 3, 1, 0, 4)}},
		map[string]any{"parameters": map[string]any{"binary_data_output": true}})
	a := readV2Answer(t, postBin(s2, "/v2/models/r/infer", body, hl))
	want := [][]float32{direct(t, reg, []float32{1, 0, 1, 2}), direct(t, reg, []float32{3, 1, 0, 4})}
	if diff := cmp.Diff(want, a.probs); diff != "" {
		t.Errorf("regression values (-want +got):\n%s", diff)
	}
}

func TestV2BinaryBadInput(t *testing.T) {
	spec := testSpec(nn.Multiclass, []string{"stay", "leave", "maybe"})
	s := NewServer(Options{MaxBody: 4096, MaxInstances: 8})
	m, err := LoadModel(ModelConfig{Name: "m", Version: "v1", TFLite: fcModel(t, 3, tflite.OpSoftmax), Spec: spec})
	if err != nil {
		t.Fatal(err)
	}
	s.Install(m)
	good := binRowsTensors()
	with := func(i int, f func(*binTensor)) []binTensor {
		ts := append([]binTensor(nil), good...)
		f(&ts[i])
		return ts
	}
	type req struct {
		body []byte
		hl   int
	}
	mk := func(ts []binTensor) req {
		b, hl := binBody(t, ts, nil)
		return req{b, hl}
	}
	full := mk(good)
	tests := []struct {
		name string
		req  req
		code int
		err  string
	}{
		{"bytes for a number", mk(with(0, func(b *binTensor) { b.dt, b.raw = "BYTES", strs("a", "b", "c") })), 400, `inputs[row 0].age: want a number, got the string "a"`},
		{"number for a category", mk(with(1, func(b *binTensor) { b.dt, b.raw = "INT32", le32(1, 2, 3) })), 400, `inputs[row 0].plan: want a category (string), got a number`},
		{"bool", mk(with(0, func(b *binTensor) { b.dt, b.raw = "BOOL", []byte{1, 0, 1} })), 400, `inputs[row 0].age: want a number, got a boolean`},
		{"unknown datatype", mk(with(0, func(b *binTensor) { b.dt = "FP8" })), 400, `inputs[0].datatype: unknown datatype "FP8"`},
		{"fp16", mk(with(0, func(b *binTensor) { b.dt, b.raw = "FP16", make([]byte, 6) })), 400, `inputs[0].data: datatype FP16 is not supported in binary form`},
		{"size for shape", mk(with(2, func(b *binTensor) { b.raw = leF64(1, 2) })), 400, `inputs[2].data: 16 bytes of FP64, the shape needs 24 (3 values)`},
		{"bytes count", mk(with(1, func(b *binTensor) { b.raw = strs("pro", "basic") })), 400, `inputs[1].data: 2 values, the shape needs 3`},
		{"bytes length past end", mk(with(1, func(b *binTensor) { b.raw = append(strs("pro", "basic"), 9, 0, 0, 0, 'x') })), 400, `BYTES element 2: length 9, but only 1 bytes remain`},
		{"nan", mk(with(2, func(b *binTensor) { b.raw = leF64(1, math.NaN(), 2) })), 400, `inputs[row 1].income: not a finite number`},
		{"truncated body", req{full.body[:len(full.body)-5], full.hl}, 400, `inputs[2].parameters.binary_data_size: 24 bytes, but only 19 remain in the binary part (truncated body?)`},
		{"unclaimed bytes", req{append(append([]byte(nil), full.body...), 1, 2), full.hl}, 400, `body: 2 bytes of binary data that no input claims`},
		{"header past body", req{full.body, len(full.body) + 1}, 400, `Inference-Header-Content-Length: ` + strconv.Itoa(len(full.body)+1) + ` bytes, but the body has only`},
		{"header cut in JSON", req{full.body, full.hl - 3}, 400, `not a KServe v2 inference request`},
		{"no header", req{full.body[:full.hl], -1}, 400, `inputs[0].parameters.binary_data_size: given, but the request has no Inference-Header-Content-Length header`},
		{"data and size", func() req {
			h := `{"inputs":[{"name":"age","shape":[1],"datatype":"FP32","data":[1],"parameters":{"binary_data_size":4}}]}`
			return req{append([]byte(h), leF32(1)...), len(h)}
		}(), 400, `inputs[0]: give data or binary_data_size, not both`},
		{"shape over limit", mk([]binTensor{{"x", "FP32", []int{9, 3}, leF32(make([]float32, 27)...)}}), 400, `inputs[0].shape: more than 8 instances in one request`},
		{"oversize", mk(with(1, func(b *binTensor) { b.raw = strs("pro", "basic", strings.Repeat("x", 5000)) })), 413, `exceeds the limit of 4096`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rec := postBin(s, "/v2/models/m/infer", tc.req.body, tc.req.hl)
			if rec.Code != tc.code {
				t.Errorf("status %d, want %d (%s)", rec.Code, tc.code, rec.Body)
			}
			var ans map[string]string
			if err := json.Unmarshal(rec.Body.Bytes(), &ans); err != nil {
				t.Fatalf("error answer is not JSON: %q", rec.Body)
			}
			if !strings.Contains(ans["error"], tc.err) {
				t.Errorf("error %q\nwant it to contain %q", ans["error"], tc.err)
			}
		})
	}
}

func TestV2Extensions(t *testing.T) {
	s := newTestServer(t)
	_, ans := call(t, s, "GET", "/v2", "")
	if diff := cmp.Diff([]any{"binary_tensor_data"}, ans["extensions"]); diff != "" {
		t.Errorf("extensions (-want +got):\n%s", diff)
	}
}

// FuzzDecodeV2Binary feeds the binary request parser arbitrary bodies and
// header lengths: it answers or refuses with a 400 naming the field, never
// panics, and what it accepts has as many instances as the shapes say.
func FuzzDecodeV2Binary(f *testing.F) {
	body, hl := binBody(f, binRowsTensors(), nil)
	f.Add(body, hl)
	f.Add(body[:len(body)-3], hl)
	b2, hl2 := binBody(f, []binTensor{{"x", "UINT8", []int{1, 3}, []byte{1, 2, 3}}}, nil)
	f.Add(b2, hl2)
	b3, hl3 := binBody(f, []binTensor{{"plan", "BYTES", []int{2}, strs("pro", "")}, {"age", "INT64", []int{2}, make([]byte, 16)}}, nil)
	f.Add(b3, hl3)
	spec := testSpec(nn.Multiclass, []string{"stay", "leave", "maybe"})
	m, err := LoadModel(ModelConfig{Name: "m", Version: "v1", TFLite: fcModel(f, 3, tflite.OpSoftmax), Spec: spec, Workers: 1})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, body []byte, hl int) {
		h := http.Header{}
		h.Set("Inference-Header-Content-Length", strconv.Itoa(hl))
		b := getBatch(m, 16)
		defer putBatch(b)
		js, bin, err := splitV2Body(h, body)
		if err == nil {
			_, err = b.decodeV2(m, js, bin)
		}
		if err == nil {
			err = b.encode(m, func(i int) string { return "inputs[row " + strconv.Itoa(i) + "]" })
		}
		if err != nil {
			if _, ok := err.(*InputError); !ok {
				t.Fatalf("error %v (%T) is not an input error", err, err)
			}
			return
		}
		if b.n < 1 || b.n > 16 || len(b.x) != b.n*m.width {
			t.Fatalf("accepted %d instances, input of %d values", b.n, len(b.x))
		}
	})
}
