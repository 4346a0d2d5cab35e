package tflite

// OptionsType is the type tag of the BuiltinOptions union in the schema.
type OptionsType uint8

// Builtin options union tags (1-based positions in the schema's union).
const (
	OptionsNone            OptionsType = 0
	OptionsConv2D          OptionsType = 1
	OptionsDepthwiseConv2D OptionsType = 2
	OptionsPool2D          OptionsType = 5
	OptionsFullyConnected  OptionsType = 8
	OptionsSoftmax         OptionsType = 9
	OptionsConcatenation   OptionsType = 10
	OptionsAdd             OptionsType = 11
	OptionsReshape         OptionsType = 17
	OptionsMul             OptionsType = 21
	OptionsPad             OptionsType = 22
	OptionsGather          OptionsType = 23
	OptionsTranspose       OptionsType = 26
	OptionsReducer         OptionsType = 27
	OptionsSub             OptionsType = 28
	OptionsDiv             OptionsType = 29
	OptionsSqueeze         OptionsType = 30
	OptionsStridedSlice    OptionsType = 32
	OptionsDequantize      OptionsType = 38
	OptionsLeakyRelu       OptionsType = 75
	OptionsQuantize        OptionsType = 89
	maxOptionsType         OptionsType = 126 // RightShiftOptions, the last member of the union
)

// Options are the builtin options of an operator. The concrete types are the
// *Options structs of this package.
type Options interface {
	// Type returns the union tag of these options.
	Type() OptionsType
}

// Conv2DOptions are the options of CONV_2D.
type Conv2DOptions struct {
	Padding           Padding
	StrideW, StrideH  int
	Activation        Activation
	DilationW         int // default 1
	DilationH         int // default 1
	QuantizedBiasType TensorType
}

// DepthwiseConv2DOptions are the options of DEPTHWISE_CONV_2D.
type DepthwiseConv2DOptions struct {
	Padding          Padding
	StrideW, StrideH int
	DepthMultiplier  int
	Activation       Activation
	DilationW        int // default 1
	DilationH        int // default 1
}

// Pool2DOptions are the options of AVERAGE_POOL_2D, MAX_POOL_2D and L2_POOL_2D.
type Pool2DOptions struct {
	Padding                   Padding
	StrideW, StrideH          int
	FilterWidth, FilterHeight int
	Activation                Activation
}

// FullyConnectedOptions are the options of FULLY_CONNECTED.
type FullyConnectedOptions struct {
	Activation               Activation
	WeightsFormat            int8 // 0 DEFAULT, 1 SHUFFLED4x16INT8
	KeepNumDims              bool
	AsymmetricQuantizeInputs bool
	QuantizedBiasType        TensorType
}

// SoftmaxOptions are the options of SOFTMAX.
type SoftmaxOptions struct{ Beta float32 }

// ConcatenationOptions are the options of CONCATENATION.
type ConcatenationOptions struct {
	Axis       int
	Activation Activation
}

// AddOptions are the options of ADD.
type AddOptions struct {
	Activation    Activation
	PotScaleInt16 bool // default true
}

// SubOptions are the options of SUB.
type SubOptions struct {
	Activation    Activation
	PotScaleInt16 bool // default true
}

// MulOptions are the options of MUL.
type MulOptions struct{ Activation Activation }

// DivOptions are the options of DIV.
type DivOptions struct{ Activation Activation }

// ReshapeOptions are the options of RESHAPE. NewShape is optional: the shape
// input tensor, when present, takes precedence.
type ReshapeOptions struct{ NewShape []int }

// ReducerOptions are the options of MEAN, SUM and the REDUCE_* operators.
type ReducerOptions struct{ KeepDims bool }

// SqueezeOptions are the options of SQUEEZE.
type SqueezeOptions struct{ SqueezeDims []int }

// GatherOptions are the options of GATHER.
type GatherOptions struct{ Axis, BatchDims int }

// StridedSliceOptions are the options of STRIDED_SLICE.
type StridedSliceOptions struct {
	BeginMask, EndMask, EllipsisMask, NewAxisMask, ShrinkAxisMask int
	Offset                                                        bool
}

// LeakyReluOptions are the options of LEAKY_RELU.
type LeakyReluOptions struct{ Alpha float32 }

// PadOptions are the (empty) options of PAD.
type PadOptions struct{}

// TransposeOptions are the (empty) options of TRANSPOSE.
type TransposeOptions struct{}

// QuantizeOptions are the (empty) options of QUANTIZE.
type QuantizeOptions struct{}

// DequantizeOptions are the (empty) options of DEQUANTIZE.
type DequantizeOptions struct{}

// OtherOptions stands for an options table of a type this package does not
// model. Parse keeps its tag; Marshal writes an empty table of that type and
// fails when HasFields is set, because the fields would be lost.
type OtherOptions struct {
	Tag       OptionsType
	HasFields bool
}

func (*Conv2DOptions) Type() OptionsType          { return OptionsConv2D }
func (*DepthwiseConv2DOptions) Type() OptionsType { return OptionsDepthwiseConv2D }
func (*Pool2DOptions) Type() OptionsType          { return OptionsPool2D }
func (*FullyConnectedOptions) Type() OptionsType  { return OptionsFullyConnected }
func (*SoftmaxOptions) Type() OptionsType         { return OptionsSoftmax }
func (*ConcatenationOptions) Type() OptionsType   { return OptionsConcatenation }
func (*AddOptions) Type() OptionsType             { return OptionsAdd }
func (*SubOptions) Type() OptionsType             { return OptionsSub }
func (*MulOptions) Type() OptionsType             { return OptionsMul }
func (*DivOptions) Type() OptionsType             { return OptionsDiv }
func (*ReshapeOptions) Type() OptionsType         { return OptionsReshape }
func (*ReducerOptions) Type() OptionsType         { return OptionsReducer }
func (*SqueezeOptions) Type() OptionsType         { return OptionsSqueeze }
func (*GatherOptions) Type() OptionsType          { return OptionsGather }
func (*StridedSliceOptions) Type() OptionsType    { return OptionsStridedSlice }
func (*LeakyReluOptions) Type() OptionsType       { return OptionsLeakyRelu }
func (*PadOptions) Type() OptionsType             { return OptionsPad }
func (*TransposeOptions) Type() OptionsType       { return OptionsTranspose }
func (*QuantizeOptions) Type() OptionsType        { return OptionsQuantize }
func (*DequantizeOptions) Type() OptionsType      { return OptionsDequantize }
func (o *OtherOptions) Type() OptionsType         { return o.Tag }

// FusedActivation returns the fused activation of options that have one, and
// ActNone otherwise.
func FusedActivation(o Options) Activation {
	switch o := o.(type) {
	case *Conv2DOptions:
		return o.Activation
	case *DepthwiseConv2DOptions:
		return o.Activation
	case *Pool2DOptions:
		return o.Activation
	case *FullyConnectedOptions:
		return o.Activation
	case *ConcatenationOptions:
		return o.Activation
	case *AddOptions:
		return o.Activation
	case *SubOptions:
		return o.Activation
	case *MulOptions:
		return o.Activation
	case *DivOptions:
		return o.Activation
	}
	return ActNone
}
