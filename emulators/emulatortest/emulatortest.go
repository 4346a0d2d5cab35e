package emulatortest

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"cloud.google.com/go/firestore"
	"cloud.google.com/go/pubsub/v2"
	"cloud.google.com/go/pubsub/v2/apiv1/pubsubpb"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/megapipe/mega/emulators/gcloud"
	"github.com/megapipe/mega/emulators/gcs"
	"github.com/megapipe/mega/shared/config"
)

var (
	inMain   atomic.Bool
	projects atomic.Int64

	setupOnce sync.Once
	shared    struct {
		pubsubHost    string
		firestoreHost string
		started       []*gcloud.Emulator
		err           error
	}
)

// Main runs the tests of a package and then stops the emulators that Start
// started. Call it from TestMain.
func Main(m *testing.M) {
	inMain.Store(true)
	code := m.Run()
	stop()
	os.Exit(code)
}

func stop() {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var wg sync.WaitGroup
	for _, e := range shared.started {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_ = e.Stop(ctx)
		}()
	}
	wg.Wait()
}

// setup uses emulators named by the environment or starts the missing ones.
func setup() {
	shared.pubsubHost = os.Getenv("PUBSUB_EMULATOR_HOST")
	shared.firestoreHost = os.Getenv("FIRESTORE_EMULATOR_HOST")
	var kinds []gcloud.Kind
	if shared.pubsubHost == "" {
		kinds = append(kinds, gcloud.PubSub)
	}
	if shared.firestoreHost == "" {
		kinds = append(kinds, gcloud.Firestore)
	}
	if len(kinds) == 0 {
		return
	}
	if !inMain.Load() {
		shared.err = errors.New("emulatortest: add `func TestMain(m *testing.M) { emulatortest.Main(m) }` " +
			"so the emulators this package starts are stopped")
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	emus := make([]*gcloud.Emulator, len(kinds))
	errs := make([]error, len(kinds))
	var wg sync.WaitGroup
	for i, k := range kinds {
		wg.Add(1)
		go func() {
			defer wg.Done()
			emus[i], errs[i] = gcloud.Start(ctx, k, gcloud.Options{DieWithParent: true})
		}()
	}
	wg.Wait()
	for _, e := range emus {
		if e != nil {
			shared.started = append(shared.started, e)
		}
	}
	if err := errors.Join(errs...); err != nil {
		shared.err = err
		return
	}
	for _, e := range emus {
		if err := os.Setenv(e.Kind().EnvVar(), e.Addr()); err != nil {
			shared.err = err
			return
		}
		switch e.Kind() {
		case gcloud.PubSub:
			shared.pubsubHost = e.Addr()
		case gcloud.Firestore:
			shared.firestoreHost = e.Addr()
		}
	}
}

// Env is one test's view of the emulators: its own project, and clients
// that are closed when the test ends.
type Env struct {
	t             testing.TB
	Project       string
	PubSubHost    string // host:port of the Pub/Sub emulator
	FirestoreHost string // host:port of the Firestore emulator

	mu sync.Mutex
	ps *pubsub.Client
	fs *firestore.Client
}

// Start returns the emulators with a fresh project id, starting them on the
// first call in the test binary. It skips the test when the emulator
// binaries are absent.
func Start(t testing.TB) *Env {
	t.Helper()
	setupOnce.Do(setup)
	if shared.err != nil {
		if errors.Is(shared.err, gcloud.ErrNotInstalled) {
			t.Skipf("emulatortest: %v", shared.err)
		}
		t.Fatalf("emulatortest: %v", shared.err)
	}
	return &Env{
		t:             t,
		Project:       fmt.Sprintf("test-%d-%d", os.Getpid(), projects.Add(1)),
		PubSubHost:    shared.pubsubHost,
		FirestoreHost: shared.firestoreHost,
	}
}

// Vars are the environment variables that point a child process at this
// Env: the two emulator hosts and GOOGLE_CLOUD_PROJECT.
func (e *Env) Vars() []string {
	return []string{
		"PUBSUB_EMULATOR_HOST=" + e.PubSubHost,
		"FIRESTORE_EMULATOR_HOST=" + e.FirestoreHost,
		"GOOGLE_CLOUD_PROJECT=" + e.Project,
	}
}

func (e *Env) ctx() (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), 30*time.Second)
}

// PubSub returns a Pub/Sub client for the test's project.
func (e *Env) PubSub() *pubsub.Client {
	e.t.Helper()
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.ps == nil {
		c, err := pubsub.NewClient(context.Background(), e.Project)
		if err != nil {
			e.t.Fatalf("emulatortest: pubsub client: %v", err)
		}
		e.ps = c
		e.t.Cleanup(func() { _ = c.Close() })
	}
	return e.ps
}

