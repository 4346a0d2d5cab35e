package quant

import (
	"fmt"

	"github.com/megapipe/mega/shared/tflite"
)

// quantize builds the int8 model from the float graph and the ranges.
func (g *graph) quantize(ranges map[int]Range, opts Options, rep *Report) (*tflite.Model, error) {
	ps, err := g.assign(ranges)
	if err != nil {
		return nil, err
	}
	// A deep copy of the float model to rewrite in place.
	raw, err := g.m.Marshal()
	if err != nil {
		return nil, err
	}
	q, err := tflite.Parse(raw)
	if err != nil {
		return nil, err
	}
	sg := &q.Subgraphs[0]
	setQ := func(t int, p params) {
		sg.Tensors[t].Type = tflite.Int8
		sg.Tensors[t].Quantization = &tflite.Quantization{Scale: []float32{p.scale}, ZeroPoint: []int64{p.zp}}
	}
	for _, t := range g.activations {
		setQ(t, ps[t])
		r := ranges[t]
		rep.Tensors = append(rep.Tensors, TensorReport{Index: t, Name: sg.Tensors[t].Name, Min: r.Min, Max: r.Max,
			Scale: ps[t].scale, ZeroPoint: ps[t].zp})
	}
	// Weights first: biases need their scales.
	wScales := map[int][]float32{}
	for _, t := range sortedKeys(g.consts) {
		u := g.consts[t]
		if u.role != roleWeight {
			continue
		}
		tn := &sg.Tensors[t]
		w, err := tflite.Float32s(q.Buffers[tn.Buffer])
		if err != nil {
			return nil, fmt.Errorf("weights %q: %w", tn.Name, err)
		}
		axis := u.axis
		if opts.PerTensorWeights {
			axis = -1
		}
		qw, scales := QuantizeWeights(w, tn.Shape, axis)
		tn.Type = tflite.Int8
		tn.Buffer = addBuffer(q, tflite.Int8Bytes(qw))
		tn.Quantization = &tflite.Quantization{Scale: scales, ZeroPoint: make([]int64, len(scales)), QuantizedDimension: max(axis, 0)}
		wScales[t] = scales
	}
	biasDone := map[int]bool{}
	for oi := range sg.Operators {
		op := &sg.Operators[oi]
		code := q.OperatorCodes[op.OpcodeIndex].Builtin
		if code != tflite.OpFullyConnected && code != tflite.OpConv2D && code != tflite.OpDepthwiseConv2D {
			continue
		}
		in := sg.Tensors[op.Inputs[0]].Quantization.Scale[0]
		ws := wScales[op.Inputs[1]]
		wt := sg.Tensors[op.Inputs[1]]
		outCh := wt.Shape[0]
		if code == tflite.OpDepthwiseConv2D {
			outCh = wt.Shape[3]
		}
		if len(op.Inputs) < 3 || op.Inputs[2] < 0 {
			// No bias: add a zero one, so the op keeps its int8 version and
			// every runtime (including older ones) takes it.
			qb, scales, _ := QuantizeBias(make([]float32, outCh), in, ws)
			bt := len(sg.Tensors)
			sg.Tensors = append(sg.Tensors, tflite.Tensor{Name: sg.Tensors[op.Outputs[0]].Name + "/zero_bias", Type: tflite.Int32,
				Shape: []int{outCh}, Buffer: addBuffer(q, tflite.Int32Bytes(qb)),
				Quantization: &tflite.Quantization{Scale: scales, ZeroPoint: make([]int64, len(scales))}})
			op.Inputs = append(op.Inputs[:min(len(op.Inputs), 2)], bt)
			continue
		}
		bt := op.Inputs[2]
		if biasDone[bt] {
			return nil, fmt.Errorf("bias %q: %w: shared by two operators", sg.Tensors[bt].Name, ErrUnsupported)
		}
		biasDone[bt] = true
		tn := &sg.Tensors[bt]
		b, err := tflite.Float32s(q.Buffers[tn.Buffer])
		if err != nil {
			return nil, fmt.Errorf("bias %q: %w", tn.Name, err)
		}
		if len(b) != outCh {
			return nil, fmt.Errorf("bias %q: %w: %d values for %d output channels", tn.Name, ErrUnsupported, len(b), outCh)
		}
		qb, scales, clamped := QuantizeBias(b, in, ws)
		rep.ClampedBias += clamped
		tn.Type = tflite.Int32
		tn.Buffer = addBuffer(q, tflite.Int32Bytes(qb))
		tn.Quantization = &tflite.Quantization{Scale: scales, ZeroPoint: make([]int64, len(scales))}
	}
	if err := quantizeTransposeConvBias(q, wScales, biasDone, rep); err != nil {
		return nil, err
	}
	// Other float constants: per-tensor asymmetric int8 with their group's params.
	for _, t := range sortedKeys(g.consts) {
		if g.consts[t].role != roleOther {
			continue
		}
		tn := &sg.Tensors[t]
		vals, err := tflite.Float32s(q.Buffers[tn.Buffer])
		if err != nil {
			return nil, fmt.Errorf("constant %q: %w", tn.Name, err)
		}
		p := ps[t]
		qv := make([]int8, len(vals))
		for i, v := range vals {
			qv[i] = quantizeValue(v, p)
		}
		setQ(t, p)
		tn.Buffer = addBuffer(q, tflite.Int8Bytes(qv))
	}
	requantizeConcatInputs(q)
	if opts.IO == FloatIO {
		addIOConversions(q)
	}
	if err := setVersions(q); err != nil {
		return nil, err
	}
	compactBuffers(q)
	q.Description = "megapipe int8 post-training quantization of: " + g.m.Description
	if err := q.Validate(); err != nil {
		return nil, err
	}
	rep.Operators = map[string]int{}
	for oi, op := range sg.Operators {
		code := q.OperatorCodes[op.OpcodeIndex].Builtin
		rep.Operators[code.String()]++
		if code != tflite.OpFullyConnected && code != tflite.OpConv2D && code != tflite.OpDepthwiseConv2D {
			continue
		}
		// XNNPACK takes int8 FC/CONV only when s_in*s_w/s_out < 256.
		sIn := sg.Tensors[op.Inputs[0]].Quantization.Scale[0]
		sOut := sg.Tensors[op.Outputs[0]].Quantization.Scale[0]
		worst := 0.0
		for _, sw := range sg.Tensors[op.Inputs[1]].Quantization.Scale {
			worst = max(worst, float64(sIn)*float64(sw)/float64(sOut))
		}
		if worst >= 256 {
			rep.Warnings = append(rep.Warnings, fmt.Sprintf("operator %d %s: requantization scale %.4g >= 256: the official "+
				"runtime's XNNPACK delegate refuses the model and falls back to its reference kernels (an input range "+
				"much wider than the layer's output range; float I/O with calibration rows equalizes such inputs)", oi, code, worst))
		}
	}
	return q, nil
}

