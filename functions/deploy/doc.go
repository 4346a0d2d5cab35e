// Package deploy is the last function of the chain: it moves the serving
// pointer.
//
// Trigger: a message on model-quantized (published by quantize when the gate
// passed), entry point Deploy.
//
// Work: registry.Promote moves models/<name>.serving to the version, in a
// Firestore transaction, only if its gate passed and its int8 artifact has a
// sha256; the previous version is retired. Every serving instance watches the
// pointer and swaps to the new model (see shared/serve). Promoting the version
// already serving changes nothing, so a replay is harmless.
//
// Publishes model-deployed; the run ends "deployed".
package deploy
