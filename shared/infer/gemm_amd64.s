//go:build goexperiment.simd && amd64

#include "textflag.h"

// func gemm4x2AVX2(w, r0, r1 unsafe.Pointer, pairs int, bias *int32, acc *[64]int32)
//
// For one group of 4 packed blocks (32 output channels) and two input rows:
// acc[0:32] (row 0) and acc[32:64] (row 1) = bias[0:32] + Σ_q W[q]·pair(row, q) over
// pairs q < pairs, where W[q] is the group's 4x16 int16 at w+128q and
// pair(row, q) is the int8 inputs 2q, 2q+1 sign-extended to int16 and
// broadcast (VPBROADCASTW then VPMOVSXBW). 8 accumulators stay in Y0-Y7.
TEXT ·gemm4x2AVX2(SB), NOSPLIT, $0-48
	MOVQ w+0(FP), R8
	MOVQ r0+8(FP), SI
	MOVQ r1+16(FP), DI
	MOVQ pairs+24(FP), CX
	MOVQ bias+32(FP), AX
	MOVQ acc+40(FP), DX
	VMOVDQU 0(AX), Y0
	VMOVDQU 32(AX), Y1
	VMOVDQU 64(AX), Y2
	VMOVDQU 96(AX), Y3
	VMOVDQA Y0, Y4
	VMOVDQA Y1, Y5
	VMOVDQA Y2, Y6
	VMOVDQA Y3, Y7
	TESTQ CX, CX
	JLE done

loop:
	VPBROADCASTW (SI), X12
	VPMOVSXBW X12, Y12
	VPBROADCASTW (DI), X13
	VPMOVSXBW X13, Y13
	VMOVDQU 0(R8), Y8
	VMOVDQU 32(R8), Y9
	VPMADDWD Y12, Y8, Y14
	VPADDD Y14, Y0, Y0
	VPMADDWD Y13, Y8, Y15
	VPADDD Y15, Y4, Y4
	VMOVDQU 64(R8), Y10
	VPMADDWD Y12, Y9, Y14
	VPADDD Y14, Y1, Y1
	VPMADDWD Y13, Y9, Y15
	VPADDD Y15, Y5, Y5
	VMOVDQU 96(R8), Y11
	VPMADDWD Y12, Y10, Y14
	VPADDD Y14, Y2, Y2
	VPMADDWD Y13, Y10, Y15
	VPADDD Y15, Y6, Y6
	VPMADDWD Y12, Y11, Y14
	VPADDD Y14, Y3, Y3
	VPMADDWD Y13, Y11, Y15
	VPADDD Y15, Y7, Y7
	ADDQ $2, SI
	ADDQ $2, DI
	ADDQ $128, R8
	DECQ CX
	JNZ loop

done:
	VMOVDQU Y0, 0(DX)
	VMOVDQU Y1, 32(DX)
	VMOVDQU Y2, 64(DX)
	VMOVDQU Y3, 96(DX)
	VMOVDQU Y4, 128(DX)
	VMOVDQU Y5, 160(DX)
	VMOVDQU Y6, 192(DX)
	VMOVDQU Y7, 224(DX)
	VZEROUPPER
	RET

// func gemm2x2AVX2(w0, w1, r0, r1 unsafe.Pointer, pairs int, bias *int32, acc *[32]int32)
//
// Two blocks of 8 output channels stored one after another (16 int16 per
// pair each, at w0+32q and w1+32q) and two input rows: acc[0:16] (row 0)
// and acc[16:32] (row 1) = bias[0:16] + Σ_q W[q]·pair(row, q).
TEXT ·gemm2x2AVX2(SB), NOSPLIT, $0-56
	MOVQ w0+0(FP), R8
	MOVQ w1+8(FP), R9
	MOVQ r0+16(FP), SI
	MOVQ r1+24(FP), DI
	MOVQ pairs+32(FP), CX
	MOVQ bias+40(FP), AX
	MOVQ acc+48(FP), DX
	VMOVDQU 0(AX), Y0
	VMOVDQU 32(AX), Y1
	VMOVDQA Y0, Y2
	VMOVDQA Y1, Y3
	TESTQ CX, CX
	JLE done2

