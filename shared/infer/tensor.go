package infer

import (
	"unsafe"

	"github.com/megapipe/mega/shared/tflite"
)

// Tensor is one tensor of a running interpreter. Its data lives in the
// interpreter's arena (or, for constants, in read-only model memory) and is
// valid until the next call that re-plans memory (ResizeInput). Intermediate
// tensors share memory with others unless Options.PreserveAll is set.
type Tensor struct {
	Name  string
	Type  tflite.TensorType
	Shape []int
	// Quantization is the model's quantization of this tensor (nil for float).
	Quantization *tflite.Quantization

	index   int
	data    []byte
	isConst bool
	isVar   bool
}

// Index returns the tensor's index in its subgraph.
func (t *Tensor) Index() int { return t.index }

// NumElements returns the product of the shape.
func (t *Tensor) NumElements() int {
	n := 1
	for _, d := range t.Shape {
		n *= d
	}
	return n
}

// Bytes returns the raw little-endian data (shared, not a copy).
func (t *Tensor) Bytes() []byte { return t.data }

// Float32s returns a view of the data as float32, or nil if the tensor is
// not FLOAT32.
func (t *Tensor) Float32s() []float32 {
	if t.Type != tflite.Float32 || len(t.data) < 4 {
		return nil
	}
	return unsafe.Slice((*float32)(unsafe.Pointer(&t.data[0])), len(t.data)/4)
}

// Int8s returns a view of the data as int8, or nil if the tensor is not INT8.
func (t *Tensor) Int8s() []int8 {
	if t.Type != tflite.Int8 || len(t.data) == 0 {
		return nil
	}
	return unsafe.Slice((*int8)(unsafe.Pointer(&t.data[0])), len(t.data))
}

// Int32s returns a view of the data as int32, or nil if the tensor is not
// INT32.
func (t *Tensor) Int32s() []int32 {
	if t.Type != tflite.Int32 || len(t.data) < 4 {
		return nil
	}
	return unsafe.Slice((*int32)(unsafe.Pointer(&t.data[0])), len(t.data)/4)
}

// Scale returns the first quantization scale (0 when unquantized).
func (t *Tensor) Scale() float32 {
	if t.Quantization == nil || len(t.Quantization.Scale) == 0 {
		return 0
	}
	return t.Quantization.Scale[0]
}

// ZeroPoint returns the first zero point (0 when unquantized).
func (t *Tensor) ZeroPoint() int32 {
	if t.Quantization == nil || len(t.Quantization.ZeroPoint) == 0 {
		return 0
	}
	return int32(t.Quantization.ZeroPoint[0])
}

// scales returns all quantization scales.
func (t *Tensor) scales() []float32 {
	if t.Quantization == nil {
		return nil
	}
	return t.Quantization.Scale
}

func (t *Tensor) quantized() bool {
	return t.Quantization != nil && len(t.Quantization.Scale) > 0
}

func (t *Tensor) byteSize() int { return t.NumElements() * t.Type.Size() }

// int64s views int64 data.
func (t *Tensor) int64s() []int64 {
	if t.Type != tflite.Int64 || len(t.data) < 8 {
		return nil
	}
	return unsafe.Slice((*int64)(unsafe.Pointer(&t.data[0])), len(t.data)/8)
}

// ints returns INT32 or INT64 data as ints (for small shape-like tensors).
func (t *Tensor) ints() ([]int, bool) {
	switch t.Type {
	case tflite.Int32:
		v := t.Int32s()
		out := make([]int, len(v))
		for i, x := range v {
			out[i] = int(x)
		}
		return out, true
	case tflite.Int64:
		v := t.int64s()
		out := make([]int, len(v))
		for i, x := range v {
			out[i] = int(x)
		}
		return out, true
	}
	return nil, false
}

// alignedCopy copies b into 64-byte-aligned memory so typed views are aligned.
func alignedCopy(b []byte) []byte {
	if len(b) == 0 {
		return nil
	}
	buf := alignedBytes(len(b))
	copy(buf, b)
	return buf
}

// alignedBytes returns n bytes starting at a 64-byte boundary.
func alignedBytes(n int) []byte {
	words := make([]uint64, (n+63)/8+8)
	b := unsafe.Slice((*byte)(unsafe.Pointer(&words[0])), len(words)*8)
	off := int((64 - uintptr(unsafe.Pointer(&b[0]))%64) % 64)
	return b[off : off+n : off+n]
}
