package features

import (
	"bytes"
	"errors"
	"io"
	"math"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/megapipe/mega/shared/dataset"
	"github.com/megapipe/mega/shared/tabular"
)

// A small dataset whose statistics are worked by hand below.
const csvData = `x,color,label
1,red,a
3,blue,b
,red,a
5,green,b
`

func frame(t *testing.T) (*dataset.Schema, *dataset.Frame) {
	t.Helper()
	var clean, quarantine bytes.Buffer
	open := func() (io.ReadCloser, error) { return io.NopCloser(strings.NewReader(csvData)), nil }
	res, err := dataset.Ingest(open, dataset.IngestOptions{Name: "t.csv", Infer: dataset.InferOptions{Label: "label"}}, &clean, &quarantine)
	if err != nil {
		t.Fatal(err)
	}
	f, err := dataset.Load(&clean, nil)
	if err != nil {
		t.Fatal(err)
	}
	return res.Schema, f
}

func TestBuildAndEncode(t *testing.T) {
	sc, f := frame(t)
	s, err := Build(sc, f, 80, 10)
	if err != nil {
		t.Fatal(err)
	}
	if s.Task != tabular.Binary {
		t.Errorf("task = %s, want binary", s.Task)
	}
	var names []string
	for _, in := range s.Inputs {
		names = append(names, in.Name)
	}
	colors := sc.Inputs()[1].Values // vocabulary in code order
	want := []string{"x"}
	for _, c := range colors {
		want = append(want, "color="+c)
	}
	if diff := cmp.Diff(want, names); diff != "" {
		t.Errorf("inputs (-want +got):\n%s", diff)
	}
	// x: mean of the present values 1, 3, 5 is 3; the missing one is imputed.
	if s.Inputs[0].Impute != 3 {
		t.Errorf("impute = %v, want 3", s.Inputs[0].Impute)
	}
	x, y, err := s.Encode(f)
	if err != nil {
		t.Fatal(err)
	}
	if x[2][0] != 3 {
		t.Errorf("missing x encoded as %v, want the mean 3", x[2][0])
	}
	// x column after imputation: 1 3 3 5: mean 3, population std sqrt(2).
	if s.Norm.Mean[0] != 3 || math.Abs(s.Norm.Std[0]-math.Sqrt2) > 1e-12 {
		t.Errorf("norm x = %v, %v; want 3, sqrt(2)", s.Norm.Mean[0], s.Norm.Std[0])
	}
	for i, row := range x {
		hot := 0.0
		for _, v := range row[1:] {
			hot += v
		}
		if hot != 1 {
			t.Errorf("row %d: one-hot sums to %v", i, hot)
		}
	}
	if y[0] != y[2] || y[0] == y[1] {
		t.Errorf("labels = %v, want rows 0 and 2 alike and row 1 different", y)
	}

	dst := make([]float32, s.Width())
	if err := s.EncodeObject(map[string]any{"x": 2.5, "color": "blue"}, dst); err != nil {
		t.Fatal(err)
	}
	if dst[0] != 2.5 {
		t.Errorf("x = %v", dst[0])
	}
	for _, tt := range []struct {
		obj   map[string]any
		field string
	}{
		{map[string]any{"x": 1.0, "color": "red", "size": 3.0}, "size"},
		{map[string]any{"x": "one", "color": "red"}, "x"},
		{map[string]any{"x": math.Inf(1), "color": "red"}, "x"},
		{map[string]any{"x": 1.0, "color": 7.0}, "color"},
		{map[string]any{"x": 1.0}, "color"},
	} {
		var fe *FieldError
		if err := s.EncodeObject(tt.obj, dst); !errors.As(err, &fe) || fe.Field != tt.field {
			t.Errorf("EncodeObject(%v) = %v, want an error naming %q", tt.obj, err, tt.field)
		}
	}
}

func TestSplitIsDeterministicAndProportional(t *testing.T) {
	s := &Spec{TrainPct: 80, ValPct: 10}
	n := map[string]int{}
	for h := uint64(0); h < 1000; h++ {
		n[s.SplitOf(h*2654435761)] += 1
	}
	if n[Train] < 750 || n[Train] > 850 || n[Val] < 60 || n[Val] > 140 {
		t.Errorf("split counts %v, want about 800/100/100", n)
	}
}