loop2:
	VPBROADCASTW (SI), X12
	VPMOVSXBW X12, Y12
	VPBROADCASTW (DI), X13
	VPMOVSXBW X13, Y13
	VMOVDQU 0(R8), Y8
	VMOVDQU 0(R9), Y9
	VPMADDWD Y12, Y8, Y14
	VPADDD Y14, Y0, Y0
	VPMADDWD Y13, Y8, Y15
	VPADDD Y15, Y2, Y2
	VPMADDWD Y12, Y9, Y14
	VPADDD Y14, Y1, Y1
	VPMADDWD Y13, Y9, Y15
	VPADDD Y15, Y3, Y3
	ADDQ $2, SI
	ADDQ $2, DI
	ADDQ $32, R8
	ADDQ $32, R9
	DECQ CX
	JNZ loop2

done2:
	VMOVDQU Y0, 0(DX)
	VMOVDQU Y1, 32(DX)
	VMOVDQU Y2, 64(DX)
	VMOVDQU Y3, 96(DX)
	VZEROUPPER
	RET

// func gemm4x2VNNI(w, r0, r1 unsafe.Pointer, pairs int, bias *int32, acc *[64]int32)
//
// gemm4x2AVX2 with AVX512-VNNI: VPDPWSSD (EVEX, 256-bit) multiplies the
// int16 pairs and adds into the accumulator in one instruction.
TEXT ·gemm4x2VNNI(SB), NOSPLIT, $0-48
	MOVQ w+0(FP), R8
	MOVQ r0+8(FP), SI
	MOVQ r1+16(FP), DI
	MOVQ pairs+24(FP), CX
	MOVQ bias+32(FP), AX
	MOVQ acc+40(FP), DX
	VMOVDQU 0(AX), Y0
	VMOVDQU 32(AX), Y1
	VMOVDQU 64(AX), Y2
	VMOVDQU 96(AX), Y3
	VMOVDQA Y0, Y4
	VMOVDQA Y1, Y5
	VMOVDQA Y2, Y6
	VMOVDQA Y3, Y7
	TESTQ CX, CX
	JLE done3

loop3:
	VPBROADCASTW (SI), X12
	VPMOVSXBW X12, Y12
	VPBROADCASTW (DI), X13
	VPMOVSXBW X13, Y13
	VMOVDQU 0(R8), Y8
	VMOVDQU 32(R8), Y9
	VMOVDQU 64(R8), Y10
	VMOVDQU 96(R8), Y11
	VPDPWSSD Y12, Y8, Y0
	VPDPWSSD Y13, Y8, Y4
	VPDPWSSD Y12, Y9, Y1
	VPDPWSSD Y13, Y9, Y5
	VPDPWSSD Y12, Y10, Y2
	VPDPWSSD Y13, Y10, Y6
	VPDPWSSD Y12, Y11, Y3
	VPDPWSSD Y13, Y11, Y7
	ADDQ $2, SI
	ADDQ $2, DI
	ADDQ $128, R8
	DECQ CX
	JNZ loop3

done3:
	VMOVDQU Y0, 0(DX)
	VMOVDQU Y1, 32(DX)
	VMOVDQU Y2, 64(DX)
	VMOVDQU Y3, 96(DX)
	VMOVDQU Y4, 128(DX)
	VMOVDQU Y5, 160(DX)
	VMOVDQU Y6, 192(DX)
	VMOVDQU Y7, 224(DX)
	VZEROUPPER
	RET

// func conv1Row8AVX2(src unsafe.Pointer, sw, npix int, taps *int, pairs int, w unsafe.Pointer, bias *int32, acc *int32)
//
// One output row of a one-input-channel convolution with at most 8 output
// channels: for pixel p < npix, acc[8p:8p+8] = bias[0:8] +
// Σ_q W[q]·pair(q), where pair(q) is the int8 inputs at src+p*sw+taps[2q]
// and src+p*sw+taps[2q+1] sign-extended to int16 and broadcast, and W[q]
// the block's 16 int16 at w+32q.
TEXT ·conv1Row8AVX2(SB), NOSPLIT, $0-64
	MOVQ src+0(FP), SI
	MOVQ sw+8(FP), R10
	MOVQ npix+16(FP), R11
	MOVQ taps+24(FP), R12
	MOVQ pairs+32(FP), R13
	MOVQ w+40(FP), R14
	MOVQ bias+48(FP), AX
	MOVQ acc+56(FP), DI
	VMOVDQU 0(AX), Y15
	TESTQ R11, R11
	JLE cdone
	TESTQ R13, R13
	JLE cdone

cpix:
	VMOVDQA Y15, Y0
	MOVQ R12, R8
	MOVQ R14, R9
	MOVQ R13, CX

