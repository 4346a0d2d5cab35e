// Package tabular holds the few types that describe a labelled table as a
// learning problem, shared by feature building (shared/features) and the
// network (shared/nn): the Task, a Split of rows with labels, and the
// per-feature Normalization with its statistics.
//
// They live apart from nn so that features, and through it featurize and the
// inference service, do not link the trainer. nn names them as aliases
// (nn.Task, nn.Split, nn.Normalization), so code that trains need not
// import both packages.
package tabular
