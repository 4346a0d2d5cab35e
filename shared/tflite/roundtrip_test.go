package tflite_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/megapipe/mega/shared/tflite"
	"github.com/megapipe/mega/shared/tflite/tflitetest"
)

func TestRoundTripConformanceModels(t *testing.T) {
	for _, path := range tflitetest.Models(t) {
		t.Run(filepath.Base(path), func(t *testing.T) {
			b, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			m, err := tflite.Parse(b)
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			out, err := m.Marshal()
			if err != nil {
				t.Fatalf("Marshal: %v", err)
			}
			m2, err := tflite.Parse(out)
			if err != nil {
				t.Fatalf("Parse(Marshal): %v", err)
			}
			if diff := cmp.Diff(m, m2); diff != "" {
				t.Errorf("round trip (-orig +rewritten):\n%s", diff)
			}
		})
	}
}
