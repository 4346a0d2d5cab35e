package tflite

import (
	"fmt"
	"strings"
)

// Identifier is the flatbuffer file identifier of TFLite schema version 3.
const Identifier = "TFL3"

// SchemaVersion is the schema version this package reads and writes.
const SchemaVersion = 3

// TensorType is the element type of a tensor (schema enum TensorType).
type TensorType int8

// Tensor types, numbered as in the schema.
const (
	Float32    TensorType = 0
	Float16    TensorType = 1
	Int32      TensorType = 2
	Uint8      TensorType = 3
	Int64      TensorType = 4
	String     TensorType = 5
	Bool       TensorType = 6
	Int16      TensorType = 7
	Complex64  TensorType = 8
	Int8       TensorType = 9
	Float64    TensorType = 10
	Complex128 TensorType = 11
	Uint64     TensorType = 12
	Resource   TensorType = 13
	Variant    TensorType = 14
	Uint32     TensorType = 15
	Uint16     TensorType = 16
	Int4       TensorType = 17
	BFloat16   TensorType = 18
)

var tensorTypeNames = [...]string{"FLOAT32", "FLOAT16", "INT32", "UINT8", "INT64", "STRING", "BOOL", "INT16",
	"COMPLEX64", "INT8", "FLOAT64", "COMPLEX128", "UINT64", "RESOURCE", "VARIANT", "UINT32", "UINT16", "INT4",
	"BFLOAT16", "INT2", "UINT4", "FLOAT8_E4M3FN", "FLOAT8_E5M2"}

// String returns the schema name, such as "INT8".
func (t TensorType) String() string {
	if t >= 0 && int(t) < len(tensorTypeNames) {
		return tensorTypeNames[t]
	}
	return fmt.Sprintf("TensorType(%d)", int8(t))
}

// ParseTensorType returns the type named s ("int8", "FLOAT32", ...).
func ParseTensorType(s string) (TensorType, error) {
	for i, n := range tensorTypeNames {
		if strings.EqualFold(n, s) {
			return TensorType(i), nil
		}
	}
	return 0, fmt.Errorf("tflite: unknown tensor type %q", s)
}

// Size returns the size in bytes of one element, or 0 for types without a
// fixed byte size (STRING, RESOURCE, VARIANT, and the packed 4-bit types).
func (t TensorType) Size() int {
	switch t {
	case Bool, Int8, Uint8:
		return 1
	case Float16, Int16, Uint16, BFloat16:
		return 2
	case Float32, Int32, Uint32:
		return 4
	case Float64, Int64, Uint64, Complex64:
		return 8
	case Complex128:
		return 16
	}
	return 0
}

// BuiltinOperator is a builtin operator code (schema enum BuiltinOperator).
type BuiltinOperator int32

// Builtin operators used by this project; all others keep their schema number.
const (
	OpAdd                          BuiltinOperator = 0
	OpAveragePool2D                BuiltinOperator = 1
	OpConcatenation                BuiltinOperator = 2
	OpConv2D                       BuiltinOperator = 3
	OpDepthwiseConv2D              BuiltinOperator = 4
	OpDequantize                   BuiltinOperator = 6
	OpFullyConnected               BuiltinOperator = 9
	OpLogistic                     BuiltinOperator = 14
	OpMaxPool2D                    BuiltinOperator = 17
	OpMul                          BuiltinOperator = 18
	OpRelu                         BuiltinOperator = 19
	OpReluN1To1                    BuiltinOperator = 20
	OpRelu6                        BuiltinOperator = 21
	OpReshape                      BuiltinOperator = 22
	OpSoftmax                      BuiltinOperator = 25
	OpTanh                         BuiltinOperator = 28
	OpCustom                       BuiltinOperator = 32
	OpPad                          BuiltinOperator = 34
	OpMean                         BuiltinOperator = 40
	OpSub                          BuiltinOperator = 41
	OpSqueeze                      BuiltinOperator = 43
	OpQuantize                     BuiltinOperator = 114
	OpPlaceholderForGreaterOpCodes BuiltinOperator = 127
)

