package quantize_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/megapipe/mega/emulators/emulatortest"
	"github.com/megapipe/mega/functions/quantize"
	"github.com/megapipe/mega/shared/blob"
	"github.com/megapipe/mega/shared/config"
	"github.com/megapipe/mega/shared/events"
	"github.com/megapipe/mega/shared/registry"
	"github.com/megapipe/mega/shared/runs"
	"github.com/megapipe/mega/shared/step"
	"github.com/megapipe/mega/shared/tflite"
)

func TestMain(m *testing.M) { emulatortest.Main(m) }

// The TFLM hello_world sine model and its SHA-256 as published in
// testdata/tflite/MANIFEST.md (from the TFLM repository).
const (
	sineModel  = "../../../shared/testdata/tflite/hello_world_float.tflite"
	sineSHA256 = "ee939863195ca37ce063b18e14fb82aa0d98db6596ba41095757f6b560da1070"
)

type dropEnv struct {
	emu    *emulatortest.Env
	env    *step.Env
	models string
	sub    string
}

func newDropEnv(t *testing.T) dropEnv {
	t.Helper()
	emu := emulatortest.Start(t)
	g := emu.GCS("models", "artifacts")
	t.Setenv("STORAGE_EMULATOR_HOST", g.URL())
	t.Setenv("MEGA_GATE_BOUND", "1") // the test checks the outputs, not the gate
	cfg := config.Config{Project: emu.Project, ArtifactsBucket: emu.Bucket("artifacts")}
	env, err := step.NewEnv(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { env.Close() })
	emu.CreateTopic(config.TopicModelQuantized)
	sub := emu.CreateSubscription("test-quantized", config.TopicModelQuantized)
	old := quantize.Step.Env
	quantize.Step.Env = func(context.Context) (*step.Env, error) { return env, nil }
	t.Cleanup(func() { quantize.Step.Env = old })
	return dropEnv{emu: emu, env: env, models: emu.Bucket("models"), sub: sub}
}

