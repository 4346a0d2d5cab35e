// Package emulatortest gives tests in any package the real Pub/Sub and
// Firestore emulators and an embedded Cloud Storage.
//
// A test package opts in with a TestMain:
//
//	func TestMain(m *testing.M) { emulatortest.Main(m) }
//
// and each test calls Start:
//
//	env := emulatortest.Start(t)
//	topic := env.CreateTopic("dataset-ready")
//	ps := env.PubSub()      // a client for env.Project, closed at cleanup
//	fs := env.Firestore()
//	store := env.GCS("raw") // fake-gcs-server, finalize notifications on gcs-events
//
// When PUBSUB_EMULATOR_HOST and FIRESTORE_EMULATOR_HOST are already set (the
// Makefile or CI started emulators, or `mega local up` runs), those are used.
// Otherwise the first Start in a test binary starts both emulators on free
// ports, once, sets the two variables in the process environment, and Main
// stops them when the tests are done; the emulators also die with the test
// binary if it crashes. When the emulator binaries are absent, Start skips
// the test with the install hint; any other failure fails it.
//
// Each Start returns a fresh project id. Both emulators serve any number of
// projects, so tests are isolated from each other and from other test
// binaries sharing the same emulators, and may run in parallel.
package emulatortest
