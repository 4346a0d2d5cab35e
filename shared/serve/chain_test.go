package serve

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/megapipe/mega/shared/dataset"
	"github.com/megapipe/mega/shared/features"
	"github.com/megapipe/mega/shared/nn"
	"github.com/megapipe/mega/shared/quant"
)

var chainOut = flag.String("serve.chain", "", "write the breast-cancer int8 model and its feature spec to this folder (for mega serve --file and load tests)")

// chainModel runs the training chain's libraries on the breast cancer data
// set (testdata/datasets): ingest, featurize (features.Build, 80/10/10
// split), train a binary MLP (shared/nn), export it and quantize it to int8
// (shared/quant, float I/O as the chain's default MEGA_MODEL_IO=float).
func chainModel(t testing.TB) (model []byte, spec *features.Spec, specJSON []byte, test *dataset.Frame) {
	t.Helper()
	path := filepath.Join("..", "..", "testdata", "datasets", "breast_cancer.csv")
	src := func() (io.ReadCloser, error) { return os.Open(path) }
	var clean bytes.Buffer
	res, err := dataset.Ingest(src, dataset.IngestOptions{Name: "breast_cancer/breast_cancer.csv"}, &clean, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	all := clean.Bytes()
	load := func(keep func(*dataset.Frame, int) bool) *dataset.Frame {
		f, err := dataset.Load(bytes.NewReader(all), keep)
		if err != nil {
			t.Fatal(err)
		}
		return f
	}
	probe := &features.Spec{TrainPct: 80, ValPct: 10}
	train := load(probe.Keep(features.Train))
	if spec, err = features.Build(res.Schema, train, 80, 10); err != nil {
		t.Fatal(err)
	}
	val, test := load(spec.Keep(features.Val)), load(spec.Keep(features.Test))
	split := func(f *dataset.Frame) nn.Split {
		x, y, err := spec.Encode(f)
		if err != nil {
			t.Fatal(err)
		}
		return nn.Split{X: x, Y: y}
	}
	data := nn.Data{Train: split(train), Val: split(val)}
	net, _, err := nn.Train(context.Background(), data, nn.Config{Task: spec.Task, Hidden: []int{16}, Epochs: 60, Seed: 1, Norm: &spec.Norm})
	if err != nil {
		t.Fatal(err)
	}
	fm, err := net.TFLiteModel(1)
	if err != nil {
		t.Fatal(err)
	}
	var calib [][]float32
	for _, r := range data.Train.X {
		row := make([]float32, len(r))
		for j, v := range r {
			row[j] = float32(v)
		}
		calib = append(calib, row)
	}
	q, _, err := quant.Quantize(context.Background(), fm, quant.Rows(calib), quant.Options{IO: quant.FloatIO})
	if err != nil {
		t.Fatal(err)
	}
	if model, err = q.Marshal(); err != nil {
		t.Fatal(err)
	}
	if specJSON, err = json.Marshal(spec); err != nil {
		t.Fatal(err)
	}
	return model, spec, specJSON, test
}

// The int8 model from the chain's libraries, served: every test-split row
// answered over TF Serving equals the interpreter run directly on the same
// encoded row, and the served model classifies the held-out rows well.
func TestChainModelServed(t *testing.T) {
	model, spec, specJSON, test := chainModel(t)
	if *chainOut != "" {
		if err := os.MkdirAll(*chainOut, 0o755); err != nil {
			t.Fatal(err)
		}
		for name, b := range map[string][]byte{"model.tflite": model, "features.json": specJSON} {
			if err := os.WriteFile(filepath.Join(*chainOut, name), b, 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	if _, err := features.Parse(specJSON); err != nil {
		t.Fatalf("the spec does not round-trip: %v", err)
	}
	s := newTestServer(t, ModelConfig{Name: "breast_cancer", Version: "v1", TFLite: model, Spec: spec})
	x, y, err := spec.Encode(test)
	if err != nil {
		t.Fatal(err)
	}
	var insts []string
	for i := range x {
		var kv []string
		for j, f := range spec.Features {
			kv = append(kv, strconv.Quote(f.Name)+":"+strconv.FormatFloat(float64(test.Columns[j].Num[i]), 'g', -1, 32))
		}
		insts = append(insts, "{"+strings.Join(kv, ",")+"}")
	}
	code, ans := call(t, s, "POST", "/v1/models/breast_cancer:predict", `{"instances":[`+strings.Join(insts, ",")+`]}`)
	if code != 200 {
		t.Fatal(code, ans)
	}
	got, labels := probsOf(t, TaskBinary, "tf", ans)
	right := 0
	for i, row := range x {
		in := make([]float32, len(row))
		for j, v := range row {
			in[j] = float32(v)
		}
		want := direct(t, model, in)
		if got[i][1] != want[0] {
			t.Errorf("row %d: served p=%v, interpreter %v", i, got[i][1], want[0])
		}
		if labels[i] == spec.Classes[int(y[i])] {
			right++
		}
	}
	acc := float64(right) / float64(len(x))
	t.Logf("%d test rows, int8 accuracy %.3f", len(x), acc)
	if acc < 0.9 {
		t.Errorf("served int8 accuracy %.3f on the test split, want >= 0.9", acc)
	}
}
