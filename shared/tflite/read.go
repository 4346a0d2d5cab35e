package tflite

import (
	"encoding/binary"
	"fmt"
	"math"
)

// recoverPanics makes Parse turn an unexpected panic into an error. The
// decoder checks every offset before use, so this is only a safety net; the
// fuzz test switches it off so that a missed check shows up as a crash.
var recoverPanics = true

// Parse decodes and validates a TFLite flatbuffer. Every offset and length is
// checked against the input before use, and the memory the decoded model may
// take is bounded by a multiple of len(b). The returned model does not alias
// b. Errors are *FormatError values wrapping one of the Err* sentinels.
func Parse(b []byte) (m *Model, err error) {
	if recoverPanics {
		defer func() {
			if r := recover(); r != nil {
				m, err = nil, &FormatError{Path: "model", Err: ErrBadOffset, Detail: fmt.Sprint("decoder panic: ", r)}
			}
		}()
	}
	if len(b) < 8 {
		return nil, formatErr("model", ErrTruncated, "%d bytes, a model needs at least 8", len(b))
	}
	if string(b[4:8]) != Identifier {
		return nil, formatErr("model", ErrBadIdentifier, "got %q", b[4:8])
	}
	d := &decoder{b: b, budget: int64(len(b))*32 + 1<<20}
	m, err = d.model()
	if err != nil {
		return nil, err
	}
	if err := m.Validate(); err != nil {
		return nil, err
	}
	return m, nil
}

// decoder reads flatbuffer tables with explicit bounds checks.
type decoder struct {
	b      []byte
	budget int64 // bytes of decoded Go memory still allowed
}

// table is a located flatbuffer table. The zero table has every field absent.
type table struct {
	pos   int
	vt    int
	vtLen int
	tLen  int
}

func (d *decoder) charge(path string, n int64) error {
	if n < 0 || n > d.budget {
		return formatErr(path, ErrTooLarge, "input of %d bytes", len(d.b))
	}
	d.budget -= n
	return nil
}

func (d *decoder) u32(pos int) uint32 { return binary.LittleEndian.Uint32(d.b[pos:]) }
func (d *decoder) u16(pos int) int    { return int(binary.LittleEndian.Uint16(d.b[pos:])) }

// tableAt locates the table starting at pos.
func (d *decoder) tableAt(path string, pos int) (table, error) {
	if pos < 0 || pos > len(d.b)-4 {
		return table{}, formatErr(path, ErrTruncated, "table at %d", pos)
	}
	vt := pos - int(int32(d.u32(pos)))
	if vt < 0 || vt > len(d.b)-4 {
		return table{}, formatErr(path, ErrBadOffset, "vtable at %d", vt)
	}
	t := table{pos: pos, vt: vt, vtLen: d.u16(vt), tLen: d.u16(vt + 2)}
	if t.vtLen < 4 || t.vtLen%2 != 0 || t.vtLen > len(d.b)-vt {
		return table{}, formatErr(path, ErrBadOffset, "vtable length %d", t.vtLen)
	}
	if t.tLen < 4 || t.tLen > len(d.b)-pos {
		return table{}, formatErr(path, ErrTruncated, "table size %d at %d", t.tLen, pos)
	}
	return t, nil
}

// field returns the absolute position of field slot with size bytes, or -1
// when the field is absent.
func (d *decoder) field(path string, t table, slot, size int) (int, error) {
	vo := 4 + 2*slot
	if vo+2 > t.vtLen {
		return -1, nil
	}
	o := d.u16(t.vt + vo)
	if o == 0 {
		return -1, nil
	}
	if o+size > t.tLen {
		return -1, formatErr(path, ErrBadOffset, "field %d at %d overruns table of %d bytes", slot, o, t.tLen)
	}
	return t.pos + o, nil
}

func (d *decoder) scalar(path string, t table, slot, size int) (uint64, bool, error) {
	p, err := d.field(path, t, slot, size)
	if err != nil || p < 0 {
		return 0, false, err
	}
	var v uint64
	for i := size - 1; i >= 0; i-- {
		v = v<<8 | uint64(d.b[p+i])
	}
	return v, true, nil
}

func (d *decoder) u8(path string, t table, slot int, def uint8) (uint8, error) {
	v, ok, err := d.scalar(path, t, slot, 1)
	if !ok {
		return def, err
	}
	return uint8(v), nil
}