// Firestore returns a Firestore client for the test's project.
func (e *Env) Firestore() *firestore.Client {
	e.t.Helper()
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.fs == nil {
		c, err := firestore.NewClient(context.Background(), e.Project)
		if err != nil {
			e.t.Fatalf("emulatortest: firestore client: %v", err)
		}
		e.fs = c
		e.t.Cleanup(func() { _ = c.Close() })
	}
	return e.fs
}

// TopicName is projects/<project>/topics/<id>.
func (e *Env) TopicName(id string) string { return "projects/" + e.Project + "/topics/" + id }

// SubscriptionName is projects/<project>/subscriptions/<id>.
func (e *Env) SubscriptionName(id string) string {
	return "projects/" + e.Project + "/subscriptions/" + id
}

// CreateTopic creates a topic (it may exist already) and returns its full
// name.
func (e *Env) CreateTopic(id string) string {
	e.t.Helper()
	ctx, cancel := e.ctx()
	defer cancel()
	name := e.TopicName(id)
	_, err := e.PubSub().TopicAdminClient.CreateTopic(ctx, &pubsubpb.Topic{Name: name})
	if err != nil && status.Code(err) != codes.AlreadyExists {
		e.t.Fatalf("emulatortest: create topic %s: %v", name, err)
	}
	return name
}

// CreateSubscription creates a pull subscription on a topic id (creating
// the topic too) and returns the subscription's full name.
func (e *Env) CreateSubscription(id, topic string) string {
	e.t.Helper()
	topicName := e.CreateTopic(topic)
	ctx, cancel := e.ctx()
	defer cancel()
	name := e.SubscriptionName(id)
	_, err := e.PubSub().SubscriptionAdminClient.CreateSubscription(ctx, &pubsubpb.Subscription{
		Name: name, Topic: topicName, AckDeadlineSeconds: 10,
	})
	if err != nil && status.Code(err) != codes.AlreadyExists {
		e.t.Fatalf("emulatortest: create subscription %s: %v", name, err)
	}
	return name
}

// Pull receives n messages from a subscription, acks them, and returns
// them; it fails the test if fewer arrive within the timeout. Messages
// beyond n are nacked, so a later Pull gets them.
func (e *Env) Pull(sub string, n int, timeout time.Duration) []*pubsub.Message {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	var (
		mu   sync.Mutex
		msgs []*pubsub.Message
	)
	err := e.PubSub().Subscriber(sub).Receive(ctx, func(_ context.Context, m *pubsub.Message) {
		mu.Lock()
		defer mu.Unlock()
		if len(msgs) >= n {
			m.Nack() // not ours to take: left for the next Pull
			return
		}
		m.Ack()
		msgs = append(msgs, m)
		if len(msgs) == n {
			cancel()
		}
	})
	mu.Lock()
	defer mu.Unlock()
	if err != nil && !errors.Is(err, context.Canceled) && !errors.Is(err, context.DeadlineExceeded) {
		e.t.Fatalf("emulatortest: pull %s: %v", sub, err)
	}
	if len(msgs) < n {
		e.t.Fatalf("emulatortest: pull %s: got %d messages within %v, want %d", sub, len(msgs), timeout, n)
	}
	return msgs
}

// GCS starts an embedded fake-gcs-server with the given buckets, publishing
// object-finalize notifications to the topic config.TopicStorageEvents of
// the test's project (created here). The roles "raw", "models" and
// "artifacts" are expanded with Bucket; other names are used as given. It
// stops when the test ends.
func (e *Env) GCS(buckets ...string) *gcs.Server {
	e.t.Helper()
	e.CreateTopic(config.TopicStorageEvents)
	names := make([]string, len(buckets))
	for i, b := range buckets {
		names[i] = e.Bucket(b)
	}
	ctx, cancel := e.ctx()
	defer cancel()
	// raw and models are versioned, as in Terraform.
	s, err := gcs.Start(ctx, gcs.Options{Buckets: names, Versioned: []string{e.Bucket("raw"), e.Bucket("models")}, Project: e.Project, NotifyTopic: config.TopicStorageEvents})
	if err != nil {
		e.t.Fatalf("emulatortest: %v", err)
	}
	e.t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = s.Stop(ctx)
	})
	return s
}

// Bucket maps a role ("raw", "models", "artifacts") to the test project's
// bucket name, as config.FromEnv would with GOOGLE_CLOUD_PROJECT=Project;
// other names are returned unchanged.
func (e *Env) Bucket(role string) string {
	switch role {
	case "raw", "models", "artifacts":
		return e.Project + "-" + role
	}
	return role
}
