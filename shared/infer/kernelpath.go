package infer

import (
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
)

// KernelPath names an instruction-set path of the kernels. The vector paths
// need a GOEXPERIMENT=simd build on amd64 and the CPU features they name.
type KernelPath string

// The kernel paths, from the slowest to the fastest.
const (
	// KernelsAuto picks the fastest path this build and CPU allow.
	KernelsAuto KernelPath = "auto"
	// KernelsGo is the plain-Go fallback, available everywhere.
	KernelsGo KernelPath = "go"
	// KernelsAVX2 uses AVX2 and FMA (int16 pairs with VPMADDWD).
	KernelsAVX2 KernelPath = "avx2"
	// KernelsAVX512 adds the AVX-512 narrowing instructions (VPMOVDB,
	// VPMOVSWB) and, for float32, 16-lane vectors.
	KernelsAVX512 KernelPath = "avx512"
	// KernelsVNNI adds AVX512-VNNI (VPDPBUSD on int8 quads, VPDPWSSD).
	KernelsVNNI KernelPath = "vnni"
)

// allKernelPaths lists every forcible path, slowest first.
var allKernelPaths = []KernelPath{KernelsGo, KernelsAVX2, KernelsAVX512, KernelsVNNI}

// KernelPathEnv is the environment variable read at start-up to force a
// kernel path (auto, go, avx2, avx512, vnni; empty means auto).
const KernelPathEnv = "MEGA_KERNELS"

// ErrKernelPath is returned when a kernel path is unknown or cannot run on
// this build and CPU.
var ErrKernelPath = errors.New("infer: kernel path not available")

// kernelPath is the path in use; kernelPathErr holds a bad MEGA_KERNELS
// value, which New returns until SetKernelPath succeeds.
var (
	kernelPath    = KernelsGo
	kernelPathErr error
)

func init() { setKernelPathEnv(os.Getenv(KernelPathEnv)) }

// setKernelPathEnv applies a MEGA_KERNELS value. A bad value leaves the
// fastest path installed and makes New fail with the reason, so a forced
// path is never silently replaced by another.
func setKernelPathEnv(v string) {
	v = strings.TrimSpace(v)
	if v == "" {
		v = string(KernelsAuto)
	}
	if _, err := SetKernelPath(KernelPath(strings.ToLower(v))); err != nil {
		_, _ = SetKernelPath(KernelsAuto) // auto always resolves
		kernelPathErr = fmt.Errorf("%s=%s: %w", KernelPathEnv, v, err)
	}
}

// KernelPaths returns the paths this build and CPU can run, slowest first
// (always KernelsGo; the last one is what KernelsAuto picks).
func KernelPaths() []KernelPath { return cpuKernelPaths() }

// CurrentKernelPath returns the path in use.
func CurrentKernelPath() KernelPath { return kernelPath }

// SetKernelPath forces a kernel path for every interpreter (KernelsAuto:
// the fastest available) and returns the resolved path. A path the build or
// the CPU lacks is an error wrapping ErrKernelPath, and the path in use is
// kept. It is not safe to call while an interpreter runs; weights packed by
// New for a faster path stay valid on any other (they are only unused).
func SetKernelPath(p KernelPath) (KernelPath, error) {
	avail := cpuKernelPaths()
	if p == KernelsAuto {
		p = avail[len(avail)-1]
	}
	if !slices.Contains(allKernelPaths, p) {
		return kernelPath, fmt.Errorf("%w: unknown path %q (want auto, go, avx2, avx512 or vnni)", ErrKernelPath, p)
	}
	if !slices.Contains(avail, p) {
		return kernelPath, fmt.Errorf("%w: %q needs %s, which this build or CPU lacks (available: %v)",
			ErrKernelPath, p, kernelPathNeeds(p), avail)
	}
	applyKernelPath(p)
	kernelPath = p
	kernelPathErr = nil
	return p, nil
}

// kernelPathNeeds says what a path requires.
func kernelPathNeeds(p KernelPath) string {
	switch p {
	case KernelsAVX2:
		return "a GOEXPERIMENT=simd build on amd64 and AVX2+FMA"
	case KernelsAVX512:
		return "a GOEXPERIMENT=simd build on amd64 and AVX-512 (F, BW, DQ, VL)"
	case KernelsVNNI:
		return "a GOEXPERIMENT=simd build on amd64 and AVX512-VNNI"
	}
	return "nothing"
}
