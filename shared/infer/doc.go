// Package infer is Megapipe's pure-Go TensorFlow Lite interpreter: it runs a
// parsed model (package tflite) in float32 and int8, without cgo, and is held
// to the official runtime's outputs.
//
// # Use
//
//	m, _ := tflite.Parse(b)
//	ip, err := infer.New(m, infer.Options{})  // XNNPack requantization by default
//	copy(ip.Input(0).Int8s(), pixels)
//	err = ip.Invoke()
//	scores := ip.Output(0).Int8s()
//
// New checks every operator (an unsupported operator, version, type
// combination or fused activation is a load-time error naming it, wrapping
// ErrUnsupported), derives kernel parameters, packs weights and plans memory
// once: non-constant tensors share one arena by lifetime (a slot is reused
// after its last reader; graph inputs and outputs live throughout). Invoke does
// not allocate. ResizeInput changes an input's shape (the server batches
// instances on axis 0) and re-plans only then. An Interpreter is not safe for
// concurrent use: give each goroutine its own; Clone makes one cheaply,
// sharing the model's read-only packed weights. Options.PreserveAll keeps
// every intermediate tensor (Interpreter.Tensor) for calibration, which
// records each tensor's range over float runs.
//
// Operators, float32 and int8: FULLY_CONNECTED, CONV_2D, DEPTHWISE_CONV_2D,
// AVERAGE_POOL_2D, MAX_POOL_2D, RESHAPE, SQUEEZE, SOFTMAX, LOGISTIC, TANH,
// RELU, RELU6, RELU_N1_TO_1, ADD, SUB, MUL (NumPy broadcasting up to rank 6),
// CONCATENATION, MEAN, PAD, QUANTIZE, DEQUANTIZE, with fused NONE, RELU,
// RELU6 and RELU_N1_TO_1 activations. SupportedOps lists the versions.
//
// What the TensorFlow converter writes for common Keras layers is run too
// (ops_shape.go, ops_more.go, ops_logic.go, ops_resize.go, ops_hybrid.go,
// plain Go): SHAPE, STRIDED_SLICE, SLICE, PACK, TILE, TRANSPOSE, GATHER,
// EXPAND_DIMS, SPLIT, CAST, ARG_MAX, REDUCE_MAX, REDUCE_PROD, SUM, PADV2,
// LEAKY_RELU, ELU, HARD_SWISH, GELU, RSQRT, SQRT, EXP, ABS, NEG, SQUARE,
// MAXIMUM, MINIMUM, SQUARED_DIFFERENCE, DIV, RESIZE_BILINEAR,
// RESIZE_NEAREST_NEIGHBOR, TRANSPOSE_CONV, BATCH_MATMUL, the comparisons,
// SELECT/SELECT_V2, integer ADD/SUB/MUL and CONCATENATION (shape
// arithmetic), float32 and int8. An operator whose inputs are all constant
// (or SHAPE of a static shape) is folded once at load (folding.go): Flatten's
// SHAPE/STRIDED_SLICE/PACK feeding RESHAPE, and DEQUANTIZE of FLOAT16 or int8
// weights, cost nothing per inference. Hybrid (dynamic-range) FULLY_CONNECTED,
// CONV_2D, DEPTHWISE_CONV_2D and TRANSPOSE_CONV (float activations, int8
// weights) in XNNPack mode quantize their input at run time as XNNPACK does
// (qd8: asymmetric per row for FULLY_CONNECTED and 1x1 convolutions, per
// batch item otherwise), sum in integers and scale back in float, which
// equals LiteRT within 1e-5; in Reference mode they dequantize the weights
// once and compute in float (about 1e-3 from LiteRT). Int8 activations without a
// TFLite-exact formula here (ELU, HARD_SWISH, GELU, LEAKY_RELU, RSQRT, ...)
// use a 256-entry table of the float function; int8 LEAKY_RELU and
// RESIZE_BILINEAR follow XNNPACK, SQUARED_DIFFERENCE and BATCH_MATMUL
// TFLite's fixed point (the official runtime's kernels for them). An out-of-range GATHER index writes zeros (Invoke
// cannot fail). testdata/zoo (make_zoo.py: 17 Keras architectures, each
// converted four ways, LiteRT outputs) and TestZoo measure the agreement;
// TestZooMLPerf runs the MLPerf Tiny models of ../shared/testdata/zoo.
//
// # Requantization
//
// Two modes, as ../shared/docs/tflite-int8-arithmetic.md describes:
//
//   - XNNPack (default): int8 FULLY_CONNECTED, CONV_2D, DEPTHWISE_CONV_2D
//     requantize as round_half_even(float32(acc) * float32(float32(s_in*s_w)/s_out)) + zp,
//     float QUANTIZE uses x*(1/scale) with round half to even, int8 QUANTIZE
//     (requantization) uses XNNPACK's ((q-zp)*lrintf(256*s_in/s_out)+128)>>8, and
//     MUL uses float32 requantization, as the official runtime's default build
//     (XNNPACK delegate) does. ADD and SUB use TFLite's fixed-point formula,
//     which the official runtime matches exactly.
//   - Reference: gemmlowp fixed-point double rounding everywhere, as the TFLite
//     and TFLite Micro reference kernels (and std::round QUANTIZE).
//
// Both modes use TFLite's default float-table int8 SOFTMAX and the LUTPopulate
// tables for LOGISTIC and TANH (TFLite Micro's fixed-point variants differ).
// A RESHAPE whose constant shape has batch 1 follows a batch-resized input.
//
// # Conformance
//
// The tests read ../shared/testdata/tflite in place (models from TFLite Micro
// and LiteRT, official outputs from the WebAssembly build of the official
// runtime); MEGA_TFLITE_TESTDATA points elsewhere, and without the folder
// they skip. In XNNPack mode every int8 output equals the official bytes
// (person_detect, hello_world and its 256-input sweep, the ADD models,
// pc_conv by sha256) and float outputs agree within 1e-5 relative; in
// Reference mode the origins' own assertions hold. testdata/golden adds an op
// suite of 29 small generated models (LOGISTIC, TANH, RELU/RELU6 with
// requantization, MUL/SUB/ADD with broadcasting, CONCATENATION, MEAN, PAD, pools
// with SAME padding, SOFTMAX with beta, strided CONV_2D, batched
// FULLY_CONNECTED, float CONV_2D/DEPTHWISE_CONV_2D, QUANTIZE/DEQUANTIZE) whose
// outputs come from the official runtime (testdata/golden/make_golden.sh);
// int8 outputs match exactly there too. As in TFLite, int8 CONCATENATION
// needs equal input and output quantization.
//
// To produce golden outputs for a new model from an official runtime, run
// testdata/oracle_golden.sh MODEL [IDX=INPUT.bin ...] (it copies
// ../shared/tools/tflite-oracle to a temporary folder, runs npm install and
// writes the outputs as raw little-endian files plus JSON), and
// testdata/litert_bench.py for the native runtime (pip install ai-edge-litert).
//
// # Speed
//
// Int8 convolutions and fully connected layers run as a GEMM over packed
// weights (8 output channels x pairs of inputs as int16, grouped by four
// blocks into one stream) with int32 accumulation; the input zero point is
// folded into the bias and padding is filled with it, so results are
// bit-identical to the reference loops (tests compare them, and the fuzz
// target does on generated models). DEPTHWISE_CONV_2D with multiplier 1 runs
// 16 channels at a time over a zero-point-padded image, interleaving tap
// pairs for VPMADDWD; with one input channel it (like a one-channel
// CONV_2D) reads the padded image directly, without im2col.
// Built with GOEXPERIMENT=simd on amd64 with AVX2, the inner loops use
// simd/archsimd, and the hot ones are Go assembly (gemm_amd64.s): the GEMM
// for 32 channels x 2 rows (and 16 channels x 64 rows), the depthwise rows
// and the one-input-channel rows, with XNNPack requantization fused into
// the store where a whole vector of outputs belongs to the layer. Where the
// CPU has AVX512-VNNI, the 32-channel GEMM uses VPDPBUSD on int8 quads of k
// (K a multiple of 4; inputs made unsigned by flipping the sign bit, the
// bias lowered by 128*Σw) or else VPDPWSSD on int16 pairs.
//
// # Kernel paths
//
// The path is chosen at start-up: the fastest of go (plain Go), avx2
// (AVX2+FMA), avx512 (adds the AVX-512 narrowing stores) and vnni (adds
// AVX512-VNNI) that the build and the CPU allow. MEGA_KERNELS=auto|go|avx2|
// avx512|vnni, or SetKernelPath, forces one (KernelPaths lists what can
// run); a path the CPU or build lacks is refused with ErrKernelPath, never
// run (a bad MEGA_KERNELS makes New fail with the reason rather than
// silently running another path). The path is process-wide and must not be
// changed while an interpreter runs; weights packed for one path are valid
// on every other. TestKernelPaths forces every available path and runs the
// kernel agreement tests (against the reference loops), the official
// runtime's outputs (conformance and golden ops, int8 bit-exact) and the
// zero-allocation check on each, logging which paths ran and which were
// skipped; .ci/run prints that line with the CPU's flags. BenchResult and
// mega tflite bench report the path.
// Float32 CONV_2D, DEPTHWISE_CONV_2D (multiplier 1) and FULLY_CONNECTED
// have AVX2+FMA kernels in archsimd (floatk.go, simd_float_amd64.go): weights
// packed once in blocks of 8 output channels, convolutions as im2col GEMMs (a
// 1x1 stride-1 one reads its input in place), one row against four blocks
// per step, depthwise 16 channels per step over the taps inside the image.
// Each lane sums in the reference loops' order with separate multiplies and
// adds and the bias last, so outputs are bit-identical to the reference
// loops on every path (tests compare exactly; calibration and the quantizer's
// golden models do not depend on the CPU), and the official float outputs
// agree within 1e-5 as before. Register-blocked
// archsimd forms with eight accumulators (4 rows x 2 blocks, 32 depthwise
// channels) measured 2-30x slower than these on this compiler, so they are
// not used; an assembly GEMM is the next step. Float pools and element-wise
// ops are still the reference loops, and the avx512/vnni paths run the AVX2
// float kernels. testdata/zoo_bench.py times the MLPerf Tiny zoo side by side
// with LiteRT (interleaved rounds, ratio table; MEGA_KERNELS picks the path).
// Assembly because Go's register allocator spilled accumulators of the
// archsimd GEMM every step, and requantizing from memory cost as much as
// the multiplications. Without GOEXPERIMENT=simd plain Go is used (5-7 ms on
// person_detect).
//
// Measured on the 2-core AMD EPYC dev machine (AVX-512 with VNNI),
// person_detect int8, one goroutine (shared/infer/testdata/bench_vs_litert.sh,
// alternating with the official native runtime ai-edge-litert 2.3.0 with
// XNNPACK, num_threads=1, 3 rounds of 1000, load average 2.6-8.3): median
// 0.106 ms (p90 0.108-0.135) against 0.125 ms, 0.85x the official runtime
// (68 GMAC/s), 0 allocations per inference; before the assembly kernels
// 0.373 ms (2.98x). Machines without AVX512-VNNI run the int16 AVX2
// kernels, which were not timed alone (with VPDPWSSD instead of VPDPBUSD:
// 0.133 ms, 1.06x). Reference mode uses the vector GEMM but
// scalar requantization (2.7 ms). The per-layer benchmark
// (BenchmarkPersonDetectLayers, GOMAXPROCS=1) shows each operator's time and
// MAC rate.
package infer
