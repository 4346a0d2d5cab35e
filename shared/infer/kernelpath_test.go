package infer

import (
	"errors"
	"slices"
	"testing"
)

// TestKernelPaths forces every kernel path this build and CPU can run (the
// plain-Go one always) and runs the kernel agreement tests, the official
// runtime's outputs (conformance, golden ops) and the allocation check on
// each; paths the CPU lacks must be refused with ErrKernelPath. The log
// line "kernel paths ran: ..." is what .ci/run prints.
func TestKernelPaths(t *testing.T) {
	orig := CurrentKernelPath()
	t.Cleanup(func() {
		if _, err := SetKernelPath(orig); err != nil {
			t.Errorf("restoring %s: %v", orig, err)
		}
	})
	avail := KernelPaths()
	if len(avail) == 0 || avail[0] != KernelsGo {
		t.Fatalf("KernelPaths() = %v, want the plain-Go path first", avail)
	}
	var ran, skipped []KernelPath
	for _, p := range allKernelPaths {
		if !slices.Contains(avail, p) {
			before := CurrentKernelPath()
			if _, err := SetKernelPath(p); !errors.Is(err, ErrKernelPath) {
				t.Errorf("SetKernelPath(%s) on a CPU without it: err %v, want ErrKernelPath", p, err)
			}
			if got := CurrentKernelPath(); got != before {
				t.Errorf("a refused SetKernelPath(%s) changed the path from %s to %s", p, before, got)
			}
			skipped = append(skipped, p)
			continue
		}
		t.Run(string(p), func(t *testing.T) {
			got, err := SetKernelPath(p)
			if err != nil || got != p || CurrentKernelPath() != p {
				t.Fatalf("SetKernelPath(%s) = %s, %v; current %s", p, got, err, CurrentKernelPath())
			}
			if VectorKernels() != (p != KernelsGo) {
				t.Errorf("VectorKernels() = %v on path %s", VectorKernels(), p)
			}
			t.Run("RowKernels", TestRowKernelsAgree)
			t.Run("DepthwiseKernels", testDepthwiseKernelsAgree)
			t.Run("GEMMKernels", testGEMMKernelsAgree)
			t.Run("ConvKernels", TestConvKernelsAgree)
			t.Run("FloatKernels", testFloatKernelsAgree)
			t.Run("ConformanceXNNPack", TestConformanceXNNPack)
			t.Run("HelloWorldSweep", TestHelloWorldSweep)
			t.Run("ReferenceModeOrigins", TestReferenceModeOrigins)
			if !*goldenGen {
				t.Run("GoldenOps", TestGoldenOps)
			}
			t.Run("NoAllocationsPerInvoke", TestNoAllocationsPerInvoke)
			t.Run("ResizeInputBatch", TestResizeInputBatch)
		})
		ran = append(ran, p)
	}
	t.Logf("kernel paths ran: %v; skipped (this build or CPU lacks them): %v", ran, skipped)
}

func TestSetKernelPathErrors(t *testing.T) {
	orig := CurrentKernelPath()
	t.Cleanup(func() {
		if _, err := SetKernelPath(orig); err != nil {
			t.Errorf("restoring %s: %v", orig, err)
		}
	})
	avail := KernelPaths()
	got, err := SetKernelPath(KernelsAuto)
	if err != nil || got != avail[len(avail)-1] {
		t.Errorf("SetKernelPath(auto) = %s, %v; want %s", got, err, avail[len(avail)-1])
	}
	if _, err := SetKernelPath("sse9"); !errors.Is(err, ErrKernelPath) {
		t.Errorf("SetKernelPath(sse9): err %v, want ErrKernelPath", err)
	}
	// A bad MEGA_KERNELS value makes New fail (never a silent fallback)
	// until a path is set successfully.
	m, _ := personDetect(t)
	for _, v := range []string{"sse9", "vnni-please"} {
		setKernelPathEnv(v)
		if _, err := New(m, Options{}); !errors.Is(err, ErrKernelPath) {
			t.Errorf("MEGA_KERNELS=%s: New err %v, want ErrKernelPath", v, err)
		}
	}
	for _, p := range allKernelPaths {
		if slices.Contains(avail, p) {
			continue
		}
		setKernelPathEnv(string(p))
		if _, err := New(m, Options{}); !errors.Is(err, ErrKernelPath) {
			t.Errorf("MEGA_KERNELS=%s on a CPU without it: New err %v, want ErrKernelPath", p, err)
		}
	}
	setKernelPathEnv(" GO ")
	if _, err := New(m, Options{}); err != nil || CurrentKernelPath() != KernelsGo {
		t.Errorf("MEGA_KERNELS=' GO ': New err %v, path %s; want nil, go", err, CurrentKernelPath())
	}
}
