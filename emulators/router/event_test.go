package router

import (
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"cloud.google.com/go/pubsub/v2"
	"github.com/google/go-cmp/cmp"
)

// notification is what fake-gcs-server v1.56.1 publishes for an upload of
// an 8-byte object (captured from the emulator test in this package).
var notification = &pubsub.Message{
	ID: "17",
	Data: []byte(`{"kind":"storage#object","id":"raw-uploads/in/hello world.csv#1795751958829085",` +
		`"name":"in/hello world.csv","bucket":"raw-uploads","generation":"1795751958829085",` +
		`"contentType":"text/csv","timeCreated":"2026-11-27T10:00:00.1Z","updated":"2026-11-27T10:00:00.1Z",` +
		`"storageClass":"STANDARD","size":"8","md5Hash":"5evUwCzvvnlVl3xnraJCtw==","crc32c":"SZ2HxQ==",` +
		`"metadata":{"source":"test"}}`),
	Attributes: map[string]string{
		"bucketId": "raw-uploads", "eventTime": "2026-11-27T10:00:00Z", "eventType": "OBJECT_FINALIZE",
		"objectGeneration": "1795751958829085", "objectId": "in/hello world.csv", "payloadFormat": "JSON_API_V1",
	},
	PublishTime: time.Date(2026, 11, 27, 10, 0, 0, 456_000_000, time.UTC),
}

func TestStorageEvent(t *testing.T) {
	q, err := storageEvent(notification)
	if err != nil {
		t.Fatal(err)
	}
	h := http.Header{}
	q.setHeaders(h)
	// Expected values written from Eventarc's documented delivery of a
	// finalized object (../shared/docs/local-gcp.md §3, the curl example),
	// for this object.
	wantH := http.Header{
		"Content-Type":   {"application/json"},
		"Ce-Specversion": {"1.0"},
		"Ce-Id":          {"17"},
		"Ce-Type":        {"google.cloud.storage.object.v1.finalized"},
		"Ce-Source":      {"//storage.googleapis.com/projects/_/buckets/raw-uploads"},
		"Ce-Subject":     {"objects/in/hello world.csv"},
		"Ce-Time":        {"2026-11-27T10:00:00.100Z"},
		"Ce-Bucket":      {"raw-uploads"},
	}
	if diff := cmp.Diff(wantH, h); diff != "" {
		t.Errorf("headers (-want +got):\n%s", diff)
	}
	var got map[string]any
	if err := json.Unmarshal(q.body, &got); err != nil {
		t.Fatal(err)
	}
	want := map[string]any{
		"kind": "storage#object", "id": "raw-uploads/in/hello world.csv/1795751958829085",
		"name": "in/hello world.csv", "bucket": "raw-uploads", "generation": "1795751958829085",
		"metageneration": "1", "contentType": "text/csv", "timeCreated": "2026-11-27T10:00:00.1Z",
		"updated": "2026-11-27T10:00:00.1Z", "storageClass": "STANDARD", "size": "8",
		"md5Hash": "5evUwCzvvnlVl3xnraJCtw==", "crc32c": "SZ2HxQ==", "metadata": map[string]any{"source": "test"},
		"selfLink": "https://www.googleapis.com/storage/v1/b/raw-uploads/o/in%2Fhello%20world.csv",
		"mediaLink": "https://www.googleapis.com/download/storage/v1/b/raw-uploads/o/in%2Fhello%20world.csv" +
			"?generation=1795751958829085&alt=media",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("body (-want +got):\n%s", diff)
	}
}

func TestStorageEventNoPayload(t *testing.T) {
	// payloadFormat NONE: attributes only.
	m := &pubsub.Message{ID: "5", Attributes: map[string]string{
		"bucketId": "b-raw", "objectId": "d/x.csv", "objectGeneration": "42", "eventType": "OBJECT_FINALIZE",
		"payloadFormat": "NONE"}, PublishTime: time.Unix(1, 0)}
	q, err := storageEvent(m)
	if err != nil {
		t.Fatal(err)
	}
	var got map[string]any
	if err := json.Unmarshal(q.body, &got); err != nil {
		t.Fatal(err)
	}
	for k, v := range map[string]string{"bucket": "b-raw", "name": "d/x.csv", "generation": "42",
		"id": "b-raw/d/x.csv/42", "size": "0", "metageneration": "1"} {
		if got[k] != v {
			t.Errorf("%s = %v, want %q", k, got[k], v)
		}
	}
}

