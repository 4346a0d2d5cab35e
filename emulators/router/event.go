package router

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"time"
	"unicode/utf8"

	"cloud.google.com/go/pubsub/v2"

	"github.com/megapipe/mega/shared/config"
)

// CloudEvent types, as Eventarc sends them.
const (
	TypeObjectFinalized  = "google.cloud.storage.object.v1.finalized"
	TypeMessagePublished = "google.cloud.pubsub.topic.v1.messagePublished"
)

// request is one CloudEvent in binary HTTP mode.
type request struct {
	id, ceType, source, subject, bucket string
	runID                               string // from a pipeline message, for the logs
	time                                time.Time
	body                                []byte
}

func (q *request) setHeaders(h http.Header) {
	h.Set("Content-Type", "application/json")
	h.Set("ce-specversion", "1.0")
	h.Set("ce-id", q.id)
	h.Set("ce-type", q.ceType)
	h.Set("ce-source", q.source)
	if q.subject != "" {
		h.Set("ce-subject", q.subject)
	}
	if !q.time.IsZero() {
		h.Set("ce-time", protoTime(q.time))
	}
	if q.bucket != "" {
		h.Set("ce-bucket", q.bucket)
	}
}

// build turns a message into the CloudEvent for trigger t. skip is true for
// messages the trigger does not take (another bucket, another event type).
func (r *Router) build(t config.Trigger, m *pubsub.Message) (q *request, skip bool, err error) {
	if t.Topic != "" {
		q, err := messageEvent(r.opts.Project, t.Topic, r.subName(SubscriptionID(t)), m)
		return q, false, err
	}
	if m.Attributes["eventType"] != "OBJECT_FINALIZE" || m.Attributes["bucketId"] != r.opts.Buckets[t.Bucket] {
		return nil, true, nil
	}
	q, err = storageEvent(m)
	return q, false, err
}

// messageEvent is the messagePublished event for a message on a topic.
func messageEvent(project, topic, subscription string, m *pubsub.Message) (*request, error) {
	type message struct {
		Data        []byte            `json:"data,omitempty"`
		Attributes  map[string]string `json:"attributes,omitempty"`
		MessageID   string            `json:"messageId"`
		MessageID2  string            `json:"message_id"`
		PublishTime string            `json:"publishTime"`
		PublishTim2 string            `json:"publish_time"`
		OrderingKey string            `json:"orderingKey,omitempty"`
	}
	pt := protoTime(m.PublishTime)
	body, err := json.Marshal(struct {
		Message      message `json:"message"`
		Subscription string  `json:"subscription"`
	}{
		Message: message{Data: m.Data, Attributes: m.Attributes, MessageID: m.ID, MessageID2: m.ID,
			PublishTime: pt, PublishTim2: pt, OrderingKey: m.OrderingKey},
		Subscription: subscription,
	})
	if err != nil {
		return nil, fmt.Errorf("build pubsub event: %w", err)
	}
	var pm struct {
		RunID string `json:"run_id"`
	}
	_ = json.Unmarshal(m.Data, &pm) // only for the logs; not every message is JSON
	return &request{
		id:     m.ID,
		runID:  pm.RunID,
		ceType: TypeMessagePublished,
		source: "//pubsub.googleapis.com/projects/" + project + "/topics/" + topic,
		time:   m.PublishTime,
		body:   body,
	}, nil
}

// storageEvent is the finalized event for an OBJECT_FINALIZE notification
// in the JSON_API_V1 (or NONE) payload format.
func storageEvent(m *pubsub.Message) (*request, error) {
	obj := map[string]any{}
	if len(bytes.TrimSpace(m.Data)) > 0 {
		dec := json.NewDecoder(bytes.NewReader(m.Data))
		dec.UseNumber()
		if err := dec.Decode(&obj); err != nil {
			return nil, fmt.Errorf("build storage event: notification body: %w", err)
		}
		if obj == nil { // the body was JSON null
			obj = map[string]any{}
		}
	}
	str := func(k string) string {
		switch v := obj[k].(type) {
		case string:
			return v
		case json.Number:
			return v.String()
		}
		return ""
	}
	bucket, name, gen := str("bucket"), str("name"), str("generation")
	if bucket == "" {
		bucket = m.Attributes["bucketId"]
	}
	if name == "" {
		name = m.Attributes["objectId"]
	}
	if gen == "" {
		gen = m.Attributes["objectGeneration"]
	}
	if bucket == "" || name == "" {
		return nil, errors.New("build storage event: notification names no bucket or object")
	}
	if !utf8.ValidString(bucket) || !utf8.ValidString(name) {
		return nil, fmt.Errorf("build storage event: object name %q is not UTF-8", name)
	}
	if _, err := strconv.ParseInt(gen, 10, 64); err != nil {
		return nil, fmt.Errorf("build storage event: object generation %q: %w", gen, err)
	}
	obj["bucket"], obj["name"], obj["generation"] = bucket, name, gen
	// int64 fields travel as JSON strings.
	for _, k := range []string{"size", "generation", "metageneration"} {
		if s := str(k); s != "" {
			obj[k] = s
		}
	}
	if str("metageneration") == "" {
		obj["metageneration"] = "1"
	}
	if str("size") == "" {
		obj["size"] = "0"
	}
	obj["kind"] = "storage#object"
	obj["id"] = bucket + "/" + name + "/" + gen
	esc := url.PathEscape(name)
	obj["selfLink"] = "https://www.googleapis.com/storage/v1/b/" + bucket + "/o/" + esc
	obj["mediaLink"] = "https://www.googleapis.com/download/storage/v1/b/" + bucket + "/o/" + esc +
		"?generation=" + gen + "&alt=media"
	if str("storageClass") == "" {
		obj["storageClass"] = "STANDARD"
	}
	body, err := json.Marshal(obj)
	if err != nil {
		return nil, fmt.Errorf("build storage event: %w", err)
	}
	t := m.PublishTime
	for _, v := range []string{str("updated"), str("timeCreated"), m.Attributes["eventTime"]} {
		if pt, err := time.Parse(time.RFC3339Nano, v); err == nil {
			t = pt
			break
		}
	}
	return &request{
		id:      m.ID,
		ceType:  TypeObjectFinalized,
		source:  "//storage.googleapis.com/projects/_/buckets/" + bucket,
		subject: "objects/" + name,
		bucket:  bucket,
		time:    t,
		body:    body,
	}, nil
}

// protoTime formats t in UTC as proto3 JSON writes a Timestamp: 0, 3, 6 or
// 9 fractional digits.
func protoTime(t time.Time) string {
	t = t.UTC()
	ns := t.Nanosecond()
	switch {
	case ns == 0:
		return t.Format("2006-01-02T15:04:05Z")
	case ns%1_000_000 == 0:
		return t.Format("2006-01-02T15:04:05.000Z")
	case ns%1_000 == 0:
		return t.Format("2006-01-02T15:04:05.000000Z")
	}
	return t.Format("2006-01-02T15:04:05.000000000Z")
}
