package infer

import (
	"os"
	"path/filepath"
	"testing"
)

// BenchmarkPersonDetect runs person_detect.tflite (int8, one goroutine) on
// the person image.
func BenchmarkPersonDetect(b *testing.B) {
	for _, mode := range []Requant{XNNPack, Reference} {
		b.Run(mode.String(), func(b *testing.B) {
			dir := testdataDir(b)
			ip, err := New(loadModel(b, dir, "person_detect.tflite"), Options{Requant: mode})
			if err != nil {
				b.Fatal(err)
			}
			img, err := os.ReadFile(filepath.Join(dir, "person_image_int8.bin"))
			if err != nil {
				b.Fatal(err)
			}
			copy(ip.Input(0).Bytes(), img)
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				if err := ip.Invoke(); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(ip.MACs())*float64(b.N)/b.Elapsed().Seconds()/1e9, "GMAC/s")
		})
	}
}
