package serve_test

import (
	"fmt"
	"io"
	"log"
	"net/http/httptest"
	"strings"

	"github.com/megapipe/mega/shared/serve"
	"github.com/megapipe/mega/shared/tflite"
)

// Serve a model file and answer a TensorFlow Serving predict request. In
// production, serve.Run (mega serve) does this with the registry's models, a
// Loader that follows their serving pointers, and prediction logging.
func Example() {
	// y = 2*x0 - x1 + 0.5: a one-layer regression model.
	b := tflite.NewBuilder("example")
	x := b.AddTensor(tflite.Tensor{Name: "x", Type: tflite.Float32, Shape: []int{1, 2}, ShapeSignature: []int{-1, 2}})
	w := b.AddConstFloat32("w", []int{1, 2}, []float32{2, -1})
	bias := b.AddConstFloat32("b", []int{1}, []float32{0.5})
	y := b.AddActivation("y", tflite.Float32, []int{1, 1}, nil)
	b.AddOperator(tflite.OpFullyConnected, 1, []int{x, w, bias}, []int{y}, &tflite.FullyConnectedOptions{})
	b.SetInputs(x)
	b.SetOutputs(y)
	m, err := b.Model()
	if err != nil {
		log.Fatal(err)
	}
	file, err := m.Marshal()
	if err != nil {
		log.Fatal(err)
	}

	model, err := serve.LoadModel(serve.ModelConfig{Name: "demo", Version: "v1", TFLite: file})
	if err != nil {
		log.Fatal(err)
	}
	s := serve.NewServer(serve.Options{})
	s.Install(model)

	req := httptest.NewRequest("POST", "/v1/models/demo:predict", strings.NewReader(`{"instances":[[1,2],[3,0]]}`))
	rec := httptest.NewRecorder()
	s.ServeHTTP(rec, req)
	out, _ := io.ReadAll(rec.Body)
	fmt.Println(rec.Code, string(out))

	req = httptest.NewRequest("POST", "/v1/models/demo:predict", strings.NewReader(`{"instances":[[1,"two"]]}`))
	rec = httptest.NewRecorder()
	s.ServeHTTP(rec, req)
	out, _ = io.ReadAll(rec.Body)
	fmt.Println(rec.Code, string(out))
	// Output:
	// 200 {"predictions":[{"value":0.5},{"value":6.5}],"model":"demo","model_version":"v1"}
	// 400 {"error":"instances[0].x1: want a number, got the string \"two\""}
}
