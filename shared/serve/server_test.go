package serve

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/megapipe/mega/shared/features"
	"github.com/megapipe/mega/shared/nn"
	"github.com/megapipe/mega/shared/quant"
	"github.com/megapipe/mega/shared/tflite"
)

func newTestServer(t testing.TB, cfgs ...ModelConfig) *Server {
	t.Helper()
	s := NewServer(Options{DeployedModelID: "dm-1"})
	for _, c := range cfgs {
		m, err := LoadModel(c)
		if err != nil {
			t.Fatalf("load %s: %v", c.Name, err)
		}
		s.Install(m)
	}
	s.SetReady(true)
	return s
}

// call sends a request to the handler and decodes the JSON answer.
func call(t testing.TB, h http.Handler, method, path, body string) (int, map[string]any) {
	t.Helper()
	req := httptest.NewRequest(method, path, strings.NewReader(body))
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	var out map[string]any
	dec := json.NewDecoder(rec.Body)
	dec.UseNumber()
	if err := dec.Decode(&out); err != nil {
		t.Fatalf("%s %s: answer is not JSON: %v", method, path, err)
	}
	if ct := rec.Header().Get("Content-Type"); ct != "application/json" {
		t.Errorf("%s %s: Content-Type %q", method, path, ct)
	}
	return rec.Code, out
}

func f32(t testing.TB, v any) float32 {
	t.Helper()
	n, ok := v.(json.Number)
	if !ok {
		t.Fatalf("want a number, got %T %v", v, v)
	}
	f, err := strconv.ParseFloat(string(n), 32)
	if err != nil {
		t.Fatal(err)
	}
	return float32(f)
}

func f32s(t testing.TB, v any) []float32 {
	t.Helper()
	var out []float32
	for _, x := range v.([]any) {
		out = append(out, f32(t, x))
	}
	return out
}

var testRows = []map[string]any{
	{"age": 35.0, "plan": "pro", "income": 60.0},
	{"age": nil, "plan": "basic", "income": 12.5},
	{"plan": "pro", "income": 80.0},
	{"age": 71.0, "plan": "enterprise", "income": -3.0}, // unknown category: all zeros
}

// expected encodes rows with package features (the reference encoder) and
// runs them through a fresh interpreter.
func expected(t testing.TB, model []byte, spec *features.Spec) [][]float32 {
	t.Helper()
	var out [][]float32
	for _, r := range testRows {
		x := make([]float32, spec.Width())
		if err := spec.EncodeObject(r, x); err != nil {
			t.Fatal(err)
		}
		out = append(out, direct(t, model, x))
	}
	return out
}

func rowsJSON(form string) string {
	var parts []string
	for _, r := range testRows {
		switch form {
		case "objects":
			b, _ := json.Marshal(r)
			parts = append(parts, string(b))
		case "lists":
			b, _ := json.Marshal([]any{r["age"], r["plan"], r["income"]})
			parts = append(parts, string(b))
		}
	}
	return "[" + strings.Join(parts, ",") + "]"
}

func columnsJSON() string {
	cols := map[string][]any{}
	for _, r := range testRows {
		for _, k := range []string{"age", "plan", "income"} {
			cols[k] = append(cols[k], r[k])
		}
	}
	b, _ := json.Marshal(cols)
	return string(b)
}

func v2JSON() string {
	cols := map[string][]any{}
	for _, r := range testRows {
		for _, k := range []string{"age", "plan", "income"} {
			cols[k] = append(cols[k], r[k])
		}
	}
	var ins []map[string]any
	for _, k := range []string{"age", "plan", "income"} {
		dt := "FP32"
		if k == "plan" {
			dt = "BYTES"
		}
		ins = append(ins, map[string]any{"name": k, "shape": []int{len(testRows)}, "datatype": dt, "data": cols[k]})
	}
	b, _ := json.Marshal(map[string]any{"id": "req-7", "inputs": ins})
	return string(b)
}

