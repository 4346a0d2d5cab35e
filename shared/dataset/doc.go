// Package dataset reads dropped data files, infers and enforces a dataset's
// schema, splits rows into clean and quarantined, and stores clean rows in a
// compact columnar format that featurize and train load fast.
//
// # Reading
//
// OpenCSV and OpenJSONL (or Open, which detects the format from the name and
// first bytes) return a RowReader that streams records: no reader holds more
// than one record, and a record is bounded by MaxLineBytes. CSVReader has the
// semantics of encoding/csv with default settings (RFC 4180 quoting, CRLF,
// empty lines skipped; checked against encoding/csv on a corpus and by a
// differential fuzz target) plus: a UTF-8 byte order mark is stripped,
// invalid UTF-8 and NUL bytes (binary data, UTF-16 text) are an error. Its
// common case (a line without quotes) slices fields out of its buffer and
// parses numbers with a no-allocation fast path that gives exactly
// strconv.ParseFloat's result (Clinger's exact case, strconv otherwise).
// Parquet: OpenParquet reads flat Parquet files through
// github.com/parquet-go/parquet-go, row group by row group, from an
// io.ReaderAt (Parquet keeps its schema in a footer, so it needs random
// access); Ingest uses it when IngestOptions.OpenAt is set and otherwise
// refuses Parquet with a clear reason. It is for trusted files only:
// parquet-go allocates what a page header declares before checking that the
// bytes exist (the same defect as nao1215/filesql#526), so a corrupt file of
// a few kilobytes can make it allocate hundreds of megabytes; FuzzParquet
// finds such inputs within a minute. OpenParquet bounds the footer length
// itself (filesql#524's case) but cannot reach the page headers. This is why
// functions/ingest, which reads files from anyone, does not enable it.
//
// Errors are typed: an *InputError (wrapping ErrEmpty, ErrNoRows,
// ErrEncoding, ErrFormat, ErrHeader, ErrSchemaMismatch, ErrNoLabel,
// ErrInference) means the file itself is unusable and retrying cannot help;
// a *RowError is one bad record; anything else is an I/O failure of the
// underlying reader, which may be retried.
//
// # Schema
//
// A Schema (JSON, one per dataset) lists every column with its type (numeric,
// categorical, label), its allowed range or values and its nullability. The
// label column is the one named by the object's "label" metadata, else the
// stored schema's, else the column named "label". Infer builds a schema from
// a first drop:
//
//   - empty values and NaN (any letter case) are missing; a column with a
//     missing value is nullable; a label is never nullable;
//   - a column is numeric when at least 95% (InferOptions.NumericShare) of
//     its values that are neither missing nor infinite parse as finite
//     floats; the others ("abc", "1.2.3") are bad values, and the cleaning
//     pass quarantines their rows with a reason. One bad value in a first
//     drop therefore cannot turn a numeric column into a category (issue
//     17). Infinite numbers (inf, -Infinity, 1e999) are bad values, never
//     numbers nor categories. A column of all-missing values is numeric.
//     Any other column is categorical with its sorted vocabulary, at most
//     MaxCategories values (1000; more is an inference error: an id or free
//     text is no feature);
//   - numeric ranges are widened, not left open: the observed [lo, hi]
//     becomes [lo - 0.5w, hi + 0.5w] with w = hi - lo (max(|lo|, 1) for a
//     constant column), and a column never negative keeps 0 as its minimum.
//     The margin is InferOptions.RangeMargin; a negative margin leaves
//     ranges open. The observed bounds are kept in the schema for people;
//   - a label of whole numbers with at most 50 distinct values, or of text,
//     is a classification label whose classes are sorted (numerically, as
//     canonical numbers, for numeric labels: "1" and "1.0" are one class);
//     any other numeric label is a regression target.
//
// A person may state the schema instead (mega drop --schema FILE stores it
// before the first drop); Schema.Conflicts lists, per column, how two
// schemas differ, and a stated schema that conflicts with a stored one is
// refused with that list.
//
// Later drops are checked by a Validator: columns are matched by name (any
// order, but exactly the schema's columns; a mismatch names every extra and
// every missing column at once), and each record either gives
// values or one *RowError with one readable reason (wrong field count, not a
// number, not finite, empty or NaN where not nullable, outside the range,
// unknown category or class, malformed quotes). Counts.Columns tallies the
// quarantined rows per column and Counts.Summary says it in one line, which
// ingest puts in the run's reason.
//
// # The compact format
//
// Clean rows are stored in a small documented binary format (format.go, file
// suffix .mgds) rather than Parquet: the later steps need exactly one thing,
// loading whole columns into float32 and int32 slices, and this format is
// those slices on disk (little-endian float32 for numeric columns and
// regression labels, 1-, 2- or 4-byte dictionary codes for categoricals and
// classes), in blocks of up to BlockRows rows each with a CRC-32C, after a
// header that embeds the schema JSON and before a footer with the row and
// block counts. It is written and read in one streaming pass with memory
// bounded by one block, every corruption (truncation, a flipped byte,
// trailing data) is an ErrCorrupt error, and the reader is fuzzed. Parquet
// through parquet-go would bring row-group, page and encoding machinery this
// use does not need and a reader surface far larger to fuzz.
//
// Load reads a file into a Frame (column slices), optionally keeping only
// the rows a predicate selects, so featurize can hold one split at a time;
// Frame.RowHash gives a stable per-row hash to split by.
//
// # Ingest
//
// Ingest ties it together for one dropped file: infer (first drop, one extra
// pass over the file) or take the stored schema, then stream every record to
// the clean Writer or the quarantine (JSON Lines, one Quarantined per bad
// row). An empty file, a header-only file, binary or non-UTF-8 content and a
// header that does not match the schema are InputErrors. BenchmarkIngest1M
// measures 1,000,000 rows x 30 numeric columns.
package dataset
