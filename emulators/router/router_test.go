package router_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"cloud.google.com/go/pubsub/v2"
	cloudevents "github.com/cloudevents/sdk-go/v2"
	"github.com/google/go-cmp/cmp"

	"github.com/megapipe/mega/emulators/emulatortest"
	"github.com/megapipe/mega/emulators/router"
	"github.com/megapipe/mega/shared/config"
	"github.com/megapipe/mega/shared/events"
)

func TestMain(m *testing.M) { emulatortest.Main(m) }

// call is one request a fake function received.
type call struct {
	at     time.Time
	header http.Header
	body   []byte
}

// functions is an httptest functions host: /<Name> answers with fail(n)
// for the n-th call of that function (1-based).
type functions struct {
	mu    sync.Mutex
	calls map[string][]call
	fail  func(fn string, n int) int // status; 0 means 200
	srv   *httptest.Server
}

func newFunctions(t *testing.T, fail func(fn string, n int) int) *functions {
	f := &functions{calls: map[string][]call{}, fail: fail}
	f.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		fn := r.URL.Path[1:]
		f.mu.Lock()
		f.calls[fn] = append(f.calls[fn], call{at: time.Now(), header: r.Header.Clone(), body: b})
		n := len(f.calls[fn])
		f.mu.Unlock()
		if code := f.fail(fn, n); code != 0 {
			http.Error(w, "Function error: boom "+strconv.Itoa(n), code)
		}
	}))
	t.Cleanup(f.srv.Close)
	return f
}

func (f *functions) get(fn string) []call {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]call(nil), f.calls[fn]...)
}