func (d *decoder) i8(path string, t table, slot int, def int8) (int8, error) {
	v, err := d.u8(path, t, slot, uint8(def))
	return int8(v), err
}

func (d *decoder) boolean(path string, t table, slot int, def bool) (bool, error) {
	v, ok, err := d.scalar(path, t, slot, 1)
	if !ok {
		return def, err
	}
	return v != 0, nil
}

func (d *decoder) i32(path string, t table, slot int, def int32) (int32, error) {
	v, ok, err := d.scalar(path, t, slot, 4)
	if !ok {
		return def, err
	}
	return int32(uint32(v)), nil
}

func (d *decoder) u32f(path string, t table, slot int) (uint32, error) {
	v, _, err := d.scalar(path, t, slot, 4)
	return uint32(v), err
}

func (d *decoder) u64(path string, t table, slot int) (uint64, error) {
	v, _, err := d.scalar(path, t, slot, 8)
	return v, err
}

func (d *decoder) f32(path string, t table, slot int, def float32) (float32, error) {
	v, ok, err := d.scalar(path, t, slot, 4)
	if !ok {
		return def, err
	}
	return math.Float32frombits(uint32(v)), nil
}

// ref follows the offset in field slot; it returns -1 when absent.
func (d *decoder) ref(path string, t table, slot int) (int, error) {
	p, err := d.field(path, t, slot, 4)
	if err != nil || p < 0 {
		return -1, err
	}
	target := p + int(d.u32(p))
	if target > len(d.b)-4 {
		return -1, formatErr(path, ErrTruncated, "offset to %d", target)
	}
	return target, nil
}

// vector locates the vector in field slot with elements of elemSize bytes.
// It returns start = -1 when the field is absent.
func (d *decoder) vector(path string, t table, slot, elemSize int) (start, n int, err error) {
	target, err := d.ref(path, t, slot)
	if err != nil || target < 0 {
		return -1, 0, err
	}
	n64 := uint64(d.u32(target))
	if n64*uint64(elemSize) > uint64(len(d.b)-target-4) {
		return -1, 0, formatErr(path, ErrTruncated, "vector of %d elements at %d", n64, target)
	}
	return target + 4, int(n64), nil
}

func (d *decoder) str(path string, t table, slot int) (string, error) {
	start, n, err := d.vector(path, t, slot, 1)
	if err != nil || start < 0 {
		return "", err
	}
	if err := d.charge(path, int64(n)); err != nil {
		return "", err
	}
	return string(d.b[start : start+n]), nil
}

func (d *decoder) bytes(path string, t table, slot int) ([]byte, error) {
	start, n, err := d.vector(path, t, slot, 1)
	if err != nil || start < 0 || n == 0 {
		return nil, err
	}
	if err := d.charge(path, int64(n)); err != nil {
		return nil, err
	}
	return append([]byte(nil), d.b[start:start+n]...), nil
}

func (d *decoder) ints(path string, t table, slot int) ([]int, error) {
	start, n, err := d.vector(path, t, slot, 4)
	if err != nil || start < 0 || n == 0 {
		return nil, err
	}
	if err := d.charge(path, int64(n)*8); err != nil {
		return nil, err
	}
	out := make([]int, n)
	for i := range out {
		out[i] = int(int32(d.u32(start + 4*i)))
	}
	return out, nil
}

func (d *decoder) floats(path string, t table, slot int) ([]float32, error) {
	start, n, err := d.vector(path, t, slot, 4)
	if err != nil || start < 0 || n == 0 {
		return nil, err
	}
	if err := d.charge(path, int64(n)*4); err != nil {
		return nil, err
	}
	out := make([]float32, n)
	for i := range out {
		out[i] = math.Float32frombits(d.u32(start + 4*i))
	}
	return out, nil
}

func (d *decoder) int64s(path string, t table, slot int) ([]int64, error) {
	start, n, err := d.vector(path, t, slot, 8)
	if err != nil || start < 0 || n == 0 {
		return nil, err
	}
	if err := d.charge(path, int64(n)*8); err != nil {
		return nil, err
	}
	out := make([]int64, n)
	for i := range out {
		out[i] = int64(binary.LittleEndian.Uint64(d.b[start+8*i:]))
	}
	return out, nil
}

