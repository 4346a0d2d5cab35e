// Package featurize is the second function of the chain.
//
// Trigger: a message on dataset-ready (published by ingest), entry point
// Featurize.
//
// Inputs: the clean rows (compact format) and the dataset schema named in the
// message's artifacts "clean" and "schema".
//
// Outputs (artifacts bucket, runs/<run>/featurize/): features.json, the
// features.Spec (deterministic 80/10/10 split by row hash, one-hot
// vocabularies, imputation, normalization statistics of the train split,
// task and classes); reference.json, the drift reference profile of the train
// split (per numeric feature count, missing, mean, std, decile bin edges and
// histogram; per categorical feature frequencies); the prediction
// distribution is added by train.
//
// Publishes features-ready with every artifact so far.
//
// Retries: a missing or unreadable artifact, or a dataset that cannot be
// split (no train rows, one class) fails the run permanently; storage and
// Pub/Sub errors are retried. Outputs have fixed names, so a redo overwrites.
package featurize
