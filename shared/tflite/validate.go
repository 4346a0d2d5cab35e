package tflite

import (
	"fmt"
	"math"
	"reflect"
)

// maxElements bounds the element count of one tensor (2^40).
const maxElements = 1 << 40

// Validate checks the model's internal consistency: operator codes, every
// tensor, buffer, opcode, subgraph and signature index, shapes against
// constant buffer sizes and quantization parameters against shapes. Parse
// and Marshal call it; errors are *FormatError values.
func (m *Model) Validate() error {
	if m.Version != SchemaVersion {
		return formatErr("version", ErrUnsupported, "schema version %d, want %d", m.Version, SchemaVersion)
	}
	if len(m.Subgraphs) == 0 {
		return formatErr("subgraphs", ErrInvalid, "a model needs at least one subgraph")
	}
	for i, sg := range m.Subgraphs {
		if len(sg.Tensors) > 0 && len(m.Buffers) == 0 {
			return formatErr("buffers", ErrInvalid, "subgraph %d has tensors but the model has no buffers (buffer 0 is the empty sentinel they point at)", i)
		}
	}
	for i, oc := range m.OperatorCodes {
		path := fmt.Sprintf("operator_codes[%d]", i)
		if oc.Builtin < 0 {
			return formatErr(path+".builtin_code", ErrInvalid, "negative code %d", oc.Builtin)
		}
		if oc.Version < 1 {
			return formatErr(path+".version", ErrInvalid, "version %d", oc.Version)
		}
	}
	for i, b := range m.MetadataBuffer {
		if b < 0 || b >= len(m.Buffers) {
			return formatErr(fmt.Sprintf("metadata_buffer[%d]", i), ErrOutOfRange, "buffer %d of %d", b, len(m.Buffers))
		}
	}
	for i, md := range m.Metadata {
		if md.Buffer < 0 || md.Buffer >= len(m.Buffers) {
			return formatErr(fmt.Sprintf("metadata[%d].buffer", i), ErrOutOfRange, "buffer %d of %d", md.Buffer, len(m.Buffers))
		}
	}
	for i := range m.Subgraphs {
		if err := m.validateSubgraph(i); err != nil {
			return err
		}
	}
	for i, sd := range m.SignatureDefs {
		path := fmt.Sprintf("signature_defs[%d]", i)
		if sd.SubgraphIndex < 0 || sd.SubgraphIndex >= len(m.Subgraphs) {
			return formatErr(path+".subgraph_index", ErrOutOfRange, "subgraph %d of %d", sd.SubgraphIndex, len(m.Subgraphs))
		}
		n := len(m.Subgraphs[sd.SubgraphIndex].Tensors)
		for j, tm := range sd.Inputs {
			if tm.TensorIndex < 0 || tm.TensorIndex >= n {
				return formatErr(fmt.Sprintf("%s.inputs[%d].tensor_index", path, j), ErrOutOfRange, "tensor %d of %d", tm.TensorIndex, n)
			}
		}
		for j, tm := range sd.Outputs {
			if tm.TensorIndex < 0 || tm.TensorIndex >= n {
				return formatErr(fmt.Sprintf("%s.outputs[%d].tensor_index", path, j), ErrOutOfRange, "tensor %d of %d", tm.TensorIndex, n)
			}
		}
	}
	return nil
}

func (m *Model) validateSubgraph(si int) error {
	sg := &m.Subgraphs[si]
	path := fmt.Sprintf("subgraphs[%d]", si)
	n := len(sg.Tensors)
	for i := range sg.Tensors {
		if err := m.validateTensor(fmt.Sprintf("%s.tensors[%d]", path, i), &sg.Tensors[i]); err != nil {
			return err
		}
	}
	checkIdx := func(p string, idx []int, optional bool) error {
		for j, v := range idx {
			if (v == -1 && optional) || (v >= 0 && v < n) {
				continue
			}
			return formatErr(fmt.Sprintf("%s[%d]", p, j), ErrOutOfRange, "tensor %d of %d", v, n)
		}
		return nil
	}
	if err := checkIdx(path+".inputs", sg.Inputs, false); err != nil {
		return err
	}
	if err := checkIdx(path+".outputs", sg.Outputs, false); err != nil {
		return err
	}
	for i, op := range sg.Operators {
		p := fmt.Sprintf("%s.operators[%d]", path, i)
		if op.OpcodeIndex < 0 || op.OpcodeIndex >= len(m.OperatorCodes) {
			return formatErr(p+".opcode_index", ErrOutOfRange, "opcode %d of %d", op.OpcodeIndex, len(m.OperatorCodes))
		}
		if err := checkIdx(p+".inputs", op.Inputs, true); err != nil {
			return err
		}
		if err := checkIdx(p+".outputs", op.Outputs, false); err != nil {
			return err
		}
		if err := checkIdx(p+".intermediates", op.Intermediates, true); err != nil {
			return err
		}
		if op.Options != nil && reflect.ValueOf(op.Options).IsNil() {
			return formatErr(p+".builtin_options", ErrInvalid, "nil %T", op.Options)
		}
		if o, ok := op.Options.(*OtherOptions); ok && (o.Tag == 0 || o.Tag > maxOptionsType) {
			return formatErr(p+".builtin_options", ErrInvalid, "builtin options type %d", o.Tag)
		}
	}
	return nil
}