// tables decodes the vector of tables in field slot with fn, charging each
// element perElem bytes before decoding it.
func (d *decoder) tables(path string, t table, slot int, perElem int64, fn func(path string, i int, t table) error) (int, error) {
	start, n, err := d.vector(path, t, slot, 4)
	if err != nil || start < 0 {
		return 0, err
	}
	if err := d.charge(path, int64(n)*perElem); err != nil {
		return 0, err
	}
	for i := 0; i < n; i++ {
		p := start + 4*i
		ep := fmt.Sprintf("%s[%d]", path, i)
		et, err := d.tableAt(ep, p+int(d.u32(p)))
		if err != nil {
			return 0, err
		}
		if err := fn(ep, i, et); err != nil {
			return 0, err
		}
	}
	return n, nil
}

func (d *decoder) subtable(path string, t table, slot int) (table, bool, error) {
	target, err := d.ref(path, t, slot)
	if err != nil || target < 0 {
		return table{}, false, err
	}
	st, err := d.tableAt(path, target)
	return st, err == nil, err
}

func (d *decoder) model() (*Model, error) {
	root := int(d.u32(0))
	t, err := d.tableAt("model", root)
	if err != nil {
		return nil, err
	}
	m := &Model{}
	v, err := d.u32f("version", t, 0)
	if err != nil {
		return nil, err
	}
	if v != SchemaVersion {
		return nil, formatErr("version", ErrUnsupported, "schema version %d, want %d", v, SchemaVersion)
	}
	m.Version = int(v)
	_, err = d.tables("operator_codes", t, 1, 64, func(path string, i int, t table) error {
		oc, err := d.operatorCode(path, t)
		m.OperatorCodes = append(m.OperatorCodes, oc)
		return err
	})
	if err != nil {
		return nil, err
	}
	_, err = d.tables("subgraphs", t, 2, 128, func(path string, i int, t table) error {
		sg, err := d.subgraph(path, t)
		m.Subgraphs = append(m.Subgraphs, sg)
		return err
	})
	if err != nil {
		return nil, err
	}
	if m.Description, err = d.str("description", t, 3); err != nil {
		return nil, err
	}
	_, err = d.tables("buffers", t, 4, 32, func(path string, i int, t table) error {
		buf, err := d.buffer(path, t)
		m.Buffers = append(m.Buffers, buf)
		return err
	})
	if err != nil {
		return nil, err
	}
	if m.MetadataBuffer, err = d.ints("metadata_buffer", t, 5); err != nil {
		return nil, err
	}
	_, err = d.tables("metadata", t, 6, 48, func(path string, i int, t table) error {
		var md Metadata
		var err error
		if md.Name, err = d.str(path+".name", t, 0); err != nil {
			return err
		}
		b, err := d.u32f(path+".buffer", t, 1)
		md.Buffer = int(b)
		m.Metadata = append(m.Metadata, md)
		return err
	})
	if err != nil {
		return nil, err
	}
	_, err = d.tables("signature_defs", t, 7, 96, func(path string, i int, t table) error {
		sd, err := d.signatureDef(path, t)
		m.SignatureDefs = append(m.SignatureDefs, sd)
		return err
	})
	if err != nil {
		return nil, err
	}
	for i, name := range []string{"external_buffer_groups", "external_buffers"} {
		if _, n, err := d.vector(name, t, 8+i, 4); err != nil {
			return nil, err
		} else if n > 0 {
			return nil, formatErr(name, ErrUnsupported, "external weight files are not supported")
		}
	}
	return m, nil
}

func (d *decoder) operatorCode(path string, t table) (OperatorCode, error) {
	dep, err := d.i8(path+".deprecated_builtin_code", t, 0, 0)
	if err != nil {
		return OperatorCode{}, err
	}
	custom, err := d.str(path+".custom_code", t, 1)
	if err != nil {
		return OperatorCode{}, err
	}
	ver, err := d.i32(path+".version", t, 2, 1)
	if err != nil {
		return OperatorCode{}, err
	}
	bc, err := d.i32(path+".builtin_code", t, 3, 0)
	if err != nil {
		return OperatorCode{}, err
	}
	if dep < 0 {
		return OperatorCode{}, formatErr(path+".deprecated_builtin_code", ErrInvalid, "negative code %d", dep)
	}
	code := max(BuiltinOperator(dep), BuiltinOperator(bc))
	return OperatorCode{Builtin: code, Custom: custom, Version: int(ver)}, nil
}

