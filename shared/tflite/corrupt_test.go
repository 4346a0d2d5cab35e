package tflite

import (
	"bytes"
	"encoding/binary"
	"errors"
	"math"
	"os"
	"runtime"
	"strings"
	"testing"

	flatbuffers "github.com/google/flatbuffers/go"
	"github.com/google/go-cmp/cmp"
	"github.com/megapipe/mega/shared/tflite/tflitetest"
)

// tinyModel is x[1,4] -> FULLY_CONNECTED(w[2,4], b[2]) -> y[1,2], int8 with
// per-channel weights, written by hand so every field below is known.
func tinyModel() *Model {
	return &Model{
		Version:       3,
		OperatorCodes: []OperatorCode{{Builtin: OpFullyConnected, Version: 5}},
		Buffers: [][]byte{nil,
			{1, 2, 3, 4, 5, 6, 7, 8},
			Int32Bytes([]int32{100, -100})},
		Subgraphs: []Subgraph{{
			Name: "main",
			Tensors: []Tensor{
				{Name: "x", Type: Int8, Shape: []int{1, 4}, ShapeSignature: []int{-1, 4},
					Quantization: &Quantization{Scale: []float32{0.5}, ZeroPoint: []int64{-3}}},
				{Name: "w", Type: Int8, Shape: []int{2, 4}, Buffer: 1,
					Quantization: &Quantization{Scale: []float32{0.25, 0.125}, ZeroPoint: []int64{0, 0}}},
				{Name: "b", Type: Int32, Shape: []int{2}, Buffer: 2,
					Quantization: &Quantization{Scale: []float32{0.125, 0.0625}, ZeroPoint: []int64{0, 0}}},
				{Name: "y", Type: Int8, Shape: []int{1, 2},
					Quantization: &Quantization{Scale: []float32{0.75}, ZeroPoint: []int64{5}}},
			},
			Inputs:  []int{0},
			Outputs: []int{3},
			Operators: []Operator{{OpcodeIndex: 0, Inputs: []int{0, 1, 2}, Outputs: []int{3},
				Options: &FullyConnectedOptions{Activation: ActRelu}}},
		}},
		SignatureDefs: []SignatureDef{{Key: "serving_default",
			Inputs: []TensorMap{{Name: "x", TensorIndex: 0}}, Outputs: []TensorMap{{Name: "y", TensorIndex: 3}}}},
	}
}

// unchecked encodes m without Validate, to produce bad files.
func unchecked(m *Model) []byte {
	w := &writer{fb: flatbuffers.NewBuilder(1024)}
	return w.model(m)
}

