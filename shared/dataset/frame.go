package dataset

import (
	"encoding/binary"
	"hash/fnv"
	"math"
)

// Frame is a block of clean rows held column by column: the in-memory form of
// the compact format, and what featurize and train read. Numeric columns are
// float32 (NaN where missing), categorical columns int32 codes into the
// feature's Values (-1 where missing). A classification label is a class
// index into Schema.Classes(), a regression label a float32.
type Frame struct {
	Schema  *Schema
	Len     int      // number of rows
	Columns []Column // the schema's input features, in column order
	Class   []int32  // classification label per row (nil for regression)
	Target  []float32
}

// Column is one input feature of a Frame.
type Column struct {
	Name string
	Type Type      // Numeric or Categorical
	Num  []float32 // numeric values
	Code []int32   // categorical codes
}

// NewFrame returns an empty frame for the schema with room for n rows.
func NewFrame(s *Schema, n int) *Frame {
	f := &Frame{Schema: s}
	for _, ft := range s.Inputs() {
		c := Column{Name: ft.Name, Type: ft.Type}
		if ft.Type == Numeric {
			c.Num = make([]float32, 0, n)
		} else {
			c.Code = make([]int32, 0, n)
		}
		f.Columns = append(f.Columns, c)
	}
	if s.Task == Classification {
		f.Class = make([]int32, 0, n)
	} else {
		f.Target = make([]float32, 0, n)
	}
	return f
}

// appendValues adds one validated value row (schema feature order, as
// Validator.Row writes it).
func (f *Frame) appendValues(vals []float64) {
	c := 0
	for i, ft := range f.Schema.Features {
		v := vals[i]
		switch ft.Type {
		case Label:
			if f.Schema.Task == Classification {
				f.Class = append(f.Class, int32(v))
			} else {
				f.Target = append(f.Target, float32(v))
			}
			continue
		case Numeric:
			f.Columns[c].Num = append(f.Columns[c].Num, float32(v))
		default:
			code := int32(-1)
			if !math.IsNaN(v) {
				code = int32(v)
			}
			f.Columns[c].Code = append(f.Columns[c].Code, code)
		}
		c++
	}
	f.Len++
}

// AppendRow copies row i of src (a frame of the same schema) to f.
func (f *Frame) AppendRow(src *Frame, i int) {
	for c := range f.Columns {
		if f.Columns[c].Type == Numeric {
			f.Columns[c].Num = append(f.Columns[c].Num, src.Columns[c].Num[i])
		} else {
			f.Columns[c].Code = append(f.Columns[c].Code, src.Columns[c].Code[i])
		}
	}
	if src.Class != nil {
		f.Class = append(f.Class, src.Class[i])
	} else {
		f.Target = append(f.Target, src.Target[i])
	}
	f.Len++
}

// RowHash is a 64-bit FNV-1a hash of row i's stored values (feature values
// in column order, then the label), the same for the same row wherever it
// is: featurize splits by it.
func (f *Frame) RowHash(i int) uint64 {
	h := fnv.New64a()
	var b [4]byte
	for _, c := range f.Columns {
		if c.Type == Numeric {
			binary.LittleEndian.PutUint32(b[:], math.Float32bits(c.Num[i]))
		} else {
			binary.LittleEndian.PutUint32(b[:], uint32(c.Code[i]))
		}
		h.Write(b[:])
	}
	if f.Class != nil {
		binary.LittleEndian.PutUint32(b[:], uint32(f.Class[i]))
	} else {
		binary.LittleEndian.PutUint32(b[:], math.Float32bits(f.Target[i]))
	}
	h.Write(b[:])
	return h.Sum64()
}

// Matrix returns the input features as a row-major Len x len(Columns)
// float32 matrix: numeric values as they are, categorical codes as numbers
// (NaN where missing). Featurize one-hot encodes categoricals itself.
func (f *Frame) Matrix() []float32 {
	nc := len(f.Columns)
	m := make([]float32, f.Len*nc)
	for j, c := range f.Columns {
		for i := 0; i < f.Len; i++ {
			if c.Type == Numeric {
				m[i*nc+j] = c.Num[i]
			} else if c.Code[i] < 0 {
				m[i*nc+j] = float32(math.NaN())
			} else {
				m[i*nc+j] = float32(c.Code[i])
			}
		}
	}
	return m
}
