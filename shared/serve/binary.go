package serve

import (
	"encoding/binary"
	"fmt"
	"math"
	"net/http"
	"strconv"
)

// The KServe v2 binary tensor data extension ("binary_tensor_data", as
// Triton and tritonclient name it): a request or answer body is a JSON
// header of Inference-Header-Content-Length bytes followed by the raw
// tensors, in the order of the tensors that carry
// parameters.binary_data_size. Numbers are little-endian, row-major; a BYTES
// element is a 4-byte little-endian length and the bytes.

// headerLength is the HTTP header naming the JSON part's size.
const headerLength = "Inference-Header-Content-Length"

// v2Extensions are the extensions the server advertises at GET /v2.
var v2Extensions = []string{"binary_tensor_data"}

// splitV2Body splits a KServe v2 request body into its JSON header and its
// binary part by Inference-Header-Content-Length (no header: all JSON).
func splitV2Body(h http.Header, body []byte) (js, bin []byte, err error) {
	v := h.Get(headerLength)
	if v == "" {
		return body, nil, nil
	}
	n, perr := strconv.ParseInt(v, 10, 64)
	if perr != nil || n < 0 {
		return nil, nil, inputErr(headerLength, "%q is not a byte count", v)
	}
	if n > int64(len(body)) {
		return nil, nil, inputErr(headerLength, "%d bytes, but the body has only %d", n, len(body))
	}
	return body[:n], body[n:], nil
}

// splitBinary cuts bin into the raw data of each input that carries
// parameters.binary_data_size; inputs without it get nil. The sizes must
// cover bin exactly.
func splitBinary(inputs []v2Tensor, bin []byte) ([][]byte, error) {
	raw := make([][]byte, len(inputs))
	off := int64(0)
	for i := range inputs {
		t := &inputs[i]
		sz := t.Parameters.BinaryDataSize
		if sz == nil {
			continue
		}
		field := fmt.Sprintf("inputs[%d].parameters.binary_data_size", i)
		if bin == nil {
			return nil, inputErr(field, "given, but the request has no %s header (no binary part)", headerLength)
		}
		if len(t.Data) > 0 && string(t.Data) != "null" {
			return nil, inputErr(fmt.Sprintf("inputs[%d]", i), "give data or binary_data_size, not both")
		}
		if *sz < 0 || *sz > int64(len(bin))-off {
			return nil, inputErr(field, "%d bytes, but only %d remain in the binary part (truncated body?)", *sz, int64(len(bin))-off)
		}
		raw[i] = bin[off : off+*sz]
		off += *sz
	}
	if off != int64(len(bin)) {
		return nil, inputErr("body", "%d bytes of binary data that no input claims (binary_data_size)", int64(len(bin))-off)
	}
	return raw, nil
}

// v2Size is the size of one element of a fixed-size datatype (0: BYTES or
// unsupported in binary form).
func v2Size(dt string) int {
	switch dt {
	case "BOOL", "INT8", "UINT8":
		return 1
	case "INT16", "UINT16":
		return 2
	case "INT32", "UINT32", "FP32":
		return 4
	case "INT64", "UINT64", "FP64":
		return 8
	}
	return 0
}

// tensorData fills dst (exactly want cells) from a tensor's JSON data, or
// from its binary data when raw is not nil.
func (b *batch) tensorData(t *v2Tensor, raw []byte, field string, dst []cell, want int) error {
	if t.Parameters.BinaryDataSize == nil {
		return b.flat(t.Data, field, dst, want)
	}
	return binaryCells(t.Datatype, raw, field, dst, want)
}

// binaryCells decodes want elements of datatype dt from raw into dst.
func binaryCells(dt string, raw []byte, field string, dst []cell, want int) error {
	if dt == "BYTES" {
		k := 0
		for len(raw) > 0 {
			if len(raw) < 4 {
				return inputErr(field, "BYTES element %d: %d bytes left, want a 4-byte length", k, len(raw))
			}
			n := binary.LittleEndian.Uint32(raw)
			raw = raw[4:]
			if uint64(n) > uint64(len(raw)) {
				return inputErr(field, "BYTES element %d: length %d, but only %d bytes remain (truncated?)", k, n, len(raw))
			}
			if k >= want {
				return inputErr(field, "more than %d values for the shape", want)
			}
			dst[k] = cell{kind: cellStr, str: raw[:n]}
			raw = raw[n:]
			k++
		}
		if k != want {
			return inputErr(field, "%d values, the shape needs %d", k, want)
		}
		return nil
	}
	sz := v2Size(dt)
	if sz == 0 {
		return inputErr(field, "datatype %s is not supported in binary form", dt)
	}
	if len(raw) != want*sz {
		return inputErr(field, "%d bytes of %s, the shape needs %d (%d values)", len(raw), dt, want*sz, want)
	}
	le := binary.LittleEndian
	for k := range want {
		p := raw[k*sz:]
		var x float64
		switch dt {
		case "BOOL":
			dst[k] = cell{kind: cellBool}
			continue
		case "INT8":
			x = float64(int8(p[0]))
		case "UINT8":
			x = float64(p[0])
		case "INT16":
			x = float64(int16(le.Uint16(p)))
		case "UINT16":
			x = float64(le.Uint16(p))
		case "INT32":
			x = float64(int32(le.Uint32(p)))
		case "UINT32":
			x = float64(le.Uint32(p))
		case "INT64":
			x = float64(int64(le.Uint64(p)))
		case "UINT64":
			x = float64(le.Uint64(p))
		case "FP32":
			x = float64(math.Float32frombits(le.Uint32(p)))
		case "FP64":
			x = math.Float64frombits(le.Uint64(p))
		}
		c := cell{kind: cellNum, num: x}
		if math.IsNaN(x) || math.IsInf(x, 0) {
			c.bad = strconv.FormatFloat(x, 'g', -1, 64)
		}
		dst[k] = c
	}
	return nil
}

