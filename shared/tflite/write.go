package tflite

import (
	"fmt"

	flatbuffers "github.com/google/flatbuffers/go"
)

// maxFlatbuffer is the size above which Marshal refuses to write: flatbuffer
// offsets are 32-bit, and this package does not write the >2 GB layout.
const maxFlatbuffer = 1<<31 - 1<<20

// Marshal validates the model and encodes it as a TFLite flatbuffer with
// identifier "TFL3". Constant buffers are 16-byte aligned, as the official
// converter writes them.
func (m *Model) Marshal() (out []byte, err error) {
	if err := m.Validate(); err != nil {
		return nil, fmt.Errorf("marshal: %w", err)
	}
	total := 0
	for _, b := range m.Buffers {
		total += len(b) + 16
	}
	if total > maxFlatbuffer {
		return nil, fmt.Errorf("marshal: %w: %d bytes of constant data (models over 2 GB are not written)", ErrUnsupported, total)
	}
	for si, sg := range m.Subgraphs {
		for oi, op := range sg.Operators {
			if o, ok := op.Options.(*OtherOptions); ok && o.HasFields {
				return nil, fmt.Errorf("marshal: %w", formatErr(fmt.Sprintf("subgraphs[%d].operators[%d].builtin_options", si, oi),
					ErrUnsupported, "options type %d has fields this package does not model", o.Tag))
			}
		}
	}
	w := &writer{fb: flatbuffers.NewBuilder(1024 + total)}
	return w.model(m), nil
}

type writer struct {
	fb *flatbuffers.Builder
	// external, used by tests only, writes the listed buffers as offset/size
	// references to data placed after the flatbuffer at extBase.
	external map[int]bool
	extBase  uint64
}

func (w *writer) ints(v []int) flatbuffers.UOffsetT {
	w.fb.StartVector(4, len(v), 4)
	for i := len(v) - 1; i >= 0; i-- {
		w.fb.PrependInt32(int32(v[i]))
	}
	return w.fb.EndVector(len(v))
}

func (w *writer) floats(v []float32) flatbuffers.UOffsetT {
	w.fb.StartVector(4, len(v), 4)
	for i := len(v) - 1; i >= 0; i-- {
		w.fb.PrependFloat32(v[i])
	}
	return w.fb.EndVector(len(v))
}

func (w *writer) int64s(v []int64) flatbuffers.UOffsetT {
	w.fb.StartVector(8, len(v), 8)
	for i := len(v) - 1; i >= 0; i-- {
		w.fb.PrependInt64(v[i])
	}
	return w.fb.EndVector(len(v))
}

func (w *writer) bytes(v []byte, align int) flatbuffers.UOffsetT {
	w.fb.StartVector(1, len(v), align)
	for i := len(v) - 1; i >= 0; i-- {
		w.fb.PlaceByte(v[i])
	}
	return w.fb.EndVector(len(v))
}

func (w *writer) tables(offs []flatbuffers.UOffsetT) flatbuffers.UOffsetT {
	return w.fb.CreateVectorOfTables(offs)
}

// str returns 0 for the empty string, so that it is left out.
func (w *writer) str(s string) flatbuffers.UOffsetT {
	if s == "" {
		return 0
	}
	return w.fb.CreateString(s)
}