ctap:
	MOVQ 0(R8), AX
	MOVQ 8(R8), BX
	MOVBQSX (SI)(AX*1), AX
	MOVBQSX (SI)(BX*1), BX
	MOVWLZX AX, AX
	SHLL $16, BX
	ORL BX, AX
	VMOVD AX, X1
	VPBROADCASTD X1, Y1
	VPMADDWD 0(R9), Y1, Y1
	VPADDD Y1, Y0, Y0
	ADDQ $16, R8
	ADDQ $32, R9
	DECQ CX
	JNZ ctap

	VMOVDQU Y0, 0(DI)
	ADDQ $32, DI
	ADDQ R10, SI
	DECQ R11
	JNZ cpix

cdone:
	VZEROUPPER
	RET

// func dw16RowAVX2(src unsafe.Pointer, step, npix int, taps *int, pairs int, w unsafe.Pointer, biasLo, biasHi *int32, acc *int32)
//
// One output row of one 16-channel block of the depthwise kernel
// (depthwise16SIMD): for pixel p < npix at src+p*step, the 16 int8 of taps
// 2q and 2q+1 are sign-extended (VPMOVSXBW), interleaved (VPUNPCKLWD/HWD)
// and multiplied by the block's packed tap pair at w+64q (VPMADDWD);
// acc[16p:16p+8] gets channels {0-3,8-11} and acc[16p+8:16p+16] channels
// {4-7,12-15}, each starting from biasLo / biasHi.
TEXT ·dw16RowAVX2(SB), NOSPLIT, $0-72
	MOVQ src+0(FP), SI
	MOVQ step+8(FP), R10
	MOVQ npix+16(FP), R11
	MOVQ taps+24(FP), R12
	MOVQ pairs+32(FP), R13
	MOVQ w+40(FP), R14
	MOVQ biasLo+48(FP), AX
	MOVQ biasHi+56(FP), BX
	MOVQ acc+64(FP), DI
	VMOVDQU 0(AX), Y14
	VMOVDQU 0(BX), Y15
	TESTQ R11, R11
	JLE ddone
	TESTQ R13, R13
	JLE ddone

dpix:
	VMOVDQA Y14, Y0
	VMOVDQA Y15, Y1
	MOVQ R12, R8
	MOVQ R14, R9
	MOVQ R13, CX

dtap:
	MOVQ 0(R8), AX
	MOVQ 8(R8), BX
	VPMOVSXBW (SI)(AX*1), Y2
	VPMOVSXBW (SI)(BX*1), Y3
	VPUNPCKLWD Y3, Y2, Y4
	VPUNPCKHWD Y3, Y2, Y5
	VPMADDWD 0(R9), Y4, Y4
	VPADDD Y4, Y0, Y0
	VPMADDWD 32(R9), Y5, Y5
	VPADDD Y5, Y1, Y1
	ADDQ $16, R8
	ADDQ $64, R9
	DECQ CX
	JNZ dtap

	VMOVDQU Y0, 0(DI)
	VMOVDQU Y1, 32(DI)
	ADDQ $64, DI
	ADDQ R10, SI
	DECQ R11
	JNZ dpix

ddone:
	VZEROUPPER
	RET

// func gemm2RowsAVX2(w0, w1, x unsafe.Pointer, k, rows, pairs int, bias *int32, acc *int32)
//
// Two blocks of 8 output channels (16 int16 per pair each, at w0+32q and
// w1+32q) against rows input rows of k int8 each (k even, pairs = k/2):
// acc[16r:16r+8] and acc[16r+8:16r+16] = bias[0:16] + Σ_q W[q]·pair(r, q).
TEXT ·gemm2RowsAVX2(SB), NOSPLIT, $0-64
	MOVQ w0+0(FP), R11
	MOVQ w1+8(FP), R12
	MOVQ x+16(FP), SI
	MOVQ k+24(FP), R13
	MOVQ rows+32(FP), DX
	MOVQ pairs+40(FP), R14
	MOVQ bias+48(FP), AX
	MOVQ acc+56(FP), DI
	VMOVDQU 0(AX), Y14
	VMOVDQU 32(AX), Y15
	TESTQ DX, DX
	JLE rdone
	TESTQ R14, R14
	JLE rdone

rrow:
	VMOVDQA Y14, Y0
	VMOVDQA Y15, Y1
	MOVQ SI, R8
	MOVQ R11, R9
	MOVQ R12, R10
	MOVQ R14, CX

