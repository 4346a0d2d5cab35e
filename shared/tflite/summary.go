package tflite

import (
	"fmt"
	"io"
	"reflect"
	"strings"
	"text/tabwriter"
)

// Summary is a description of a model for people and scripts (the output of
// `mega tflite inspect`).
type Summary struct {
	Description   string            `json:"description,omitempty"`
	Version       int               `json:"version"`
	FileBytes     int               `json:"file_bytes,omitempty"`
	ConstantBytes int               `json:"constant_bytes"`
	OperatorCodes []OpCodeSummary   `json:"operator_codes"`
	Subgraphs     []SubgraphSummary `json:"subgraphs"`
	Signatures    []SignatureDef    `json:"signatures,omitempty"`
	Metadata      []string          `json:"metadata,omitempty"`
}

// OpCodeSummary describes an operator code.
type OpCodeSummary struct {
	Op      string `json:"op"`
	Version int    `json:"version"`
	Custom  string `json:"custom,omitempty"`
}

// SubgraphSummary describes a subgraph.
type SubgraphSummary struct {
	Name      string          `json:"name,omitempty"`
	Inputs    []int           `json:"inputs"`
	Outputs   []int           `json:"outputs"`
	Operators []OpSummary     `json:"operators"`
	Tensors   []TensorSummary `json:"tensors"`
}

// OpSummary describes an operator.
type OpSummary struct {
	Index   int    `json:"index"`
	Op      string `json:"op"`
	Version int    `json:"version"`
	Inputs  []int  `json:"inputs"`
	Outputs []int  `json:"outputs"`
	Options string `json:"options,omitempty"`
}

// TensorSummary describes a tensor.
type TensorSummary struct {
	Index          int           `json:"index"`
	Name           string        `json:"name"`
	Type           string        `json:"dtype"`
	Shape          []int         `json:"shape"`
	ShapeSignature []int         `json:"shape_signature,omitempty"`
	Buffer         int           `json:"buffer"`
	ConstantBytes  int           `json:"constant_bytes"`
	Quantization   *Quantization `json:"quantization,omitempty"`
}

// Summarize describes m; fileBytes is the encoded size (0 if unknown).
func Summarize(m *Model, fileBytes int) Summary {
	s := Summary{Description: m.Description, Version: m.Version, FileBytes: fileBytes, Signatures: m.SignatureDefs}
	for _, b := range m.Buffers {
		s.ConstantBytes += len(b)
	}
	for _, oc := range m.OperatorCodes {
		s.OperatorCodes = append(s.OperatorCodes, OpCodeSummary{Op: oc.Builtin.String(), Version: oc.Version, Custom: oc.Custom})
	}
	for _, md := range m.Metadata {
		s.Metadata = append(s.Metadata, md.Name)
	}
	for si := range m.Subgraphs {
		sg := &m.Subgraphs[si]
		ss := SubgraphSummary{Name: sg.Name, Inputs: sg.Inputs, Outputs: sg.Outputs}
		for i, op := range sg.Operators {
			os := OpSummary{Index: i, Inputs: op.Inputs, Outputs: op.Outputs}
			if op.OpcodeIndex >= 0 && op.OpcodeIndex < len(m.OperatorCodes) {
				oc := m.OperatorCodes[op.OpcodeIndex]
				os.Op, os.Version = oc.Builtin.String(), oc.Version
				if oc.Builtin == OpCustom {
					os.Op = "CUSTOM:" + oc.Custom
				}
			}
			if op.Options != nil {
				os.Options = optionsString(op.Options)
			}
			ss.Operators = append(ss.Operators, os)
		}
		for i, t := range sg.Tensors {
			ts := TensorSummary{Index: i, Name: t.Name, Type: t.Type.String(), Shape: t.Shape, ShapeSignature: t.ShapeSignature,
				Buffer: t.Buffer, Quantization: t.Quantization}
			if t.Buffer > 0 && t.Buffer < len(m.Buffers) {
				ts.ConstantBytes = len(m.Buffers[t.Buffer])
			}
			ss.Tensors = append(ss.Tensors, ts)
		}
		s.Subgraphs = append(s.Subgraphs, ss)
	}
	return s
}