func TestParseRejectsBadModels(t *testing.T) {
	tests := []struct {
		name     string
		mutate   func(m *Model)
		want     error
		wantPath string
	}{
		{"op input out of range", func(m *Model) { m.Subgraphs[0].Operators[0].Inputs[0] = 9 }, ErrOutOfRange, "subgraphs[0].operators[0].inputs[0]"},
		{"op input below -1", func(m *Model) { m.Subgraphs[0].Operators[0].Inputs[1] = -2 }, ErrOutOfRange, "subgraphs[0].operators[0].inputs[1]"},
		{"op output -1", func(m *Model) { m.Subgraphs[0].Operators[0].Outputs[0] = -1 }, ErrOutOfRange, "subgraphs[0].operators[0].outputs[0]"},
		{"opcode index", func(m *Model) { m.Subgraphs[0].Operators[0].OpcodeIndex = 1 }, ErrOutOfRange, "subgraphs[0].operators[0].opcode_index"},
		{"tensor buffer", func(m *Model) { m.Subgraphs[0].Tensors[1].Buffer = 7 }, ErrOutOfRange, "subgraphs[0].tensors[1].buffer"},
		{"subgraph output", func(m *Model) { m.Subgraphs[0].Outputs[0] = 4 }, ErrOutOfRange, "subgraphs[0].outputs[0]"},
		{"signature tensor", func(m *Model) { m.SignatureDefs[0].Outputs[0].TensorIndex = 40 }, ErrOutOfRange, "signature_defs[0].outputs[0].tensor_index"},
		{"signature subgraph", func(m *Model) { m.SignatureDefs[0].SubgraphIndex = 1 }, ErrOutOfRange, "signature_defs[0].subgraph_index"},
		{"metadata buffer", func(m *Model) { m.Metadata = []Metadata{{Name: "x", Buffer: 3}} }, ErrOutOfRange, "metadata[0].buffer"},
		{"buffer size vs shape", func(m *Model) { m.Subgraphs[0].Tensors[1].Shape = []int{2, 3} }, ErrInvalid, "subgraphs[0].tensors[1].buffer"},
		{"negative dim", func(m *Model) { m.Subgraphs[0].Tensors[3].Shape = []int{1, -2} }, ErrInvalid, "subgraphs[0].tensors[3].shape[1]"},
		{"huge shape", func(m *Model) { m.Subgraphs[0].Tensors[3].Shape = []int{1 << 30, 1 << 30, 1 << 30} }, ErrInvalid, "subgraphs[0].tensors[3].shape"},
		{"shape signature rank", func(m *Model) { m.Subgraphs[0].Tensors[0].ShapeSignature = []int{-1} }, ErrInvalid, "subgraphs[0].tensors[0].shape_signature"},
		{"shape signature value", func(m *Model) { m.Subgraphs[0].Tensors[0].ShapeSignature = []int{-1, 5} }, ErrInvalid, "subgraphs[0].tensors[0].shape_signature[1]"},
		{"scale count vs dimension", func(m *Model) { m.Subgraphs[0].Tensors[1].Quantization.QuantizedDimension = 1 }, ErrInvalid, "subgraphs[0].tensors[1].quantization.scale"},
		{"quantized dimension beyond rank", func(m *Model) { m.Subgraphs[0].Tensors[1].Quantization.QuantizedDimension = 2 }, ErrInvalid, "subgraphs[0].tensors[1].quantization.quantized_dimension"},
		{"zero point count", func(m *Model) { m.Subgraphs[0].Tensors[1].Quantization.ZeroPoint = []int64{0} }, ErrInvalid, "subgraphs[0].tensors[1].quantization.zero_point"},
		{"NaN scale", func(m *Model) { m.Subgraphs[0].Tensors[3].Quantization.Scale[0] = float32(math.NaN()) }, ErrInvalid, "subgraphs[0].tensors[3].quantization.scale[0]"},
		{"min without max", func(m *Model) { m.Subgraphs[0].Tensors[3].Quantization.Min = []float32{1} }, ErrInvalid, "subgraphs[0].tensors[3].quantization.max"},
		{"unknown tensor type", func(m *Model) { m.Subgraphs[0].Tensors[3].Type = 99 }, ErrInvalid, "subgraphs[0].tensors[3].type"},
		{"schema version", func(m *Model) { m.Version = 2 }, ErrUnsupported, "version"},
		{"no subgraphs", func(m *Model) { m.Subgraphs = nil; m.SignatureDefs = nil }, ErrInvalid, "subgraphs"},
		{"no buffers", func(m *Model) {
			m.Buffers = nil
			m.Subgraphs[0].Tensors[1].Buffer, m.Subgraphs[0].Tensors[2].Buffer = 0, 0
		}, ErrInvalid, "buffers"},
		{"opcode version 0", func(m *Model) { m.OperatorCodes[0].Version = 0 }, ErrInvalid, "operator_codes[0].version"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := tinyModel()
			tt.mutate(m)
			_, err := Parse(unchecked(m))
			checkFormatError(t, err, tt.want, tt.wantPath)
			if _, err := m.Marshal(); !errors.Is(err, tt.want) {
				t.Errorf("Marshal error = %v, want %v", err, tt.want)
			}
		})
	}
}

