package tflite

import flatbuffers "github.com/google/flatbuffers/go"

// Builtin operators the TensorFlow converter writes for common Keras layers
// (schema numbers), beyond those of types.go.
const (
	OpResizeBilinear        BuiltinOperator = 23
	OpGather                BuiltinOperator = 36
	OpTranspose             BuiltinOperator = 39
	OpStridedSlice          BuiltinOperator = 45
	OpExp                   BuiltinOperator = 47
	OpSplit                 BuiltinOperator = 49
	OpCast                  BuiltinOperator = 53
	OpPrelu                 BuiltinOperator = 54
	OpMaximum               BuiltinOperator = 55
	OpArgMax                BuiltinOperator = 56
	OpMinimum               BuiltinOperator = 57
	OpPadV2                 BuiltinOperator = 60
	OpSlice                 BuiltinOperator = 65
	OpTransposeConv         BuiltinOperator = 67
	OpExpandDims            BuiltinOperator = 70
	OpSum                   BuiltinOperator = 74
	OpSqrt                  BuiltinOperator = 75
	OpRsqrt                 BuiltinOperator = 76
	OpShape                 BuiltinOperator = 77
	OpPow                   BuiltinOperator = 78
	OpReduceProd            BuiltinOperator = 81
	OpReduceMax             BuiltinOperator = 82
	OpPack                  BuiltinOperator = 83
	OpUnpack                BuiltinOperator = 88
	OpSquare                BuiltinOperator = 92
	OpResizeNearestNeighbor BuiltinOperator = 97
	OpLeakyRelu             BuiltinOperator = 98
	OpSquaredDifference     BuiltinOperator = 99
	OpAbs                   BuiltinOperator = 101
	OpElu                   BuiltinOperator = 111
	OpHardSwish             BuiltinOperator = 117
	OpBatchMatMul           BuiltinOperator = 126
	OpGelu                  BuiltinOperator = 150
	OpDiv                   BuiltinOperator = 42
	OpNeg                   BuiltinOperator = 59
	OpLess                  BuiltinOperator = 58
	OpGreater               BuiltinOperator = 61
	OpGreaterEqual          BuiltinOperator = 62
	OpLessEqual             BuiltinOperator = 63
	OpSelect                BuiltinOperator = 64
	OpEqual                 BuiltinOperator = 71
	OpNotEqual              BuiltinOperator = 72
	OpSelectV2              BuiltinOperator = 123
	OpTile                  BuiltinOperator = 69
)

// Options union tags of the options modelled in this file.
const (
	OptionsResizeBilinear        OptionsType = 15
	OptionsSplit                 OptionsType = 35
	OptionsCast                  OptionsType = 37
	OptionsMaximumMinimum        OptionsType = 39
	OptionsArgMax                OptionsType = 40
	OptionsPadV2                 OptionsType = 43
	OptionsSlice                 OptionsType = 48
	OptionsTransposeConv         OptionsType = 49
	OptionsExpandDims            OptionsType = 52
	OptionsShape                 OptionsType = 55
	OptionsPack                  OptionsType = 59
	OptionsUnpack                OptionsType = 64
	OptionsResizeNearestNeighbor OptionsType = 74
	OptionsBatchMatMul           OptionsType = 101
	OptionsGelu                  OptionsType = 116
)

// ResizeBilinearOptions are the options of RESIZE_BILINEAR.
type ResizeBilinearOptions struct{ AlignCorners, HalfPixelCenters bool }

// ResizeNearestNeighborOptions are the options of RESIZE_NEAREST_NEIGHBOR.
type ResizeNearestNeighborOptions struct{ AlignCorners, HalfPixelCenters bool }

// SplitOptions are the options of SPLIT.
type SplitOptions struct{ NumSplits int }

// CastOptions are the options of CAST.
type CastOptions struct{ InType, OutType TensorType }

// ArgMaxOptions are the options of ARG_MAX.
type ArgMaxOptions struct{ OutputType TensorType }

// TransposeConvOptions are the options of TRANSPOSE_CONV.
type TransposeConvOptions struct {
	Padding           Padding
	StrideW, StrideH  int
	Activation        Activation
	QuantizedBiasType TensorType
}

// ShapeOptions are the options of SHAPE.
type ShapeOptions struct{ OutType TensorType }

// PackOptions are the options of PACK.
type PackOptions struct{ ValuesCount, Axis int }

// UnpackOptions are the options of UNPACK.
type UnpackOptions struct{ Num, Axis int }

// BatchMatMulOptions are the options of BATCH_MATMUL.
type BatchMatMulOptions struct{ AdjX, AdjY, AsymmetricQuantizeInputs bool }

// GeluOptions are the options of GELU.
type GeluOptions struct{ Approximate bool }