rpair:
	VPBROADCASTW (R8), X2
	VPMOVSXBW X2, Y2
	VPMADDWD (R9), Y2, Y3
	VPADDD Y3, Y0, Y0
	VPMADDWD (R10), Y2, Y4
	VPADDD Y4, Y1, Y1
	ADDQ $2, R8
	ADDQ $32, R9
	ADDQ $32, R10
	DECQ CX
	JNZ rpair

	VMOVDQU Y0, 0(DI)
	VMOVDQU Y1, 32(DI)
	ADDQ $64, DI
	ADDQ R13, SI
	DECQ DX
	JNZ rrow

rdone:
	VZEROUPPER
	RET

// permPack puts the dwords left by VPACKSSDW+VPACKSSWB of four vectors back
// in channel order (see gemm4x2QAVX2).
DATA permPack<>+0(SB)/4, $0
DATA permPack<>+4(SB)/4, $4
DATA permPack<>+8(SB)/4, $1
DATA permPack<>+12(SB)/4, $5
DATA permPack<>+16(SB)/4, $2
DATA permPack<>+20(SB)/4, $6
DATA permPack<>+24(SB)/4, $3
DATA permPack<>+28(SB)/4, $7
GLOBL permPack<>(SB), RODATA|NOPTR, $32

// func gemm4x2QAVX2(w, r0, r1 unsafe.Pointer, pairs int, bias *int32, scale *float32, perChan int, q *requantConsts, o0, o1 *int8)
//
// gemm4x2AVX2 followed by XNNPACK requantization of the 32 channels of each
// row: float32(acc)*scale (per channel from scale[0:32] if perChan != 0,
// else scale[0]), clamped to [lo, hi], rounded to nearest even
// (VCVTPS2DQ under the default MXCSR), plus zp; then narrowed with
// saturating packs (exact: the values are already in int8 range) and stored
// as 32 bytes at o0 and o1.
TEXT ·gemm4x2QAVX2(SB), NOSPLIT, $0-80
	MOVQ w+0(FP), R8
	MOVQ r0+8(FP), SI
	MOVQ r1+16(FP), DI
	MOVQ pairs+24(FP), CX
	MOVQ bias+32(FP), AX
	VMOVDQU 0(AX), Y0
	VMOVDQU 32(AX), Y1
	VMOVDQU 64(AX), Y2
	VMOVDQU 96(AX), Y3
	VMOVDQA Y0, Y4
	VMOVDQA Y1, Y5
	VMOVDQA Y2, Y6
	VMOVDQA Y3, Y7
	TESTQ CX, CX
	JLE qreq

qloop:
	VPBROADCASTW (SI), X12
	VPMOVSXBW X12, Y12
	VPBROADCASTW (DI), X13
	VPMOVSXBW X13, Y13
	VMOVDQU 0(R8), Y8
	VMOVDQU 32(R8), Y9
	VPMADDWD Y12, Y8, Y14
	VPADDD Y14, Y0, Y0
	VPMADDWD Y13, Y8, Y15
	VPADDD Y15, Y4, Y4
	VMOVDQU 64(R8), Y10
	VPMADDWD Y12, Y9, Y14
	VPADDD Y14, Y1, Y1
	VPMADDWD Y13, Y9, Y15
	VPADDD Y15, Y5, Y5
	VMOVDQU 96(R8), Y11
	VPMADDWD Y12, Y10, Y14
	VPADDD Y14, Y2, Y2
	VPMADDWD Y13, Y10, Y15
	VPADDD Y15, Y6, Y6
	VPMADDWD Y12, Y11, Y14
	VPADDD Y14, Y3, Y3
	VPMADDWD Y13, Y11, Y15
	VPADDD Y15, Y7, Y7
	ADDQ $2, SI
	ADDQ $2, DI
	ADDQ $128, R8
	DECQ CX
	JNZ qloop

qreq:
	MOVQ scale+40(FP), AX
	MOVQ perChan+48(FP), BX
	TESTQ BX, BX
	JEQ qone
	VMOVUPS 0(AX), Y8
	VMOVUPS 32(AX), Y9
	VMOVUPS 64(AX), Y10
	VMOVUPS 96(AX), Y11
	JMP qconst

qone:
	VBROADCASTSS 0(AX), Y8
	VMOVAPS Y8, Y9
	VMOVAPS Y8, Y10
	VMOVAPS Y8, Y11

