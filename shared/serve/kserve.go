package serve

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
)

// v2Request is the part of a KServe v2 / Open Inference Protocol inference
// request the server keeps for the answer.
type v2Request struct {
	ID      string
	Outputs []string // requested outputs; empty means all
	// Binary names the outputs to answer in the binary tensor data
	// extension; BinaryAll answers every output so (binary_data_output).
	Binary    map[string]bool
	BinaryAll bool
}

type v2Tensor struct {
	Name     string          `json:"name"`
	Shape    []int64         `json:"shape"`
	Datatype string          `json:"datatype"`
	Data     json.RawMessage `json:"data"`
	// Parameters.BinaryDataSize, when set, says the tensor's data is that
	// many bytes of the binary part of the body (binary tensor data
	// extension).
	Parameters struct {
		BinaryDataSize *int64 `json:"binary_data_size"`
	} `json:"parameters"`
}

type v2Body struct {
	ID      string     `json:"id"`
	Inputs  []v2Tensor `json:"inputs"`
	Outputs []struct {
		Name       string `json:"name"`
		Parameters struct {
			BinaryData bool `json:"binary_data"`
		} `json:"parameters"`
	} `json:"outputs"`
	Parameters struct {
		BinaryDataOutput bool `json:"binary_data_output"`
	} `json:"parameters"`
}

var v2Types = map[string]bool{"BOOL": true, "UINT8": true, "UINT16": true, "UINT32": true, "UINT64": true,
	"INT8": true, "INT16": true, "INT32": true, "INT64": true, "FP16": true, "FP32": true, "FP64": true, "BYTES": true}

// decodeV2 reads an inference request. Two input layouts are accepted:
// one tensor per feature, named after it, of shape [n] or [n, 1] (BYTES for
// categorical features); or, when the model's features are all numeric, a
// single tensor of any name with shape [n, features] in feature order.
// bin is the binary part of the body (binary tensor data extension), nil
// when the request has none.
func (b *batch) decodeV2(m *Model, body, bin []byte) (*v2Request, error) {
	var req v2Body
	dec := json.NewDecoder(bytes.NewReader(body))
	if err := dec.Decode(&req); err != nil {
		return nil, inputErr("body", "not a KServe v2 inference request: %v", err)
	}
	return b.decodeV2Body(m, &req, bin)
}

