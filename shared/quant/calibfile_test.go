package quant_test

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/megapipe/mega/shared/quant"
	"github.com/megapipe/mega/shared/tflite"
)

func TestReadCalibration(t *testing.T) {
	dir := t.TempDir()
	write := func(name string, b []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	tests := []struct {
		name    string
		path    string
		sizes   []int
		want    [][][]float32
		wantErr error
	}{
		{"csv with header, two inputs", write("a.csv", []byte("f1,f2,f3\n1,2,3\n\n-1.5, 0 ,4e-1\n")), []int{2, 1},
			[][][]float32{{{1, 2}, {3}}, {{-1.5, 0}, {0.4}}}, nil},
		{"csv without header", write("b.csv", []byte("1,2\n3,4\n")), []int{2}, [][][]float32{{{1, 2}}, {{3, 4}}}, nil},
		{"raw float32", write("c.bin", tflite.Float32Bytes([]float32{1, 2, 3, 4, 5, 6})), []int{3},
			[][][]float32{{{1, 2, 3}}, {{4, 5, 6}}}, nil},
		{"csv wrong width", write("d.csv", []byte("1,2\n3\n")), []int{2}, nil, quant.ErrBadCalibration},
		{"csv not a number", write("e.csv", []byte("1,2\n3,x\n")), []int{2}, nil, quant.ErrBadCalibration},
		{"csv NaN", write("f.csv", []byte("1,2\n3,NaN\n")), []int{2}, nil, quant.ErrBadCalibration},
		{"csv only a header", write("g.csv", []byte("a,b\n")), []int{2}, nil, quant.ErrBadCalibration},
		{"raw partial sample", write("h.bin", tflite.Float32Bytes([]float32{1, 2, 3, 4})), []int{3}, nil, quant.ErrBadCalibration},
		{"missing file", filepath.Join(dir, "nope.csv"), []int{1}, nil, os.ErrNotExist},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := quant.ReadCalibration(tt.path, tt.sizes)
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("error = %v, want %v", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("samples (-want +got):\n%s", diff)
			}
		})
	}
}

// FuzzDecodeCalibration: any input gives samples of the right widths or an
// ErrBadCalibration, never a panic.
func FuzzDecodeCalibration(f *testing.F) {
	f.Add([]byte("a,b,c\n1,2,3\n4,5,6\n"), true, uint8(2), uint8(1))
	f.Add([]byte("1e3,-2\n"), true, uint8(1), uint8(1))
	f.Add(tflite.Float32Bytes([]float32{1, 2, 3, 4}), false, uint8(1), uint8(1))
	f.Fuzz(func(t *testing.T, b []byte, csv bool, s0, s1 uint8) {
		sizes := []int{int(s0), int(s1)}
		samples, err := quant.DecodeCalibration(bytes.NewReader(b), csv, sizes)
		if err != nil {
			if !errors.Is(err, quant.ErrBadCalibration) {
				t.Fatalf("error %v does not wrap ErrBadCalibration", err)
			}
			return
		}
		for i, s := range samples {
			if len(s) != 2 || len(s[0]) != sizes[0] || len(s[1]) != sizes[1] {
				t.Fatalf("sample %d has widths %d, want %v", i, len(s), sizes)
			}
		}
	})
}
