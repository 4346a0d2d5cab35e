package tflite

import (
	"encoding/binary"
	"fmt"
	"math"
)

// NumElements returns the product of the tensor's shape (1 for a scalar).
func (t *Tensor) NumElements() int {
	n := 1
	for _, d := range t.Shape {
		n *= d
	}
	return n
}

// ByteSize returns the size in bytes of the tensor's data, or -1 for types
// without a fixed size (STRING, RESOURCE, VARIANT).
func (t *Tensor) ByteSize() int {
	n, ok := byteSize(t.Type, int64(t.NumElements()))
	if !ok {
		return -1
	}
	return int(n)
}

// Data returns the constant data of tensor ti of subgraph si, or nil when it
// has none.
func (m *Model) Data(si, ti int) []byte {
	if si < 0 || si >= len(m.Subgraphs) || ti < 0 || ti >= len(m.Subgraphs[si].Tensors) {
		return nil
	}
	b := m.Subgraphs[si].Tensors[ti].Buffer
	if b <= 0 || b >= len(m.Buffers) {
		return nil
	}
	return m.Buffers[b]
}

// Float32s decodes little-endian float32 values.
func Float32s(b []byte) ([]float32, error) {
	if len(b)%4 != 0 {
		return nil, fmt.Errorf("tflite: float32 data of %d bytes", len(b))
	}
	out := make([]float32, len(b)/4)
	for i := range out {
		out[i] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:]))
	}
	return out, nil
}

// Int32s decodes little-endian int32 values.
func Int32s(b []byte) ([]int32, error) {
	if len(b)%4 != 0 {
		return nil, fmt.Errorf("tflite: int32 data of %d bytes", len(b))
	}
	out := make([]int32, len(b)/4)
	for i := range out {
		out[i] = int32(binary.LittleEndian.Uint32(b[4*i:]))
	}
	return out, nil
}

// Int64s decodes little-endian int64 values.
func Int64s(b []byte) ([]int64, error) {
	if len(b)%8 != 0 {
		return nil, fmt.Errorf("tflite: int64 data of %d bytes", len(b))
	}
	out := make([]int64, len(b)/8)
	for i := range out {
		out[i] = int64(binary.LittleEndian.Uint64(b[8*i:]))
	}
	return out, nil
}

// Int8s reinterprets bytes as int8 values (a copy).
func Int8s(b []byte) []int8 {
	out := make([]int8, len(b))
	for i, v := range b {
		out[i] = int8(v)
	}
	return out
}

// Float32Bytes encodes float32 values little-endian.
func Float32Bytes(v []float32) []byte {
	out := make([]byte, 4*len(v))
	for i, x := range v {
		binary.LittleEndian.PutUint32(out[4*i:], math.Float32bits(x))
	}
	return out
}

// Int32Bytes encodes int32 values little-endian.
func Int32Bytes(v []int32) []byte {
	out := make([]byte, 4*len(v))
	for i, x := range v {
		binary.LittleEndian.PutUint32(out[4*i:], uint32(x))
	}
	return out
}

// Int8Bytes encodes int8 values as bytes.
func Int8Bytes(v []int8) []byte {
	out := make([]byte, len(v))
	for i, x := range v {
		out[i] = byte(x)
	}
	return out
}