// probsOf reads the class probabilities (or values) per instance from any
// protocol's answer, and the labels.
func probsOf(t testing.TB, task string, proto string, ans map[string]any) (vals [][]float32, labels []string) {
	t.Helper()
	switch proto {
	case "tf", "vertex":
		for _, p := range ans["predictions"].([]any) {
			o := p.(map[string]any)
			if task == TaskRegression {
				vals = append(vals, []float32{f32(t, o["value"])})
				continue
			}
			vals = append(vals, f32s(t, o["probabilities"]))
			labels = append(labels, o["label"].(string))
		}
	case "columnar":
		o := ans["outputs"].(map[string]any)
		if task == TaskRegression {
			for _, v := range o["value"].([]any) {
				vals = append(vals, []float32{f32(t, v)})
			}
			return vals, nil
		}
		for _, p := range o["probabilities"].([]any) {
			vals = append(vals, f32s(t, p))
		}
		for _, l := range o["label"].([]any) {
			labels = append(labels, l.(string))
		}
	case "v2":
		for _, o := range ans["outputs"].([]any) {
			out := o.(map[string]any)
			var shape []int
			for _, d := range out["shape"].([]any) {
				n, _ := d.(json.Number).Int64()
				shape = append(shape, int(n))
			}
			switch out["name"] {
			case "probabilities", "value":
				flat := f32s(t, out["data"])
				k := 1
				if len(shape) == 2 {
					k = shape[1]
				}
				for i := 0; i < shape[0]; i++ {
					vals = append(vals, flat[i*k:(i+1)*k])
				}
			case "label":
				for _, l := range out["data"].([]any) {
					labels = append(labels, l.(string))
				}
			}
		}
	}
	return vals, labels
}

// wantOutputs turns the interpreter's raw outputs into what the server
// reports: [1-p, p] for binary models.
func wantOutputs(task string, raw [][]float32) (vals [][]float32, labels []string, classes []string) {
	classes = []string{"stay", "leave", "maybe"}
	if task == TaskBinary {
		classes = []string{"stay", "leave"}
	}
	for _, r := range raw {
		switch task {
		case TaskBinary:
			vals = append(vals, []float32{1 - r[0], r[0]})
			if r[0] >= 0.5 {
				labels = append(labels, classes[1])
			} else {
				labels = append(labels, classes[0])
			}
		case TaskMulticlass:
			vals = append(vals, r)
			best := 0
			for i := range r {
				if r[i] > r[best] {
					best = i
				}
			}
			labels = append(labels, classes[best])
		default:
			vals = append(vals, r)
		}
	}
	if task == TaskRegression {
		labels = nil
	}
	return vals, labels, classes
}

func TestProtocols(t *testing.T) {
	models := []struct {
		name  string
		task  string
		model []byte
	}{
		{"multiclass", TaskMulticlass, fcModel(t, 3, tflite.OpSoftmax)},
		{"binary", TaskBinary, fcModel(t, 1, tflite.OpLogistic)},
		{"regression", TaskRegression, fcModel(t, 1, 0)},
		{"int8io", TaskMulticlass, int8Model(t, quant.Int8IO)},
		{"int8float", TaskMulticlass, int8Model(t, quant.FloatIO)},
	}
	for _, md := range models {
		_, _, classes := wantOutputs(md.task, nil)
		if md.task == TaskRegression {
			classes = nil
		}
		spec := testSpec(nn.Task(md.task), classes)
		s := newTestServer(t, ModelConfig{Name: md.name, Version: "v3", TFLite: md.model, Spec: spec})
		wantVals, wantLabels, _ := wantOutputs(md.task, expected(t, md.model, spec))
		requests := []struct {
			proto, path, body string
		}{
			{"tf", "/v1/models/" + md.name + ":predict", `{"instances":` + rowsJSON("objects") + `}`},
			{"tf", "/v1/models/" + md.name + "/versions/3:predict", `{"signature_name":"serving_default","instances":` + rowsJSON("lists") + `}`},
			{"columnar", "/v1/models/" + md.name + ":predict", `{"inputs":` + columnsJSON() + `}`},
			{"columnar", "/v1/models/" + md.name + ":predict", `{"inputs":` + rowsJSON("lists") + `}`},
			{"vertex", "/predict", `{"instances":` + rowsJSON("objects") + `,"parameters":{"confidence":0.5}}`},
			{"v2", "/v2/models/" + md.name + "/infer", v2JSON()},
			{"v2", "/v2/models/" + md.name + "/versions/3/infer", v2JSON()},
		}
		for _, rq := range requests {
			t.Run(md.name+"/"+rq.proto+rq.path, func(t *testing.T) {
				code, ans := call(t, s, "POST", rq.path, rq.body)
				if code != http.StatusOK {
					t.Fatalf("status %d: %v", code, ans)
				}
				vals, labels := probsOf(t, md.task, rq.proto, ans)
				if diff := cmp.Diff(wantVals, vals); diff != "" {
					t.Errorf("outputs differ from the interpreter run directly (-want +got):\n%s", diff)
				}
				if diff := cmp.Diff(wantLabels, labels); diff != "" {
					t.Errorf("labels (-want +got):\n%s", diff)
				}
				switch rq.proto {
				case "tf", "columnar":
					if ans["model_version"] != "v3" || ans["model"] != md.name {
						t.Errorf("model %v version %v, want %s v3", ans["model"], ans["model_version"], md.name)
					}
				case "vertex":
					if ans["deployedModelId"] != "dm-1" || ans["modelVersionId"] != "3" {
						t.Errorf("deployedModelId %v modelVersionId %v", ans["deployedModelId"], ans["modelVersionId"])
					}
				case "v2":
					if ans["model_name"] != md.name || ans["model_version"] != "3" || ans["id"] != "req-7" {
						t.Errorf("model_name %v model_version %v id %v", ans["model_name"], ans["model_version"], ans["id"])
					}
				}
			})
		}
	}
}

