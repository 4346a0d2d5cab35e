// Package stage prepares each Cloud Function of the module for deployment.
//
// The Cloud Functions Go builder (GoogleCloudPlatform/buildpacks,
// cmd/go/functions_framework) builds the package at the root of the uploaded
// source, which must hold exactly one non-main package (a _test.go file of
// another package counts as a second one) next to a writable go.mod whose
// module path has a dot; it serves the function registered under the entry
// point name. It cannot point into a subfolder of one module. So Stage
// writes, for each package functions/<name>, a folder <out>/<name> with the
// module's go.mod and go.sum, every package of the module the function
// imports (found with `go list -deps -json`, with their embedded files), and
// a one-file root package (function.go) that blank-imports the function
// and, when the function links the module's shared/logging (every Megapipe
// function does, through the step skeleton), calls its InstallFromEnv in
// init, so the deployed function logs JSON lines with severities at
// MEGA_LOG_LEVEL, like `mega functions serve`.
// Terraform zips and deploys that folder.
//
// Verify checks a staged folder as the builder would see it: the rules
// above, `go build ./...` inside the folder alone with GOFLAGS=-mod=mod and
// GOPROXY=off (only the module cache), and a probe that asks
// functions-framework-go for the entry point with FUNCTION_TARGET, as the
// builder's generated main does.
//
// CheckLinks keeps the deployed functions lean: it lists what each function
// links (`go list -deps`) and fails when a function links another function
// package (which would register it too) or a package a rule of Links denies
// (distill and quantize must not link functions/train or the Vertex AI
// client, collect must not link the inference service, features must not
// link nn). `mega stage --verify` runs it, and so does the package test.
//
// The command line is `mega stage [--fn NAME] [-o dist/functions] [--verify]`.
package stage
