// Package ingest is the first function of the chain: it reads a dropped data
// file, validates it against its dataset's schema and hands clean rows to
// featurize.
//
// Trigger (entry point "Ingest", registered in init with
// functions.CloudEvent):
//   - google.cloud.storage.object.v1.finalized on the raw bucket: the object
//     <dataset>/<file>;
//   - google.cloud.pubsub.topic.v1.messagePublished on pipeline-trigger with a
//     message whose step is "ingest" and that names an object
//     (gs://bucket/name, optional generation) or a run id (re-ingest that
//     run's object). Messages for other steps are ignored. A run is bound
//     to the object generation it was created for: a message with a run id
//     reads the generation the run records (never the latest; mega trigger
//     carries it), and a message naming another object or generation for
//     that run fails it with the reason. The raw bucket is versioned (in
//     Terraform and the emulators), so older generations stay readable.
//
// Inputs: the object (read at its generation, streaming, never changed or
// deleted), its "label" metadata (the label column; mega drop --label sets
// it), and the dataset's stored schema (Firestore collection "datasets",
// document <dataset>, holding the schema JSON of package dataset). The first
// drop of a dataset infers the schema (one extra pass over the file) and
// stores it; later drops are validated against it. A person may state the
// schema instead with mega drop --schema FILE (StoreSchema: the same schema
// again is fine, a different one is refused naming the conflicting
// columns). The step's reason names the quarantined rows per column, and,
// when most rows of a later drop fail, says the file conflicts with the
// stored schema in those columns. The run id is
// runs.IDForObject(dataset, bucket, name, generation).
//
// Outputs, in the artifacts bucket under runs/<run id>/ingest/ (the same
// input always writes the same names):
//   - clean.mgds: the clean rows in package dataset's compact format;
//   - quarantine.jsonl: one JSON line per bad row with its line number and
//     reason (empty when every row is good);
//   - schema.json: the schema the file was checked against.
//
// The run record's ingest step gets counts (rows, clean, quarantined) and
// the outputs; then dataset-ready is published with the run id, dataset,
// input object#generation, the outputs as artifacts, and params rows,
// format, task, label and schema_inferred.
//
// Unreadable files end the run failed with a readable reason and return nil
// (no retry): an empty file (0 bytes, only a BOM or blanks), a header-only
// file ("no data rows"), binary data or text that is not UTF-8 (including
// UTF-16), a header that does not match the stored schema, a missing label
// column, Parquet (refused: the Parquet reader of package dataset is not
// safe on files from anyone), a file where every row is bad, and an
// object name without a <dataset>/ folder. CRLF line ends and a UTF-8 BOM
// are read normally.
//
// Retry policy (package step): a malformed event is dropped; a permanent
// failure above is recorded and not retried; any other error (Storage,
// Pub/Sub or Firestore unreachable, a publish that times out) releases the
// idempotency claim and is returned, so the delivery is retried, and the
// retry redoes the work over the same object names. The ledger (event key =
// function + bucket/name#generation) makes a redelivery of completed work a
// no-op, so one drop gives one run and one dataset-ready message.
package ingest
