package kfp

import (
	"bytes"
	"encoding/json"
	"regexp"
	"sort"
	"strings"
)

// writeYAML writes a value decoded from JSON (maps, slices, strings,
// json.Number, bools, nil) as block-style YAML. Strings are double-quoted
// with JSON escapes, which YAML's double-quoted scalars accept, so no value
// is ever read back as another type.
func writeYAML(buf *bytes.Buffer, v any, indent int, inList bool) {
	pad := strings.Repeat("  ", indent)
	switch x := v.(type) {
	case map[string]any:
		if len(x) == 0 {
			buf.WriteString(" {}\n")
			return
		}
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		if !inList {
			buf.WriteString("\n")
		}
		for i, k := range keys {
			if !(inList && i == 0) {
				buf.WriteString(pad)
			}
			buf.WriteString(key(k))
			buf.WriteString(":")
			writeValue(buf, x[k], indent+1)
		}
	case []any:
		if len(x) == 0 {
			buf.WriteString(" []\n")
			return
		}
		if !inList {
			buf.WriteString("\n")
		}
		for i, e := range x {
			if !(inList && i == 0) {
				buf.WriteString(pad)
			}
			buf.WriteString("- ")
			switch e.(type) {
			case map[string]any, []any:
				writeYAML(buf, e, indent+1, true)
			default:
				buf.WriteString(scalar(e))
				buf.WriteString("\n")
			}
		}
	default:
		buf.WriteString(scalar(v))
		buf.WriteString("\n")
	}
}

// writeValue writes the value of a mapping key, after the colon.
func writeValue(buf *bytes.Buffer, v any, indent int) {
	switch v.(type) {
	case map[string]any, []any:
		writeYAML(buf, v, indent, false)
	default:
		buf.WriteString(" ")
		buf.WriteString(scalar(v))
		buf.WriteString("\n")
	}
}

var plainKey = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_.-]*$`)

// key writes a mapping key plain when YAML cannot read it as anything but
// that string, quoted otherwise.
func key(k string) string {
	switch strings.ToLower(k) {
	case "true", "false", "null", "yes", "no", "on", "off", "y", "n", "~":
		return scalar(k)
	}
	if plainKey.MatchString(k) {
		return k
	}
	return scalar(k)
}

func scalar(v any) string {
	switch x := v.(type) {
	case nil:
		return "null"
	case bool:
		if x {
			return "true"
		}
		return "false"
	case json.Number:
		return x.String()
	case string:
		b, _ := json.Marshal(x)
		return string(b)
	default:
		b, _ := json.Marshal(x)
		return string(b)
	}
}