func (w *writer) model(m *Model) []byte {
	fb := w.fb
	// Buffers first: they hold most bytes, and writing them first (at the end
	// of the file) keeps every other offset small.
	bufs := make([]flatbuffers.UOffsetT, len(m.Buffers))
	extOff := w.extBase
	extAt := map[int]uint64{}
	for i := range m.Buffers {
		if w.external[i] {
			extAt[i] = extOff
			extOff += uint64(len(m.Buffers[i]))
		}
	}
	for i := len(m.Buffers) - 1; i >= 0; i-- {
		var data flatbuffers.UOffsetT
		if len(m.Buffers[i]) > 0 && !w.external[i] {
			data = w.bytes(m.Buffers[i], 16)
		}
		fb.StartObject(3)
		if w.external[i] {
			fb.PrependUint64Slot(2, uint64(len(m.Buffers[i])), 0)
			fb.PrependUint64Slot(1, extAt[i], 0)
		}
		if data != 0 {
			fb.PrependUOffsetTSlot(0, data, 0)
		}
		bufs[i] = fb.EndObject()
	}
	buffers := w.tables(bufs)

	codes := make([]flatbuffers.UOffsetT, len(m.OperatorCodes))
	for i, oc := range m.OperatorCodes {
		custom := w.str(oc.Custom)
		fb.StartObject(4)
		fb.PrependInt32Slot(3, int32(oc.Builtin), 0)
		fb.PrependInt32Slot(2, int32(oc.Version), 1)
		if custom != 0 {
			fb.PrependUOffsetTSlot(1, custom, 0)
		}
		fb.PrependInt8Slot(0, int8(min(oc.Builtin, OpPlaceholderForGreaterOpCodes)), 0)
		codes[i] = fb.EndObject()
	}
	operatorCodes := w.tables(codes)

	sgs := make([]flatbuffers.UOffsetT, len(m.Subgraphs))
	for i := range m.Subgraphs {
		sgs[i] = w.subgraph(&m.Subgraphs[i])
	}
	subgraphs := w.tables(sgs)

	description := w.str(m.Description)
	var metadataBuffer flatbuffers.UOffsetT
	if m.MetadataBuffer != nil {
		metadataBuffer = w.ints(m.MetadataBuffer)
	}
	var metadata flatbuffers.UOffsetT
	if len(m.Metadata) > 0 {
		mds := make([]flatbuffers.UOffsetT, len(m.Metadata))
		for i, md := range m.Metadata {
			name := w.str(md.Name)
			fb.StartObject(2)
			fb.PrependUint32Slot(1, uint32(md.Buffer), 0)
			if name != 0 {
				fb.PrependUOffsetTSlot(0, name, 0)
			}
			mds[i] = fb.EndObject()
		}
		metadata = w.tables(mds)
	}
	var sigs flatbuffers.UOffsetT
	if len(m.SignatureDefs) > 0 {
		sds := make([]flatbuffers.UOffsetT, len(m.SignatureDefs))
		for i, sd := range m.SignatureDefs {
			in := w.tensorMaps(sd.Inputs)
			out := w.tensorMaps(sd.Outputs)
			key := w.str(sd.Key)
			fb.StartObject(5)
			fb.PrependUint32Slot(4, uint32(sd.SubgraphIndex), 0)
			if key != 0 {
				fb.PrependUOffsetTSlot(2, key, 0)
			}
			fb.PrependUOffsetTSlot(1, out, 0)
			fb.PrependUOffsetTSlot(0, in, 0)
			sds[i] = fb.EndObject()
		}
		sigs = w.tables(sds)
	}

	fb.StartObject(8)
	if sigs != 0 {
		fb.PrependUOffsetTSlot(7, sigs, 0)
	}
	if metadata != 0 {
		fb.PrependUOffsetTSlot(6, metadata, 0)
	}
	if metadataBuffer != 0 {
		fb.PrependUOffsetTSlot(5, metadataBuffer, 0)
	}
	fb.PrependUOffsetTSlot(4, buffers, 0)
	if description != 0 {
		fb.PrependUOffsetTSlot(3, description, 0)
	}
	fb.PrependUOffsetTSlot(2, subgraphs, 0)
	fb.PrependUOffsetTSlot(1, operatorCodes, 0)
	fb.PrependUint32Slot(0, uint32(m.Version), 0)
	root := fb.EndObject()
	fb.FinishWithFileIdentifier(root, []byte(Identifier))
	return fb.FinishedBytes()
}

func (w *writer) tensorMaps(tms []TensorMap) flatbuffers.UOffsetT {
	offs := make([]flatbuffers.UOffsetT, len(tms))
	for i, tm := range tms {
		name := w.str(tm.Name)
		w.fb.StartObject(2)
		w.fb.PrependUint32Slot(1, uint32(tm.TensorIndex), 0)
		if name != 0 {
			w.fb.PrependUOffsetTSlot(0, name, 0)
		}
		offs[i] = w.fb.EndObject()
	}
	return w.tables(offs)
}

