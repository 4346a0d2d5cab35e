package features

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"

	"github.com/megapipe/mega/shared/dataset"
	"github.com/megapipe/mega/shared/tabular"
)

// Version of the Spec format.
const Version = 1

// Split names.
const (
	Train = "train"
	Val   = "val"
	Test  = "test"
)

// Input is one column of the model's input vector.
type Input struct {
	Name    string  `json:"name"`            // "age", or "color=red" for a one-hot column
	Feature string  `json:"feature"`         // the dataset feature it comes from
	Kind    string  `json:"kind"`            // "numeric" or "onehot"
	Value   string  `json:"value,omitempty"` // the category of a one-hot column
	Impute  float64 `json:"impute"`          // numeric: the value used when missing (the train mean)
	Code    int32   `json:"code,omitempty"`  // one-hot: the category's code
	Column  int     `json:"column"`          // index of the feature among the frame's columns
}

// Spec describes how a dataset becomes model inputs.
type Spec struct {
	Version  int                   `json:"version"`
	Dataset  string                `json:"dataset"`
	Task     tabular.Task          `json:"task"`
	Label    string                `json:"label"`
	Classes  []string              `json:"classes,omitempty"`
	Features []dataset.Feature     `json:"features"` // the dataset's input features (not the label)
	Inputs   []Input               `json:"inputs"`
	Norm     tabular.Normalization `json:"normalization"`
	// TrainPct and ValPct set the split; the rest is test.
	TrainPct int              `json:"train_pct"`
	ValPct   int              `json:"val_pct"`
	Counts   map[string]int64 `json:"counts"` // rows per split
}

// ErrSpec marks a spec or data that do not fit.
var ErrSpec = errors.New("features: bad spec")

// SplitOf returns the split of a row hash.
func (s *Spec) SplitOf(hash uint64) string {
	p := int(hash % 100)
	switch {
	case p < s.TrainPct:
		return Train
	case p < s.TrainPct+s.ValPct:
		return Val
	}
	return Test
}

// Keep returns a dataset.Load filter keeping one split's rows.
func (s *Spec) Keep(split string) func(*dataset.Frame, int) bool {
	return func(f *dataset.Frame, i int) bool { return s.SplitOf(f.RowHash(i)) == split }
}

// TaskOf maps a schema to the trainer's task.
func TaskOf(sc *dataset.Schema) (tabular.Task, error) {
	if sc.Task == dataset.Regression {
		return tabular.Regression, nil
	}
	switch n := len(sc.Classes()); {
	case n == 2:
		return tabular.Binary, nil
	case n > 2:
		return tabular.Multiclass, nil
	default:
		return "", fmt.Errorf("%w: label %q has %d classes; a classifier needs at least 2", ErrSpec, sc.Label, n)
	}
}

// Build makes the spec of a dataset from its schema and its train split.
func Build(sc *dataset.Schema, train *dataset.Frame, trainPct, valPct int) (*Spec, error) {
	task, err := TaskOf(sc)
	if err != nil {
		return nil, err
	}
	if train.Len == 0 {
		return nil, fmt.Errorf("%w: the train split is empty", ErrSpec)
	}
	s := &Spec{Version: Version, Dataset: sc.Dataset, Task: task, Label: sc.Label, Classes: sc.Classes(),
		Features: sc.Inputs(), TrainPct: trainPct, ValPct: valPct}
	for j, c := range train.Columns {
		f := s.Features[j]
		if c.Type == dataset.Numeric {
			sum, n := 0.0, 0
			for _, v := range c.Num {
				if !math.IsNaN(float64(v)) {
					sum += float64(v)
					n++
				}
			}
			mean := 0.0
			if n > 0 {
				mean = sum / float64(n)
			}
			s.Inputs = append(s.Inputs, Input{Name: f.Name, Feature: f.Name, Kind: "numeric", Impute: mean, Column: j})
			continue
		}
		for code, v := range f.Values {
			s.Inputs = append(s.Inputs, Input{Name: f.Name + "=" + v, Feature: f.Name, Kind: "onehot", Value: v,
				Code: int32(code), Column: j})
		}
	}
	x, _, err := s.Encode(train)
	if err != nil {
		return nil, err
	}
	if s.Norm, err = tabular.ComputeNormalization(x); err != nil {
		return nil, fmt.Errorf("features: normalization: %w", err)
	}
	return s, nil
}

// Width is the length of the model's input vector.
func (s *Spec) Width() int { return len(s.Inputs) }

