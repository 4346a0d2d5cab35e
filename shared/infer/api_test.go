package infer

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/megapipe/mega/shared/tflite"
)

// chainModel builds x -> ADD(x,x)=a -> MUL(a,x)=b -> SUB(b,a)=y, float [n].
func chainModel(t testing.TB, n int) *tflite.Model {
	t.Helper()
	b := tflite.NewBuilder("chain")
	x := b.AddActivation("x", tflite.Float32, []int{n}, nil)
	a := b.AddActivation("a", tflite.Float32, []int{n}, nil)
	m := b.AddActivation("m", tflite.Float32, []int{n}, nil)
	y := b.AddActivation("y", tflite.Float32, []int{n}, nil)
	b.AddOperator(tflite.OpAdd, 1, []int{x, x}, []int{a}, &tflite.AddOptions{})
	b.AddOperator(tflite.OpMul, 1, []int{a, x}, []int{m}, &tflite.MulOptions{})
	b.AddOperator(tflite.OpSub, 1, []int{m, a}, []int{y}, &tflite.SubOptions{Activation: tflite.ActRelu})
	b.SetInputs(x)
	b.SetOutputs(y)
	model, err := b.Model()
	if err != nil {
		t.Fatal(err)
	}
	return model
}

func TestChainAndPreserveAll(t *testing.T) {
	model := chainModel(t, 256)
	shared, err := New(model, Options{})
	if err != nil {
		t.Fatal(err)
	}
	kept, err := New(model, Options{PreserveAll: true})
	if err != nil {
		t.Fatal(err)
	}
	// x, y live throughout; a and m overlap; so sharing saves nothing here
	// but the arena must never be larger than with every tensor kept.
	if shared.ArenaBytes() > kept.ArenaBytes() {
		t.Errorf("shared arena %d > preserved %d", shared.ArenaBytes(), kept.ArenaBytes())
	}
	for _, ip := range []*Interpreter{shared, kept} {
		in := ip.Input(0).Float32s()
		for i := range in {
			in[i] = float32(i)/64 - 2
		}
		if err := ip.Invoke(); err != nil {
			t.Fatal(err)
		}
		out := ip.Output(0).Float32s()
		for i, x := range in {
			// y = relu(2x*x - 2x), exact in float32 for these inputs
			want := max(2*x*x-2*x, 0)
			if out[i] != want {
				t.Fatalf("y[%d] = %v, want %v (x=%v)", i, out[i], want, x)
			}
		}
	}
	a := kept.Tensor(1).Float32s()
	if a[200] != 2*(float32(200)/64-2) {
		t.Errorf("PreserveAll: intermediate a[200] = %v, want %v", a[200], 2*(float32(200)/64-2))
	}
}

// TestArenaSharing: in a long chain of equal-sized tensors only two
// intermediates are alive at once, so the arena holds input, output and two
// slots instead of every tensor.
func TestArenaSharing(t *testing.T) {
	const n, depth = 1024, 8
	b := tflite.NewBuilder("relu chain")
	prev := b.AddActivation("x", tflite.Float32, []int{n}, nil)
	b.SetInputs(prev)
	for i := range depth {
		next := b.AddActivation(fmt.Sprint("t", i), tflite.Float32, []int{n}, nil)
		b.AddOperator(tflite.OpRelu, 1, []int{prev}, []int{next}, nil)
		prev = next
	}
	b.SetOutputs(prev)
	model, err := b.Model()
	if err != nil {
		t.Fatal(err)
	}
	ip, err := New(model, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := ip.ArenaBytes(), 4*n*4; got != want {
		t.Errorf("arena %d bytes, want %d (input, output, two intermediates)", got, want)
	}
	all, err := New(model, Options{PreserveAll: true})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := all.ArenaBytes(), (depth+1)*n*4; got != want {
		t.Errorf("PreserveAll arena %d bytes, want %d", got, want)
	}
}

func TestUnsupportedOpIsLoadError(t *testing.T) {
	tests := []struct {
		name    string
		op      tflite.BuiltinOperator
		version int
		want    string
	}{
		{"op", tflite.BuiltinOperator(38), 1, "SPACE_TO_BATCH_ND"},
		{"version", tflite.OpAdd, 99, "ADD version 99"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b := tflite.NewBuilder("bad")
			x := b.AddActivation("x", tflite.Float32, []int{4}, nil)
			y := b.AddActivation("y", tflite.Float32, []int{4}, nil)
			b.AddOperator(tc.op, tc.version, []int{x, x}, []int{y}, nil)
			b.SetInputs(x)
			b.SetOutputs(y)
			model, err := b.Model()
			if err != nil {
				t.Fatal(err)
			}
			_, err = New(model, Options{})
			if !errors.Is(err, ErrUnsupported) || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("New = %v, want ErrUnsupported naming %q", err, tc.want)
			}
		})
	}
}

