// Package tflitetest locates the shared TFLite conformance data for tests.
//
// The models, inputs and official-runtime outputs in ../shared/testdata/tflite
// (relative to the repository root) come from other public repositories and
// are never copied into this one: tests read them in place. The environment
// variable MEGA_TFLITE_TESTDATA points elsewhere. Without the folder, tests
// skip with a message naming the origins.
package tflitetest

import (
	"os"
	"path/filepath"
	"runtime"
	"testing"
)

// EnvVar overrides the location of the conformance data.
const EnvVar = "MEGA_TFLITE_TESTDATA"

// Origins names where the conformance data comes from.
const Origins = "tensorflow/tflite-micro (hello_world, person_detect, simple_add) and google-ai-edge/LiteRT " +
	"(add.bin, multi_add.bin, pc_conv.bin, quantizer test models); see MANIFEST.md in that folder"

// Path returns the conformance data folder, or "" when it is absent.
func Path() string {
	if d := os.Getenv(EnvVar); d != "" {
		if _, err := os.Stat(d); err != nil {
			return ""
		}
		return d
	}
	var roots []string
	if _, file, _, ok := runtime.Caller(0); ok {
		// file is <root>/shared/tflite/tflitetest/tflitetest.go (unless built with -trimpath)
		roots = append(roots, filepath.Join(filepath.Dir(file), "..", "..", ".."))
	}
	if dir, err := os.Getwd(); err == nil {
		// Tests run in their package folder: the root is the nearest folder with go.mod.
		for {
			if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
				roots = append(roots, dir)
				break
			}
			parent := filepath.Dir(dir)
			if parent == dir {
				break
			}
			dir = parent
		}
	}
	for _, root := range roots {
		d := filepath.Join(root, "..", "shared", "testdata", "tflite")
		if _, err := os.Stat(filepath.Join(d, "MANIFEST.md")); err == nil {
			return d
		}
	}
	return ""
}

// Dir returns the conformance data folder or skips the test.
func Dir(tb testing.TB) string {
	tb.Helper()
	d := Path()
	if d == "" {
		tb.Skipf("TFLite conformance data not found (set %s or place it at ../shared/testdata/tflite); origins: %s", EnvVar, Origins)
	}
	return d
}

// Models returns the paths of every model (*.tflite, *.bin with the TFL3
// identifier) in the conformance folder, or skips the test.
func Models(tb testing.TB) []string {
	tb.Helper()
	d := Dir(tb)
	var out []string
	for _, pat := range []string{"*.tflite", "*.bin"} {
		ms, _ := filepath.Glob(filepath.Join(d, pat))
		for _, m := range ms {
			b, err := os.ReadFile(m)
			if err == nil && len(b) >= 8 && string(b[4:8]) == "TFL3" {
				out = append(out, m)
			}
		}
	}
	if len(out) == 0 {
		tb.Skipf("no models in %s; origins: %s", d, Origins)
	}
	return out
}
