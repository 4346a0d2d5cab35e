// Command dumprows writes a run's val and test rows (raw float32 features, as the
// quantize step feeds them) and test labels to .npy files.
package main

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math"
	"os"
	"path/filepath"

	"github.com/megapipe/mega/shared/features"
)

func npy(path, descr string, shape []int, data []byte) error {
	sh := ""
	for _, d := range shape {
		sh += fmt.Sprintf("%d, ", d)
	}
	if len(shape) > 1 {
		sh = sh[:len(sh)-2]
	}
	h := fmt.Sprintf("{'descr': '%s', 'fortran_order': False, 'shape': (%s), }", descr, sh)
	pad := 64 - (10+len(h)+1)%64
	h += string(bytes.Repeat([]byte(" "), pad%64)) + "\n"
	var b bytes.Buffer
	b.WriteString("\x93NUMPY\x01\x00")
	binary.Write(&b, binary.LittleEndian, uint16(len(h)))
	b.WriteString(h)
	b.Write(data)
	return os.WriteFile(path, b.Bytes(), 0o644)
}

func rows(x [][]float64) ([]byte, []int) {
	w := 0
	if len(x) > 0 {
		w = len(x[0])
	}
	out := make([]byte, 0, len(x)*w*4)
	for _, r := range x {
		for _, v := range r {
			out = binary.LittleEndian.AppendUint32(out, math.Float32bits(float32(v)))
		}
	}
	return out, []int{len(x), w}
}

func main() {
	if len(os.Args) != 4 {
		fmt.Fprintln(os.Stderr, "usage: dumprows features.json clean.mgds OUTDIR")
		os.Exit(2)
	}
	raw, err := os.ReadFile(os.Args[1])
	if err != nil {
		fail(err)
	}
	spec, err := features.Parse(raw)
	if err != nil {
		fail(err)
	}
	f, err := os.Open(os.Args[2])
	if err != nil {
		fail(err)
	}
	defer f.Close()
	sp, err := spec.LoadSplits(f)
	if err != nil {
		fail(err)
	}
	dir := os.Args[3]
	for name, x := range map[string][][]float64{"val_x": sp.Val.X, "test_x": sp.Test.X} {
		b, sh := rows(x)
		if err := npy(filepath.Join(dir, name+".npy"), "<f4", sh, b); err != nil {
			fail(err)
		}
	}
	lab := make([]byte, 0, len(sp.Test.Y)*8)
	for _, y := range sp.Test.Y {
		lab = binary.LittleEndian.AppendUint64(lab, uint64(int64(y)))
	}
	if err := npy(filepath.Join(dir, "test_y.npy"), "<i8", []int{len(sp.Test.Y)}, lab); err != nil {
		fail(err)
	}
	fmt.Printf("task=%s classes=%d val=%d test=%d width=%d\n", spec.Task, len(spec.Classes), len(sp.Val.X), len(sp.Test.X), spec.Width())
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "dumprows:", err)
	os.Exit(1)
}