func (w *writer) subgraph(sg *Subgraph) flatbuffers.UOffsetT {
	fb := w.fb
	ts := make([]flatbuffers.UOffsetT, len(sg.Tensors))
	for i := range sg.Tensors {
		ts[i] = w.tensor(&sg.Tensors[i])
	}
	tensors := w.tables(ts)
	ops := make([]flatbuffers.UOffsetT, len(sg.Operators))
	for i := range sg.Operators {
		ops[i] = w.operator(&sg.Operators[i])
	}
	operators := w.tables(ops)
	inputs := w.ints(sg.Inputs)
	outputs := w.ints(sg.Outputs)
	name := w.str(sg.Name)
	fb.StartObject(5)
	if name != 0 {
		fb.PrependUOffsetTSlot(4, name, 0)
	}
	fb.PrependUOffsetTSlot(3, operators, 0)
	fb.PrependUOffsetTSlot(2, outputs, 0)
	fb.PrependUOffsetTSlot(1, inputs, 0)
	fb.PrependUOffsetTSlot(0, tensors, 0)
	return fb.EndObject()
}

func (w *writer) tensor(t *Tensor) flatbuffers.UOffsetT {
	fb := w.fb
	shape := w.ints(t.Shape)
	var sig flatbuffers.UOffsetT
	if t.ShapeSignature != nil {
		sig = w.ints(t.ShapeSignature)
	}
	name := w.str(t.Name)
	var quant flatbuffers.UOffsetT
	if q := t.Quantization; q != nil {
		var mn, mx, sc, zp flatbuffers.UOffsetT
		if q.Min != nil {
			mn = w.floats(q.Min)
		}
		if q.Max != nil {
			mx = w.floats(q.Max)
		}
		if q.Scale != nil {
			sc = w.floats(q.Scale)
		}
		if q.ZeroPoint != nil {
			zp = w.int64s(q.ZeroPoint)
		}
		fb.StartObject(7)
		fb.PrependInt32Slot(6, int32(q.QuantizedDimension), 0)
		for slot, off := range []flatbuffers.UOffsetT{mn, mx, sc, zp} {
			if off != 0 {
				fb.PrependUOffsetTSlot(slot, off, 0)
			}
		}
		quant = fb.EndObject()
	}
	fb.StartObject(9)
	fb.PrependBoolSlot(8, t.HasRank, false)
	if sig != 0 {
		fb.PrependUOffsetTSlot(7, sig, 0)
	}
	fb.PrependBoolSlot(5, t.IsVariable, false)
	if quant != 0 {
		fb.PrependUOffsetTSlot(4, quant, 0)
	}
	if name != 0 {
		fb.PrependUOffsetTSlot(3, name, 0)
	}
	fb.PrependUint32Slot(2, uint32(t.Buffer), 0)
	fb.PrependInt8Slot(1, int8(t.Type), 0)
	fb.PrependUOffsetTSlot(0, shape, 0)
	return fb.EndObject()
}

func (w *writer) operator(op *Operator) flatbuffers.UOffsetT {
	fb := w.fb
	inputs := w.ints(op.Inputs)
	outputs := w.ints(op.Outputs)
	var inter, custom flatbuffers.UOffsetT
	if op.Intermediates != nil {
		inter = w.ints(op.Intermediates)
	}
	if op.CustomOptions != nil {
		custom = w.bytes(op.CustomOptions, 4)
	}
	var opts flatbuffers.UOffsetT
	if op.Options != nil {
		opts = w.options(op.Options)
	}
	fb.StartObject(9)
	if inter != 0 {
		fb.PrependUOffsetTSlot(8, inter, 0)
	}
	if custom != 0 {
		fb.PrependUOffsetTSlot(5, custom, 0)
	}
	if op.Options != nil {
		fb.PrependUOffsetTSlot(4, opts, 0)
		fb.PrependByteSlot(3, byte(op.Options.Type()), 0)
	}
	fb.PrependUOffsetTSlot(2, outputs, 0)
	fb.PrependUOffsetTSlot(1, inputs, 0)
	fb.PrependUint32Slot(0, uint32(op.OpcodeIndex), 0)
	return fb.EndObject()
}

