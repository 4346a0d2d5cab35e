package serve

import (
	"bytes"
	"encoding/json"
	"net/http/httptest"
	"strconv"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/megapipe/mega/shared/features"
	"github.com/megapipe/mega/shared/nn"
	"github.com/megapipe/mega/shared/tflite"
)

var fuzzSeeds = []string{
	`{"instances":[{"age":35,"plan":"pro","income":60}]}`,
	`{"instances":[[35,"pro",60],[null,"basic",1e3]]}`,
	`{"instances":[{"plan":"pr\u006f","income":-0.5,"age":1E2}]}`,
	`{"signature_name":"x","instances":[{"age":1,"plan":"gold","income":2}],"parameters":{"a":[1,{"b":null}]}}`,
	`{"inputs":{"age":[1,2],"plan":["pro","basic"],"income":[3,4]}}`,
	`{"inputs":[[1,"pro",2]]}`,
	`{"instances":[{"age":"1","plan":"pro","income":2}]}`,
	`{"instances":[[1e999,"pro",1]]}`,
	`{"instances":[{"a\u0067e":1,"plan":"\ud83d\ude00","income":2}]}`,
	`{"instances":[[1,"pro",2]]} `,
	`{"instances":[[1,"pro"`,
	`{"inputs":[{"name":"age","shape":[1],"datatype":"FP32","data":[1]},{"name":"plan","shape":[1],"datatype":"BYTES","data":["pro"]},{"name":"income","shape":[1],"datatype":"FP32","data":[[2]]}]}`,
	`{"inputs":[{"name":"x","shape":[2,3],"datatype":"FP32","data":[1,"pro",2,3,"basic",4]}],"outputs":[{"name":"label"}]}`,
}

// FuzzDecodeInstances checks the hot-path decoder against encoding/json and
// features.Spec.EncodeObject: the server accepts only valid JSON, and on
// {"instances": [...]} bodies it accepts exactly what the spec accepts and
// builds the same model input.
func FuzzDecodeInstances(f *testing.F) {
	for _, s := range fuzzSeeds {
		f.Add([]byte(s))
	}
	spec := testSpec(nn.Multiclass, []string{"stay", "leave", "maybe"})
	m, err := LoadModel(ModelConfig{Name: "m", Version: "v1", TFLite: fcModel(f, 3, tflite.OpSoftmax), Spec: spec, Workers: 1})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		b := getBatch(m, 16)
		defer putBatch(b)
		columnar, err := b.decodeTF(m, body)
		if err == nil {
			err = b.encode(m, func(i int) string { return "instances[" + strconv.Itoa(i) + "]" })
		}
		if err == nil && !json.Valid(body) {
			t.Fatalf("server accepted invalid JSON %q", body)
		}
		if err != nil {
			if _, ok := err.(*InputError); !ok && asHTTP(err).code != 400 {
				t.Fatalf("%q: error %v is not a 400", body, err)
			}
		}
		var top map[string]json.RawMessage
		if json.Unmarshal(body, &top) != nil || len(top) != 1 || top["instances"] == nil || columnar {
			return
		}
		dec := json.NewDecoder(bytes.NewReader(top["instances"]))
		dec.UseNumber()
		var insts []any
		if dec.Decode(&insts) != nil || len(insts) == 0 || len(insts) > 16 {
			if err == nil {
				t.Fatalf("%q accepted; instances is not a non-empty list of at most 16", body)
			}
			return
		}
		want := make([]float32, spec.Width()*len(insts))
		var serr error
		for i, inst := range insts {
			dst := want[i*spec.Width() : (i+1)*spec.Width()]
			switch v := inst.(type) {
			case map[string]any:
				serr = spec.EncodeObject(v, dst)
			case []any:
				serr = spec.EncodeRow(v, dst)
			default:
				serr = &features.FieldError{Field: "instances", Reason: "not an instance"}
			}
			if serr != nil {
				break
			}
		}
		if (err == nil) != (serr == nil) {
			t.Fatalf("%q: server error %v, features.Spec error %v", body, err, serr)
		}
		if err == nil {
			if diff := cmp.Diff(want, b.x); diff != "" {
				t.Fatalf("%q: model input (-spec +server):\n%s", body, diff)
			}
		}
	})
}

// FuzzServe sends any body to every predict route: the answer is JSON, 200
// or a 4xx, never a crash or a 500.
func FuzzServe(f *testing.F) {
	for _, s := range fuzzSeeds {
		f.Add([]byte(s), uint8(0))
		f.Add([]byte(s), uint8(2))
	}
	spec := testSpec(nn.Multiclass, []string{"stay", "leave", "maybe"})
	s := NewServer(Options{MaxBody: 1 << 16, MaxInstances: 32})
	for _, c := range []ModelConfig{
		{Name: "m", Version: "v1", TFLite: fcModel(f, 3, tflite.OpSoftmax), Spec: spec, Workers: 1},
		{Name: "raw", Version: "v1", TFLite: fcModel(f, 1, 0), Workers: 1},
	} {
		m, err := LoadModel(c)
		if err != nil {
			f.Fatal(err)
		}
		s.Install(m)
	}
	paths := []string{"/v1/models/m:predict", "/predict", "/v2/models/m/infer", "/v1/models/raw:predict", "/v2/models/raw/infer"}
	f.Fuzz(func(t *testing.T, body []byte, route uint8) {
		path := paths[int(route)%len(paths)]
		rec := httptest.NewRecorder()
		s.ServeHTTP(rec, httptest.NewRequest("POST", path, bytes.NewReader(body)))
		if rec.Code != 200 && (rec.Code < 400 || rec.Code >= 500) {
			t.Fatalf("%s %q: status %d %s", path, body, rec.Code, rec.Body)
		}
		if !json.Valid(rec.Body.Bytes()) {
			t.Fatalf("%s %q: answer is not JSON: %s", path, body, rec.Body)
		}
	})
}