func personDetect(t testing.TB) (*tflite.Model, [][]byte) {
	t.Helper()
	dir := testdataDir(t)
	m := loadModel(t, dir, "person_detect.tflite")
	var imgs [][]byte
	for _, f := range []string{"person_image_int8.bin", "no_person_image_int8.bin"} {
		b, err := os.ReadFile(filepath.Join(dir, f))
		if err != nil {
			t.Fatal(err)
		}
		imgs = append(imgs, b)
	}
	return m, imgs
}

// Official runtime outputs (MANIFEST.md): person -> [-113, 113], no_person -> [60, -60].
var personWant = [][]int8{{-113, 113}, {60, -60}}

func TestNoAllocationsPerInvoke(t *testing.T) {
	m, imgs := personDetect(t)
	ip, err := New(m, Options{})
	if err != nil {
		t.Fatal(err)
	}
	copy(ip.Input(0).Bytes(), imgs[0])
	if n := testing.AllocsPerRun(20, func() { _ = ip.Invoke() }); n != 0 {
		t.Errorf("%v allocations per Invoke, want 0", n)
	}
}

func TestResizeInputBatch(t *testing.T) {
	m, imgs := personDetect(t)
	ip, err := New(m, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := ip.ResizeInput(0, []int{2, 96, 96, 1}); err != nil {
		t.Fatal(err)
	}
	copy(ip.Input(0).Bytes(), imgs[0])
	copy(ip.Input(0).Bytes()[len(imgs[0]):], imgs[1])
	if err := ip.Invoke(); err != nil {
		t.Fatal(err)
	}
	out := ip.Output(0)
	if diff := cmp.Diff([]int{2, 2}, out.Shape); diff != "" {
		t.Errorf("output shape (-want +got):\n%s", diff)
	}
	got := [][]int8{out.Int8s()[:2], out.Int8s()[2:4]}
	if diff := cmp.Diff(personWant, got); diff != "" {
		t.Errorf("batch of 2 (-want +got):\n%s", diff)
	}
	// A shape the graph cannot take is an error, and the interpreter keeps
	// working with its previous shapes.
	if err := ip.ResizeInput(0, []int{9216}); !errors.Is(err, ErrInvalid) && !errors.Is(err, ErrUnsupported) {
		t.Errorf("resize to [9216] = %v, want an error", err)
	}
	if err := ip.Invoke(); err != nil {
		t.Fatal(err)
	}
	if got := ip.Output(0).Int8s(); got[2] != personWant[1][0] {
		t.Errorf("after a failed resize: %v", got)
	}
	if err := ip.ResizeInput(3, []int{1}); err == nil {
		t.Error("resize of a missing input succeeded")
	}
}

func TestCloneConcurrent(t *testing.T) {
	m, imgs := personDetect(t)
	base, err := New(m, Options{})
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	errs := make(chan error, 4)
	for g := range 4 {
		ip, err := base.Clone()
		if err != nil {
			t.Fatal(err)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 10 {
				k := (g + i) % 2
				copy(ip.Input(0).Bytes(), imgs[k])
				if err := ip.Invoke(); err != nil {
					errs <- err
					return
				}
				if got := ip.Output(0).Int8s(); got[0] != personWant[k][0] || got[1] != personWant[k][1] {
					errs <- fmt.Errorf("clone %d image %d: %v, want %v", g, k, got, personWant[k])
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

// TestHugeShapesRefused: activation shapes that would need unbounded memory
// (or overflow) are a load error, not an allocation.
func TestHugeShapesRefused(t *testing.T) {
	for _, shape := range [][]int{{1 << 20, 1 << 20}, {1 << 40, 1 << 40, 1 << 40}} {
		b := tflite.NewBuilder("huge")
		x := b.AddActivation("x", tflite.Float32, shape, nil)
		y := b.AddActivation("y", tflite.Float32, shape, nil)
		b.AddOperator(tflite.OpRelu, 1, []int{x}, []int{y}, nil)
		b.SetInputs(x)
		b.SetOutputs(y)
		m, err := b.Model()
		if err != nil {
			continue // the format package refused it already
		}
		if _, err := New(m, Options{}); !errors.Is(err, ErrInvalid) {
			t.Errorf("shape %v: New = %v, want ErrInvalid", shape, err)
		}
	}
	// PAD growing every dimension is checked after shape inference.
	b := tflite.NewBuilder("pad")
	x := b.AddActivation("x", tflite.Float32, []int{4, 4, 4, 4}, nil)
	p := b.AddConstInt32("p", []int{4, 2}, []int32{1 << 20, 1 << 20, 1 << 20, 1 << 20, 1 << 20, 1 << 20, 1 << 20, 1 << 20}, nil)
	y := b.AddActivation("y", tflite.Float32, []int{4, 4, 4, 4}, nil)
	b.AddOperator(tflite.OpPad, 1, []int{x, p}, []int{y}, nil)
	b.SetInputs(x)
	b.SetOutputs(y)
	m, err := b.Model()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := New(m, Options{}); !errors.Is(err, ErrInvalid) {
		t.Errorf("huge PAD: New = %v, want ErrInvalid", err)
	}
}