func checkFormatError(t *testing.T, err, want error, wantPath string) {
	t.Helper()
	var fe *FormatError
	if !errors.As(err, &fe) {
		t.Fatalf("error = %v (%T), want a *FormatError", err, err)
	}
	if !errors.Is(err, want) {
		t.Errorf("error = %v, want %v", err, want)
	}
	if wantPath != "" && fe.Path != wantPath {
		t.Errorf("path = %q, want %q", fe.Path, wantPath)
	}
}

func TestParseRejectsBadBytes(t *testing.T) {
	good := unchecked(tinyModel())
	if _, err := Parse(good); err != nil {
		t.Fatalf("the unmodified model does not parse: %v", err)
	}
	patch := func(off int, v uint32) []byte {
		b := bytes.Clone(good)
		binary.LittleEndian.PutUint32(b[off:], v)
		return b
	}
	// The weights' data vector: its length prefix sits right before the bytes 1..8.
	wdata := bytes.Index(good, []byte{1, 2, 3, 4, 5, 6, 7, 8})
	if wdata < 4 || binary.LittleEndian.Uint32(good[wdata-4:]) != 8 {
		t.Fatalf("weights vector not found (at %d)", wdata)
	}
	root := int(binary.LittleEndian.Uint32(good))
	tests := []struct {
		name string
		in   []byte
		want error
	}{
		{"empty", nil, ErrTruncated},
		{"seven bytes", good[:7], ErrTruncated},
		{"bad identifier", append(append([]byte{}, good[:4]...), append([]byte("TFL2"), good[8:]...)...), ErrBadIdentifier},
		{"root offset past end", patch(0, uint32(len(good))), ErrTruncated},
		{"vtable offset garbage", patch(root, 0x7fffff00), ErrBadOffset},
		{"huge vector length", patch(wdata-4, 0xfffffff0), ErrTruncated},
		{"vector length one too many", patch(wdata-4, uint32(len(good)-wdata+1)), ErrTruncated},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse(tt.in)
			checkFormatError(t, err, tt.want, "")
		})
	}
}

// TestParseTruncated cuts every model at many offsets: each cut must fail
// with a *FormatError (not panic), except within the last 16 bytes, which
// may be alignment padding, where it must merely not panic.
func TestParseTruncated(t *testing.T) {
	inputs := map[string][]byte{"tiny": unchecked(tinyModel())}
	if d := tflitetest.Path(); d != "" {
		for _, name := range []string{"hello_world_int8.tflite", "person_detect.tflite", "pc_conv.bin", "quant_fc.bin"} {
			b, err := os.ReadFile(d + "/" + name)
			if err != nil {
				t.Fatal(err)
			}
			inputs[name] = b
		}
	}
	for name, b := range inputs {
		t.Run(name, func(t *testing.T) {
			step := max(1, len(b)/997)
			for n := 0; n < len(b); n += step {
				_, err := Parse(b[:n])
				if n < len(b)-16 {
					var fe *FormatError
					if !errors.As(err, &fe) {
						t.Fatalf("cut at %d of %d: error = %v, want a *FormatError", n, len(b), err)
					}
				}
			}
		})
	}
}

