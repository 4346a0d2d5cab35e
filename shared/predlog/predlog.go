package predlog

import (
	"errors"
	"fmt"
	"strings"
	"time"
)

// Prefix is the folder of the prediction log in the artifacts bucket.
const Prefix = "predictions/"

// WindowLayout is the time layout of a window start in object names.
const WindowLayout = "20060102T1504Z"

// MaxNameLen is the longest version or batch id kept in an object name.
const MaxNameLen = 200

// The suffixes of the three kinds of objects.
const (
	RowsSuffix      = ".jsonl"
	AggregateSuffix = ".window.json"
	ProfileSuffix   = ".profile.json"
)

// Sample is one logged prediction, a line of a predictions message.
type Sample struct {
	Time     time.Time      `json:"time"`
	Model    string         `json:"model"`
	Version  string         `json:"version"`
	Features map[string]any `json:"features"` // raw values by feature name; null when missing
	Outputs  []float64      `json:"outputs"`  // probabilities (multiclass), p(class 1) (binary), value (regression)
	Label    string         `json:"label,omitempty"`
}

// SafeName keeps a name part plain: letters, digits, - _ . only, every other
// byte replaced by '_', at most MaxNameLen bytes.
func SafeName(s string) string {
	b := []byte(s)
	for i, c := range b {
		if !safeByte(c) {
			b[i] = '_'
		}
	}
	if len(b) > MaxNameLen {
		b = b[:MaxNameLen]
	}
	return string(b)
}

func safeByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.'
}

// WindowStart formats a window's start as it appears in object names.
func WindowStart(t time.Time) string { return t.UTC().Format(WindowLayout) }

// WindowPrefix is the folder of one window of a model.
func WindowPrefix(model string, start time.Time) string {
	return Prefix + model + "/" + WindowStart(start) + "/"
}

// RowsName is the object of one batch's rows of one model version in one
// window.
func RowsName(model, version string, start time.Time, batchID string) string {
	return WindowPrefix(model, start) + SafeName(batchID) + "-" + SafeName(version) + RowsSuffix
}

// AggregateName is the object of one model version's aggregate profile in
// one window.
func AggregateName(model, version string, start time.Time) string {
	return WindowPrefix(model, start) + SafeName(version) + AggregateSuffix
}

// ProfileSuffixOf is how the name of every per-batch profile of a version
// ends.
func ProfileSuffixOf(version string) string {
	return "-" + SafeName(version) + ProfileSuffix
}

// Kind is what a prediction-log object holds.
type Kind string

// The kinds of objects.
const (
	Rows      Kind = "rows"
	Aggregate Kind = "aggregate"
	Profile   Kind = "profile"
)

// Name is a parsed object name.
type Name struct {
	Kind  Kind
	Model string
	Start time.Time // UTC
	// Version is the (safe) version of an aggregate; empty for rows and
	// profiles, whose Tail holds "<batch id>-<version>".
	Version string
	Tail    string
}

// HasVersion says whether the object belongs to version (as given to the
// naming functions, before SafeName).
func (n Name) HasVersion(version string) bool {
	v := SafeName(version)
	if n.Kind == Aggregate {
		return n.Version == v
	}
	return len(n.Tail) > len(v) && strings.HasSuffix(n.Tail, "-"+v)
}

// ErrNotPredLog marks a name that is not a prediction-log object.
var ErrNotPredLog = errors.New("not a prediction-log object")

// Parse reads an object name written by RowsName, AggregateName or a
// per-batch profile.
func Parse(name string) (Name, error) {
	bad := func(why string) (Name, error) {
		return Name{}, fmt.Errorf("predlog: parse %q: %w: %s", name, ErrNotPredLog, why)
	}
	rest, ok := strings.CutPrefix(name, Prefix)
	if !ok {
		return bad("no " + Prefix + " prefix")
	}
	parts := strings.Split(rest, "/")
	if len(parts) != 3 {
		return bad("want <model>/<window start>/<object>")
	}
	model, win, obj := parts[0], parts[1], parts[2]
	if model == "" || SafeName(model) != model {
		return bad("model name is empty or not plain")
	}
	start, err := time.Parse(WindowLayout, win)
	if err != nil || WindowStart(start) != win {
		return bad("window start is not " + WindowLayout)
	}
	n := Name{Model: model, Start: start.UTC()}
	var base string
	switch {
	case strings.HasSuffix(obj, AggregateSuffix):
		n.Kind, base = Aggregate, strings.TrimSuffix(obj, AggregateSuffix)
	case strings.HasSuffix(obj, ProfileSuffix):
		n.Kind, base = Profile, strings.TrimSuffix(obj, ProfileSuffix)
	case strings.HasSuffix(obj, RowsSuffix):
		n.Kind, base = Rows, strings.TrimSuffix(obj, RowsSuffix)
	default:
		return bad("unknown suffix")
	}
	if base == "" {
		return bad("empty object name")
	}
	for i := 0; i < len(base); i++ {
		if !safeByte(base[i]) {
			return bad(fmt.Sprintf("byte %q not allowed", base[i]))
		}
	}
	if n.Kind == Aggregate {
		if len(base) > MaxNameLen {
			return bad("version longer than " + fmt.Sprint(MaxNameLen) + " bytes")
		}
		n.Version = base
		return n, nil
	}
	if len(base) < 3 || !strings.Contains(base[1:len(base)-1], "-") {
		return bad("want <batch id>-<version>")
	}
	n.Tail = base
	return n, nil
}