// The softmax probabilities of the float model, computed here in float64
// from the weights, agree with the server to float32 precision.
func TestMulticlassAgainstFormula(t *testing.T) {
	spec := testSpec(nn.Multiclass, []string{"stay", "leave", "maybe"})
	s := newTestServer(t, ModelConfig{Name: "m", Version: "v1", TFLite: fcModel(t, 3, tflite.OpSoftmax), Spec: spec})
	code, ans := call(t, s, "POST", "/v1/models/m:predict", `{"instances":[{"age":35,"plan":"pro","income":60}]}`)
	if code != 200 {
		t.Fatal(code, ans)
	}
	x := []float64{35, 0, 1, 60}
	z := make([]float64, 3)
	sum := 0.0
	for o := range 3 {
		z[o] = float64(b3[o])
		for i := range 4 {
			z[o] += float64(w3[o*4+i]) * x[i]
		}
	}
	mx := math.Max(z[0], math.Max(z[1], z[2]))
	for o := range z {
		z[o] = math.Exp(z[o] - mx)
		sum += z[o]
	}
	got, _ := probsOf(t, TaskMulticlass, "tf", ans)
	for o := range z {
		if d := math.Abs(z[o]/sum - float64(got[0][o])); d > 1e-6 {
			t.Errorf("class %d: %v, formula %v", o, got[0][o], z[o]/sum)
		}
	}
}

// hello_world_float from TFLite Micro: the official runtime's outputs for
// x = 0, 1, 3, 5 (../shared/testdata/tflite/MANIFEST.md), served with no
// feature spec (rows of one number).
func TestHelloWorldOfficialOutputs(t *testing.T) {
	dir := conformanceDir(t)
	data, err := os.ReadFile(filepath.Join(dir, "hello_world_float.tflite"))
	if err != nil {
		t.Fatal(err)
	}
	s := newTestServer(t, ModelConfig{Name: "sine", Version: "v1", TFLite: data})
	xs := []float32{0, 1, 3, 5}
	official := []float64{0.026405468583106995, 0.8630436062812805, 0.1276465654373169, -0.9565188884735107}
	body := `{"instances":[[0],[1],[3],[5]]}`
	for _, path := range []string{"/v1/models/sine:predict", "/predict"} {
		code, ans := call(t, s, "POST", path, body)
		if code != 200 {
			t.Fatal(code, ans)
		}
		got, _ := probsOf(t, TaskRegression, "tf", ans)
		for i, x := range xs {
			if d := math.Abs(float64(got[i][0]) - official[i]); d > 1e-5*math.Max(1, math.Abs(official[i])) {
				t.Errorf("%s x=%v: %v, official runtime %v", path, x, got[i][0], official[i])
			}
			if want := direct(t, data, []float32{x}); got[i][0] != want[0] {
				t.Errorf("%s x=%v: %v, interpreter %v", path, x, got[i][0], want[0])
			}
		}
	}
	code, ans := call(t, s, "POST", "/v2/models/sine/infer", `{"inputs":[{"name":"x","shape":[4,1],"datatype":"FP32","data":[[0],[1],[3],[5]]}]}`)
	if code != 200 {
		t.Fatal(code, ans)
	}
	got, _ := probsOf(t, TaskRegression, "v2", ans)
	for i := range xs {
		if d := math.Abs(float64(got[i][0]) - official[i]); d > 1e-5 {
			t.Errorf("v2 x=%v: %v, official runtime %v", xs[i], got[i][0], official[i])
		}
	}
}

