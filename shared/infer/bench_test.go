package infer

import (
	"fmt"
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

// BenchmarkPersonDetectLayers times each operator of person_detect.tflite
// (XNNPack mode) on the person image, with its MAC rate.
func BenchmarkPersonDetectLayers(b *testing.B) {
	dir := testdataDir(b)
	ip, err := New(loadModel(b, dir, "person_detect.tflite"), Options{})
	if err != nil {
		b.Fatal(err)
	}
	img, err := os.ReadFile(filepath.Join(dir, "person_image_int8.bin"))
	if err != nil {
		b.Fatal(err)
	}
	copy(ip.Input(0).Bytes(), img)
	if err := ip.Invoke(); err != nil {
		b.Fatal(err)
	}
	for _, n := range ip.nodes {
		b.Run(fmt.Sprintf("%02d_%v", n.index, n.op), func(b *testing.B) {
			for b.Loop() {
				n.k.eval(ip, n)
			}
			if n.macs > 0 {
				b.ReportMetric(float64(n.macs)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GMAC/s")
			}
		})
	}
}