func (*ResizeBilinearOptions) Type() OptionsType        { return OptionsResizeBilinear }
func (*ResizeNearestNeighborOptions) Type() OptionsType { return OptionsResizeNearestNeighbor }
func (*SplitOptions) Type() OptionsType                 { return OptionsSplit }
func (*CastOptions) Type() OptionsType                  { return OptionsCast }
func (*ArgMaxOptions) Type() OptionsType                { return OptionsArgMax }
func (*TransposeConvOptions) Type() OptionsType         { return OptionsTransposeConv }
func (*ShapeOptions) Type() OptionsType                 { return OptionsShape }
func (*PackOptions) Type() OptionsType                  { return OptionsPack }
func (*UnpackOptions) Type() OptionsType                { return OptionsUnpack }
func (*BatchMatMulOptions) Type() OptionsType           { return OptionsBatchMatMul }
func (*GeluOptions) Type() OptionsType                  { return OptionsGelu }

// moreOptions decodes the options types of this file; ok is false for
// other types.
func (d *decoder) moreOptions(path string, typ OptionsType, t table) (o Options, ok bool, err error) {
	i32 := func(slot int) int {
		if err != nil {
			return 0
		}
		var v int32
		v, err = d.i32(path, t, slot, 0)
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
	b := func(slot int) bool {
		if err != nil {
			return false
		}
		var v bool
		v, err = d.boolean(path, t, slot, false)
		return v
	}
	switch typ {
	case OptionsResizeBilinear:
		o = &ResizeBilinearOptions{AlignCorners: b(2), HalfPixelCenters: b(3)}
	case OptionsResizeNearestNeighbor:
		o = &ResizeNearestNeighborOptions{AlignCorners: b(0), HalfPixelCenters: b(1)}
	case OptionsSplit:
		o = &SplitOptions{NumSplits: i32(0)}
	case OptionsCast:
		o = &CastOptions{InType: TensorType(i8(0)), OutType: TensorType(i8(1))}
	case OptionsArgMax:
		o = &ArgMaxOptions{OutputType: TensorType(i8(0))}
	case OptionsTransposeConv:
		o = &TransposeConvOptions{Padding: Padding(i8(0)), StrideW: i32(1), StrideH: i32(2), Activation: Activation(i8(3)),
			QuantizedBiasType: TensorType(i8(4))}
	case OptionsShape:
		o = &ShapeOptions{OutType: TensorType(i8(0))}
	case OptionsPack:
		o = &PackOptions{ValuesCount: i32(0), Axis: i32(1)}
	case OptionsUnpack:
		o = &UnpackOptions{Num: i32(0), Axis: i32(1)}
	case OptionsBatchMatMul:
		o = &BatchMatMulOptions{AdjX: b(0), AdjY: b(1), AsymmetricQuantizeInputs: b(2)}
	case OptionsGelu:
		o = &GeluOptions{Approximate: b(0)}
	default:
		return nil, false, nil
	}
	return o, true, err
}

// moreOptions writes the options types of this file; ok is false for other
// types. It must be called before the table is started.
func (w *writer) moreOptions(o Options) (off flatbuffers.UOffsetT, ok bool) {
	fb := w.fb
	i8 := func(slot int, v int8) { fb.PrependInt8Slot(slot, v, 0) }
	i32 := func(slot, v int) { fb.PrependInt32Slot(slot, int32(v), 0) }
	b := func(slot int, v bool) { fb.PrependBoolSlot(slot, v, false) }
	switch o := o.(type) {
	case *ResizeBilinearOptions:
		fb.StartObject(4)
		b(2, o.AlignCorners)
		b(3, o.HalfPixelCenters)
	case *ResizeNearestNeighborOptions:
		fb.StartObject(2)
		b(0, o.AlignCorners)
		b(1, o.HalfPixelCenters)
	case *SplitOptions:
		fb.StartObject(1)
		i32(0, o.NumSplits)
	case *CastOptions:
		fb.StartObject(2)
		i8(0, int8(o.InType))
		i8(1, int8(o.OutType))
	case *ArgMaxOptions:
		fb.StartObject(1)
		i8(0, int8(o.OutputType))
	case *TransposeConvOptions:
		fb.StartObject(5)
		i8(0, int8(o.Padding))
		i32(1, o.StrideW)
		i32(2, o.StrideH)
		i8(3, int8(o.Activation))
		i8(4, int8(o.QuantizedBiasType))
	case *ShapeOptions:
		fb.StartObject(1)
		i8(0, int8(o.OutType))
	case *PackOptions:
		fb.StartObject(2)
		i32(0, o.ValuesCount)
		i32(1, o.Axis)
	case *UnpackOptions:
		fb.StartObject(2)
		i32(0, o.Num)
		i32(1, o.Axis)
	case *BatchMatMulOptions:
		fb.StartObject(3)
		b(0, o.AdjX)
		b(1, o.AdjY)
		b(2, o.AsymmetricQuantizeInputs)
	case *GeluOptions:
		fb.StartObject(1)
		b(0, o.Approximate)
	default:
		return 0, false
	}
	return fb.EndObject(), true
}