// TestParseBoundsMemory parses a hostile file in which 200,000 tensor
// offsets all point at one tensor with a 100,000-element shape: decoding it
// naively would take 160 GB. Parse must stop with ErrTooLarge and allocate
// only a bounded amount.
func TestParseBoundsMemory(t *testing.T) {
	fb := flatbuffers.NewBuilder(2 << 20)
	w := &writer{fb: fb}
	shape := w.ints(make([]int, 100000))
	fb.StartObject(1)
	fb.PrependUOffsetTSlot(0, shape, 0)
	tensor := fb.EndObject()
	offs := make([]flatbuffers.UOffsetT, 200000)
	for i := range offs {
		offs[i] = tensor
	}
	tensors := w.tables(offs)
	fb.StartObject(1)
	fb.PrependUOffsetTSlot(0, tensors, 0)
	sg := fb.EndObject()
	sgs := w.tables([]flatbuffers.UOffsetT{sg})
	fb.StartObject(3)
	fb.PrependUOffsetTSlot(2, sgs, 0)
	fb.PrependUint32Slot(0, 3, 0)
	fb.FinishWithFileIdentifier(fb.EndObject(), []byte(Identifier))
	b := fb.FinishedBytes()

	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	_, err := Parse(b)
	runtime.ReadMemStats(&after)
	checkFormatError(t, err, ErrTooLarge, "")
	alloc := after.TotalAlloc - before.TotalAlloc
	bound := uint64(64*len(b) + 16<<20)
	if alloc > bound {
		t.Errorf("Parse of %d bytes allocated %d bytes, bound %d", len(b), alloc, bound)
	}
	if !strings.Contains(err.Error(), "tensors") {
		t.Errorf("error %q does not name the tensors", err)
	}
}

func TestParseAcceptsPersonDetectQuirks(t *testing.T) {
	d := tflitetest.Dir(t)
	b, err := os.ReadFile(d + "/person_detect.tflite")
	if err != nil {
		t.Fatal(err)
	}
	m, err := Parse(b)
	if err != nil {
		t.Fatal(err)
	}
	// MANIFEST.md: only deprecated_builtin_code is set; the ops are
	// DEPTHWISE_CONV_2D v3, CONV_2D v2, AVERAGE_POOL_2D v2, RESHAPE v1, SOFTMAX v2.
	got := map[string]int{}
	for _, oc := range m.OperatorCodes {
		got[oc.Builtin.String()] = oc.Version
	}
	want := map[string]int{"DEPTHWISE_CONV_2D": 3, "CONV_2D": 2, "AVERAGE_POOL_2D": 2, "RESHAPE": 1, "SOFTMAX": 2}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s version = %d, want %d (codes %v)", k, got[k], v, got)
		}
	}
	// The 1-D depthwise biases carry quantized_dimension 3.
	quirks := 0
	for _, tn := range m.Subgraphs[0].Tensors {
		if q := tn.Quantization; q != nil && len(tn.Shape) == 1 && q.QuantizedDimension == 3 {
			quirks++
			if q.Axis(1) != 0 {
				t.Errorf("%s: Axis = %d, want 0", tn.Name, q.Axis(1))
			}
		}
	}
	if quirks != 14 {
		t.Errorf("%d 1-D tensors with quantized_dimension 3, MANIFEST.md says 14", quirks)
	}
}

// withExternalBuffers encodes m with the listed buffers stored after the
// flatbuffer (offset/size fields, the layout of models over 2 GB).
func withExternalBuffers(m *Model, ext map[int]bool) []byte {
	// The layout does not depend on the offset values, so a first pass gives
	// the flatbuffer's length.
	first := (&writer{fb: flatbuffers.NewBuilder(1024), external: ext, extBase: 1 << 40}).model(m)
	base := (len(first) + 15) &^ 15
	out := (&writer{fb: flatbuffers.NewBuilder(1024), external: ext, extBase: uint64(base)}).model(m)
	out = append(out, make([]byte, base-len(out))...)
	for i, b := range m.Buffers {
		if ext[i] {
			out = append(out, b...)
		}
	}
	return out
}

func TestParseExternalBuffers(t *testing.T) {
	m := tinyModel()
	b := withExternalBuffers(m, map[int]bool{1: true, 2: true})
	if bytes.Contains(b[:len(b)-16], []byte{1, 2, 3, 4, 5, 6, 7, 8}) {
		t.Fatal("the weights are inside the flatbuffer; the test would prove nothing")
	}
	got, err := Parse(b)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(m, got); diff != "" {
		t.Errorf("model with external buffers (-want +got):\n%s", diff)
	}
	// Cut the external data short: a clear error.
	_, err = Parse(b[:len(b)-3])
	checkFormatError(t, err, ErrTruncated, "buffers[2].offset")
}