qconst:
	MOVQ q+56(FP), AX
	VBROADCASTSS 0(AX), Y12
	VBROADCASTSS 4(AX), Y13
	VPBROADCASTD 8(AX), Y14
	VMOVDQU permPack<>(SB), Y15

	VCVTDQ2PS Y0, Y0
	VCVTDQ2PS Y1, Y1
	VCVTDQ2PS Y2, Y2
	VCVTDQ2PS Y3, Y3
	VMULPS Y8, Y0, Y0
	VMULPS Y9, Y1, Y1
	VMULPS Y10, Y2, Y2
	VMULPS Y11, Y3, Y3
	VMAXPS Y12, Y0, Y0
	VMAXPS Y12, Y1, Y1
	VMAXPS Y12, Y2, Y2
	VMAXPS Y12, Y3, Y3
	VMINPS Y13, Y0, Y0
	VMINPS Y13, Y1, Y1
	VMINPS Y13, Y2, Y2
	VMINPS Y13, Y3, Y3
	VCVTPS2DQ Y0, Y0
	VCVTPS2DQ Y1, Y1
	VCVTPS2DQ Y2, Y2
	VCVTPS2DQ Y3, Y3
	VPADDD Y14, Y0, Y0
	VPADDD Y14, Y1, Y1
	VPADDD Y14, Y2, Y2
	VPADDD Y14, Y3, Y3
	VPACKSSDW Y1, Y0, Y0
	VPACKSSDW Y3, Y2, Y2
	VPACKSSWB Y2, Y0, Y0
	VPERMD Y0, Y15, Y0
	MOVQ o0+64(FP), AX
	VMOVDQU Y0, 0(AX)

	VCVTDQ2PS Y4, Y4
	VCVTDQ2PS Y5, Y5
	VCVTDQ2PS Y6, Y6
	VCVTDQ2PS Y7, Y7
	VMULPS Y8, Y4, Y4
	VMULPS Y9, Y5, Y5
	VMULPS Y10, Y6, Y6
	VMULPS Y11, Y7, Y7
	VMAXPS Y12, Y4, Y4
	VMAXPS Y12, Y5, Y5
	VMAXPS Y12, Y6, Y6
	VMAXPS Y12, Y7, Y7
	VMINPS Y13, Y4, Y4
	VMINPS Y13, Y5, Y5
	VMINPS Y13, Y6, Y6
	VMINPS Y13, Y7, Y7
	VCVTPS2DQ Y4, Y4
	VCVTPS2DQ Y5, Y5
	VCVTPS2DQ Y6, Y6
	VCVTPS2DQ Y7, Y7
	VPADDD Y14, Y4, Y4
	VPADDD Y14, Y5, Y5
	VPADDD Y14, Y6, Y6
	VPADDD Y14, Y7, Y7
	VPACKSSDW Y5, Y4, Y4
	VPACKSSDW Y7, Y6, Y6
	VPACKSSWB Y6, Y4, Y4
	VPERMD Y4, Y15, Y4
	MOVQ o1+72(FP), AX
	VMOVDQU Y4, 0(AX)
	VZEROUPPER
	RET

// func gemm4x2QVNNI(w, r0, r1 unsafe.Pointer, pairs int, bias *int32, scale *float32, perChan int, q *requantConsts, o0, o1 *int8)
//
// gemm4x2QAVX2 with AVX512-VNNI's VPDPWSSD in the inner loop.
TEXT ·gemm4x2QVNNI(SB), NOSPLIT, $0-80
	MOVQ w+0(FP), R8
	MOVQ r0+8(FP), SI
	MOVQ r1+16(FP), DI
	MOVQ pairs+24(FP), CX
	MOVQ bias+32(FP), AX
	VMOVDQU 0(AX), Y0
	VMOVDQU 32(AX), Y1
	VMOVDQU 64(AX), Y2
	VMOVDQU 96(AX), Y3
	VMOVDQA Y0, Y4
	VMOVDQA Y1, Y5
	VMOVDQA Y2, Y6
	VMOVDQA Y3, Y7
	TESTQ CX, CX
	JLE vqreq

