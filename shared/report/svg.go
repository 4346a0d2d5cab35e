package report

import (
	"fmt"
	"html"
	"math"
	"strconv"
	"strings"
)

// Palette: Okabe and Ito's colour-blind safe colours, which stay distinct
// in greyscale print.
const (
	colTeacher = "#0072B2"
	colStudent = "#E69F00"
	colInt8    = "#009E73"
	colDrift   = "#D55E00"
	colOK      = "#009E73"
	colRunning = "#56B4E9"
	colReject  = "#CC79A7"
	colGrey    = "#888888"
	colAxis    = "#444444"
	colGrid    = "#e4e4e4"
	colInk     = "#1a1a1a"
)

// modelColor is the colour of a benchmarked model.
func modelColor(name string) string {
	switch name {
	case "teacher", "float":
		return colTeacher
	case "student":
		return colStudent
	case "int8":
		return colInt8
	}
	return colGrey
}

// svg writes one inline SVG chart. Every text and attribute value from data
// goes through esc.
type svg struct {
	b    strings.Builder
	w, h float64
}

func newSVG(w, h float64, label string) *svg {
	s := &svg{w: w, h: h}
	fmt.Fprintf(&s.b, `<svg class="chart" viewBox="0 0 %s %s" width="%s" height="%s" role="img" aria-label="%s">`,
		num(w), num(h), num(w), num(h), esc(label))
	fmt.Fprintf(&s.b, `<title>%s</title>`, esc(label))
	return s
}

func (s *svg) String() string { return s.b.String() + "</svg>" }

func esc(x string) string { return html.EscapeString(x) }

// num formats a coordinate compactly.
func num(x float64) string {
	if math.IsNaN(x) || math.IsInf(x, 0) {
		x = 0
	}
	return strconv.FormatFloat(math.Round(x*10)/10, 'f', -1, 64)
}

func (s *svg) rect(x, y, w, h float64, fill, extra, title string) {
	if w < 0 {
		x, w = x+w, -w
	}
	fmt.Fprintf(&s.b, `<rect x="%s" y="%s" width="%s" height="%s" fill="%s"%s>`, num(x), num(y), num(w), num(h), esc(fill), extra)
	if title != "" {
		fmt.Fprintf(&s.b, `<title>%s</title>`, esc(title))
	}
	s.b.WriteString(`</rect>`)
}

func (s *svg) line(x1, y1, x2, y2 float64, stroke string, width float64, dash string) {
	d := ""
	if dash != "" {
		d = ` stroke-dasharray="` + esc(dash) + `"`
	}
	fmt.Fprintf(&s.b, `<line x1="%s" y1="%s" x2="%s" y2="%s" stroke="%s" stroke-width="%s"%s/>`,
		num(x1), num(y1), num(x2), num(y2), esc(stroke), num(width), d)
}

// text anchors: start, middle, end.
func (s *svg) text(x, y float64, anchor, class, t string) {
	fmt.Fprintf(&s.b, `<text x="%s" y="%s" text-anchor="%s" class="%s">%s</text>`, num(x), num(y), anchor, esc(class), esc(t))
}

func (s *svg) textFill(x, y float64, anchor, class, fill, t string) {
	fmt.Fprintf(&s.b, `<text x="%s" y="%s" text-anchor="%s" class="%s" style="fill:%s">%s</text>`, num(x), num(y), anchor, esc(class), esc(fill), esc(t))
}

func (s *svg) polyline(pts [][2]float64, stroke string, width float64) {
	var b strings.Builder
	for i, p := range pts {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(num(p[0]) + "," + num(p[1]))
	}
	fmt.Fprintf(&s.b, `<polyline points="%s" fill="none" stroke="%s" stroke-width="%s" stroke-linejoin="round"/>`, b.String(), esc(stroke), num(width))
}

func (s *svg) circle(x, y, r float64, fill, title string) {
	fmt.Fprintf(&s.b, `<circle cx="%s" cy="%s" r="%s" fill="%s">`, num(x), num(y), num(r), esc(fill))
	if title != "" {
		fmt.Fprintf(&s.b, `<title>%s</title>`, esc(title))
	}
	s.b.WriteString(`</circle>`)
}

func (s *svg) raw(x string) { s.b.WriteString(x) }

// niceTicks returns about n round tick values covering [lo, hi].
func niceTicks(lo, hi float64, n int) []float64 {
	if !(hi > lo) || math.IsInf(hi-lo, 0) {
		return []float64{lo}
	}
	raw := (hi - lo) / float64(max(n, 1))
	mag := math.Pow(10, math.Floor(math.Log10(raw)))
	step := mag
	for _, m := range []float64{1, 2, 2.5, 5, 10} {
		if m*mag >= raw {
			step = m * mag
			break
		}
	}
	var out []float64
	for v := math.Ceil(lo/step-1e-9) * step; v <= hi+step*1e-9; v += step {
		out = append(out, math.Round(v/step)*step)
		if len(out) > 50 {
			break
		}
	}
	return out
}

// fmtNum prints a value with about three significant digits.
func fmtNum(x float64) string {
	switch ax := math.Abs(x); {
	case x == 0:
		return "0"
	case ax >= 1000:
		return strconv.FormatFloat(x, 'f', 0, 64)
	case ax >= 100:
		return strconv.FormatFloat(x, 'f', 0, 64)
	case ax >= 10:
		return strings.TrimSuffix(strconv.FormatFloat(x, 'f', 1, 64), ".0")
	case ax >= 1:
		return strings.TrimRight(strings.TrimRight(strconv.FormatFloat(x, 'f', 2, 64), "0"), ".")
	case ax >= 0.01:
		return strings.TrimRight(strings.TrimRight(strconv.FormatFloat(x, 'f', 3, 64), "0"), ".")
	default:
		return strconv.FormatFloat(x, 'g', 2, 64)
	}
}

// fmtBytes prints a size in B, KB or MB (powers of 1024).
func fmtBytes(n float64) string {
	switch {
	case n >= 1<<20:
		return fmtNum(n/(1<<20)) + " MB"
	case n >= 1<<10:
		return fmtNum(n/(1<<10)) + " KB"
	}
	return fmtNum(n) + " B"
}

// fmtNs prints a duration given in nanoseconds.
func fmtNs(ns float64) string {
	switch {
	case ns >= 1e9:
		return fmtNum(ns/1e9) + " s"
	case ns >= 1e6:
		return fmtNum(ns/1e6) + " ms"
	case ns >= 1e3:
		return fmtNum(ns/1e3) + " µs"
	}
	return fmtNum(ns) + " ns"
}

// fmtSeconds prints seconds as "41.2 s" or "3 min 05 s".
func fmtSeconds(sec float64) string {
	if sec < 100 {
		return fmtNum(sec) + " s"
	}
	m := int(sec) / 60
	return fmt.Sprintf("%d min %02d s", m, int(sec)-60*m)
}
