package tflite

import "fmt"

// Builder assembles a single-subgraph model in Go, for the trainer's export
// and the quantizer. Operator codes are deduplicated; buffer 0 is the empty
// sentinel. Model adds a "serving_default" signature over the inputs and
// outputs, named after their tensors.
type Builder struct {
	m     Model
	codes map[OperatorCode]int
}

// NewBuilder starts a model with the given description.
func NewBuilder(description string) *Builder {
	return &Builder{
		m: Model{
			Version:     SchemaVersion,
			Description: description,
			Buffers:     [][]byte{nil},
			Subgraphs:   []Subgraph{{Name: "main"}},
		},
		codes: map[OperatorCode]int{},
	}
}

// AddBuffer stores constant data and returns its buffer index (0 for empty data).
func (b *Builder) AddBuffer(data []byte) int {
	if len(data) == 0 {
		return 0
	}
	b.m.Buffers = append(b.m.Buffers, append([]byte(nil), data...))
	return len(b.m.Buffers) - 1
}

// AddTensor appends a tensor to the subgraph and returns its index.
func (b *Builder) AddTensor(t Tensor) int {
	sg := &b.m.Subgraphs[0]
	sg.Tensors = append(sg.Tensors, t)
	return len(sg.Tensors) - 1
}

// AddActivation appends a tensor without data and returns its index.
func (b *Builder) AddActivation(name string, typ TensorType, shape []int, q *Quantization) int {
	return b.AddTensor(Tensor{Name: name, Type: typ, Shape: shape, Quantization: q})
}

// AddConstFloat32 appends a FLOAT32 constant tensor and returns its index.
func (b *Builder) AddConstFloat32(name string, shape []int, values []float32) int {
	return b.AddTensor(Tensor{Name: name, Type: Float32, Shape: shape, Buffer: b.AddBuffer(Float32Bytes(values))})
}

// AddConstInt32 appends an INT32 constant tensor and returns its index.
func (b *Builder) AddConstInt32(name string, shape []int, values []int32, q *Quantization) int {
	return b.AddTensor(Tensor{Name: name, Type: Int32, Shape: shape, Buffer: b.AddBuffer(Int32Bytes(values)), Quantization: q})
}

// AddConstInt8 appends an INT8 constant tensor and returns its index.
func (b *Builder) AddConstInt8(name string, shape []int, values []int8, q *Quantization) int {
	return b.AddTensor(Tensor{Name: name, Type: Int8, Shape: shape, Buffer: b.AddBuffer(Int8Bytes(values)), Quantization: q})
}

// OperatorCode returns the index of the operator code, adding it if new.
func (b *Builder) OperatorCode(oc OperatorCode) int {
	if oc.Version == 0 {
		oc.Version = 1
	}
	if i, ok := b.codes[oc]; ok {
		return i
	}
	b.m.OperatorCodes = append(b.m.OperatorCodes, oc)
	b.codes[oc] = len(b.m.OperatorCodes) - 1
	return b.codes[oc]
}

// AddOperator appends a builtin operator (version 0 means 1) and returns its index.
func (b *Builder) AddOperator(op BuiltinOperator, version int, inputs, outputs []int, opts Options) int {
	sg := &b.m.Subgraphs[0]
	sg.Operators = append(sg.Operators, Operator{
		OpcodeIndex: b.OperatorCode(OperatorCode{Builtin: op, Version: version}),
		Inputs:      inputs,
		Outputs:     outputs,
		Options:     opts,
	})
	return len(sg.Operators) - 1
}

// SetInputs sets the subgraph's input tensors.
func (b *Builder) SetInputs(tensors ...int) { b.m.Subgraphs[0].Inputs = tensors }

// SetOutputs sets the subgraph's output tensors.
func (b *Builder) SetOutputs(tensors ...int) { b.m.Subgraphs[0].Outputs = tensors }

// Model returns the validated model, with a "serving_default" signature.
// The builder must not be used afterwards.
func (b *Builder) Model() (*Model, error) {
	sg := &b.m.Subgraphs[0]
	sd := SignatureDef{Key: "serving_default"}
	for _, i := range sg.Inputs {
		if i >= 0 && i < len(sg.Tensors) {
			sd.Inputs = append(sd.Inputs, TensorMap{Name: sg.Tensors[i].Name, TensorIndex: i})
		}
	}
	for _, i := range sg.Outputs {
		if i >= 0 && i < len(sg.Tensors) {
			sd.Outputs = append(sd.Outputs, TensorMap{Name: sg.Tensors[i].Name, TensorIndex: i})
		}
	}
	b.m.SignatureDefs = []SignatureDef{sd}
	m := b.m
	if err := m.Validate(); err != nil {
		return nil, fmt.Errorf("build model: %w", err)
	}
	return &m, nil
}