func (d *decoder) buffer(path string, t table) ([]byte, error) {
	data, err := d.bytes(path+".data", t, 0)
	if err != nil {
		return nil, err
	}
	off, err := d.u64(path+".offset", t, 1)
	if err != nil {
		return nil, err
	}
	size, err := d.u64(path+".size", t, 2)
	if err != nil {
		return nil, err
	}
	if off > 1 && data == nil {
		// Data outside the flatbuffer, relative to the start of the file.
		if off > uint64(len(d.b)) || size > uint64(len(d.b))-off {
			return nil, formatErr(path+".offset", ErrTruncated, "external data [%d,+%d) beyond %d bytes", off, size, len(d.b))
		}
		if err := d.charge(path, int64(size)); err != nil {
			return nil, err
		}
		data = append([]byte(nil), d.b[off:off+size]...)
	}
	if len(data) == 0 {
		return nil, nil
	}
	return data, nil
}

func (d *decoder) signatureDef(path string, t table) (SignatureDef, error) {
	var sd SignatureDef
	tensorMaps := func(name string, slot int, dst *[]TensorMap) error {
		_, err := d.tables(path+"."+name, t, slot, 48, func(path string, i int, t table) error {
			var tm TensorMap
			var err error
			if tm.Name, err = d.str(path+".name", t, 0); err != nil {
				return err
			}
			idx, err := d.u32f(path+".tensor_index", t, 1)
			tm.TensorIndex = int(idx)
			*dst = append(*dst, tm)
			return err
		})
		return err
	}
	if err := tensorMaps("inputs", 0, &sd.Inputs); err != nil {
		return sd, err
	}
	if err := tensorMaps("outputs", 1, &sd.Outputs); err != nil {
		return sd, err
	}
	var err error
	if sd.Key, err = d.str(path+".signature_key", t, 2); err != nil {
		return sd, err
	}
	idx, err := d.u32f(path+".subgraph_index", t, 4)
	sd.SubgraphIndex = int(idx)
	return sd, err
}

func (d *decoder) subgraph(path string, t table) (Subgraph, error) {
	var sg Subgraph
	_, err := d.tables(path+".tensors", t, 0, 160, func(path string, i int, t table) error {
		tn, err := d.tensor(path, t)
		sg.Tensors = append(sg.Tensors, tn)
		return err
	})
	if err != nil {
		return sg, err
	}
	if sg.Inputs, err = d.ints(path+".inputs", t, 1); err != nil {
		return sg, err
	}
	if sg.Outputs, err = d.ints(path+".outputs", t, 2); err != nil {
		return sg, err
	}
	_, err = d.tables(path+".operators", t, 3, 160, func(path string, i int, t table) error {
		op, err := d.operator(path, t)
		sg.Operators = append(sg.Operators, op)
		return err
	})
	if err != nil {
		return sg, err
	}
	sg.Name, err = d.str(path+".name", t, 4)
	return sg, err
}

func (d *decoder) tensor(path string, t table) (Tensor, error) {
	var tn Tensor
	var err error
	if tn.Shape, err = d.ints(path+".shape", t, 0); err != nil {
		return tn, err
	}
	typ, err := d.i8(path+".type", t, 1, 0)
	if err != nil {
		return tn, err
	}
	tn.Type = TensorType(typ)
	buf, err := d.u32f(path+".buffer", t, 2)
	if err != nil {
		return tn, err
	}
	if buf > math.MaxInt32 {
		return tn, formatErr(path+".buffer", ErrOutOfRange, "buffer index %d", buf)
	}
	tn.Buffer = int(buf)
	if tn.Name, err = d.str(path+".name", t, 3); err != nil {
		return tn, err
	}
	if qt, ok, err := d.subtable(path+".quantization", t, 4); err != nil {
		return tn, err
	} else if ok {
		if tn.Quantization, err = d.quantization(path+".quantization", qt); err != nil {
			return tn, err
		}
	}
	if tn.IsVariable, err = d.boolean(path+".is_variable", t, 5, false); err != nil {
		return tn, err
	}
	if p, err := d.ref(path+".sparsity", t, 6); err != nil {
		return tn, err
	} else if p >= 0 {
		return tn, formatErr(path+".sparsity", ErrUnsupported, "sparse tensors are not supported")
	}
	if tn.ShapeSignature, err = d.ints(path+".shape_signature", t, 7); err != nil {
		return tn, err
	}
	if tn.HasRank, err = d.boolean(path+".has_rank", t, 8, false); err != nil {
		return tn, err
	}
	if _, n, err := d.vector(path+".variant_tensors", t, 9, 4); err != nil {
		return tn, err
	} else if n > 0 {
		return tn, formatErr(path+".variant_tensors", ErrUnsupported, "variant tensors are not supported")
	}
	if eb, err := d.u32f(path+".external_buffer", t, 10); err != nil {
		return tn, err
	} else if eb != 0 {
		return tn, formatErr(path+".external_buffer", ErrUnsupported, "external weight files are not supported")
	}
	return tn, nil
}

