// Package collect files the inference service's prediction log for the
// drift check.
//
// Trigger (entry point "Collect", registered in init with
// functions.CloudEvent): google.cloud.pubsub.topic.v1.messagePublished on
// the predictions topic. Each message is a batch published by package
// serve's Sampler: JSON lines (serve.Sample) with the time, model, version,
// raw features by name, outputs and label of one prediction.
//
// Outputs, in the artifacts bucket, per model version and window (the drift
// check's period, 5 minutes, DefaultWindow; MEGA_COLLECT_WINDOW overrides)
// that the batch's rows fall in:
//   - predictions/<model>/<window start>/<batch id>-<version>.jsonl: the
//     sampled rows as they came;
//   - predictions/<model>/<window start>/<batch id>-<version>.profile.json:
//     the rows folded into a mergeable drift.Window against the version's
//     reference profile (registry artifact "reference", written by featurize
//     with train's prediction profile): counts on the reference bins,
//     category counts, moments, the prediction distribution. The drift
//     check merges a window's profiles instead of rescanning the rows, so
//     its cost does not grow with the request rate. Versions without a
//     reference get rows only.
//
// The window start is written 20060102T1504Z (UTC); object metadata carries
// model, version, window_start, window_end and rows.
//
// Idempotency: the batch id is the Pub/Sub message id, and both objects are
// a pure function of the message, so a redelivery rewrites the same objects
// with the same content and nothing is counted twice. No ledger is needed.
//
// Retry policy: an event that is not a Pub/Sub message, or has no message
// id, is logged and dropped (nil); unreadable lines are skipped and counted
// in the log; a Cloud Storage or Firestore failure is returned, so the
// delivery is retried.
package collect