// decodeV2Body reads a parsed inference request (JSON, or gRPC turned into
// the binary form).
func (b *batch) decodeV2Body(m *Model, req *v2Body, bin []byte) (*v2Request, error) {
	if len(req.Inputs) == 0 {
		return nil, inputErr("inputs", "missing: send {\"inputs\": [{\"name\", \"shape\", \"datatype\", \"data\"}]}")
	}
	out := &v2Request{ID: req.ID, BinaryAll: req.Parameters.BinaryDataOutput}
	for i, o := range req.Outputs {
		if o.Parameters.BinaryData {
			if out.Binary == nil {
				out.Binary = map[string]bool{}
			}
			out.Binary[o.Name] = true
		}
		switch o.Name {
		case "probabilities", "label":
			if m.Task == TaskRegression {
				return nil, inputErr(fmt.Sprintf("outputs[%d].name", i), "unknown output %q (this model gives value)", o.Name)
			}
		case "value":
			if m.Task != TaskRegression {
				return nil, inputErr(fmt.Sprintf("outputs[%d].name", i), "unknown output %q (this model gives probabilities and label)", o.Name)
			}
		default:
			return nil, inputErr(fmt.Sprintf("outputs[%d].name", i), "unknown output %q", o.Name)
		}
		out.Outputs = append(out.Outputs, o.Name)
	}
	raw, err := splitBinary(req.Inputs, bin)
	if err != nil {
		return nil, err
	}
	for i, t := range req.Inputs {
		field := fmt.Sprintf("inputs[%d]", i)
		if !v2Types[t.Datatype] {
			return nil, inputErr(field+".datatype", "unknown datatype %q", t.Datatype)
		}
		if len(t.Shape) == 0 || len(t.Shape) > 2 {
			return nil, inputErr(field+".shape", "shape %v: want [n] or [n, k]", t.Shape)
		}
		for _, d := range t.Shape {
			if d < 0 || d > int64(b.max)*int64(max(b.nf, 1)) {
				return nil, inputErr(field+".shape", "dimension %d out of range", d)
			}
		}
	}
	_, named := m.index[req.Inputs[0].Name]
	if len(req.Inputs) == 1 && !named {
		t := req.Inputs[0]
		if len(t.Shape) != 2 || t.Shape[1] != int64(b.nf) {
			return nil, inputErr("inputs[0].shape", "shape %v: a single input tensor must be [n, %d], the model takes %s", t.Shape, b.nf, m.describe())
		}
		n := int(t.Shape[0])
		if n > b.max {
			return nil, inputErr("inputs[0].shape", "more than %d instances in one request", b.max)
		}
		for range n {
			if _, err := b.addInstance(); err != nil {
				return nil, err
			}
		}
		if err := b.tensorData(&t, raw[0], "inputs[0].data", b.cells, n*b.nf); err != nil {
			return nil, err
		}
		if n == 0 {
			return nil, inputErr("inputs[0].shape", "no instances")
		}
		return out, nil
	}
	n := -1
	cols := make([][]cell, b.nf)
	for i, t := range req.Inputs {
		field := fmt.Sprintf("inputs[%d]", i)
		j, ok := m.index[t.Name]
		if !ok {
			return nil, inputErr(field+".name", "unknown feature %q (the model takes %s)", t.Name, m.describe())
		}
		if cols[j] != nil {
			return nil, inputErr(field+".name", "feature %q given twice", t.Name)
		}
		if len(t.Shape) == 2 && t.Shape[1] != 1 {
			return nil, inputErr(field+".shape", "shape %v: a feature tensor is [n] or [n, 1]", t.Shape)
		}
		k := int(t.Shape[0])
		if n >= 0 && k != n {
			return nil, inputErr(field+".shape", "%d instances, other inputs have %d", k, n)
		}
		if k > b.max {
			return nil, inputErr(field+".shape", "more than %d instances in one request", b.max)
		}
		n = k
		cols[j] = make([]cell, k)
		if err := b.tensorData(&t, raw[i], field+".data", cols[j], k); err != nil {
			return nil, err
		}
	}
	if n == 0 {
		return nil, inputErr("inputs[0].shape", "no instances")
	}
	for i := range n {
		row, err := b.addInstance()
		if err != nil {
			return nil, err
		}
		for j := range row {
			if cols[j] != nil {
				row[j] = cols[j][i]
			}
		}
	}
	return out, nil
}

// flat reads tensor data (flat or nested lists, row-major) into dst, which
// must be filled exactly.
func (b *batch) flat(data json.RawMessage, field string, dst []cell, want int) error {
	s := &b.sc
	s.b, s.i = data, 0
	k := 0
	var walk func(depth int) error
	walk = func(depth int) error {
		if s.peek() != '[' {
			if k >= want {
				return inputErr(field, "more than %d values for the shape", want)
			}
			if err := s.value(&dst[k]); err != nil {
				return err
			}
			if dst[k].kind == cellOther {
				return inputErr(field, "nested too deep")
			}
			k++
			return nil
		}
		if depth > 3 {
			return inputErr(field, "nested too deep")
		}
		s.i++
		if s.peek() == ']' {
			s.i++
			return nil
		}
		for {
			if err := walk(depth + 1); err != nil {
				return err
			}
			c := s.peek()
			s.i++
			if c == ']' {
				return nil
			}
			if c != ',' {
				s.i--
				return s.fail("want , or ] in %s", field)
			}
		}
	}
	if len(data) == 0 {
		return inputErr(field, "missing")
	}
	if s.peek() != '[' {
		return inputErr(field, "want a list")
	}
	if err := walk(0); err != nil {
		return err
	}
	if err := s.end(); err != nil {
		return err
	}
	if k != want {
		return inputErr(field, "%d values, the shape needs %d", k, want)
	}
	return nil
}