vqloop:
	VPBROADCASTW (SI), X12
	VPMOVSXBW X12, Y12
	VPBROADCASTW (DI), X13
	VPMOVSXBW X13, Y13
	VMOVDQU 0(R8), Y8
	VMOVDQU 32(R8), Y9
	VMOVDQU 64(R8), Y10
	VMOVDQU 96(R8), Y11
	VPDPWSSD Y12, Y8, Y0
	VPDPWSSD Y13, Y8, Y4
	VPDPWSSD Y12, Y9, Y1
	VPDPWSSD Y13, Y9, Y5
	VPDPWSSD Y12, Y10, Y2
	VPDPWSSD Y13, Y10, Y6
	VPDPWSSD Y12, Y11, Y3
	VPDPWSSD Y13, Y11, Y7
	ADDQ $2, SI
	ADDQ $2, DI
	ADDQ $128, R8
	DECQ CX
	JNZ vqloop

vqreq:
	MOVQ scale+40(FP), AX
	MOVQ perChan+48(FP), BX
	TESTQ BX, BX
	JEQ vqone
	VMOVUPS 0(AX), Y8
	VMOVUPS 32(AX), Y9
	VMOVUPS 64(AX), Y10
	VMOVUPS 96(AX), Y11
	JMP vqconst

vqone:
	VBROADCASTSS 0(AX), Y8
	VMOVAPS Y8, Y9
	VMOVAPS Y8, Y10
	VMOVAPS Y8, Y11

vqconst:
	MOVQ q+56(FP), AX
	VBROADCASTSS 0(AX), Y12
	VBROADCASTSS 4(AX), Y13
	VPBROADCASTD 8(AX), Y14
	VMOVDQU permPack<>(SB), Y15

	VCVTDQ2PS Y0, Y0
	VCVTDQ2PS Y1, Y1
	VCVTDQ2PS Y2, Y2
	VCVTDQ2PS Y3, Y3
	VMULPS Y8, Y0, Y0
	VMULPS Y9, Y1, Y1
	VMULPS Y10, Y2, Y2
	VMULPS Y11, Y3, Y3
	VMAXPS Y12, Y0, Y0
	VMAXPS Y12, Y1, Y1
	VMAXPS Y12, Y2, Y2
	VMAXPS Y12, Y3, Y3
	VMINPS Y13, Y0, Y0
	VMINPS Y13, Y1, Y1
	VMINPS Y13, Y2, Y2
	VMINPS Y13, Y3, Y3
	VCVTPS2DQ Y0, Y0
	VCVTPS2DQ Y1, Y1
	VCVTPS2DQ Y2, Y2
	VCVTPS2DQ Y3, Y3
	VPADDD Y14, Y0, Y0
	VPADDD Y14, Y1, Y1
	VPADDD Y14, Y2, Y2
	VPADDD Y14, Y3, Y3
	VPACKSSDW Y1, Y0, Y0
	VPACKSSDW Y3, Y2, Y2
	VPACKSSWB Y2, Y0, Y0
	VPERMD Y0, Y15, Y0
	MOVQ o0+64(FP), AX
	VMOVDQU Y0, 0(AX)

	VCVTDQ2PS Y4, Y4
	VCVTDQ2PS Y5, Y5
	VCVTDQ2PS Y6, Y6
	VCVTDQ2PS Y7, Y7
	VMULPS Y8, Y4, Y4
	VMULPS Y9, Y5, Y5
	VMULPS Y10, Y6, Y6
	VMULPS Y11, Y7, Y7
	VMAXPS Y12, Y4, Y4
	VMAXPS Y12, Y5, Y5
	VMAXPS Y12, Y6, Y6
	VMAXPS Y12, Y7, Y7
	VMINPS Y13, Y4, Y4
	VMINPS Y13, Y5, Y5
	VMINPS Y13, Y6, Y6
	VMINPS Y13, Y7, Y7
	VCVTPS2DQ Y4, Y4
	VCVTPS2DQ Y5, Y5
	VCVTPS2DQ Y6, Y6
	VCVTPS2DQ Y7, Y7
	VPADDD Y14, Y4, Y4
	VPADDD Y14, Y5, Y5
	VPADDD Y14, Y6, Y6
	VPADDD Y14, Y7, Y7
	VPACKSSDW Y5, Y4, Y4
	VPACKSSDW Y7, Y6, Y6
	VPACKSSWB Y6, Y4, Y4
	VPERMD Y4, Y15, Y4
	MOVQ o1+72(FP), AX
	VMOVDQU Y4, 0(AX)
	VZEROUPPER
	RET

