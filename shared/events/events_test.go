package events

import (
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"
	"github.com/google/go-cmp/cmp"
)

// The storage payload from ../shared/docs/local-gcp.md: what Eventarc sends,
// int64 fields as JSON strings.
const eventarcStorageBody = `{"kind":"storage#object","id":"raw-uploads/in/hello.csv/1795751958829085","name":"in/hello.csv",
 "bucket":"raw-uploads","generation":"1795751958829085","metageneration":"1","contentType":"text/csv",
 "timeCreated":"2026-11-27T10:00:00.100Z","updated":"2026-11-27T10:00:00.100Z","storageClass":"STANDARD",
 "size":"8","md5Hash":"5evUwCzvvnlVl3xnraJCtw==","crc32c":"SZ2HxQ==","etag":"CJ2W8/2Ak4kDEAE=",
 "metadata":{"source":"test"}}`

const eventarcPubsubBody = `{"message":{"data":"eyJydW5faWQiOiJyLTEiLCJkYXRhc2V0IjoiZCIsInN0ZXAiOiJpbmdlc3QifQ==","attributes":{"kind":"drift"},
 "messageId":"9876543210","message_id":"9876543210","publishTime":"2026-11-27T10:00:00.456Z",
 "publish_time":"2026-11-27T10:00:00.456Z"},
 "subscription":"projects/test-project/subscriptions/eventarc-europe-west1-drift-trigger-sub-123"}`

func rawEvent(t *testing.T, typ, source, body string) event.Event {
	t.Helper()
	e := event.New()
	e.SetID("1234")
	e.SetType(typ)
	e.SetSource(source)
	if err := e.SetData("application/json", json.RawMessage(body)); err != nil {
		t.Fatal(err)
	}
	return e
}

func TestParse(t *testing.T) {
	e := rawEvent(t, TypeObjectFinalized, "//storage.googleapis.com/projects/_/buckets/raw-uploads", eventarcStorageBody)
	in, err := Parse(e)
	if err != nil {
		t.Fatal(err)
	}
	got := struct {
		Bucket, Name string
		Gen, Size    Int64
		Meta         map[string]string
	}{in.Object.Bucket, in.Object.Name, in.Object.Generation, in.Object.Size, in.Object.Metadata}
	want := struct {
		Bucket, Name string
		Gen, Size    Int64
		Meta         map[string]string
	}{"raw-uploads", "in/hello.csv", 1795751958829085, 8, map[string]string{"source": "test"}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("storage (-want +got):\n%s", diff)
	}

	e = rawEvent(t, TypeMessagePublished, "//pubsub.googleapis.com/projects/test-project/topics/dataset-ready", eventarcPubsubBody)
	in, err = Parse(e)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(&Message{RunID: "r-1", Dataset: "d", Step: "ingest"}, in.Message); diff != "" {
		t.Errorf("message (-want +got):\n%s", diff)
	}
	if in.Topic != "dataset-ready" {
		t.Errorf("topic = %q, want dataset-ready", in.Topic)
	}
}

func TestParseMalformed(t *testing.T) {
	tests := []struct{ name, typ, body string }{
		{"storage not json", TypeObjectFinalized, `"x"`},
		{"storage no name", TypeObjectFinalized, `{"bucket":"b"}`},
		{"storage bad generation", TypeObjectFinalized, `{"bucket":"b","name":"n","generation":"abc"}`},
		{"pubsub data not a message", TypeMessagePublished, `{"message":{"data":"aGVsbG8="}}`},
		{"pubsub message without step", TypeMessagePublished, `{"message":{"data":"eyJydW5faWQiOiJyIn0="}}`},
		{"unknown type", "com.example.other", `{}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse(rawEvent(t, tt.typ, "//x/topics/t", tt.body))
			if !errors.Is(err, ErrMalformed) {
				t.Errorf("Parse error = %v, want ErrMalformed", err)
			}
		})
	}
}

func TestKeyIsContentBased(t *testing.T) {
	obj := StorageObjectData{Bucket: "raw", Name: "iris/a.csv", Generation: 7}
	e1, _ := NewStorageEvent("id-1", time.Unix(1, 0), obj)
	e2, _ := NewStorageEvent("id-2", time.Unix(2, 0), obj)
	obj.Generation = 8
	e3, _ := NewStorageEvent("id-1", time.Unix(1, 0), obj)
	k := func(e event.Event) string {
		in, err := Parse(e)
		if err != nil {
			t.Fatal(err)
		}
		return in.Key("Ingest")
	}
	if k(e1) != k(e2) {
		t.Error("two deliveries of the same object generation have different keys")
	}
	if k(e1) == k(e3) {
		t.Error("a new generation has the same key as the old one")
	}
	in, _ := Parse(e1)
	if in.Key("Ingest") == in.Key("Quantize") {
		t.Error("the key does not depend on the function")
	}
}

func TestMessageEventRoundTrip(t *testing.T) {
	data, _ := json.Marshal(Message{RunID: "r", Dataset: "d", Step: "featurize", Artifacts: map[string]string{"train": "gs://a/b"}})
	pt := time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC)
	e, err := NewMessageEvent("p", "features-ready", "projects/p/subscriptions/s", PubsubMessage{Data: data, MessageID: "42", PublishTime: pt})
	if err != nil {
		t.Fatal(err)
	}
	var raw struct{ Message map[string]any }
	if err := json.Unmarshal(e.Data(), &raw); err != nil {
		t.Fatal(err)
	}
	if raw.Message["message_id"] != "42" || raw.Message["publish_time"] != "2026-11-27T10:00:00Z" {
		t.Errorf("missing Eventarc snake_case duplicates: %v", raw.Message)
	}
	in, err := Parse(e)
	if err != nil {
		t.Fatal(err)
	}
	if in.EventID != "42" || in.Topic != "features-ready" || in.Message.Artifacts["train"] != "gs://a/b" {
		t.Errorf("round trip lost fields: %+v %+v", in, in.Message)
	}
}

func FuzzParseObjectURI(f *testing.F) {
	for _, s := range []string{"gs://b/n", "gs://b/a/b/c", "gs:///x", "s3://b/n", "gs://b/"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		b, n, err := ParseObjectURI(s)
		if err != nil {
			return
		}
		if ObjectURI(b, n) != s {
			t.Errorf("ObjectURI(ParseObjectURI(%q)) = %q", s, ObjectURI(b, n))
		}
	})
}

func FuzzParse(f *testing.F) {
	f.Add(TypeObjectFinalized, eventarcStorageBody)
	f.Add(TypeMessagePublished, eventarcPubsubBody)
	f.Fuzz(func(t *testing.T, typ, body string) {
		e := event.New()
		e.SetID("x")
		e.SetType(typ)
		e.SetSource("//pubsub.googleapis.com/projects/p/topics/t")
		e.DataEncoded = []byte(body)
		in, err := Parse(e)
		if err == nil && in.Object == nil && in.Message == nil {
			t.Errorf("Parse succeeded with neither object nor message")
		}
	})
}