// Encode turns frame rows into model inputs and labels (class index or
// target value).
func (s *Spec) Encode(f *dataset.Frame) (x [][]float64, y []float64, err error) {
	if len(f.Columns) != len(s.Features) {
		return nil, nil, fmt.Errorf("%w: frame has %d columns, spec %d features", ErrSpec, len(f.Columns), len(s.Features))
	}
	x = make([][]float64, f.Len)
	y = make([]float64, f.Len)
	flat := make([]float64, f.Len*len(s.Inputs))
	for i := 0; i < f.Len; i++ {
		row := flat[i*len(s.Inputs) : (i+1)*len(s.Inputs)]
		for k, in := range s.Inputs {
			c := f.Columns[in.Column]
			if in.Kind == "numeric" {
				v := float64(c.Num[i])
				if math.IsNaN(v) {
					v = in.Impute
				}
				row[k] = v
			} else if c.Code[i] == in.Code {
				row[k] = 1
			}
		}
		x[i] = row
		if f.Class != nil {
			y[i] = float64(f.Class[i])
		} else {
			y[i] = float64(f.Target[i])
		}
	}
	return x, y, nil
}

// FieldError names the field of a bad instance.
type FieldError struct {
	Field  string
	Reason string
}

func (e *FieldError) Error() string { return fmt.Sprintf("field %q: %s", e.Field, e.Reason) }

// EncodeObject turns one instance keyed by feature name (as JSON decodes it:
// numbers as float64 or json.Number, categories as strings, null for
// missing) into dst, which must hold Width values. Unknown names and missing
// non-nullable features are errors naming the field.
func (s *Spec) EncodeObject(obj map[string]any, dst []float32) error {
	if len(dst) != len(s.Inputs) {
		return fmt.Errorf("%w: destination holds %d values, want %d", ErrSpec, len(dst), len(s.Inputs))
	}
	for name := range obj {
		if !s.hasFeature(name) {
			return &FieldError{Field: name, Reason: "unknown feature"}
		}
	}
	clear(dst)
	for k, in := range s.Inputs {
		f := s.Features[in.Column]
		v, present := obj[f.Name]
		if !present || v == nil {
			if !f.Nullable {
				return &FieldError{Field: f.Name, Reason: "missing"}
			}
			if in.Kind == "numeric" {
				dst[k] = float32(in.Impute)
			}
			continue
		}
		if in.Kind == "numeric" {
			x, err := number(v)
			if err != nil {
				return &FieldError{Field: f.Name, Reason: err.Error()}
			}
			dst[k] = float32(x)
			continue
		}
		str, ok := v.(string)
		if !ok {
			return &FieldError{Field: f.Name, Reason: fmt.Sprintf("want a category (string), got %T", v)}
		}
		if str == in.Value {
			dst[k] = 1
		}
	}
	return nil
}

// EncodeRow turns one instance given as a list of raw feature values in
// Features order into dst.
func (s *Spec) EncodeRow(row []any, dst []float32) error {
	if len(row) != len(s.Features) {
		return &FieldError{Field: "instances", Reason: fmt.Sprintf("row has %d values, want %d (%s...)", len(row), len(s.Features), s.Features[0].Name)}
	}
	obj := make(map[string]any, len(row))
	for i, v := range row {
		obj[s.Features[i].Name] = v
	}
	return s.EncodeObject(obj, dst)
}

func (s *Spec) hasFeature(name string) bool {
	for _, f := range s.Features {
		if f.Name == name {
			return true
		}
	}
	return false
}

func number(v any) (float64, error) {
	var x float64
	switch t := v.(type) {
	case float64:
		x = t
	case float32:
		x = float64(t)
	case int:
		x = float64(t)
	case json.Number:
		f, err := strconv.ParseFloat(string(t), 64)
		if err != nil {
			return 0, fmt.Errorf("not a number: %q", string(t))
		}
		x = f
	case string:
		return 0, fmt.Errorf("want a number, got the string %q", t)
	default:
		return 0, fmt.Errorf("want a number, got %T", v)
	}
	if math.IsNaN(x) || math.IsInf(x, 0) {
		return 0, errors.New("not a finite number")
	}
	return x, nil
}

// Parse decodes a spec.
func Parse(b []byte) (*Spec, error) {
	var s Spec
	if err := json.Unmarshal(b, &s); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrSpec, err)
	}
	if s.Version != Version {
		return nil, fmt.Errorf("%w: version %d, want %d", ErrSpec, s.Version, Version)
	}
	if len(s.Inputs) == 0 || len(s.Norm.Mean) != len(s.Inputs) || len(s.Norm.Std) != len(s.Inputs) {
		return nil, fmt.Errorf("%w: %d inputs, normalization for %d", ErrSpec, len(s.Inputs), len(s.Norm.Mean))
	}
	for _, in := range s.Inputs {
		if in.Column < 0 || in.Column >= len(s.Features) || s.Features[in.Column].Name != in.Feature {
			return nil, fmt.Errorf("%w: input %q refers to column %d", ErrSpec, in.Name, in.Column)
		}
		if in.Kind != "numeric" && in.Kind != "onehot" {
			return nil, fmt.Errorf("%w: input %q has kind %q", ErrSpec, in.Name, in.Kind)
		}
	}
	if s.TrainPct <= 0 || s.ValPct < 0 || s.TrainPct+s.ValPct > 100 {
		return nil, fmt.Errorf("%w: split %d/%d", ErrSpec, s.TrainPct, s.ValPct)
	}
	return &s, nil
}