// builtinNames lists the schema names of BuiltinOperator 0..209, in order.
var builtinNames = strings.Fields(`ADD AVERAGE_POOL_2D CONCATENATION CONV_2D DEPTHWISE_CONV_2D DEPTH_TO_SPACE
DEQUANTIZE EMBEDDING_LOOKUP FLOOR FULLY_CONNECTED HASHTABLE_LOOKUP L2_NORMALIZATION L2_POOL_2D
LOCAL_RESPONSE_NORMALIZATION LOGISTIC LSH_PROJECTION LSTM MAX_POOL_2D MUL RELU RELU_N1_TO_1 RELU6 RESHAPE
RESIZE_BILINEAR RNN SOFTMAX SPACE_TO_DEPTH SVDF TANH CONCAT_EMBEDDINGS SKIP_GRAM CALL CUSTOM
EMBEDDING_LOOKUP_SPARSE PAD UNIDIRECTIONAL_SEQUENCE_RNN GATHER BATCH_TO_SPACE_ND SPACE_TO_BATCH_ND TRANSPOSE MEAN
SUB DIV SQUEEZE UNIDIRECTIONAL_SEQUENCE_LSTM STRIDED_SLICE BIDIRECTIONAL_SEQUENCE_RNN EXP TOPK_V2 SPLIT
LOG_SOFTMAX DELEGATE BIDIRECTIONAL_SEQUENCE_LSTM CAST PRELU MAXIMUM ARG_MAX MINIMUM LESS NEG PADV2 GREATER
GREATER_EQUAL LESS_EQUAL SELECT SLICE SIN TRANSPOSE_CONV SPARSE_TO_DENSE TILE EXPAND_DIMS EQUAL NOT_EQUAL LOG SUM
SQRT RSQRT SHAPE POW ARG_MIN FAKE_QUANT REDUCE_PROD REDUCE_MAX PACK LOGICAL_OR ONE_HOT LOGICAL_AND LOGICAL_NOT
UNPACK REDUCE_MIN FLOOR_DIV REDUCE_ANY SQUARE ZEROS_LIKE FILL FLOOR_MOD RANGE RESIZE_NEAREST_NEIGHBOR LEAKY_RELU
SQUARED_DIFFERENCE MIRROR_PAD ABS SPLIT_V UNIQUE CEIL REVERSE_V2 ADD_N GATHER_ND COS WHERE RANK ELU
REVERSE_SEQUENCE MATRIX_DIAG QUANTIZE MATRIX_SET_DIAG ROUND HARD_SWISH IF WHILE NON_MAX_SUPPRESSION_V4
NON_MAX_SUPPRESSION_V5 SCATTER_ND SELECT_V2 DENSIFY SEGMENT_SUM BATCH_MATMUL PLACEHOLDER_FOR_GREATER_OP_CODES
CUMSUM CALL_ONCE BROADCAST_TO RFFT2D CONV_3D IMAG REAL COMPLEX_ABS HASHTABLE HASHTABLE_FIND HASHTABLE_IMPORT
HASHTABLE_SIZE REDUCE_ALL CONV_3D_TRANSPOSE VAR_HANDLE READ_VARIABLE ASSIGN_VARIABLE BROADCAST_ARGS
RANDOM_STANDARD_NORMAL BUCKETIZE RANDOM_UNIFORM MULTINOMIAL GELU DYNAMIC_UPDATE_SLICE RELU_0_TO_1
UNSORTED_SEGMENT_PROD UNSORTED_SEGMENT_MAX UNSORTED_SEGMENT_SUM ATAN2 UNSORTED_SEGMENT_MIN SIGN BITCAST
BITWISE_XOR RIGHT_SHIFT STABLEHLO_LOGISTIC STABLEHLO_ADD STABLEHLO_DIVIDE STABLEHLO_MULTIPLY STABLEHLO_MAXIMUM
STABLEHLO_RESHAPE STABLEHLO_CLAMP STABLEHLO_CONCATENATE STABLEHLO_BROADCAST_IN_DIM STABLEHLO_CONVOLUTION
STABLEHLO_SLICE STABLEHLO_CUSTOM_CALL STABLEHLO_REDUCE STABLEHLO_ABS STABLEHLO_AND STABLEHLO_COSINE
STABLEHLO_EXPONENTIAL STABLEHLO_FLOOR STABLEHLO_LOG STABLEHLO_MINIMUM STABLEHLO_NEGATE STABLEHLO_OR STABLEHLO_POWER
STABLEHLO_REMAINDER STABLEHLO_RSQRT STABLEHLO_SELECT STABLEHLO_SUBTRACT STABLEHLO_TANH STABLEHLO_SCATTER
STABLEHLO_COMPARE STABLEHLO_CONVERT STABLEHLO_DYNAMIC_SLICE STABLEHLO_DYNAMIC_UPDATE_SLICE STABLEHLO_PAD
STABLEHLO_IOTA STABLEHLO_DOT_GENERAL STABLEHLO_REDUCE_WINDOW STABLEHLO_SORT STABLEHLO_WHILE STABLEHLO_GATHER
STABLEHLO_TRANSPOSE DILATE STABLEHLO_RNG_BIT_GENERATOR REDUCE_WINDOW STABLEHLO_COMPOSITE STABLEHLO_SHIFT_LEFT
STABLEHLO_CBRT STABLEHLO_CASE`)

