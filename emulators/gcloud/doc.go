// Package gcloud starts and stops the real gcloud Pub/Sub and Firestore
// emulators (the Java programs shipped with the Google Cloud CLI) for tests
// and for the local stack.
//
// Each emulator runs in its own process group on 127.0.0.1, on a given port
// or on a free one, with its output in a log file. It is ready when its log
// says so and GET / answers "Ok"; it is stopped by signalling its process
// group and waiting for the process to exit.
//
// The emulators are found under the SDK root: $MEGA_GCLOUD_SDK_ROOT or
// $CLOUDSDK_ROOT_DIR when set, else the directory that
// `gcloud info --format=value(installation.sdk_root)` prints. When the
// emulator components are absent, Start fails with an error that wraps
// ErrNotInstalled and says how to install them.
package gcloud