func TestMetadataAndHealth(t *testing.T) {
	spec := testSpec(nn.Multiclass, []string{"stay", "leave", "maybe"})
	s := newTestServer(t, ModelConfig{Name: "m", Version: "v4", TFLite: fcModel(t, 3, tflite.OpSoftmax), Spec: spec})
	tests := []struct {
		method, path string
		code         int
		want         string // a JSON fragment the answer must contain
	}{
		{"GET", "/v1/models/m", 200, `{"model_version_status":[{"state":"AVAILABLE","status":{"error_code":"OK","error_message":""},"version":"4"}]}`},
		{"GET", "/v1/models/m/versions/4", 200, `"state":"AVAILABLE"`},
		{"GET", "/v1/models/m/versions/9", 404, `"error":"model \"m\" version 9 is not loaded (serving 4)"`},
		{"GET", "/v1/models/m/metadata", 200, `"model_spec":{"name":"m","signature_name":"","version":"4"}`},
		{"GET", "/v1/models/nope", 404, `{"error":"model \"nope\" not found"}`},
		{"GET", "/v2/health/live", 200, `{"live":true}`},
		{"GET", "/v2/health/ready", 200, `{"ready":true}`},
		{"GET", "/v2/models/m", 200, `"inputs":[{"name":"age","datatype":"FP32","shape":[-1]},{"name":"plan","datatype":"BYTES","shape":[-1]},{"name":"income","datatype":"FP32","shape":[-1]}]`},
		{"GET", "/v2/models/m", 200, `"outputs":[{"name":"probabilities","datatype":"FP32","shape":[-1,3]},{"name":"label","datatype":"BYTES","shape":[-1]}]`},
		{"GET", "/v2/models/m/ready", 200, `{"name":"m","ready":true}`},
		{"GET", "/v2/models/x/ready", 404, `"error"`},
		{"GET", "/health", 200, `"ready":true`},
		{"GET", "/nowhere", 404, `{"error":"no route GET /nowhere"}`},
		{"POST", "/v1/models/m:classify", 404, `unsupported verb`},
		{"DELETE", "/v1/models/m", 405, `not allowed`},
	}
	for _, tc := range tests {
		t.Run(tc.method+tc.path, func(t *testing.T) {
			req := httptest.NewRequest(tc.method, tc.path, nil)
			rec := httptest.NewRecorder()
			s.ServeHTTP(rec, req)
			if rec.Code != tc.code {
				t.Errorf("status %d, want %d: %s", rec.Code, tc.code, rec.Body)
			}
			var v any
			if err := json.Unmarshal(rec.Body.Bytes(), &v); err != nil {
				t.Fatalf("not JSON: %s", rec.Body)
			}
			if !strings.Contains(rec.Body.String(), tc.want) {
				t.Errorf("answer %s\nlacks %s", rec.Body, tc.want)
			}
		})
	}
}

func TestNoModelYet(t *testing.T) {
	s := NewServer(Options{})
	s.SetReady(true)
	code, ans := call(t, s, "POST", "/v1/models/churn:predict", `{"instances":[[1]]}`)
	if code != 503 || !strings.Contains(fmt.Sprint(ans["error"]), "no model is deployed yet") {
		t.Errorf("empty server: %d %v", code, ans)
	}
	s.Pending("churn", "no version is deployed yet")
	code, ans = call(t, s, "POST", "/v2/models/churn/infer", `{"inputs":[]}`)
	if code != 503 || ans["error"] != `model "churn" is not available: no version is deployed yet` {
		t.Errorf("pending model: %d %v", code, ans)
	}
	if code, _ := call(t, s, "GET", "/v2/health/ready", ""); code != 503 {
		t.Errorf("ready with no model: %d", code)
	}
	if code, _ := call(t, s, "GET", "/v2/models/churn/ready", ""); code != 503 {
		t.Errorf("model ready with no version: %d", code)
	}
}

