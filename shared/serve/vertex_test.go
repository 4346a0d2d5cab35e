package serve

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/megapipe/mega/shared/nn"
	"github.com/megapipe/mega/shared/tflite"
)

// TestVertexRouteSeveralModels replays issue 17: with several models loaded
// and MEGA_SERVE_MODELS unset, the Vertex AI route answered with the first
// model by name ("dup" for a wine request). Now it needs the model named,
// or the deployment's model.
func TestVertexRouteSeveralModels(t *testing.T) {
	spec := testSpec(nn.Multiclass, []string{"stay", "leave", "maybe"})
	model := fcModel(t, 3, tflite.OpSoftmax)
	cfgs := []ModelConfig{{Name: "dup", Version: "v1", TFLite: model, Spec: spec}, {Name: "wine", Version: "v7", TFLite: model, Spec: spec}}
	body := `{"instances":[{"age":35,"plan":"pro","income":60}]}`
	s := newTestServer(t, cfgs...)
	tests := []struct {
		name, path string
		header     string
		wantCode   int
		wantVer    string // modelVersionId: 1 is dup, 7 is wine
		wantErr    string
	}{
		{"none named", "/predict", "", http.StatusBadRequest, "", `2 models are loaded (dup, wine): name one with ?model=NAME`},
		{"named by query", "/predict?model=wine", "", http.StatusOK, "7", ""},
		{"named by header", "/predict", "dup", http.StatusOK, "1", ""},
		{"unknown", "/predict?model=iris", "", http.StatusNotFound, "", `model "iris" not found`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, _ := http.NewRequest("POST", tt.path, strings.NewReader(body))
			if tt.header != "" {
				req.Header.Set("X-Mega-Model", tt.header)
			}
			code, ans := do(t, s, req)
			if code != tt.wantCode {
				t.Fatalf("status %d, want %d: %v", code, tt.wantCode, ans)
			}
			if tt.wantVer != "" && ans["modelVersionId"] != tt.wantVer {
				t.Errorf("modelVersionId %v, want %s", ans["modelVersionId"], tt.wantVer)
			}
			if tt.wantErr != "" && !strings.Contains(ans["error"].(string), tt.wantErr) {
				t.Errorf("error %q, want it to say %q", ans["error"], tt.wantErr)
			}
		})
	}

	// The deployment's model (one MEGA_SERVE_MODELS name) answers unnamed
	// requests; one loaded model needs no name.
	d := NewServer(Options{VertexModel: "wine"})
	one := NewServer(Options{})
	for _, c := range cfgs {
		m, err := LoadModel(c)
		if err != nil {
			t.Fatal(err)
		}
		d.Install(m)
		if c.Name == "dup" {
			one.Install(m)
		}
	}
	d.SetReady(true)
	one.SetReady(true)
	if code, ans := call(t, d, "POST", "/predict", body); code != 200 || ans["modelVersionId"] != "7" {
		t.Errorf("deployment for wine: %d %v", code, ans)
	}
	if code, ans := call(t, one, "POST", "/predict", body); code != 200 || ans["modelVersionId"] != "1" {
		t.Errorf("one model: %d %v", code, ans)
	}
}

// do sends req to h and decodes the JSON answer.
func do(t testing.TB, h http.Handler, req *http.Request) (int, map[string]any) {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	var out map[string]any
	if err := json.Unmarshal(rec.Body.Bytes(), &out); err != nil {
		t.Fatalf("%s %s: answer is not JSON: %v", req.Method, req.URL, err)
	}
	return rec.Code, out
}