// quantizeValue is TFLite's QUANTIZE: clamp(round(x / scale) + zp).
func quantizeValue(x float32, p params) int8 {
	v := roundHalfAway(float64(x/p.scale)) + float64(p.zp)
	return int8(max(-128, min(127, v)))
}

func roundHalfAway(x float64) float64 {
	if x < 0 {
		return -roundHalfAway(-x)
	}
	return float64(int64(x + 0.5))
}

func addBuffer(m *tflite.Model, data []byte) int {
	m.Buffers = append(m.Buffers, data)
	return len(m.Buffers) - 1
}

// addIOConversions keeps the graph's inputs and outputs float: each input
// tensor stays float and feeds a QUANTIZE into a new int8 tensor that the
// operators read; each output tensor stays float and is produced by a
// DEQUANTIZE from a new int8 tensor. Tensor indices of the inputs and
// outputs (and so the signature defs) do not change.
func addIOConversions(m *tflite.Model) {
	sg := &m.Subgraphs[0]
	twin := func(t int) int {
		nt := sg.Tensors[t]
		nt.Name += "_int8"
		nt.Shape = append([]int(nil), nt.Shape...)
		nt.ShapeSignature = append([]int(nil), nt.ShapeSignature...)
		if len(nt.ShapeSignature) == 0 {
			nt.ShapeSignature = nil
		}
		sg.Tensors = append(sg.Tensors, nt)
		ft := &sg.Tensors[t]
		ft.Type, ft.Quantization = tflite.Float32, nil
		return len(sg.Tensors) - 1
	}
	rename := func(from, to int) {
		for oi := range sg.Operators {
			for j, t := range sg.Operators[oi].Inputs {
				if t == from {
					sg.Operators[oi].Inputs[j] = to
				}
			}
			for j, t := range sg.Operators[oi].Outputs {
				if t == from {
					sg.Operators[oi].Outputs[j] = to
				}
			}
		}
	}
	var pre, post []tflite.Operator
	qcode := opcode(m, tflite.OpQuantize, 1)
	dcode := opcode(m, tflite.OpDequantize, 2)
	done := map[int]bool{}
	for _, t := range sg.Inputs {
		if done[t] || sg.Tensors[t].Type != tflite.Int8 {
			continue
		}
		done[t] = true
		it := twin(t)
		rename(t, it)
		pre = append(pre, tflite.Operator{OpcodeIndex: qcode, Inputs: []int{t}, Outputs: []int{it}, Options: &tflite.QuantizeOptions{}})
	}
	for _, t := range sg.Outputs {
		if done[t] || sg.Tensors[t].Type != tflite.Int8 {
			continue
		}
		done[t] = true
		ot := twin(t)
		rename(t, ot)
		post = append(post, tflite.Operator{OpcodeIndex: dcode, Inputs: []int{ot}, Outputs: []int{t}, Options: &tflite.DequantizeOptions{}})
	}
	sg.Operators = append(append(pre, sg.Operators...), post...)
}