func TestBadInput(t *testing.T) {
	spec := testSpec(nn.Multiclass, []string{"stay", "leave", "maybe"})
	s := NewServer(Options{MaxBody: 4096, MaxInstances: 8})
	m, err := LoadModel(ModelConfig{Name: "m", Version: "v1", TFLite: fcModel(t, 3, tflite.OpSoftmax), Spec: spec})
	if err != nil {
		t.Fatal(err)
	}
	s.Install(m)
	tf := "/v1/models/m:predict"
	v2 := "/v2/models/m/infer"
	tests := []struct {
		name, path, body string
		code             int
		err              string
	}{
		{"unknown feature", tf, `{"instances":[{"age":1,"plan":"pro","income":2,"zip":"x"}]}`, 400, `instances[0].zip: unknown feature (the model takes 3 features (age, plan, income))`},
		{"missing feature", tf, `{"instances":[{"age":1,"plan":"pro"}]}`, 400, `instances[0].income: missing`},
		{"null required", tf, `{"instances":[[1,"pro",null]]}`, 400, `instances[0].income: missing`},
		{"string for number", tf, `{"instances":[{"age":"old","plan":"pro","income":2}]}`, 400, `instances[0].age: want a number, got the string "old"`},
		{"number for category", tf, `{"instances":[{"age":1,"plan":3,"income":2}]}`, 400, `instances[0].plan: want a category (string), got a number`},
		{"bool", tf, `{"instances":[[true,"pro",1]]}`, 400, `instances[0].age: want a number, got a boolean`},
		{"nested", tf, `{"instances":[[[1],"pro",1]]}`, 400, `instances[0].age: want a number, got a list or object`},
		{"infinity", tf, `{"instances":[[1e999,"pro",1]]}`, 400, `instances[0].age: not a finite number`},
		{"NaN literal", tf, `{"instances":[[NaN,"pro",1]]}`, 400, `body: malformed JSON`},
		{"short row", tf, `{"instances":[[1,"pro"]]}`, 400, `instances[0]: 2 values; the model takes 3 features`},
		{"long row", tf, `{"instances":[[1,"pro",2,3]]}`, 400, `instances[0]: more than 3 values`},
		{"scalar instance", tf, `{"instances":[5]}`, 400, `instances[0]: want a list of feature values or an object keyed by feature name`},
		{"instances not a list", tf, `{"instances":{"age":1}}`, 400, `instances: want a list of instances`},
		{"no instances key", tf, `{"rows":[[1,"pro",2]]}`, 400, `instances: missing`},
		{"empty instances", tf, `{"instances":[]}`, 400, `instances: no instances`},
		{"both forms", tf, `{"instances":[[1,"pro",2]],"inputs":{"age":[1]}}`, 400, `inputs: give either instances or inputs, once`},
		{"ragged columns", tf, `{"inputs":{"age":[1,2],"plan":["pro"],"income":[1,2]}}`, 400, `inputs.plan: 1 values, other columns have 2`},
		{"unknown column", tf, `{"inputs":{"zip":[1]}}`, 400, `inputs.zip: unknown feature`},
		{"too many instances", tf, `{"instances":[` + strings.Repeat(`[1,"pro",2],`, 8) + `[1,"pro",2]]}`, 400, `instances: more than 8 instances in one request`},
		{"body too large", tf, `{"instances":[[1,"pro",2]],"pad":"` + strings.Repeat("x", 5000) + `"}`, 413, `exceeds the limit of 4096`},
		{"not json", tf, `hello`, 400, `body: malformed JSON`},
		{"trailing data", tf, `{"instances":[[1,"pro",2]]} x`, 400, `data after the JSON value`},
		{"truncated", tf, `{"instances":[[1,"pro",2]`, 400, `malformed JSON`},
		{"unknown model", "/v1/models/other:predict", `{"instances":[[1,"pro",2]]}`, 404, `model "other" not found`},
		{"unknown version", "/v1/models/m/versions/7:predict", `{"instances":[[1,"pro",2]]}`, 404, `version 7 is not loaded`},
		{"v2 unknown input", v2, `{"inputs":[{"name":"zip","shape":[1],"datatype":"FP32","data":[1]},{"name":"age","shape":[1],"datatype":"FP32","data":[1]}]}`, 400, `inputs[0].name: unknown feature "zip"`},
		{"v2 wrong shape", v2, `{"inputs":[{"name":"x","shape":[1,4],"datatype":"FP32","data":[1,2,3,4]}]}`, 400, `inputs[0].shape: shape [1 4]: a single input tensor must be [n, 3]`},
		{"v2 data count", v2, `{"inputs":[{"name":"age","shape":[2],"datatype":"FP32","data":[1]},{"name":"plan","shape":[2],"datatype":"BYTES","data":["pro","basic"]},{"name":"income","shape":[2],"datatype":"FP32","data":[1,2]}]}`, 400, `inputs[0].data: 1 values, the shape needs 2`},
		{"v2 datatype", v2, `{"inputs":[{"name":"age","shape":[1],"datatype":"FP99","data":[1]}]}`, 400, `inputs[0].datatype: unknown datatype "FP99"`},
		{"v2 missing feature", v2, `{"inputs":[{"name":"age","shape":[1],"datatype":"FP32","data":[1]},{"name":"plan","shape":[1],"datatype":"BYTES","data":["pro"]}]}`, 400, `inputs[row 0].income: missing`},
		{"v2 mismatched n", v2, `{"inputs":[{"name":"age","shape":[1],"datatype":"FP32","data":[1]},{"name":"income","shape":[2],"datatype":"FP32","data":[1,2]}]}`, 400, `inputs[1].shape: 2 instances, other inputs have 1`},
		{"v2 unknown output", v2, `{"inputs":[{"name":"age","shape":[1],"datatype":"FP32","data":[1]}],"outputs":[{"name":"value"}]}`, 400, `outputs[0].name: unknown output "value"`},
		{"v2 not json", v2, `[`, 400, `not a KServe v2 inference request`},
		{"v2 negative shape", v2, `{"inputs":[{"name":"age","shape":[-1],"datatype":"FP32","data":[]}]}`, 400, `dimension -1 out of range`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			code, ans := call(t, s, "POST", tc.path, tc.body)
			if code != tc.code {
				t.Errorf("status %d, want %d (%v)", code, tc.code, ans)
			}
			msg, _ := ans["error"].(string)
			if !strings.Contains(msg, tc.err) {
				t.Errorf("error %q\nwant it to contain %q", msg, tc.err)
			}
		})
	}
	// Nothing leaks between requests: a good request after all the bad ones
	// answers as a fresh server does.
	good := `{"instances":[[35,"pro",60]]}`
	_, a := call(t, s, "POST", tf, good)
	_, b := call(t, newTestServer(t, ModelConfig{Name: "m", Version: "v1", TFLite: fcModel(t, 3, tflite.OpSoftmax), Spec: spec}), "POST", tf, good)
	if diff := cmp.Diff(b, a); diff != "" {
		t.Errorf("answer after bad requests differs (-fresh +used):\n%s", diff)
	}
}