// String returns the schema name, such as "CONV_2D".
func (op BuiltinOperator) String() string {
	if op >= 0 && int(op) < len(builtinNames) {
		return builtinNames[op]
	}
	return fmt.Sprintf("BuiltinOperator(%d)", int32(op))
}

// ParseBuiltinOperator returns the operator named s (case-insensitive).
func ParseBuiltinOperator(s string) (BuiltinOperator, error) {
	for i, n := range builtinNames {
		if strings.EqualFold(n, s) {
			return BuiltinOperator(i), nil
		}
	}
	return 0, fmt.Errorf("tflite: unknown builtin operator %q", s)
}

// Activation is a fused activation function (schema enum ActivationFunctionType).
type Activation int8

// Fused activations.
const (
	ActNone      Activation = 0
	ActRelu      Activation = 1
	ActReluN1To1 Activation = 2
	ActRelu6     Activation = 3
	ActTanh      Activation = 4
	ActSignBit   Activation = 5
)

func (a Activation) String() string {
	switch a {
	case ActNone:
		return "NONE"
	case ActRelu:
		return "RELU"
	case ActReluN1To1:
		return "RELU_N1_TO_1"
	case ActRelu6:
		return "RELU6"
	case ActTanh:
		return "TANH"
	case ActSignBit:
		return "SIGN_BIT"
	}
	return fmt.Sprintf("Activation(%d)", int8(a))
}

// Padding is a convolution or pooling padding mode (schema enum Padding).
type Padding int8

// Padding modes.
const (
	PaddingSame  Padding = 0
	PaddingValid Padding = 1
)

func (p Padding) String() string {
	switch p {
	case PaddingSame:
		return "SAME"
	case PaddingValid:
		return "VALID"
	}
	return fmt.Sprintf("Padding(%d)", int8(p))
}

// Model is a TFLite model, independent of its flatbuffer encoding.
type Model struct {
	Version       int
	Description   string
	OperatorCodes []OperatorCode
	Subgraphs     []Subgraph
	// Buffers holds constant data. Buffers[0] is the empty sentinel that
	// tensors without data point at. Data stored outside the flatbuffer
	// (offset/size fields of >2 GB models) is read into memory by Parse.
	Buffers [][]byte
	// MetadataBuffer is the deprecated metadata_buffer field (buffer indices).
	MetadataBuffer []int
	Metadata       []Metadata
	SignatureDefs  []SignatureDef
}

// OperatorCode identifies the operator that Operator.OpcodeIndex refers to.
type OperatorCode struct {
	// Builtin is the larger of builtin_code and deprecated_builtin_code, so
	// files from older converters (which set only the deprecated byte) and
	// newer ones read the same.
	Builtin BuiltinOperator
	// Custom is the custom_code of a CUSTOM operator.
	Custom  string
	Version int
}

// Subgraph is a graph of tensors and operators. Subgraphs[0] is the main graph.
type Subgraph struct {
	Name      string
	Tensors   []Tensor
	Inputs    []int
	Outputs   []int
	Operators []Operator
}

// Tensor describes one tensor of a subgraph.
type Tensor struct {
	Name  string
	Type  TensorType
	Shape []int
	// ShapeSignature is the shape with -1 for unknown dimensions (optional).
	ShapeSignature []int
	// Buffer indexes Model.Buffers; 0 (the empty sentinel) means no constant data.
	Buffer       int
	Quantization *Quantization
	IsVariable   bool
	HasRank      bool
}

// Quantization holds the affine quantization parameters of a tensor:
// real = Scale[c] * (q - ZeroPoint[c]). Min and Max are calibration ranges
// (the converter's tests store them on float models).
type Quantization struct {
	Min                []float32 `json:"min,omitempty"`
	Max                []float32 `json:"max,omitempty"`
	Scale              []float32 `json:"scale,omitempty"`
	ZeroPoint          []int64   `json:"zero_point,omitempty"`
	QuantizedDimension int       `json:"quantized_dimension"`
}

// Operator is one node of a subgraph.
type Operator struct {
	OpcodeIndex int
	// Inputs and Outputs index Subgraph.Tensors; an input of -1 is an
	// optional input that is absent.
	Inputs        []int
	Outputs       []int
	Intermediates []int
	// Options are the typed builtin options (nil when absent).
	Options       Options
	CustomOptions []byte
}

// Metadata names a buffer holding model metadata.
type Metadata struct {
	Name   string
	Buffer int
}

// SignatureDef maps names to the tensors of one subgraph.
type SignatureDef struct {
	Key           string      `json:"key"`
	SubgraphIndex int         `json:"subgraph_index"`
	Inputs        []TensorMap `json:"inputs"`
	Outputs       []TensorMap `json:"outputs"`
}

// TensorMap is one named tensor of a signature.
type TensorMap struct {
	Name        string `json:"name"`
	TensorIndex int    `json:"tensor_index"`
}
