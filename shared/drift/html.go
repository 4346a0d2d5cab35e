package drift

import (
	"fmt"
	"html/template"
	"io"
	"math"
)

// WriteHTML renders the report as one self-contained HTML page: a summary,
// a table of the columns, and for each column inline SVG bars of the
// reference and window shares per bin or category. It loads nothing from the
// network.
func (r *Report) WriteHTML(w io.Writer) error {
	cols := append([]FeatureResult(nil), r.Features...)
	if r.Prediction != nil {
		cols = append(cols, *r.Prediction)
	}
	if err := reportPage.Execute(w, struct {
		*Report
		Columns []FeatureResult
	}{r, cols}); err != nil {
		return fmt.Errorf("write report html: %w", err)
	}
	return nil
}

type bar struct {
	Label          string
	Y, RefW, CurW  float64
	RefPct, CurPct string
}

const (
	chartWidth = 360.0
	rowHeight  = 24.0
	labelWidth = 130.0
)

// bars lays out one chart; the largest share spans the chart width.
func bars(bs []BinShare) []bar {
	top := 0.0
	for _, b := range bs {
		top = math.Max(top, math.Max(b.Ref, b.Current))
	}
	if !(top > 0) {
		top = 1
	}
	out := make([]bar, len(bs))
	for i, b := range bs {
		out[i] = bar{
			Label: b.Label, Y: float64(i) * rowHeight,
			RefW:   math.Max(0.5, b.Ref/top*chartWidth),
			CurW:   math.Max(0.5, b.Current/top*chartWidth),
			RefPct: fmt.Sprintf("%.1f%%", 100*b.Ref), CurPct: fmt.Sprintf("%.1f%%", 100*b.Current),
		}
	}
	return out
}

var reportPage = template.Must(template.New("report").Funcs(template.FuncMap{
	"bars":   bars,
	"height": func(bs []BinShare) float64 { return float64(len(bs))*rowHeight + 4 },
	"f":      func(x float64) string { return fmt.Sprintf("%.4g", x) },
	"pct":    func(x float64) string { return fmt.Sprintf("%.0f%%", 100*x) },
	"add":    func(a, b float64) float64 { return a + b },
	"lw":     func() float64 { return labelWidth },
	"w":      func() float64 { return labelWidth + chartWidth + 60 },
}).Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Drift report {{.Reference}}</title>
<style>
body{font:14px system-ui,sans-serif;margin:2em;color:#222}
table{border-collapse:collapse}td,th{padding:3px 10px;border-bottom:1px solid #ddd;text-align:left}
.drift{color:#b00020;font-weight:bold}.no_drift{color:#1b5e20}.insufficient_data{color:#777}
.ref{fill:#5b8def}.cur{fill:#f08c3a}svg text{font-size:11px}
</style></head><body>
<h1>Drift report</h1>
<p>Reference <code>{{.Reference}}</code>, {{.Rows}} window rows, {{.Path}} path.
{{range $k, $v := .Labels}} {{$k}}=<code>{{$v}}</code>{{end}}</p>
<p class="{{if .DatasetDrift}}drift{{else}}no_drift{{end}}">Dataset {{if .DatasetDrift}}drifted{{else}}did not drift{{end}}:
{{.Drifted}} of {{.Evaluated}} evaluated features drifted ({{pct .DriftShare}}; threshold {{pct .Policy.DriftShare}}).</p>
<table><tr><th>column</th><th>kind</th><th>method</th><th>statistic</th><th>p-value</th><th>threshold</th><th>verdict</th><th>count</th><th>missing</th></tr>
{{range .Columns}}<tr><td>{{.Feature}}</td><td>{{.Kind}}</td><td>{{.Method}}</td><td>{{f .Statistic}}</td><td>{{with .PValue}}{{f .}}{{end}}</td><td>{{f .Threshold}}</td><td class="{{.Verdict}}">{{.Verdict}}</td><td>{{.Count}}</td><td>{{.Missing}}</td></tr>
{{end}}</table>
<p><svg width="220" height="16"><rect class="ref" x="0" y="3" width="12" height="10"/><text x="16" y="12">reference</text><rect class="cur" x="100" y="3" width="12" height="10"/><text x="116" y="12">window</text></svg></p>
{{range .Columns}}{{if .Bins}}<h3>{{.Feature}} <span class="{{.Verdict}}">{{.Verdict}}</span></h3>
<svg role="img" aria-label="{{.Feature}} shares" width="{{w}}" height="{{height .Bins}}">
{{range bars .Bins}}<g transform="translate(0,{{.Y}})"><text x="0" y="14">{{.Label}}</text>
<rect class="ref" x="{{lw}}" y="2" width="{{.RefW}}" height="9"><title>reference {{.RefPct}}</title></rect>
<rect class="cur" x="{{lw}}" y="12" width="{{.CurW}}" height="9"><title>window {{.CurPct}}</title></rect>
<text x="{{add lw .RefW | add 4}}" y="10">{{.RefPct}}</text><text x="{{add lw .CurW | add 4}}" y="21">{{.CurPct}}</text></g>
{{end}}</svg>
{{end}}{{end}}</body></html>
`))