// The hot path's decoder gives the same model input as package features'
// EncodeObject on the same instance, or both refuse it.
func TestEncodeMatchesSpec(t *testing.T) {
	spec := testSpec(nn.Multiclass, []string{"stay", "leave", "maybe"})
	m, err := LoadModel(ModelConfig{Name: "m", Version: "v1", TFLite: fcModel(t, 3, tflite.OpSoftmax), Spec: spec, Workers: 1})
	if err != nil {
		t.Fatal(err)
	}
	for _, inst := range []string{
		`{"age":35,"plan":"pro","income":60}`, `{"age":null,"plan":"basic","income":1e3}`, `{"plan":"pro","income":-0.5}`,
		`{"age":1,"plan":"gold","income":2}`, `{"age":1,"plan":"pro"}`, `{"age":"1","plan":"pro","income":2}`,
		`{"age":1,"plan":null,"income":2}`, `{"age":1,"plan":["pro"],"income":2}`, `{"age":1,"plan":"pr\u006f","income":2}`,
		`{"age":1,"plan":"pro","income":2,"age":7}`,
	} {
		checkAgainstSpec(t, m, spec, []byte(`{"instances":[`+inst+`]}`))
	}
}

// checkAgainstSpec decodes body with the server's decoder and with
// encoding/json + features.Spec.EncodeObject, and compares.
func checkAgainstSpec(t *testing.T, m *Model, spec *features.Spec, body []byte) {
	t.Helper()
	b := getBatch(m, 16)
	defer putBatch(b)
	_, err := b.decodeTF(m, body)
	if err == nil {
		err = b.encode(m, func(i int) string { return "instances[" + strconv.Itoa(i) + "]" })
	}
	var req struct {
		Instances []map[string]any `json:"instances"`
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	jerr := dec.Decode(&req)
	if jerr != nil || len(req.Instances) == 0 {
		if err == nil {
			t.Errorf("%s: encoding/json refuses it (%v) but the server accepts it", body, jerr)
		}
		return
	}
	var serr error
	want := make([]float32, spec.Width()*len(req.Instances))
	for i, inst := range req.Instances {
		if serr = spec.EncodeObject(inst, want[i*spec.Width():(i+1)*spec.Width()]); serr != nil {
			break
		}
	}
	if (err == nil) != (serr == nil) {
		t.Fatalf("%s: server error %v, features.Spec error %v", body, err, serr)
	}
	if err == nil {
		if diff := cmp.Diff(want, b.x); diff != "" {
			t.Errorf("%s: model input (-spec +server):\n%s", body, diff)
		}
	}
}
