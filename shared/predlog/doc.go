// Package predlog is the prediction log: the sampled predictions the
// inference service publishes (Sample, one JSON line each) and the names of
// the objects collect writes them to and the drift check reads them from.
// Both functions use these names, so they cannot drift apart.
//
// Layout, in the artifacts bucket:
//
//	predictions/<model>/<window start>/<batch id>-<version>.jsonl    the rows of one batch (Rows)
//	predictions/<model>/<window start>/<version>.window.json         the window's aggregate profile (Aggregate)
//	predictions/<model>/<window start>/<batch id>-<version>.profile.json  per-batch profiles written before aggregates (Profile)
//
// The window start is the window's first minute in UTC, written
// 20060102T1504Z. Versions and batch ids go through SafeName: every byte
// other than ASCII letters, digits, '-', '_' and '.' becomes '_', and the
// result is cut at MaxNameLen bytes. Model names are used as they are;
// collect accepts only models whose name SafeName leaves unchanged.
//
// Parse reads a name back. A batch id and a version may both hold '-', so
// Parse cannot split "<batch id>-<version>" by itself; Name.HasVersion says
// whether a rows or profile object belongs to a version.
package predlog