func (d *decoder) quantization(path string, t table) (*Quantization, error) {
	q := &Quantization{}
	var err error
	if q.Min, err = d.floats(path+".min", t, 0); err != nil {
		return nil, err
	}
	if q.Max, err = d.floats(path+".max", t, 1); err != nil {
		return nil, err
	}
	if q.Scale, err = d.floats(path+".scale", t, 2); err != nil {
		return nil, err
	}
	if q.ZeroPoint, err = d.int64s(path+".zero_point", t, 3); err != nil {
		return nil, err
	}
	if typ, err := d.u8(path+".details_type", t, 4, 0); err != nil {
		return nil, err
	} else if typ != 0 {
		return nil, formatErr(path+".details", ErrUnsupported, "quantization details type %d", typ)
	}
	qd, err := d.i32(path+".quantized_dimension", t, 6, 0)
	if err != nil {
		return nil, err
	}
	q.QuantizedDimension = int(qd)
	if len(q.Min) == 0 && len(q.Max) == 0 && len(q.Scale) == 0 && len(q.ZeroPoint) == 0 && qd == 0 {
		return nil, nil // an empty table, as converters write for float tensors
	}
	return q, nil
}

func (d *decoder) operator(path string, t table) (Operator, error) {
	var op Operator
	idx, err := d.u32f(path+".opcode_index", t, 0)
	if err != nil {
		return op, err
	}
	if idx > math.MaxInt32 {
		return op, formatErr(path+".opcode_index", ErrOutOfRange, "opcode index %d", idx)
	}
	op.OpcodeIndex = int(idx)
	if op.Inputs, err = d.ints(path+".inputs", t, 1); err != nil {
		return op, err
	}
	if op.Outputs, err = d.ints(path+".outputs", t, 2); err != nil {
		return op, err
	}
	typ, err := d.u8(path+".builtin_options_type", t, 3, 0)
	if err != nil {
		return op, err
	}
	if typ != 0 {
		ot, ok, err := d.subtable(path+".builtin_options", t, 4)
		if err != nil {
			return op, err
		}
		if !ok {
			ot = table{} // absent table: every field takes its default
		}
		if op.Options, err = d.options(path+".builtin_options", OptionsType(typ), ot); err != nil {
			return op, err
		}
	}
	if op.CustomOptions, err = d.bytes(path+".custom_options", t, 5); err != nil {
		return op, err
	}
	if start, n, err := d.vector(path+".mutating_variable_inputs", t, 7, 1); err != nil {
		return op, err
	} else {
		for i := 0; i < n; i++ {
			if d.b[start+i] != 0 {
				return op, formatErr(path+".mutating_variable_inputs", ErrUnsupported, "mutating variable inputs are not supported")
			}
		}
	}
	if op.Intermediates, err = d.ints(path+".intermediates", t, 8); err != nil {
		return op, err
	}
	off, err := d.u64(path+".large_custom_options_offset", t, 9)
	if err != nil {
		return op, err
	}
	size, err := d.u64(path+".large_custom_options_size", t, 10)
	if err != nil {
		return op, err
	}
	if off > 1 && op.CustomOptions == nil {
		if off > uint64(len(d.b)) || size > uint64(len(d.b))-off {
			return op, formatErr(path+".large_custom_options_offset", ErrTruncated, "[%d,+%d) beyond %d bytes", off, size, len(d.b))
		}
		if err := d.charge(path, int64(size)); err != nil {
			return op, err
		}
		op.CustomOptions = append([]byte(nil), d.b[off:off+size]...)
	}
	if typ2, err := d.u8(path+".builtin_options_2_type", t, 11, 0); err != nil {
		return op, err
	} else if typ2 != 0 {
		return op, formatErr(path+".builtin_options_2", ErrUnsupported, "builtin_options_2 type %d", typ2)
	}
	return op, nil
}

