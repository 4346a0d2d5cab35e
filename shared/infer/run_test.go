package infer

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestParseInputSpec(t *testing.T) {
	tests := []struct {
		in      string
		want    InputSpec
		wantErr bool
	}{
		{"0=a.bin", InputSpec{0, "a.bin"}, false},
		{"12=dir/x=y.bin", InputSpec{12, "dir/x=y.bin"}, false},
		{"a.bin", InputSpec{}, true},
		{"-1=a.bin", InputSpec{}, true},
		{"x=a.bin", InputSpec{}, true},
		{"0=", InputSpec{}, true},
	}
	for _, tc := range tests {
		got, err := ParseInputSpec(tc.in)
		if (err != nil) != tc.wantErr {
			t.Errorf("ParseInputSpec(%q) error = %v, want error %v", tc.in, err, tc.wantErr)
			continue
		}
		if diff := cmp.Diff(tc.want, got); diff != "" {
			t.Errorf("ParseInputSpec(%q) (-want +got):\n%s", tc.in, diff)
		}
	}
}

// TestRunFilesAndJSON feeds person_detect the two images as one batch file,
// as `mega tflite run --in 0=FILE` does, and checks the JSON document and the
// raw output file against the official outputs.
func TestRunFilesAndJSON(t *testing.T) {
	m, imgs := personDetect(t)
	dir := t.TempDir()
	batch := filepath.Join(dir, "batch.bin")
	if err := os.WriteFile(batch, append(append([]byte{}, imgs[0]...), imgs[1]...), 0o644); err != nil {
		t.Fatal(err)
	}
	ip, err := New(m, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := ip.LoadInputs([]InputSpec{{0, batch}}); err != nil {
		t.Fatal(err)
	}
	if err := ip.Invoke(); err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(ip.Result())
	if err != nil {
		t.Fatal(err)
	}
	want := `{"outputs":[{"name":"MobilenetV1/Predictions/Reshape_1","dtype":"int8","shape":[2,2],"values":[-113,113,60,-60]}]}`
	if diff := cmp.Diff(want, string(b)); diff != "" {
		t.Errorf("JSON (-want +got):\n%s", diff)
	}
	if err := ip.WriteOutputs(dir); err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile(filepath.Join(dir, "output_0.bin"))
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]byte{0x8f, 0x71, 0x3c, 0xc4}, raw); diff != "" {
		t.Errorf("raw output (-want +got):\n%s", diff)
	}
	if err := ip.SetInput(0, make([]byte, 100)); err == nil {
		t.Error("SetInput with 100 bytes succeeded")
	}
	if _, err := ip.Bench(0); err == nil {
		t.Error("Bench(0) succeeded")
	}
	r, err := ip.Bench(3)
	if err != nil {
		t.Fatal(err)
	}
	if r.MACs != 2*7157888 || r.N != 3 {
		t.Errorf("bench: %+v", r)
	}
}

func FuzzParseInputSpec(f *testing.F) {
	for _, s := range []string{"0=a.bin", "3=x=y", "=", "-1=a", "99999999999999999999=a", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		spec, err := ParseInputSpec(s)
		if err != nil {
			return
		}
		if spec.Index < 0 || spec.Path == "" {
			t.Fatalf("ParseInputSpec(%q) = %+v without error", s, spec)
		}
	})
}
