package report

import "fmt"

// architecture draws the chain: buckets, functions, topics, Cloud Run,
// Firestore, Monitoring and Kubeflow.
func architecture() string {
	const title = "Architecture: buckets, Cloud Functions, Pub/Sub topics, Cloud Run, Firestore, Monitoring, Kubeflow"
	s := newSVG(960, 430, title)
	s.raw(`<defs><marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="#444"/></marker></defs>`)
	type box struct {
		x, y, w, h float64
		kind, name string
		sub        string
	}
	fill := map[string]string{"bucket": "#FFF1C9", "fn": "#DCEBF7", "run": "#D9F0E6", "store": "#EEEEEE", "ext": "#F6E1EE", "mon": "#FBE3D6"}
	stroke := map[string]string{"bucket": "#B58B00", "fn": colTeacher, "run": colInt8, "store": "#777777", "ext": colReject, "mon": colDrift}
	draw := func(b box) {
		dash := ""
		if b.kind == "ext" {
			dash = ` stroke-dasharray="5 3"`
		}
		fmt.Fprintf(&s.b, `<rect x="%s" y="%s" width="%s" height="%s" rx="6" fill="%s" stroke="%s" stroke-width="1.5"%s/>`,
			num(b.x), num(b.y), num(b.w), num(b.h), fill[b.kind], stroke[b.kind], dash)
		cy := b.y + b.h/2 + 4
		if b.sub != "" {
			cy -= 6
			s.text(b.x+b.w/2, cy+15, "middle", "archsub", b.sub)
		}
		s.text(b.x+b.w/2, cy, "middle", "archname", b.name)
	}
	arrow := func(x1, y1, x2, y2 float64, label string, dashed bool) {
		d := ""
		if dashed {
			d = ` stroke-dasharray="4 3"`
		}
		fmt.Fprintf(&s.b, `<line x1="%s" y1="%s" x2="%s" y2="%s" stroke="#444" stroke-width="1.4" marker-end="url(#arrow)"%s/>`,
			num(x1), num(y1), num(x2), num(y2), d)
		if label != "" {
			s.text((x1+x2)/2, (y1+y2)/2-5, "middle", "topic", label)
		}
	}
	// Row 1: the training chain.
	const r1, bh = 44.0, 46.0
	raw := box{10, r1, 92, bh, "bucket", "raw bucket", "drop CSV/JSONL"}
	chain := []box{raw}
	names := []string{"ingest", "featurize", "train", "distill", "quantize", "deploy"}
	subs := []string{"validate", "split, profile", "MLP teacher", "student, prune", "int8, gate", "move pointer"}
	for i, n := range names {
		chain = append(chain, box{128 + float64(i)*138, r1, 98, bh, "fn", n, subs[i]})
	}
	topics := []string{"finalize", "dataset-ready", "features-ready", "model-trained", "model-distilled", "model-quantized"}
	for i := 1; i < len(chain); i++ {
		a, b := chain[i-1], chain[i]
		arrow(a.x+a.w, r1+bh/2, b.x, r1+bh/2, "", false)
		// Topic names are wider than the gaps: write them above the row.
		s.text((a.x+a.w+b.x)/2, r1-8, "middle", "topic", topics[i-1])
	}
	for _, b := range chain {
		draw(b)
	}
	// Row 2: stores and side systems.
	const r2 = 150.0
	kfp := box{404, r2, 118, bh, "ext", "Kubeflow", "Vertex Pipelines"}
	models := box{672, r2, 116, bh, "bucket", "models bucket", "drop .tflite"}
	art := box{128, r2, 240, bh, "bucket", "artifacts bucket", "datasets, models, benchmark, profiles"}
	fs := box{818, r2, 132, bh, "store", "Firestore", "runs, registry, drift"}
	for _, b := range []box{kfp, models, art, fs} {
		draw(b)
	}
	arrow(chain[3].x+chain[3].w/2, r1+bh, kfp.x+kfp.w/2, r2, "", true)
	arrow(models.x+models.w/2, r2, chain[5].x+chain[5].w/2, r1+bh, "finalize", false)
	arrow(chain[2].x+chain[2].w/2, r1+bh, art.x+art.w/2+40, r2, "", true)
	arrow(chain[6].x+chain[6].w/2, r1+bh, fs.x+fs.w/2, r2, "serving pointer", false)
	// Row 3: serving and monitoring.
	const r3 = 270.0
	serve := box{818, r3, 132, bh, "run", "Cloud Run", "mega serve"}
	collect := box{610, r3, 110, bh, "fn", "collect", "window profiles"}
	drift := box{404, r3, 118, bh, "fn", "driftcheck", "PSI, JS, KS, ..."}
	sched := box{390, 370, 146, 40, "ext", "Cloud Scheduler", ""}
	mon := box{128, r3, 190, bh, "mon", "Cloud Monitoring", "metrics, alert policies"}
	alertT := box{10, 370, 200, 40, "store", "incidents → drift-alerts", ""}
	users := box{818, 370, 132, 40, "ext", "applications", ""}
	for _, b := range []box{serve, collect, drift, sched, mon, alertT, users} {
		draw(b)
	}
	arrow(fs.x+fs.w/2, r2+bh, serve.x+serve.w/2, r3, "watch", false)
	arrow(users.x+users.w/2, 370, serve.x+serve.w/2, r3+bh, "", false)
	arrow(serve.x, r3+bh/2, collect.x+collect.w, r3+bh/2, "predictions", false)
	arrow(collect.x+collect.w/2, r3, art.x+art.w-10, r2+bh, "", true)
	arrow(sched.x+sched.w/2, 370, drift.x+drift.w/2, r3+bh, "drift-tick", false)
	arrow(drift.x, r3+bh/2, mon.x+mon.w, r3+bh/2, "metrics", false)
	arrow(mon.x+mon.w/2, r3+bh, alertT.x+alertT.w/2+40, 370, "", false)
	arrow(art.x+art.w/2+60, r2+bh, drift.x+20, r3, "", true)
	return s.String()
}
