// Package training is what the steps that fit networks (train, distill,
// quantize) share: reading the feature spec and split rows a message names
// (LoadInputs), recording epoch progress in the run record (ProgressReporter),
// telling the trainer's input errors apart as permanent failures (Permanent)
// and flattening test scores into registry metrics (Metrics).
//
// It lives apart from functions/train so that distill and quantize do not
// import the train function: importing it would register Train in their
// deployed binaries and link the Vertex AI client its Kubeflow backend uses.
// shared/stage's tests check that they stay apart.
package training
