// Package collect files the inference service's prediction log for the
// drift check.
//
// Trigger (entry point "Collect", registered in init with
// functions.CloudEvent): google.cloud.pubsub.topic.v1.messagePublished on
// the predictions topic. Each message is a batch published by package
// serve's Sampler: JSON lines (predlog.Sample) with the time, model, version,
// raw features by name, outputs and label of one prediction.
//
// Outputs, in the artifacts bucket, per model version and window (the drift
// check's period, 5 minutes, DefaultWindow; MEGA_COLLECT_WINDOW overrides)
// that the batch's rows fall in:
//   - predictions/<model>/<window start>/<batch id>-<version>.jsonl: the
//     sampled rows as they came (the raw sample, for labelling and audits);
//   - predictions/<model>/<window start>/<version>.window.json: the window's
//     aggregate, ONE per model version and window (type Aggregate): every
//     batch of the window folded against the version's reference profile
//     (registry artifact "reference", written by featurize with train's
//     prediction profile) into one mergeable drift.Window (counts on the
//     reference bins, category counts, moments, the prediction
//     distribution), plus the ids of the batches merged into it. Its JSON is
//     a drift.Window with the extra fields "batches" and
//     "unrecorded_batches", so drift.ParseWindow reads it. Its size depends
//     on the reference (about 0.72 MB of JSON with 30 numeric features once
//     the bins fill; BenchmarkCheckPeriod in driftcheck), not on the
//     traffic, except for 8 bytes (11 of base64) per recorded batch id. The
//     drift check reads one aggregate per window instead of one profile per
//     batch, so its cost does not grow with the request rate. Versions
//     without a reference get rows only.
//
// Before this layout, collect wrote one <batch id>-<version>.profile.json
// per batch; the drift check still merges those for windows that have no
// aggregate. Collect no longer writes them.
//
// The window start is written 20060102T1504Z (UTC); object metadata carries
// model, version, window_start, window_end and rows (and batches on the
// aggregate).
//
// # Merging a batch into the aggregate
//
// Read the aggregate and its generation (blob.Store.ReadGen); if it records
// the batch id, stop; else merge the batch's window and write it back with
// ifGenerationMatch on that generation (DoesNotExist when there was none:
// blob.Store.PutIf). When another writer won (HTTP 412), start again after a
// jittered exponential backoff (25 ms doubling, at most 1 s, times [0.5,
// 1.5)); after Attempts tries (DefaultAttempts, 12: about 6 s) Handle
// returns ErrConflict and Pub/Sub redelivers the batch later.
//
// Group commit: batches of the same aggregate that reach one collect
// instance while a merge of it runs wait, and the next merge folds them all
// in one read-merge-write (run by the goroutine of the oldest waiting
// batch); each delivery returns when the write holding its batch succeeded.
// One instance thus writes an aggregate at most once per round trip,
// whatever its concurrency.
//
// Throughput: Cloud Storage accepts about one write per second to one object
// name, and the sampler sends about 2 batches per second per serving
// instance. Group commit absorbs that within a collect instance that serves
// concurrent requests (Cloud Functions gen2 concurrency > 1); across collect
// instances the writes contend, and above about one write per second
// conflicts grow and batches wait for Pub/Sub's redelivery (delayed, not
// lost). Sharding the aggregate (k objects per window, the check reading k)
// is the next step if that limit is reached.
//
// # Idempotency
//
// The batch id is the Pub/Sub message id. The rows object is a pure
// function of the message, so a redelivery rewrites it with the same bytes.
// The aggregate records the FNV-64a hash of each merged batch id (sorted,
// at most MaxBatchIDs = 16384 per window; a 64-bit hash collision among them
// has probability about 7e-12), and a batch it records is not merged again,
// so a redelivered batch changes nothing. Beyond MaxBatchIDs, a batch is
// merged and counted in unrecorded_batches but its id is not kept: a
// redelivery of it would be counted twice (the merge rate limit above makes
// this unreachable in practice: 16384 merges take over 4 hours).
//
// Retry policy: an event that is not a Pub/Sub message, or has no message
// id, is logged and dropped (nil); unreadable lines are skipped and counted
// in the log; a Cloud Storage or Firestore failure, or ErrConflict, is
// returned, so the delivery is retried. An aggregate that does not parse
// against the reference is logged and left alone (the batch's rows are
// filed; the profile is not merged), as no retry can fix it.
package collect