// put writes an object to the models bucket and returns the finalize event
// Eventarc would deliver.
func (d dropEnv) put(t *testing.T, name string, data []byte) events.StorageObjectData {
	t.Helper()
	gen, err := d.env.Blob.Put(context.Background(), d.models, name, data, blob.WriteOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return events.StorageObjectData{Bucket: d.models, Name: name, Generation: events.Int64(gen), Size: events.Int64(len(data))}
}

func (d dropEnv) handle(t *testing.T, o events.StorageObjectData) error {
	t.Helper()
	e, err := events.NewStorageEvent("ev-"+o.Name, time.Unix(1, 0), o)
	if err != nil {
		t.Fatal(err)
	}
	return quantize.Step.Handle(context.Background(), e)
}

// A float model dropped in the models bucket, with its calibration rows
// beside it, is quantized, registered and announced on model-quantized.
func TestDroppedModel(t *testing.T) {
	d := newDropEnv(t)
	ctx := context.Background()
	model, err := os.ReadFile(sineModel)
	if err != nil {
		t.Fatal(err)
	}
	var calib strings.Builder
	calib.WriteString("x\n")
	for i := range 64 {
		fmt.Fprintf(&calib, "%g\n", 2*math.Pi*float64(i)/64)
	}
	// The calibration file lands first: its own event is ignored.
	co := d.put(t, "sine/hello.calib.csv", []byte(calib.String()))
	if err := d.handle(t, co); err != nil {
		t.Fatalf("calibration event: %v, want nil (ignored)", err)
	}
	mo := d.put(t, "sine/hello.tflite", model)
	if err := d.handle(t, mo); err != nil {
		t.Fatal(err)
	}

	got := d.emu.Pull(d.sub, 1, 30*time.Second)
	var msg events.Message
	if err := json.Unmarshal(got[0].Data, &msg); err != nil {
		t.Fatal(err)
	}
	runID := runs.IDForObject("sine", mo.Bucket, mo.Name, int64(mo.Generation))
	if msg.RunID != runID || msg.Dataset != "sine" || msg.Step != quantize.StepName || msg.Model != "sine" || msg.Version == "" {
		t.Errorf("model-quantized message %+v: want run %s, dataset and model sine, a version", msg, runID)
	}
	wantArt := map[string]string{"float": "gs://" + d.models + "/sine/hello.tflite", "calibration": "gs://" + d.models + "/sine/hello.calib.csv"}
	for k, v := range wantArt {
		if msg.Artifacts[k] != v {
			t.Errorf("artifact %s = %q, want %q", k, msg.Artifacts[k], v)
		}
	}

	// The registry holds the float model by its published digest.
	v, err := registry.New(d.env.Docs).Get(ctx, msg.Model, msg.Version)
	if err != nil {
		t.Fatal(err)
	}
	if f := v.Artifacts["float"]; f.SHA256 != sineSHA256 || f.Size != 3164 {
		t.Errorf("registered float artifact %+v, want sha256 %s and 3164 bytes (MANIFEST.md)", f, sineSHA256)
	}
	// The int8 artifact is a TFLite model whose weights are INT8 and whose
	// registered digest is the stored bytes'.
	q, err := d.env.ReadArtifact(ctx, msg.Artifacts["int8"])
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(q)
	if v.Artifacts["int8"].SHA256 != hex.EncodeToString(sum[:]) {
		t.Errorf("registered int8 sha256 %s, stored bytes hash to %x", v.Artifacts["int8"].SHA256, sum)
	}
	qm, err := tflite.Parse(q)
	if err != nil {
		t.Fatal(err)
	}
	var types []string
	for _, op := range qm.Subgraphs[0].Operators {
		if len(op.Inputs) >= 2 { // FULLY_CONNECTED: input, weights, bias (QUANTIZE/DEQUANTIZE have one)
			types = append(types, qm.Subgraphs[0].Tensors[op.Inputs[1]].Type.String())
		}
	}
	if diff := cmp.Diff([]string{"INT8", "INT8", "INT8"}, types); diff != "" {
		t.Errorf("weight types of the three FULLY_CONNECTED ops (-want +got):\n%s", diff)
	}

	r, err := d.env.Runs.Get(ctx, runID)
	if err != nil {
		t.Fatal(err)
	}
	st := r.Steps[quantize.StepName]
	if st.Status != runs.StatusSucceeded || st.Counts["calibration_rows"] != 64 || st.Counts["float_bytes"] != 3164 {
		t.Errorf("run step %+v: want succeeded, 64 calibration rows, 3164 float bytes", st)
	}
}

// Bad drops: a model without calibration rows (the package doc asks for them
// first) and a file that is not a TFLite model fail their run with the
// reason, not retried; objects outside <model>/<file>.tflite are ignored.
func TestDroppedModelErrors(t *testing.T) {
	d := newDropEnv(t)
	ctx := context.Background()
	model, err := os.ReadFile(sineModel)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name   string
		data   []byte
		reason string
	}{
		{"nocalib/m.tflite", model, "quantize: calibration rows nocalib/m.calib.csv (upload them before the model): "},
		{"junk/m.tflite", []byte("not a flatbuffer"), "quantize: tflite: "},
	} {
		o := d.put(t, c.name, c.data)
		if err := d.handle(t, o); err != nil {
			t.Errorf("%s: %v, want nil (a permanent failure is not retried)", c.name, err)
		}
		model, _, _ := strings.Cut(c.name, "/")
		r, err := d.env.Runs.Get(ctx, runs.IDForObject(model, o.Bucket, o.Name, int64(o.Generation)))
		if err != nil {
			t.Fatal(err)
		}
		if r.Status != runs.StatusFailed || !strings.HasPrefix(r.Reason, c.reason) {
			t.Errorf("run of %s: %s %q, want failed with a reason starting %q", c.name, r.Status, r.Reason, c.reason)
		}
	}
	for _, name := range []string{"loose.tflite", "sine/readme.txt"} {
		o := d.put(t, name, []byte("x"))
		if err := d.handle(t, o); err != nil {
			t.Errorf("%s: %v, want nil (ignored)", name, err)
		}
	}
}