// waitCalls polls until fn has at least n calls.
func (f *functions) waitCalls(t *testing.T, fn string, n int, timeout time.Duration) []call {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		if c := f.get(fn); len(c) >= n {
			return c
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("%s: %d calls after %v, want %d", fn, len(f.get(fn)), timeout, n)
	return nil
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) { w.t.Log(string(p)); return len(p), nil }

// startRouter runs a router for env against the fake functions.
func startRouter(t *testing.T, env *emulatortest.Env, fns *functions, opts router.Options) {
	t.Helper()
	opts.Project = env.Project
	opts.FunctionsURL = fns.srv.URL
	opts.Logger = slog.New(slog.NewTextHandler(testWriter{t}, nil))
	r, err := router.New(env.PubSub(), opts)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- r.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("router Run: %v", err)
		}
		r.Stop()
	})
	deadline := time.Now().Add(30 * time.Second)
	for !r.Ready() {
		if time.Now().After(deadline) {
			t.Fatal("router not ready after 30s")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func publish(t *testing.T, env *emulatortest.Env, topic string, m *pubsub.Message) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	p := env.PubSub().Publisher(topic)
	defer p.Stop()
	id, err := p.Publish(ctx, m).Get(ctx)
	if err != nil {
		t.Fatal(err)
	}
	return id
}

// TestStorageRouting: uploads reach Ingest (raw) and Quantize (models) as
// finalized CloudEvents that the functions framework's SDK and package
// events decode; artifacts uploads reach nobody.
func TestStorageRouting(t *testing.T) {
	t.Parallel()
	env := emulatortest.Start(t)
	fns := newFunctions(t, func(string, int) int { return 0 })
	startRouter(t, env, fns, router.Options{})
	store := env.GCS("raw", "models", "artifacts")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	client, err := store.Client(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	upload := func(bucket, name, content string) {
		w := client.Bucket(env.Bucket(bucket)).Object(name).NewWriter(ctx)
		w.ContentType = "text/csv"
		if _, err := io.WriteString(w, content); err != nil {
			t.Fatal(err)
		}
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
	}
	upload("artifacts", "run-1/clean.bin", "derived")
	upload("raw", "iris/part 1.csv", "a,b\n1,2\n")
	upload("models", "m/float.tflite", "TFL3")

	in := fns.waitCalls(t, config.FuncIngest, 1, 20*time.Second)[0]
	fns.waitCalls(t, config.FuncQuantize, 1, 20*time.Second)

	raw := env.Bucket("raw")
	for k, want := range map[string]string{
		"Ce-Specversion": "1.0",
		"Ce-Type":        "google.cloud.storage.object.v1.finalized",
		"Ce-Source":      "//storage.googleapis.com/projects/_/buckets/" + raw,
		"Ce-Subject":     "objects/iris/part 1.csv",
		"Ce-Bucket":      raw,
		"Content-Type":   "application/json",
	} {
		if got := in.header.Get(k); got != want {
			t.Errorf("Ingest %s = %q, want %q", k, got, want)
		}
	}
	// Decode the request as functions-framework-go does (sdk-go binary mode).
	req := httptest.NewRequest(http.MethodPost, "/Ingest", nil)
	req.Header = in.header
	req.Body = io.NopCloser(bytes.NewReader(in.body))
	ev, err := cloudevents.NewEventFromHTTPRequest(req)
	if err != nil {
		t.Fatalf("sdk-go cannot read the event: %v", err)
	}
	parsed, err := events.Parse(*ev)
	if err != nil {
		t.Fatalf("events.Parse: %v", err)
	}
	o := parsed.Object
	if o.Name != "iris/part 1.csv" || o.Bucket != raw || o.Size != 8 || o.Generation == 0 || o.Metageneration != 1 {
		t.Errorf("object = %+v", o)
	}
	if want := raw + "/iris/part 1.csv/" + strconv.FormatInt(int64(o.Generation), 10); o.ID != want {
		t.Errorf("id = %q, want %q", o.ID, want)
	}
	var rawBody map[string]any
	if err := json.Unmarshal(in.body, &rawBody); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"size", "generation", "metageneration"} {
		if _, ok := rawBody[k].(string); !ok {
			t.Errorf("%s is %T in the body, want a JSON string", k, rawBody[k])
		}
	}
	if ev.Extensions()["bucket"] != raw {
		t.Errorf("bucket extension = %v", ev.Extensions()["bucket"])
	}
	// The artifacts upload was notified before the others: by now every
	// storage subscription has seen it, and no function may have got it.
	for _, fn := range []string{config.FuncIngest, config.FuncQuantize} {
		for _, c := range fns.get(fn) {
			if c.header.Get("Ce-Bucket") == env.Bucket("artifacts") {
				t.Errorf("%s received an artifacts event: %s", fn, c.header.Get("Ce-Subject"))
			}
		}
		if n := len(fns.get(fn)); n != 1 {
			t.Errorf("%s got %d events, want 1", fn, n)
		}
	}
}

// TestTopicRouting: a message on dataset-ready reaches Featurize as a
// messagePublished CloudEvent whose id is the message id.
func TestTopicRouting(t *testing.T) {
	t.Parallel()
	env := emulatortest.Start(t)
	fns := newFunctions(t, func(string, int) int { return 0 })
	startRouter(t, env, fns, router.Options{})
	data := `{"run_id":"r-1","dataset":"iris","step":"ingest"}`
	id := publish(t, env, config.TopicDatasetReady, &pubsub.Message{Data: []byte(data),
		Attributes: map[string]string{"run_id": "r-1"}})
	c := fns.waitCalls(t, config.FuncFeaturize, 1, 20*time.Second)[0]
	wantH := map[string]string{
		"Ce-Id":      id,
		"Ce-Type":    "google.cloud.pubsub.topic.v1.messagePublished",
		"Ce-Source":  "//pubsub.googleapis.com/projects/" + env.Project + "/topics/dataset-ready",
		"Ce-Subject": "",
	}
	for k, want := range wantH {
		if got := c.header.Get(k); got != want {
			t.Errorf("%s = %q, want %q", k, got, want)
		}
	}
	var body struct {
		Message struct {
			Data        []byte            `json:"data"`
			Attributes  map[string]string `json:"attributes"`
			MessageID   string            `json:"messageId"`
			MessageIDS  string            `json:"message_id"`
			PublishTime string            `json:"publishTime"`
			PublishTS   string            `json:"publish_time"`
		} `json:"message"`
		Subscription string `json:"subscription"`
	}
	if err := json.Unmarshal(c.body, &body); err != nil {
		t.Fatal(err)
	}
	if string(body.Message.Data) != data || body.Message.MessageID != id || body.Message.MessageIDS != id ||
		body.Message.PublishTime == "" || body.Message.PublishTime != body.Message.PublishTS ||
		body.Message.Attributes["run_id"] != "r-1" ||
		body.Subscription != "projects/"+env.Project+"/subscriptions/eventarc-featurize-dataset-ready" {
		t.Errorf("body = %s", c.body)
	}
	if ct := c.header.Get("Ce-Time"); ct != body.Message.PublishTime {
		t.Errorf("ce-time %q != publishTime %q", ct, body.Message.PublishTime)
	}
}

// TestRetryThenSuccess: a function that fails twice is called three times,
// with growing gaps, and then never again.
func TestRetryThenSuccess(t *testing.T) {
	t.Parallel()
	env := emulatortest.Start(t)
	const failures = 2
	fns := newFunctions(t, func(fn string, n int) int {
		if fn == config.FuncTrain && n <= failures {
			return http.StatusInternalServerError
		}
		return 0
	})
	min := 300 * time.Millisecond
	startRouter(t, env, fns, router.Options{MinBackoff: min, MaxBackoff: 5 * time.Second})
	publish(t, env, config.TopicFeaturesReady, &pubsub.Message{Data: []byte(`{"run_id":"r-2","step":"featurize"}`)})
	calls := fns.waitCalls(t, config.FuncTrain, failures+1, 20*time.Second)
	for i := 1; i < len(calls); i++ {
		gap := calls[i].at.Sub(calls[i-1].at)
		want := min << (i - 1)
		if gap < want {
			t.Errorf("gap before attempt %d = %v, want at least %v", i+1, gap, want)
		}
	}
	if calls[0].header.Get("Ce-Id") != calls[failures].header.Get("Ce-Id") {
		t.Errorf("retries changed ce-id")
	}
	// Acked after the success: no further delivery, even past the ack
	// deadline the emulator would redeliver after.
	time.Sleep(2 * time.Second)
	if n := len(fns.get(config.FuncTrain)); n != failures+1 {
		t.Errorf("Train called %d times, want %d", n, failures+1)
	}
}

// TestDeadLetter: a function that always fails is tried MaxAttempts times
// with backoff, then the message lands on dead-letter with the reason.
func TestDeadLetter(t *testing.T) {
	t.Parallel()
	env := emulatortest.Start(t)
	dlq := env.CreateSubscription("dlq-watch", config.TopicDeadLetter)
	fns := newFunctions(t, func(string, int) int { return http.StatusInternalServerError })
	const attempts = 4
	min := 100 * time.Millisecond
	startRouter(t, env, fns, router.Options{MaxAttempts: attempts, MinBackoff: min, MaxBackoff: time.Second})
	data := `{"run_id":"r-3","step":"deploy"}`
	publish(t, env, config.TopicModelQuantized, &pubsub.Message{Data: []byte(data),
		Attributes: map[string]string{"run_id": "r-3"}})
	msg := env.Pull(dlq, 1, 30*time.Second)[0]
	calls := fns.get(config.FuncDeploy)
	if len(calls) != attempts {
		t.Fatalf("Deploy called %d times before dead-lettering, want %d", len(calls), attempts)
	}
	if span, least := calls[attempts-1].at.Sub(calls[0].at), min*(1+2+4); span < least {
		t.Errorf("%d attempts within %v, want at least %v of backoff", attempts, span, least)
	}
	want := map[string]string{
		"run_id":                                   "r-3",
		"deadLetterFunction":                       config.FuncDeploy,
		"deadLetterTopic":                          config.TopicModelQuantized,
		"deadLetterSubscription":                   "projects/" + env.Project + "/subscriptions/eventarc-deploy-model-quantized",
		"deadLetterAttempts":                       strconv.Itoa(attempts),
		"deadLetterMessageId":                      calls[0].header.Get("Ce-Id"),
		"CloudPubSubDeadLetterSourceDeliveryCount": strconv.Itoa(attempts),
		"CloudPubSubDeadLetterSourceSubscription":  "eventarc-deploy-model-quantized",
	}
	got := map[string]string{}
	for k, v := range msg.Attributes {
		if k != "deadLetterError" {
			got[k] = v
		}
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("dead-letter attributes (-want +got):\n%s", diff)
	}
	if e := msg.Attributes["deadLetterError"]; e == "" || !strings.Contains(e, "HTTP 500") || !strings.Contains(e, "boom 4") {
		t.Errorf("deadLetterError = %q, want the last HTTP 500 and its body", e)
	}
	if string(msg.Data) != data {
		t.Errorf("dead-letter data = %q, want %q", msg.Data, data)
	}
	// No tight loop afterwards.
	time.Sleep(1500 * time.Millisecond)
	if n := len(fns.get(config.FuncDeploy)); n != attempts {
		t.Errorf("Deploy called %d times in total, want %d", n, attempts)
	}
}
