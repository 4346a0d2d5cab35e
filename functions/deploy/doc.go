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
// already serving changes nothing, so a replay is harmless. A version older
// than the one serving is not deployed (registry.ErrOlderVersion): the run
// ends "rejected" with the reason and the rollback command; serving moves
// back only by `mega models NAME --rollback VERSION --reason WHY`
// (registry.Rollback, recorded with who and why).
//
// Publishes model-deployed; the run ends "deployed".
package deploy