// opcode returns the index of (op, version), adding it when new.
func opcode(m *tflite.Model, op tflite.BuiltinOperator, version int) int {
	for i, oc := range m.OperatorCodes {
		if oc.Builtin == op && oc.Custom == "" && oc.Version == version {
			return i
		}
	}
	m.OperatorCodes = append(m.OperatorCodes, tflite.OperatorCode{Builtin: op, Version: version})
	return len(m.OperatorCodes) - 1
}

// setVersions gives every operator the version TFLite's op_version rules
// assign to its int8 form, and rebuilds the operator code table.
func setVersions(m *tflite.Model) error {
	sg := &m.Subgraphs[0]
	old := m.OperatorCodes
	m.OperatorCodes = nil
	for oi := range sg.Operators {
		op := &sg.Operators[oi]
		oc := old[op.OpcodeIndex]
		v := oc.Version
		in := sg.Tensors[op.Inputs[0]]
		switch oc.Builtin {
		case tflite.OpConv2D, tflite.OpDepthwiseConv2D:
			v = 3
		case tflite.OpFullyConnected:
			v = 4
			if o, ok := op.Options.(*tflite.FullyConnectedOptions); ok && o.KeepNumDims {
				v = 5
			}
		case tflite.OpAveragePool2D, tflite.OpMaxPool2D, tflite.OpSoftmax, tflite.OpLogistic, tflite.OpTanh,
			tflite.OpRelu, tflite.OpRelu6, tflite.OpAdd, tflite.OpConcatenation, tflite.OpMean:
			v = 2
		case tflite.OpSub:
			v = 2
			if len(op.Inputs) == 2 && !sameShape(sg.Tensors[op.Inputs[0]].Shape, sg.Tensors[op.Inputs[1]].Shape) &&
				max(len(sg.Tensors[op.Inputs[0]].Shape), len(sg.Tensors[op.Inputs[1]].Shape)) > 4 {
				v = 3
			}
		case tflite.OpMul:
			v = 2
			if len(op.Inputs) == 2 {
				s1 := sg.Tensors[op.Inputs[0]].Quantization.Scale[0]
				s2 := sg.Tensors[op.Inputs[1]].Quantization.Scale[0]
				so := sg.Tensors[op.Outputs[0]].Quantization.Scale[0]
				if s1*s2/so >= 1 {
					v = 3
				}
			}
		case tflite.OpPad:
			v = 2
			if len(in.Shape) > 4 {
				v = 4
			}
		case tflite.OpQuantize:
			v = 1
		case tflite.OpDequantize:
			v = 2
		default:
			if iv, ok := int8Versions[oc.Builtin]; ok && (sg.Tensors[op.Outputs[0]].Type == tflite.Int8 || in.Type == tflite.Int8) {
				v = max(v, iv)
			}
		}
		op.OpcodeIndex = opcode(m, oc.Builtin, v)
	}
	return nil
}

func sameShape(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// compactBuffers drops buffers no tensor or metadata refers to any more
// (the float weights) and renumbers the rest.
func compactBuffers(m *tflite.Model) {
	used := make([]bool, len(m.Buffers))
	used[0] = true
	for _, sg := range m.Subgraphs {
		for _, t := range sg.Tensors {
			used[t.Buffer] = true
		}
	}
	for _, md := range m.Metadata {
		used[md.Buffer] = true
	}
	for _, b := range m.MetadataBuffer {
		used[b] = true
	}
	remap := make([]int, len(m.Buffers))
	var bufs [][]byte
	for i, b := range m.Buffers {
		if used[i] {
			remap[i] = len(bufs)
			bufs = append(bufs, b)
		}
	}
	m.Buffers = bufs
	for si := range m.Subgraphs {
		for ti := range m.Subgraphs[si].Tensors {
			t := &m.Subgraphs[si].Tensors[ti]
			t.Buffer = remap[t.Buffer]
		}
	}
	for i := range m.Metadata {
		m.Metadata[i].Buffer = remap[m.Metadata[i].Buffer]
	}
	for i := range m.MetadataBuffer {
		m.MetadataBuffer[i] = remap[m.MetadataBuffer[i]]
	}
}