func (m *Model) validateTensor(path string, t *Tensor) error {
	if t.Type < 0 || int(t.Type) >= len(tensorTypeNames) {
		return formatErr(path+".type", ErrInvalid, "tensor type %d", t.Type)
	}
	elems := int64(1)
	for i, d := range t.Shape {
		if d < 0 {
			return formatErr(fmt.Sprintf("%s.shape[%d]", path, i), ErrInvalid, "negative dimension %d", d)
		}
		if d > 0 && elems > maxElements/int64(d) {
			return formatErr(path+".shape", ErrInvalid, "more than 2^40 elements")
		}
		elems *= int64(d)
	}
	if len(t.ShapeSignature) > 0 {
		if len(t.ShapeSignature) != len(t.Shape) {
			return formatErr(path+".shape_signature", ErrInvalid, "rank %d, shape has rank %d", len(t.ShapeSignature), len(t.Shape))
		}
		for i, d := range t.ShapeSignature {
			if d < -1 || (d >= 0 && d != t.Shape[i]) {
				return formatErr(fmt.Sprintf("%s.shape_signature[%d]", path, i), ErrInvalid, "%d against shape %d", d, t.Shape[i])
			}
		}
	}
	if t.Buffer < 0 || t.Buffer >= max(len(m.Buffers), 1) {
		return formatErr(path+".buffer", ErrOutOfRange, "buffer %d of %d", t.Buffer, len(m.Buffers))
	}
	if t.Buffer < len(m.Buffers) && len(m.Buffers[t.Buffer]) > 0 {
		want, ok := byteSize(t.Type, elems)
		if ok && int64(len(m.Buffers[t.Buffer])) != want {
			return formatErr(path+".buffer", ErrInvalid, "buffer %d has %d bytes, %s%v needs %d",
				t.Buffer, len(m.Buffers[t.Buffer]), t.Type, t.Shape, want)
		}
	}
	if q := t.Quantization; q != nil {
		if err := validateQuantization(path+".quantization", q, t.Shape); err != nil {
			return err
		}
	}
	return nil
}

func validateQuantization(path string, q *Quantization, shape []int) error {
	if len(q.Min) != len(q.Max) {
		return formatErr(path+".max", ErrInvalid, "%d min values but %d max values", len(q.Min), len(q.Max))
	}
	if len(q.ZeroPoint) != 0 && len(q.ZeroPoint) != len(q.Scale) {
		return formatErr(path+".zero_point", ErrInvalid, "%d zero points for %d scales", len(q.ZeroPoint), len(q.Scale))
	}
	for i, s := range q.Scale {
		if math.IsNaN(float64(s)) || math.IsInf(float64(s), 0) || s < 0 {
			return formatErr(fmt.Sprintf("%s.scale[%d]", path, i), ErrInvalid, "scale %v", s)
		}
	}
	if q.QuantizedDimension < 0 {
		return formatErr(path+".quantized_dimension", ErrInvalid, "negative dimension %d", q.QuantizedDimension)
	}
	if len(q.Scale) > 1 {
		axis := q.Axis(len(shape))
		if axis >= len(shape) {
			return formatErr(path+".quantized_dimension", ErrInvalid, "dimension %d of a rank-%d tensor", q.QuantizedDimension, len(shape))
		}
		if shape[axis] != len(q.Scale) {
			return formatErr(path+".scale", ErrInvalid, "%d scales for dimension %d of size %d", len(q.Scale), axis, shape[axis])
		}
	}
	return nil
}

// Axis returns the dimension that per-channel scales run along, for a tensor
// of the given rank. It is QuantizedDimension, except that a 1-D tensor whose
// QuantizedDimension is out of range (person_detect.tflite's depthwise biases
// carry 3) is read as axis 0: that is how TFLite Micro runs such files, while
// full TFLite rejects them.
func (q *Quantization) Axis(rank int) int {
	if rank == 1 && q.QuantizedDimension >= 1 {
		return 0
	}
	return q.QuantizedDimension
}

// PerChannel reports whether the tensor has more than one scale.
func (q *Quantization) PerChannel() bool { return q != nil && len(q.Scale) > 1 }

func byteSize(t TensorType, elems int64) (int64, bool) {
	switch t {
	case Int4:
		return (elems + 1) / 2, true
	case String, Resource, Variant:
		return 0, false
	}
	s := t.Size()
	if s == 0 {
		return 0, false
	}
	return elems * int64(s), true
}
