package serve

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/megapipe/mega/shared/nn"
	"github.com/megapipe/mega/shared/quant"
)

// discard is a ResponseWriter that keeps nothing, so the benchmark measures
// the server's own allocations.
type discard struct{ h http.Header }

func (d *discard) Header() http.Header         { return d.h }
func (d *discard) Write(b []byte) (int, error) { return len(b), nil }
func (d *discard) WriteHeader(int)             {}

func benchPredict(b *testing.B, n int) {
	spec := testSpec(nn.Multiclass, []string{"stay", "leave", "maybe"})
	s := NewServer(Options{})
	m, err := LoadModel(ModelConfig{Name: "m", Version: "v1", TFLite: int8Model(b, quant.FloatIO), Spec: spec})
	if err != nil {
		b.Fatal(err)
	}
	s.Install(m)
	var meta V2Metadata
	meta.Inputs = []v2MetaTensor{{Name: "age", Datatype: "FP32"}, {Name: "plan", Datatype: "BYTES"}, {Name: "income", Datatype: "FP32"}}
	meta.Parameters.Categories = map[string][]string{"plan": {"basic", "pro"}}
	body := SyntheticBody(meta, n, 1)
	req := httptest.NewRequest("POST", "/v1/models/m:predict", nil)
	w := &discard{h: http.Header{}}
	rd := bytes.NewReader(body)
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		rd.Reset(body)
		req.Body = readCloser{rd}
		req.ContentLength = int64(len(body))
		s.ServeHTTP(w, req)
	}
	b.ReportMetric(float64(b.N*n)/b.Elapsed().Seconds(), "instances/s")
}

type readCloser struct{ *bytes.Reader }

func (readCloser) Close() error { return nil }

func BenchmarkPredict1(b *testing.B)  { benchPredict(b, 1) }
func BenchmarkPredict32(b *testing.B) { benchPredict(b, 32) }
