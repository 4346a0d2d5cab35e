package infer

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/megapipe/mega/shared/tflite"
)

func TestZZDump(t *testing.T) {
	name := os.Getenv("DUMP")
	if name == "" {
		t.Skip()
	}
	dir := "testdata/zoo"
	b, _ := os.ReadFile(filepath.Join(dir, name+".tflite"))
	m, err := tflite.Parse(b)
	if err != nil {
		t.Fatal(err)
	}
	ip, err := New(m, Options{PreserveAll: true})
	if err != nil {
		t.Fatal(err)
	}
	for i := range ip.NumInputs() {
		in, _ := os.ReadFile(filepath.Join(dir, fmt.Sprintf("%s.in%d.bin", name, i)))
		copy(ip.Input(i).Bytes(), in)
	}
	ip.Invoke()
	os.MkdirAll("/tmp/dump", 0o755)
	for i := range m.Subgraphs[0].Tensors {
		os.WriteFile(fmt.Sprintf("/tmp/dump/%d.bin", i), ip.Tensor(i).Bytes(), 0o644)
	}
}