func (d *decoder) options(path string, typ OptionsType, t table) (Options, error) {
	var err error
	// Each getter records the first error and returns a default afterwards.
	i32 := func(slot int, def int32) int {
		if err != nil {
			return int(def)
		}
		var v int32
		v, err = d.i32(path, t, slot, def)
		return int(v)
	}
	i8 := func(slot int) int8 {
		if err != nil {
			return 0
		}
		var v int8
		v, err = d.i8(path, t, slot, 0)
		return v
	}
	b := func(slot int, def bool) bool {
		if err != nil {
			return def
		}
		var v bool
		v, err = d.boolean(path, t, slot, def)
		return v
	}
	f := func(slot int) float32 {
		if err != nil {
			return 0
		}
		var v float32
		v, err = d.f32(path, t, slot, 0)
		return v
	}
	ints := func(slot int) []int {
		if err != nil {
			return nil
		}
		var v []int
		v, err = d.ints(path, t, slot)
		return v
	}
	var o Options
	switch typ {
	case OptionsConv2D:
		o = &Conv2DOptions{Padding: Padding(i8(0)), StrideW: i32(1, 0), StrideH: i32(2, 0), Activation: Activation(i8(3)),
			DilationW: i32(4, 1), DilationH: i32(5, 1), QuantizedBiasType: TensorType(i8(6))}
	case OptionsDepthwiseConv2D:
		o = &DepthwiseConv2DOptions{Padding: Padding(i8(0)), StrideW: i32(1, 0), StrideH: i32(2, 0), DepthMultiplier: i32(3, 0),
			Activation: Activation(i8(4)), DilationW: i32(5, 1), DilationH: i32(6, 1)}
	case OptionsPool2D:
		o = &Pool2DOptions{Padding: Padding(i8(0)), StrideW: i32(1, 0), StrideH: i32(2, 0), FilterWidth: i32(3, 0),
			FilterHeight: i32(4, 0), Activation: Activation(i8(5))}
	case OptionsFullyConnected:
		o = &FullyConnectedOptions{Activation: Activation(i8(0)), WeightsFormat: i8(1), KeepNumDims: b(2, false),
			AsymmetricQuantizeInputs: b(3, false), QuantizedBiasType: TensorType(i8(4))}
	case OptionsSoftmax:
		o = &SoftmaxOptions{Beta: f(0)}
	case OptionsConcatenation:
		o = &ConcatenationOptions{Axis: i32(0, 0), Activation: Activation(i8(1))}
	case OptionsAdd:
		o = &AddOptions{Activation: Activation(i8(0)), PotScaleInt16: b(1, true)}
	case OptionsSub:
		o = &SubOptions{Activation: Activation(i8(0)), PotScaleInt16: b(1, true)}
	case OptionsMul:
		o = &MulOptions{Activation: Activation(i8(0))}
	case OptionsDiv:
		o = &DivOptions{Activation: Activation(i8(0))}
	case OptionsReshape:
		o = &ReshapeOptions{NewShape: ints(0)}
	case OptionsReducer:
		o = &ReducerOptions{KeepDims: b(0, false)}
	case OptionsSqueeze:
		o = &SqueezeOptions{SqueezeDims: ints(0)}
	case OptionsGather:
		o = &GatherOptions{Axis: i32(0, 0), BatchDims: i32(1, 0)}
	case OptionsStridedSlice:
		o = &StridedSliceOptions{BeginMask: i32(0, 0), EndMask: i32(1, 0), EllipsisMask: i32(2, 0), NewAxisMask: i32(3, 0),
			ShrinkAxisMask: i32(4, 0), Offset: b(5, false)}
	case OptionsLeakyRelu:
		o = &LeakyReluOptions{Alpha: f(0)}
	case OptionsPad:
		o = &PadOptions{}
	case OptionsTranspose:
		o = &TransposeOptions{}
	case OptionsQuantize:
		o = &QuantizeOptions{}
	case OptionsDequantize:
		o = &DequantizeOptions{}
	default:
		if mo, ok, merr := d.moreOptions(path, typ, t); ok {
			return mo, merr
		}
		if typ > maxOptionsType {
			return nil, formatErr(path, ErrInvalid, "builtin options type %d", typ)
		}
		has := false
		for vo := 4; vo+2 <= t.vtLen; vo += 2 {
			if d.u16(t.vt+vo) != 0 {
				has = true
			}
		}
		o = &OtherOptions{Tag: typ, HasFields: has}
	}
	if err != nil {
		return nil, err
	}
	return o, nil
}
