// Package serve is Megapipe's inference service (`mega serve`, on Cloud Run):
// it serves the registry's int8 TensorFlow Lite models with the pure-Go
// interpreter (package infer) over three protocols on one port, keeps each
// model in step with its serving pointer, and logs a sample of predictions
// for the drift check.
//
// # Models
//
// A model version is its served artifact (registry.ServedArtifact, "int8")
// and, beside it in the version's Artifacts, the feature spec
// (FeaturesArtifact, "features": features.json of package features), which
// names the raw features, turns them into the model's input vector (one-hot
// categories, imputation of missing values) and gives the task and class
// labels. Version.Task overrides the spec's task. Without a spec the model
// takes rows of numbers in input order. The model takes one FLOAT32 input
// [batch, width] (normalization folded in) or an INT8 one, which the server
// quantizes with the input tensor's scale and zero point (round half to
// even, as TFLite's QUANTIZE); output 0 is [batch, C] class probabilities
// (multiclass), [batch, 1] the probability of class 1 (binary) or [batch, 1]
// the value (regression), dequantized when INT8.
//
// # Lifecycle
//
// Loader.Start loads the serving version of every model (or those of
// MEGA_SERVE_MODELS): it reads the artifact, checks its sha256 against the
// pointer, parses it, prepares a bounded pool of interpreters and runs each
// once. Loader.Watch follows the pointers (registry.Watch: a Firestore
// listener, polling as fallback, so every Cloud Run instance learns of a
// move) and loads a new version beside the serving one; Server.Install then
// swaps an atomic pointer, so requests already running finish on the old
// version and none fails. A corrupt or mismatching artifact is refused,
// logged and counted (Counters.LoadFailures) while the old version keeps
// serving. The replaced version stays reachable by explicit version until
// the next swap. A model with nothing loaded answers 503 with the reason.
//
// # Protocols
//
// TensorFlow Serving REST: POST /v1/models/{name}[/versions/{n}]:predict
// with {"instances": [...]} (each instance a list of raw values in feature
// order, or an object keyed by feature name) answering {"predictions":
// [...]}, or {"inputs": ...} (columnar: an object of feature -> values, or a
// list of rows) answering {"outputs": {...}}; GET /v1/models/{name} (status)
// and /metadata. KServe v2 / Open Inference Protocol: POST
// /v2/models/{name}[/versions/{n}]/infer with one tensor per feature ([n] or
// [n,1], BYTES for categories) or one [n, features] tensor; GET
// /v2/health/live, /v2/health/ready, /v2/models/{name}, .../ready; the
// binary tensor data extension (advertised at GET /v2 as
// "binary_tensor_data", tritonclient's default) is read and written:
// Inference-Header-Content-Length splits the body into JSON and raw tensors,
// inputs carry parameters.binary_data_size (little-endian numbers of any
// datatype but FP16; BYTES as 4-byte length and bytes), outputs are binary
// when the request says parameters.binary_data_output or the output's
// parameters.binary_data (the answer is then application/octet-stream with
// the same header). Binary bodies have the JSON limits. Vertex AI
// custom container: {"instances": [...], "parameters": ...} on
// AIP_PREDICT_ROUTE answering {"predictions": [...], "deployedModelId": ...},
// health on AIP_HEALTH_ROUTE; its model is the one the request names
// (?model=NAME or the X-Mega-Model header), else the deployment's (a single
// MEGA_SERVE_MODELS name), else the only model loaded; with several loaded
// and none named it is a 400 listing them, never the first by name. A
// prediction is {"label", "probabilities"}
// for classifiers (binary: [1-p, p]) and {"value"} for regression; answers
// name the model and the version that produced them. Versions are the
// registry's "vN"; TensorFlow Serving and KServe see the number N.
//
// gRPC on the same port (Server.Handler: HTTP/1.1 and h2c, requests with
// content-type application/grpc go to the gRPC server, as Cloud Run's
// end-to-end HTTP/2 sends them): KServe v2 inference.GRPCInferenceService
// (ServerLive, ServerReady, ModelReady, ServerMetadata, ModelMetadata,
// ModelInfer with raw_input_contents or typed contents; the answer uses
// raw_output_contents when the request used raw inputs, as Triton does, and
// typed contents otherwise), TensorFlow Serving
// tensorflow.serving.PredictionService (Predict with TensorProto inputs
// named like the v2 ones, typed values or tensor_content, answering
// TensorProto "probabilities"/"label" or "value", output_filter honoured;
// GetModelMetadata with signature_def "serving_default") and ModelService
// GetModelStatus, and grpc.health.v1 (SERVING when /v2/health/ready is).
// Classify is not served: the models are not tf.Example classifiers, and
// Predict answers the same labels and scores. gRPC requests go through the
// REST decoder (turned into the binary tensor form), so they have the same
// limits (MaxBody is the gRPC message limit), deadline, counters and
// sampling, and their errors carry the code matching the HTTP status:
// InvalidArgument (400), NotFound (404), ResourceExhausted (413),
// Unavailable (503), Internal (500). The .proto files in pb/ declare only
// the messages served, with the official packages, names and field numbers;
// `make proto` regenerates the committed Go code.
//
// Errors are JSON {"error": "..."}: 400 naming the field (unknown or missing
// feature, wrong type, NaN or infinity, wrong shape, too many instances),
// 413 for a body over the limit, 404 for an unknown model or version, 503
// when nothing is deployed or no interpreter frees up before the deadline.
//
// # Hot path
//
// Requests are decoded by a small JSON scanner straight into per-request
// scratch taken from a pool (no tree, no boxing), encoded with the feature
// spec's rules (checked against features.Spec.EncodeObject, also by fuzzing),
// run in batches of up to MaxBatch instances on an interpreter borrowed from
// the model's pool (one interpreter per batch size bucket, made once, so
// Invoke does not allocate), and answered from an append buffer.
//
// # Prediction logging
//
// A Sampler takes a share of requests (default all) up to a rate, formats
// each instance as a JSON line (Sample) and queues it without blocking; when
// the bounded queue is full the sample is dropped and counted (the
// serving/dropped_samples metric). Run publishes the lines in batches to the
// predictions topic; functions/collect files them by time window.
package serve