// binaryOut reports whether output name is answered in binary form.
func (r *v2Request) binaryOut(name string) bool {
	return r.BinaryAll || r.Binary[name]
}

// anyBinary reports whether the answer has a binary part.
func (r *v2Request) anyBinary(m *Model) bool {
	if r.BinaryAll {
		return true
	}
	for n := range r.Binary {
		if r.want(n) && m.hasOutput(n) {
			return true
		}
	}
	return false
}

func (r *v2Request) want(name string) bool {
	if len(r.Outputs) == 0 {
		return true
	}
	for _, o := range r.Outputs {
		if o == name {
			return true
		}
	}
	return false
}

func (m *Model) hasOutput(name string) bool {
	if m.Task == TaskRegression {
		return name == "value"
	}
	return name == "probabilities" || name == "label"
}

// appendV2Binary writes an answer with the binary tensor data extension:
// the JSON header (binary outputs carry parameters.binary_data_size and no
// data) then the binary part. It returns the body and the header's length.
func (m *Model) appendV2Binary(b []byte, req *v2Request, out []float32, n int) ([]byte, int) {
	type tensor struct {
		name, dt string
		shape    []int64
		bin      []byte
		json     []byte
	}
	var ts []tensor
	if m.Task == TaskRegression {
		t := tensor{name: "value", dt: "FP32", shape: []int64{int64(n)}}
		for i := range n {
			if req.binaryOut("value") {
				t.bin = binary.LittleEndian.AppendUint32(t.bin, math.Float32bits(out[i]))
			} else {
				if i > 0 {
					t.json = append(t.json, ',')
				}
				t.json = appendFloat32(t.json, out[i])
			}
		}
		ts = append(ts, t)
	} else {
		c := len(m.Classes)
		if req.want("probabilities") {
			t := tensor{name: "probabilities", dt: "FP32", shape: []int64{int64(n), int64(c)}}
			for i := range n {
				o := out[i*m.outputs : (i+1)*m.outputs]
				ps := o
				if m.Task == TaskBinary {
					ps = []float32{1 - o[0], o[0]}
				}
				for j, p := range ps {
					if req.binaryOut("probabilities") {
						t.bin = binary.LittleEndian.AppendUint32(t.bin, math.Float32bits(p))
						continue
					}
					if i > 0 || j > 0 {
						t.json = append(t.json, ',')
					}
					t.json = appendFloat32(t.json, p)
				}
			}
			ts = append(ts, t)
		}
		if req.want("label") {
			t := tensor{name: "label", dt: "BYTES", shape: []int64{int64(n)}}
			for i := range n {
				l := m.label(out[i*m.outputs : (i+1)*m.outputs])
				if req.binaryOut("label") {
					t.bin = binary.LittleEndian.AppendUint32(t.bin, uint32(len(l)))
					t.bin = append(t.bin, l...)
					continue
				}
				if i > 0 {
					t.json = append(t.json, ',')
				}
				t.json = appendString(t.json, l)
			}
			ts = append(ts, t)
		}
	}
	b = append(b, `{"model_name":`...)
	b = appendString(b, m.Name)
	b = append(b, `,"model_version":`...)
	b = appendString(b, VersionNumber(m.Version))
	if req.ID != "" {
		b = append(b, `,"id":`...)
		b = appendString(b, req.ID)
	}
	b = append(b, `,"outputs":[`...)
	for i, t := range ts {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"name":`...)
		b = appendString(b, t.name)
		b = append(b, `,"datatype":`...)
		b = appendString(b, t.dt)
		b = append(b, `,"shape":[`...)
		for j, d := range t.shape {
			if j > 0 {
				b = append(b, ',')
			}
			b = strconv.AppendInt(b, d, 10)
		}
		b = append(b, ']')
		if req.binaryOut(t.name) {
			b = append(b, `,"parameters":{"binary_data_size":`...)
			b = strconv.AppendInt(b, int64(len(t.bin)), 10)
			b = append(b, "}}"...)
		} else {
			b = append(b, `,"data":[`...)
			b = append(b, t.json...)
			b = append(b, "]}"...)
		}
	}
	b = append(b, "]}"...)
	hl := len(b)
	for _, t := range ts {
		if req.binaryOut(t.name) {
			b = append(b, t.bin...)
		}
	}
	return b, hl
}