// WriteText prints the summary as tables.
func (s Summary) WriteText(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	if s.Description != "" {
		fmt.Fprintf(tw, "description:\t%s\n", s.Description)
	}
	fmt.Fprintf(tw, "schema version:\t%d\n", s.Version)
	if s.FileBytes > 0 {
		fmt.Fprintf(tw, "file size:\t%d bytes\n", s.FileBytes)
	}
	fmt.Fprintf(tw, "constant data:\t%d bytes\n", s.ConstantBytes)
	for _, sd := range s.Signatures {
		fmt.Fprintf(tw, "signature:\t%s (subgraph %d) in %v out %v\n", sd.Key, sd.SubgraphIndex, sd.Inputs, sd.Outputs)
	}
	fmt.Fprintf(tw, "\nOPCODE\tVERSION\n")
	for _, oc := range s.OperatorCodes {
		name := oc.Op
		if oc.Custom != "" {
			name += ":" + oc.Custom
		}
		fmt.Fprintf(tw, "%s\t%d\n", name, oc.Version)
	}
	for si, sg := range s.Subgraphs {
		fmt.Fprintf(tw, "\nsubgraph %d %q: inputs %v outputs %v\n", si, sg.Name, sg.Inputs, sg.Outputs)
		fmt.Fprintf(tw, "\n#\tOP\tVERSION\tINPUTS\tOUTPUTS\tOPTIONS\n")
		for _, op := range sg.Operators {
			fmt.Fprintf(tw, "%d\t%s\t%d\t%v\t%v\t%s\n", op.Index, op.Op, op.Version, op.Inputs, op.Outputs, op.Options)
		}
		fmt.Fprintf(tw, "\n#\tNAME\tDTYPE\tSHAPE\tBYTES\tQUANTIZATION\n")
		for _, t := range sg.Tensors {
			shape := fmt.Sprint(t.Shape)
			if t.ShapeSignature != nil {
				shape += fmt.Sprintf(" sig %v", t.ShapeSignature)
			}
			fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%d\t%s\n", t.Index, t.Name, t.Type, shape, t.ConstantBytes, quantString(t.Quantization))
		}
	}
	return tw.Flush()
}

func quantString(q *Quantization) string {
	if q == nil {
		return ""
	}
	var parts []string
	switch {
	case len(q.Scale) == 1:
		zp := int64(0)
		if len(q.ZeroPoint) == 1 {
			zp = q.ZeroPoint[0]
		}
		parts = append(parts, fmt.Sprintf("scale=%g zp=%d", q.Scale[0], zp))
	case len(q.Scale) > 1:
		parts = append(parts, fmt.Sprintf("per-channel dim %d: %d scales [%g..]", q.QuantizedDimension, len(q.Scale), q.Scale[0]))
	}
	if len(q.Min) > 0 {
		parts = append(parts, fmt.Sprintf("min=%g max=%g", q.Min[0], q.Max[0]))
	}
	return strings.Join(parts, " ")
}

// optionsString prints the options' fields that differ from their zero
// value, such as "Padding:SAME StrideW:2 StrideH:2 Activation:RELU6".
func optionsString(o Options) string {
	v := reflect.ValueOf(o)
	if v.Kind() == reflect.Pointer {
		if v.IsNil() {
			return ""
		}
		v = v.Elem()
	}
	if v.Kind() != reflect.Struct {
		return fmt.Sprint(o)
	}
	var parts []string
	for i := 0; i < v.NumField(); i++ {
		f := v.Field(i)
		if f.IsZero() {
			continue
		}
		parts = append(parts, fmt.Sprintf("%s:%v", v.Type().Field(i).Name, f.Interface()))
	}
	return strings.Join(parts, " ")
}
