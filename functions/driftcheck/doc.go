// Package driftcheck is the scheduled drift check: it compares each serving
// model's recent traffic with the training data and reports, measures and
// alerts.
//
// Trigger (entry point "DriftCheck", registered in init with
// functions.CloudEvent): google.cloud.pubsub.topic.v1.messagePublished on
// drift-tick, published by Cloud Scheduler (terraform/scheduler.tf) and
// locally by emulators/scheduler on config.DriftSchedule (every 5 minutes),
// and by `mega drift --now`. The tick's data is {"step":"driftcheck"};
// {"step":"driftcheck","model":"NAME"} checks one model. Without a model,
// every model with a serving pointer is checked.
//
// # Check time and period
//
// The check time T is the tick's publish time (UTC, whole seconds), so a
// redelivered tick checks the same period and writes the same names; its id
// is T formatted 20060102T150405Z. A tick without a publish time (nor a
// CloudEvent time) is checked at Checker.Now (default time.Now), the clock
// that also dates the model's document; tests set it. The period is
// [T-P, T], P = MEGA_DRIFT_PERIOD (default 5m, the cron period). Package collect folds
// each prediction batch into one aggregate profile per model version and
// window of length W = MEGA_COLLECT_WINDOW (default 5m, aligned to UTC):
// predictions/<model>/<window start 20060102T1504Z>/<version>.window.json
// (predlog.AggregateName). The check merges the serving version's aggregates of
// every window that overlaps the period: start in (T-P-W, T], one or two
// objects with P = W. A window without an aggregate was written by
// collect's former layout (one profile per batch): the check then lists the
// window and merges its <batch>-<version>.profile.json objects in name
// order. A window that has an aggregate is read from it alone (per-batch
// profiles the former collect wrote in the same window, before the new one
// was deployed, are not counted). With P = W = 5m a scheduled tick at :05
// merges the window [:00, :05) that just closed and the first moments of
// [:05, :10); a tick from `mega drift --now` at :07 merges [:00, :05) and
// the partial [:05, :10). Batches that reach collect after the check (the
// sampler's flush lag) are not checked again. Profiles of another
// reference, or unreadable ones, are skipped with a warning and named in the
// summary ("skipped_profiles"); "profiles" counts the objects merged.
//
// # Outputs, per model
//
//   - drift/<model>/<check id>/report.json and report.html in the artifacts
//     bucket: drift.Check's report of the merged window against the serving
//     version's reference profile (registry artifact "reference", with the
//     model's prediction distribution), labelled with model, version, check
//     time, period and the number of profiles merged;
//   - Firestore: collection config.CollDrift, document <model> (field
//     "latest", the newest check by check time) and its subcollection
//     "checks", document <check id>: a Summary (time, version, rows, dataset
//     drift share, verdict, per-feature method, statistic, threshold and
//     verdict, report URIs). Latest and History read them (`mega drift`, the
//     report generator);
//   - Cloud Monitoring (package metrics): drift/statistic per feature
//     (and "prediction") and method (psi, jensenshannon, wasserstein, ks,
//     chisquare, linf), drift/drifted per feature, drift/dataset_share, all at
//     time T. Features with no verdict (too few values) get no points; a check
//     with no verdict at all ("insufficient_data": no traffic or too few rows)
//     pushes nothing, so open incidents stay open instead of being closed by
//     a zero that means "no data" (they auto-close after 30 minutes);
//   - drift-alerts, when the dataset drifts (share >= the policy's 0.5): an
//     Alert JSON message (model, version, share, top drifted features,
//     report URIs) with attributes source=driftcheck, model, version. The
//     Monitoring alert policies send their incident notifications to the
//     same topic; the attribute tells them apart.
//
// # Cost
//
// With aggregates the check reads one object per window, whatever the
// request rate: about 0.72 MB per window with 30 numeric features at the
// sampler's defaults (600 batches of 500 rows per 5 minutes), 0.81 MB at
// ten times that traffic (the recorded batch ids), and about 0.014 CPU
// seconds per check at both rates (BenchmarkCheckPeriod, layout=aggregate).
// The former per-batch layout took 600 profiles of about 336 KB and 4.6 CPU
// seconds per check at 1x, ten times that at 10x (layout=per-batch). The
// work moved to collect, which reads and rewrites the aggregate per merge
// (BenchmarkBatch in package collect). Per-batch profiles are read and
// decoded 8 at a time and merged in name order, so memory holds at most 8
// decoded profiles.
//
// # Closed loop (off by default)
//
// MEGA_DRIFT_RETRAIN=1: when a model's dataset starts drifting (the previous
// check of the model did not drift), publish a pipeline-trigger asking ingest
// to re-ingest the serving version's training drop (the source object of the
// version's run) under a new run id, retrain-<model>-<check id>, so the
// chain trains, distills, quantizes and, if the gate passes, deploys a new
// version. Retraining needs labelled data: the inference service logs
// predicted labels, not outcomes, so the traffic itself cannot be trained on.
// The loop therefore only re-runs the last training data (useful after a
// change of the training configuration or code); to learn the new
// distribution, label the sampled rows (predictions/<model>/.../*.jsonl)
// and drop them with `mega drop`, which starts the chain by itself.
//
// # Policy
//
// drift.DefaultPolicy (Evidently's rules), or MEGA_DRIFT_POLICY=vertex for
// drift.VertexPolicy.
//
// # Idempotency and retries
//
// Each model's check is one ledger key, DriftCheck-<check id>-<model>: a
// redelivered tick whose check completed does nothing. Within a check, the
// metrics push, the alert and the retrain trigger have keys of their own, so
// a retry after a later failure pushes and publishes nothing twice; the
// report objects and the summary documents have deterministic names and are
// rewritten. A tick that is not a Pub/Sub message or has unreadable data is
// logged and dropped (nil). A model without a serving version, a reference
// or a readable reference gets a summary with verdict "no_reference", any
// other permanent failure one with verdict "error" and the reason; neither is
// retried. Storage, Firestore or Pub/Sub failures are returned, so the
// delivery is retried (the checks that completed are skipped). Metrics are
// best effort: a failed push is logged and recorded in the summary
// (metrics_error), not retried, because a point already accepted cannot be
// written again and the next check pushes fresh values.
package driftcheck
