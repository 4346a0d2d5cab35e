package emulatortest_test

import (
	"context"
	"encoding/json"
	"io"
	"testing"
	"time"

	"cloud.google.com/go/pubsub/v2"
	"cloud.google.com/go/storage"
	"github.com/google/go-cmp/cmp"

	"github.com/megapipe/mega/emulators/emulatortest"
	"github.com/megapipe/mega/shared/config"
)

func TestMain(m *testing.M) { emulatortest.Main(m) }

func TestPubSubRoundTrip(t *testing.T) {
	t.Parallel()
	env := emulatortest.Start(t)
	sub := env.CreateSubscription("round-trip-sub", "round-trip")
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	_, err := env.PubSub().Publisher("round-trip").Publish(ctx, &pubsub.Message{
		Data: []byte("hello"), Attributes: map[string]string{"k": "v"},
	}).Get(ctx)
	if err != nil {
		t.Fatal(err)
	}
	msgs := env.Pull(sub, 1, 20*time.Second)
	got := map[string]any{"data": string(msgs[0].Data), "attrs": msgs[0].Attributes}
	want := map[string]any{"data": "hello", "attrs": map[string]string{"k": "v"}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("message (-want +got):\n%s", diff)
	}
}

// TestProjectsIsolated: two Envs share the emulators but not their topics.
func TestProjectsIsolated(t *testing.T) {
	t.Parallel()
	a, b := emulatortest.Start(t), emulatortest.Start(t)
	if a.Project == b.Project {
		t.Fatalf("two Starts gave the same project %q", a.Project)
	}
	a.CreateSubscription("iso-sub", "iso")
	b.CreateSubscription("iso-sub", "iso")
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if _, err := a.PubSub().Publisher("iso").Publish(ctx, &pubsub.Message{Data: []byte("for a")}).Get(ctx); err != nil {
		t.Fatal(err)
	}
	if got := string(a.Pull(a.SubscriptionName("iso-sub"), 1, 20*time.Second)[0].Data); got != "for a" {
		t.Errorf("a got %q", got)
	}
	// b's subscription must stay empty.
	rctx, rcancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer rcancel()
	var leaked []string
	_ = b.PubSub().Subscriber(b.SubscriptionName("iso-sub")).Receive(rctx, func(_ context.Context, m *pubsub.Message) {
		m.Ack()
		leaked = append(leaked, string(m.Data))
	})
	if len(leaked) > 0 {
		t.Errorf("project %s received %q published in %s", b.Project, leaked, a.Project)
	}
}

func TestFirestore(t *testing.T) {
	t.Parallel()
	env := emulatortest.Start(t)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	doc := env.Firestore().Collection(config.CollRuns).Doc("run-1")
	if _, err := doc.Set(ctx, map[string]any{"status": "done", "rows": 3}); err != nil {
		t.Fatal(err)
	}
	snap, err := doc.Get(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(map[string]any{"status": "done", "rows": int64(3)}, snap.Data()); diff != "" {
		t.Errorf("document (-want +got):\n%s", diff)
	}
}

// TestGCSNotification: an upload to the embedded GCS lands as a finalize
// notification on gcs-events, and reads work through STORAGE_EMULATOR_HOST.
func TestGCSNotification(t *testing.T) {
	env := emulatortest.Start(t)
	sub := env.CreateSubscription("gcs-sub", config.TopicStorageEvents)
	store := env.GCS("raw")
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	client, err := store.Client(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	w := client.Bucket(env.Bucket("raw")).Object("iris/a.csv").NewWriter(ctx)
	w.ContentType = "text/csv"
	w.Metadata = map[string]string{"label": "species"}
	if _, err := io.WriteString(w, "x,species\n1,a\n"); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	msg := env.Pull(sub, 1, 20*time.Second)[0]
	for k, want := range map[string]string{"eventType": "OBJECT_FINALIZE", "bucketId": env.Bucket("raw"), "objectId": "iris/a.csv"} {
		if got := msg.Attributes[k]; got != want {
			t.Errorf("attribute %s = %q, want %q", k, got, want)
		}
	}
	var body struct {
		Name     string            `json:"name"`
		Bucket   string            `json:"bucket"`
		Size     string            `json:"size"`
		Metadata map[string]string `json:"metadata"`
	}
	if err := json.Unmarshal(msg.Data, &body); err != nil {
		t.Fatalf("notification body %s: %v", msg.Data, err)
	}
	if body.Name != "iris/a.csv" || body.Bucket != env.Bucket("raw") || body.Size != "14" || body.Metadata["label"] != "species" {
		t.Errorf("notification body = %s", msg.Data)
	}

	// A client configured only by STORAGE_EMULATOR_HOST, as the functions'
	// code is, reads the object back through the default (XML) read path.
	t.Setenv("STORAGE_EMULATOR_HOST", store.Addr())
	plain, err := storage.NewClient(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer plain.Close()
	r, err := plain.Bucket(env.Bucket("raw")).Object("iris/a.csv").NewReader(ctx)
	if err != nil {
		t.Fatalf("read via STORAGE_EMULATOR_HOST: %v", err)
	}
	b, _ := io.ReadAll(r)
	r.Close()
	if string(b) != "x,species\n1,a\n" {
		t.Errorf("read back %q", b)
	}
}
