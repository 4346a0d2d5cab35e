// Package report presents one run of the pipeline: a self-contained HTML
// report, or the same data as a slide deck, that `mega report` writes.
//
// Gather collects a Data from small interfaces (RunSource, VersionSource,
// ArtifactSource, DriftSource, AlertSource): the run record (shared/runs),
// the registry version the run produced (shared/registry), that version's
// benchmark.json (written by functions/quantize: teacher, student and int8
// sizes, scores with confusion matrices, agreement, latency, and the gate's
// verdict), the model's drift checks (functions/driftcheck's summaries in
// Firestore collection "drift"), and the alert incidents about the model
// (the Monitoring emulator's /api/incidents). *runs.Store, *registry.Registry
// and *step.Env satisfy the first three as they are; cmd/mega adapts the
// other two. Only a missing run is an error: a source that fails or has
// nothing yet leaves its section empty with the reason in Data.Gaps, and the
// section says "no data yet" and why. Data is JSON (`mega report --json`).
//
// Render writes one HTML file that needs no network: no external scripts,
// styles, fonts or images; every chart is inline SVG drawn here, and every
// string from the data is escaped. The report shows the pipeline timeline (a
// Gantt chart of the steps), teacher / student / int8 size, latency and
// accuracy side by side with the size ratios and the gate, the confusion
// matrix of the int8 model as a heat map, the dataset drift share and the
// four most drifting features over time against their thresholds, and the
// alert incidents from open to close beside the drift checks. Each chart has
// a heading that says what it shows and a one-line takeaway computed from
// the data. The palette is Okabe and Ito's colour-blind safe set, which also
// prints well.
//
// With Options.Slides, Render writes a deck of seven slides for a 4-5 minute
// talk (overview with the key figures, architecture diagram, what was built,
// this run's timeline, benchmark results, drift and alerts, next steps).
// Arrow keys, Page Up/Down, space, Home and End move between slides; #N in
// the address opens slide N; printing gives one slide per page. The only
// script is that navigation, inline; without it the slides show one below
// the other.
//
// Drift charts plot, per feature, the statistic of the method its latest
// verdict used (drift above the threshold), or for the p-value methods (KS,
// chi-square) the p-value on a log scale (drift below the threshold), taken
// from each check's statistics. Features are ranked by how far they went
// past their thresholds (statistic / threshold, or threshold / p-value).
//
// Tests check the structure (the page parses with golang.org/x/net/html,
// one <svg> per chart, no http(s) address or resource attribute, hostile
// strings stay text) and the takeaways against figures worked out by hand
// from testdata/fixture.py. In headless Chromium (Debian's chromium; the
// tests skip without it) the page and the deck load with no console
// message, the charts are in the rendered DOM, the deck prints on one page
// per slide, and the arrow keys, Home, End and Page Down move between slides
// (driven over the DevTools protocol). MEGA_REPORT_SCREENSHOTS=DIR keeps PNG
// screenshots of the report and of slides 1, 2, 4, 5 and 6.
package report