// func gemm2RowsQAVX2(w0, w1, x unsafe.Pointer, k, rows, pairs int, bias *int32, scale *float32, perChan int, q *requantConsts, out *int8)
//
// gemm2RowsAVX2 for exactly 16 output channels with the requantization of
// gemm4x2QAVX2 fused: row r's 16 int8 outputs go to out+16r.
TEXT ·gemm2RowsQAVX2(SB), NOSPLIT, $0-88
	MOVQ scale+56(FP), AX
	MOVQ perChan+64(FP), BX
	TESTQ BX, BX
	JEQ sone
	VMOVUPS 0(AX), Y8
	VMOVUPS 32(AX), Y9
	JMP sconst

sone:
	VBROADCASTSS 0(AX), Y8
	VMOVAPS Y8, Y9

sconst:
	MOVQ q+72(FP), AX
	VBROADCASTSS 0(AX), Y10
	VBROADCASTSS 4(AX), Y11
	VPBROADCASTD 8(AX), Y12
	VMOVDQU permPack<>(SB), Y13
	MOVQ w0+0(FP), R11
	MOVQ w1+8(FP), R12
	MOVQ x+16(FP), SI
	MOVQ k+24(FP), R13
	MOVQ rows+32(FP), DX
	MOVQ pairs+40(FP), R14
	MOVQ bias+48(FP), AX
	MOVQ out+80(FP), DI
	VMOVDQU 0(AX), Y14
	VMOVDQU 32(AX), Y15
	TESTQ DX, DX
	JLE sdone
	TESTQ R14, R14
	JLE sdone

srow:
	VMOVDQA Y14, Y0
	VMOVDQA Y15, Y1
	MOVQ SI, R8
	MOVQ R11, R9
	MOVQ R12, R10
	MOVQ R14, CX

spair:
	VPBROADCASTW (R8), X2
	VPMOVSXBW X2, Y2
	VPMADDWD (R9), Y2, Y3
	VPADDD Y3, Y0, Y0
	VPMADDWD (R10), Y2, Y4
	VPADDD Y4, Y1, Y1
	ADDQ $2, R8
	ADDQ $32, R9
	ADDQ $32, R10
	DECQ CX
	JNZ spair

	VCVTDQ2PS Y0, Y0
	VCVTDQ2PS Y1, Y1
	VMULPS Y8, Y0, Y0
	VMULPS Y9, Y1, Y1
	VMAXPS Y10, Y0, Y0
	VMAXPS Y10, Y1, Y1
	VMINPS Y11, Y0, Y0
	VMINPS Y11, Y1, Y1
	VCVTPS2DQ Y0, Y0
	VCVTPS2DQ Y1, Y1
	VPADDD Y12, Y0, Y0
	VPADDD Y12, Y1, Y1
	VPACKSSDW Y1, Y0, Y0
	VPACKSSWB Y0, Y0, Y0
	VPERMD Y0, Y13, Y0
	VMOVDQU X0, 0(DI)
	ADDQ $16, DI
	ADDQ R13, SI
	DECQ DX
	JNZ srow

sdone:
	VZEROUPPER
	RET

// func dw16RowQAVX2(src unsafe.Pointer, step, npix int, taps *int, pairs int, w unsafe.Pointer, biasLo, biasHi *int32, scaleLo, scaleHi *float32, q *requantConsts, out unsafe.Pointer, outStep int)
//
// dw16RowAVX2 with the requantization of gemm4x2QAVX2 fused: pixel p's 16
// int8 outputs (channel order restored by VPACKSSDW of the two halves, then
// VPACKSSWB of its 128-bit lanes) go to out+p*outStep.
TEXT ·dw16RowQAVX2(SB), NOSPLIT, $0-104
	MOVQ scaleLo+64(FP), AX
	VMOVUPS 0(AX), Y8
	MOVQ scaleHi+72(FP), AX
	VMOVUPS 0(AX), Y9
	MOVQ q+80(FP), AX
	VBROADCASTSS 0(AX), Y10
	VBROADCASTSS 4(AX), Y11
	VPBROADCASTD 8(AX), Y12
	MOVQ src+0(FP), SI
	MOVQ step+8(FP), R10
	MOVQ npix+16(FP), R11
	MOVQ taps+24(FP), R12
	MOVQ pairs+32(FP), R13
	MOVQ w+40(FP), R14
	MOVQ biasLo+48(FP), AX
	MOVQ biasHi+56(FP), BX
	MOVQ out+88(FP), DI
	MOVQ outStep+96(FP), DX
	VMOVDQU 0(AX), Y14
	VMOVDQU 0(BX), Y15
	TESTQ R11, R11
	JLE qddone
	TESTQ R13, R13
	JLE qddone