func (w *writer) options(o Options) flatbuffers.UOffsetT {
	if off, ok := w.moreOptions(o); ok {
		return off
	}
	fb := w.fb
	i8 := func(slot int, v int8) { fb.PrependInt8Slot(slot, v, 0) }
	i32 := func(slot, v, def int) { fb.PrependInt32Slot(slot, int32(v), int32(def)) }
	b := func(slot int, v, def bool) { fb.PrependBoolSlot(slot, v, def) }
	switch o := o.(type) {
	case *Conv2DOptions:
		fb.StartObject(7)
		i8(0, int8(o.Padding))
		i32(1, o.StrideW, 0)
		i32(2, o.StrideH, 0)
		i8(3, int8(o.Activation))
		i32(4, o.DilationW, 1)
		i32(5, o.DilationH, 1)
		i8(6, int8(o.QuantizedBiasType))
	case *DepthwiseConv2DOptions:
		fb.StartObject(7)
		i8(0, int8(o.Padding))
		i32(1, o.StrideW, 0)
		i32(2, o.StrideH, 0)
		i32(3, o.DepthMultiplier, 0)
		i8(4, int8(o.Activation))
		i32(5, o.DilationW, 1)
		i32(6, o.DilationH, 1)
	case *Pool2DOptions:
		fb.StartObject(6)
		i8(0, int8(o.Padding))
		i32(1, o.StrideW, 0)
		i32(2, o.StrideH, 0)
		i32(3, o.FilterWidth, 0)
		i32(4, o.FilterHeight, 0)
		i8(5, int8(o.Activation))
	case *FullyConnectedOptions:
		fb.StartObject(5)
		i8(0, int8(o.Activation))
		i8(1, o.WeightsFormat)
		b(2, o.KeepNumDims, false)
		b(3, o.AsymmetricQuantizeInputs, false)
		i8(4, int8(o.QuantizedBiasType))
	case *SoftmaxOptions:
		fb.StartObject(1)
		fb.PrependFloat32Slot(0, o.Beta, 0)
	case *ConcatenationOptions:
		fb.StartObject(2)
		i32(0, o.Axis, 0)
		i8(1, int8(o.Activation))
	case *AddOptions:
		fb.StartObject(2)
		i8(0, int8(o.Activation))
		b(1, o.PotScaleInt16, true)
	case *SubOptions:
		fb.StartObject(2)
		i8(0, int8(o.Activation))
		b(1, o.PotScaleInt16, true)
	case *MulOptions:
		fb.StartObject(1)
		i8(0, int8(o.Activation))
	case *DivOptions:
		fb.StartObject(1)
		i8(0, int8(o.Activation))
	case *ReshapeOptions:
		var ns flatbuffers.UOffsetT
		if o.NewShape != nil {
			ns = w.ints(o.NewShape)
		}
		fb.StartObject(1)
		if ns != 0 {
			fb.PrependUOffsetTSlot(0, ns, 0)
		}
	case *ReducerOptions:
		fb.StartObject(1)
		b(0, o.KeepDims, false)
	case *SqueezeOptions:
		var sd flatbuffers.UOffsetT
		if o.SqueezeDims != nil {
			sd = w.ints(o.SqueezeDims)
		}
		fb.StartObject(1)
		if sd != 0 {
			fb.PrependUOffsetTSlot(0, sd, 0)
		}
	case *GatherOptions:
		fb.StartObject(2)
		i32(0, o.Axis, 0)
		i32(1, o.BatchDims, 0)
	case *StridedSliceOptions:
		fb.StartObject(6)
		i32(0, o.BeginMask, 0)
		i32(1, o.EndMask, 0)
		i32(2, o.EllipsisMask, 0)
		i32(3, o.NewAxisMask, 0)
		i32(4, o.ShrinkAxisMask, 0)
		b(5, o.Offset, false)
	case *LeakyReluOptions:
		fb.StartObject(1)
		fb.PrependFloat32Slot(0, o.Alpha, 0)
	default: // options without fields
		fb.StartObject(0)
	}
	return fb.EndObject()
}