func TestStorageEventBad(t *testing.T) {
	tests := map[string]*pubsub.Message{
		"not json":         {Data: []byte("{oops"), Attributes: map[string]string{"bucketId": "b", "objectId": "o"}},
		"no object":        {Data: []byte(`{}`)},
		"bad generation":   {Data: []byte(`{"bucket":"b","name":"o","generation":"x1"}`)},
		"array not object": {Data: []byte(`[1,2]`), Attributes: map[string]string{"bucketId": "b", "objectId": "o"}},
	}
	for name, m := range tests {
		t.Run(name, func(t *testing.T) {
			if q, err := storageEvent(m); err == nil {
				t.Errorf("storageEvent = %s, want an error", q.body)
			}
		})
	}
}

func TestMessageEvent(t *testing.T) {
	m := &pubsub.Message{
		ID: "9876543210", Data: []byte(`{"run_id":"r-1","model":"m-3"}`),
		Attributes:  map[string]string{"kind": "drift"},
		PublishTime: time.Date(2026, 11, 27, 10, 0, 0, 456_000_000, time.UTC),
	}
	q, err := messageEvent("test-project", "drift-tick", "projects/test-project/subscriptions/s", m)
	if err != nil {
		t.Fatal(err)
	}
	h := http.Header{}
	q.setHeaders(h)
	wantH := http.Header{
		"Content-Type":   {"application/json"},
		"Ce-Specversion": {"1.0"},
		"Ce-Id":          {"9876543210"},
		"Ce-Type":        {"google.cloud.pubsub.topic.v1.messagePublished"},
		"Ce-Source":      {"//pubsub.googleapis.com/projects/test-project/topics/drift-tick"},
		"Ce-Time":        {"2026-11-27T10:00:00.456Z"},
	}
	if diff := cmp.Diff(wantH, h); diff != "" {
		t.Errorf("headers (-want +got):\n%s", diff)
	}
	// The body of local-gcp.md §3's messagePublished example.
	want := `{"message":{"data":"eyJydW5faWQiOiJyLTEiLCJtb2RlbCI6Im0tMyJ9","attributes":{"kind":"drift"},` +
		`"messageId":"9876543210","message_id":"9876543210","publishTime":"2026-11-27T10:00:00.456Z",` +
		`"publish_time":"2026-11-27T10:00:00.456Z"},"subscription":"projects/test-project/subscriptions/s"}`
	if diff := cmp.Diff(want, string(q.body)); diff != "" {
		t.Errorf("body (-want +got):\n%s", diff)
	}
}

func TestProtoTime(t *testing.T) {
	tests := []struct {
		ns   int
		want string
	}{
		{0, "2026-11-27T10:00:00Z"},
		{450_000_000, "2026-11-27T10:00:00.450Z"},
		{450_100_000, "2026-11-27T10:00:00.450100Z"},
		{1, "2026-11-27T10:00:00.000000001Z"},
	}
	for _, tt := range tests {
		loc := time.FixedZone("x", 3600)
		in := time.Date(2026, 11, 27, 11, 0, 0, tt.ns, loc)
		if got := protoTime(in); got != tt.want {
			t.Errorf("protoTime(%v) = %q, want %q", in, got, tt.want)
		}
	}
}

func TestBackoff(t *testing.T) {
	r := &Router{opts: Options{MinBackoff: time.Second, MaxBackoff: 60 * time.Second}}
	want := []time.Duration{1, 2, 4, 8, 16, 32, 60, 60}
	for i, base := range want {
		base *= time.Second
		for range 50 {
			got := r.backoff(i + 1)
			if got < base || got > base+base/4 {
				t.Fatalf("backoff(%d) = %v, want in [%v, %v]", i+1, got, base, base+base/4)
			}
		}
	}
}

func FuzzStorageEvent(f *testing.F) {
	f.Add(notification.Data, "raw-uploads", "in/hello.csv", "12")
	f.Add([]byte(`{"size":12,"generation":7,"metageneration":2}`), "b", "o", "")
	f.Add([]byte(``), "b", "o", "1")
	f.Add([]byte(`null`), "", "", "")
	f.Fuzz(func(t *testing.T, data []byte, bucket, object, gen string) {
		m := &pubsub.Message{ID: "1", Data: data, Attributes: map[string]string{
			"bucketId": bucket, "objectId": object, "objectGeneration": gen}}
		q, err := storageEvent(m)
		if err != nil {
			return
		}
		var obj map[string]any
		if err := json.Unmarshal(q.body, &obj); err != nil {
			t.Fatalf("body is not a JSON object: %v: %s", err, q.body)
		}
		for _, k := range []string{"bucket", "name", "id", "size", "generation", "metageneration"} {
			if _, ok := obj[k].(string); !ok {
				t.Fatalf("%s = %#v, want a string: %s", k, obj[k], q.body)
			}
		}
		if q.subject != "objects/"+obj["name"].(string) {
			t.Fatalf("subject %q does not name %v", q.subject, obj["name"])
		}
	})
}