func (m *Model) appendV2(b []byte, req *v2Request, out []float32, n int) []byte {
	want := func(name string) bool {
		if len(req.Outputs) == 0 {
			return true
		}
		for _, o := range req.Outputs {
			if o == name {
				return true
			}
		}
		return false
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
	first := true
	sep := func() {
		if !first {
			b = append(b, ',')
		}
		first = false
	}
	if m.Task == TaskRegression {
		sep()
		b = append(b, `{"name":"value","datatype":"FP32","shape":[`...)
		b = strconv.AppendInt(b, int64(n), 10)
		b = append(b, `],"data":[`...)
		for i := range n {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendFloat32(b, out[i])
		}
		b = append(b, "]}"...)
		return append(b, "]}"...)
	}
	if want("probabilities") {
		sep()
		c := len(m.Classes)
		b = append(b, `{"name":"probabilities","datatype":"FP32","shape":[`...)
		b = strconv.AppendInt(b, int64(n), 10)
		b = append(b, ',')
		b = strconv.AppendInt(b, int64(c), 10)
		b = append(b, `],"data":[`...)
		for i := range n {
			if i > 0 {
				b = append(b, ',')
			}
			p := m.appendProbabilities(nil, out[i*m.outputs:(i+1)*m.outputs])
			b = append(b, p[1:len(p)-1]...)
		}
		b = append(b, "]}"...)
	}
	if want("label") {
		sep()
		b = append(b, `{"name":"label","datatype":"BYTES","shape":[`...)
		b = strconv.AppendInt(b, int64(n), 10)
		b = append(b, `],"data":[`...)
		for i := range n {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendString(b, m.label(out[i*m.outputs:(i+1)*m.outputs]))
		}
		b = append(b, "]}"...)
	}
	return append(b, "]}"...)
}

func (s *Server) v2(w http.ResponseWriter, r *http.Request, p string) {
	name, version, rest := splitVersion(p)
	if r.Method == http.MethodPost {
		if rest != "infer" {
			writeError(w, errorf(http.StatusNotFound, "no route POST %s", r.URL.Path))
			return
		}
		s.predict(w, r, name, version, protoV2)
		return
	}
	if r.Method != http.MethodGet {
		writeError(w, errorf(http.StatusMethodNotAllowed, "method %s not allowed", r.Method))
		return
	}
	m, herr := s.lookup(name, version)
	switch rest {
	case "ready":
		if herr != nil && herr.code == http.StatusNotFound {
			writeError(w, herr)
			return
		}
		code := http.StatusOK
		if herr != nil {
			code = http.StatusServiceUnavailable
		}
		writeJSON(w, code, map[string]any{"name": name, "ready": herr == nil})
	case "":
		if herr != nil {
			writeError(w, herr)
			return
		}
		writeJSON(w, http.StatusOK, m.v2Metadata())
	default:
		writeError(w, errorf(http.StatusNotFound, "no route GET %s", r.URL.Path))
	}
}

type v2MetaTensor struct {
	Name     string  `json:"name"`
	Datatype string  `json:"datatype"`
	Shape    []int64 `json:"shape"`
}

func (m *Model) v2Metadata() any {
	var inputs []v2MetaTensor
	for i, n := range m.names {
		dt := "FP32"
		if m.Spec != nil && m.Spec.Features[i].Type == "categorical" {
			dt = "BYTES"
		}
		inputs = append(inputs, v2MetaTensor{Name: n, Datatype: dt, Shape: []int64{-1}})
	}
	var outputs []v2MetaTensor
	if m.Task == TaskRegression {
		outputs = []v2MetaTensor{{Name: "value", Datatype: "FP32", Shape: []int64{-1}}}
	} else {
		outputs = []v2MetaTensor{{Name: "probabilities", Datatype: "FP32", Shape: []int64{-1, int64(len(m.Classes))}},
			{Name: "label", Datatype: "BYTES", Shape: []int64{-1}}}
	}
	versions := []string{VersionNumber(m.Version)}
	params := map[string]any{"task": m.Task, "classes": m.Classes, "sha256": m.SHA256, "model_version": m.Version}
	if m.Spec != nil {
		cats := map[string][]string{}
		for _, f := range m.Spec.Features {
			if len(f.Values) > 0 {
				cats[f.Name] = f.Values
			}
		}
		if len(cats) > 0 {
			params["categories"] = cats
		}
	}
	return map[string]any{"name": m.Name, "versions": versions, "platform": "tflite", "inputs": inputs, "outputs": outputs,
		"parameters": params}
}
