//go:build !(goexperiment.simd && amd64)

package infer

// simdKernels is false: this build has only the plain-Go kernels.
const simdKernels = false

// narrowAVX512 is unused without vector kernels.
var narrowAVX512 = false

// useVNNI is unused without vector kernels.
var useVNNI = false

// cpuKernelPaths lists the paths of this build: plain Go only.
func cpuKernelPaths() []KernelPath { return []KernelPath{KernelsGo} }

// applyKernelPath has nothing to switch in this build.
func applyKernelPath(KernelPath) {}
