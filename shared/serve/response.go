package serve

import (
	"math"
	"strconv"
	"unicode/utf8"
)

// appendFloat32 writes v as the shortest JSON number that reads back as the
// same float32 (null for NaN or infinities, which JSON cannot carry).
func appendFloat32(b []byte, v float32) []byte {
	if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
		return append(b, "null"...)
	}
	return strconv.AppendFloat(b, float64(v), 'g', -1, 32)
}

func appendFloat64(b []byte, v float64) []byte {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return append(b, "null"...)
	}
	return strconv.AppendFloat(b, v, 'g', -1, 64)
}

const hexDigits = "0123456789abcdef"

// appendString writes s as a JSON string.
func appendString(b []byte, s string) []byte {
	b = append(b, '"')
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			switch {
			case c == '"' || c == '\\':
				b = append(b, '\\', c)
			case c < 0x20:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			case c == '<' || c == '>' || c == '&':
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			default:
				b = append(b, c)
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, `\ufffd`...)
		} else {
			b = append(b, s[i:i+size]...)
		}
		i += size
	}
	return append(b, '"')
}

// label returns the class label of one instance's outputs.
func (m *Model) label(out []float32) string {
	switch m.Task {
	case TaskBinary:
		if out[0] >= 0.5 {
			return m.Classes[1]
		}
		return m.Classes[0]
	case TaskMulticlass:
		best := 0
		for i, v := range out {
			if v > out[best] {
				best = i
			}
		}
		return m.Classes[best]
	}
	return ""
}

// appendProbabilities writes one instance's class probabilities: the model's
// outputs for multiclass, [1-p, p] for binary.
func (m *Model) appendProbabilities(b []byte, out []float32) []byte {
	b = append(b, '[')
	if m.Task == TaskBinary {
		b = appendFloat32(b, 1-out[0])
		b = append(b, ',')
		b = appendFloat32(b, out[0])
	} else {
		for i, v := range out {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendFloat32(b, v)
		}
	}
	return append(b, ']')
}

// appendPrediction writes one instance's prediction object:
// {"label": ..., "probabilities": [...]} for classifiers, {"value": v} for
// regression.
func (m *Model) appendPrediction(b []byte, out []float32) []byte {
	if m.Task == TaskRegression {
		b = append(b, `{"value":`...)
		b = appendFloat32(b, out[0])
		return append(b, '}')
	}
	b = append(b, `{"label":`...)
	b = appendString(b, m.label(out))
	b = append(b, `,"probabilities":`...)
	b = m.appendProbabilities(b, out)
	return append(b, '}')
}

// appendPredictions writes "[p0,p1,...]".
func (m *Model) appendPredictions(b []byte, out []float32, n int) []byte {
	b = append(b, '[')
	for i := range n {
		if i > 0 {
			b = append(b, ',')
		}
		b = m.appendPrediction(b, out[i*m.outputs:(i+1)*m.outputs])
	}
	return append(b, ']')
}

// appendColumns writes the columnar answer: {"label":[...],"probabilities":[[...]]}
// or {"value":[...]}.
func (m *Model) appendColumns(b []byte, out []float32, n int) []byte {
	if m.Task == TaskRegression {
		b = append(b, `{"value":[`...)
		for i := range n {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendFloat32(b, out[i])
		}
		return append(b, "]}"...)
	}
	b = append(b, `{"label":[`...)
	for i := range n {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendString(b, m.label(out[i*m.outputs:(i+1)*m.outputs]))
	}
	b = append(b, `],"probabilities":[`...)
	for i := range n {
		if i > 0 {
			b = append(b, ',')
		}
		b = m.appendProbabilities(b, out[i*m.outputs:(i+1)*m.outputs])
	}
	return append(b, "]}"...)
}

// VersionNumber turns a registry version "v3" into TensorFlow Serving's
// integer version "3" (other names are returned as they are).
func VersionNumber(v string) string {
	if len(v) > 1 && (v[0] == 'v' || v[0] == 'V') {
		if _, err := strconv.ParseInt(v[1:], 10, 64); err == nil {
			return v[1:]
		}
	}
	return v
}
