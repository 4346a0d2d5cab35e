//go:build !(goexperiment.simd && amd64)

package infer

// simdKernels is false: this build has only the plain-Go kernels.
const simdKernels = false