qdpix:
	VMOVDQA Y14, Y0
	VMOVDQA Y15, Y1
	MOVQ R12, R8
	MOVQ R14, R9
	MOVQ R13, CX

qdtap:
	MOVQ 0(R8), AX
	MOVQ 8(R8), BX
	VPMOVSXBW (SI)(AX*1), Y2
	VPMOVSXBW (SI)(BX*1), Y3
	VPUNPCKLWD Y3, Y2, Y4
	VPUNPCKHWD Y3, Y2, Y5
	VPMADDWD 0(R9), Y4, Y4
	VPADDD Y4, Y0, Y0
	VPMADDWD 32(R9), Y5, Y5
	VPADDD Y5, Y1, Y1
	ADDQ $16, R8
	ADDQ $64, R9
	DECQ CX
	JNZ qdtap

	VCVTDQ2PS Y0, Y0
	VCVTDQ2PS Y1, Y1
	VMULPS Y8, Y0, Y0
	VMULPS Y9, Y1, Y1
	VMAXPS Y10, Y0, Y0
	VMAXPS Y10, Y1, Y1
	VMINPS Y11, Y0, Y0
	VMINPS Y11, Y1, Y1
	VCVTPS2DQ Y0, Y0
	VCVTPS2DQ Y1, Y1
	VPADDD Y12, Y0, Y0
	VPADDD Y12, Y1, Y1
	VPACKSSDW Y1, Y0, Y0
	VEXTRACTI128 $1, Y0, X2
	VPACKSSWB X2, X0, X0
	VMOVDQU X0, 0(DI)
	ADDQ DX, DI
	ADDQ R10, SI
	DECQ R11
	JNZ qdpix

qddone:
	VZEROUPPER
	RET

// func conv1Row8QAVX2(src unsafe.Pointer, sw, npix int, taps *int, pairs int, w unsafe.Pointer, bias *int32, scale *float32, q *requantConsts, out *int8)
//
// conv1Row8AVX2 for exactly 8 output channels with the requantization of
// gemm4x2QAVX2 fused (scale[0:8] per channel): pixel p's 8 int8 outputs go
// to out+8p.
TEXT ·conv1Row8QAVX2(SB), NOSPLIT, $0-80
	MOVQ scale+56(FP), AX
	VMOVUPS 0(AX), Y8
	MOVQ q+64(FP), AX
	VBROADCASTSS 0(AX), Y10
	VBROADCASTSS 4(AX), Y11
	VPBROADCASTD 8(AX), Y12
	MOVQ src+0(FP), SI
	MOVQ sw+8(FP), R10
	MOVQ npix+16(FP), R11
	MOVQ taps+24(FP), R12
	MOVQ pairs+32(FP), R13
	MOVQ w+40(FP), R14
	MOVQ bias+48(FP), AX
	MOVQ out+72(FP), DI
	VMOVDQU 0(AX), Y15
	TESTQ R11, R11
	JLE c8done
	TESTQ R13, R13
	JLE c8done

c8pix:
	VMOVDQA Y15, Y0
	MOVQ R12, R8
	MOVQ R14, R9
	MOVQ R13, CX

c8tap:
	MOVQ 0(R8), AX
	MOVQ 8(R8), BX
	MOVBQSX (SI)(AX*1), AX
	MOVBQSX (SI)(BX*1), BX
	MOVWLZX AX, AX
	SHLL $16, BX
	ORL BX, AX
	VMOVD AX, X1
	VPBROADCASTD X1, Y1
	VPMADDWD 0(R9), Y1, Y1
	VPADDD Y1, Y0, Y0
	ADDQ $16, R8
	ADDQ $32, R9
	DECQ CX
	JNZ c8tap

	VCVTDQ2PS Y0, Y0
	VMULPS Y8, Y0, Y0
	VMAXPS Y10, Y0, Y0
	VMINPS Y11, Y0, Y0
	VCVTPS2DQ Y0, Y0
	VPADDD Y12, Y0, Y0
	VEXTRACTI128 $1, Y0, X1
	VPACKSSDW X1, X0, X0
	VPACKSSWB X0, X0, X0
	VMOVQ X0, 0(DI)
	ADDQ $8, DI
	ADDQ R10, SI
	DECQ R11
	JNZ c8pix

c8done:
	VZEROUPPER
	RET
