package events

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"
)

// CloudEvent types delivered by Eventarc.
const (
	TypeObjectFinalized  = "google.cloud.storage.object.v1.finalized"
	TypeMessagePublished = "google.cloud.pubsub.topic.v1.messagePublished"
)

// Int64 is an int64 that proto3 JSON writes as a string. It reads a JSON
// string or number and writes a string.
type Int64 int64

// MarshalJSON writes the value as a JSON string.
func (n Int64) MarshalJSON() ([]byte, error) {
	return []byte(`"` + strconv.FormatInt(int64(n), 10) + `"`), nil
}

// UnmarshalJSON reads a JSON string or number.
func (n *Int64) UnmarshalJSON(b []byte) error {
	s := string(bytes.TrimSpace(b))
	if s == "null" {
		return nil
	}
	s = strings.Trim(s, `"`)
	if s == "" {
		*n = 0
		return nil
	}
	v, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return fmt.Errorf("events: int64 field %s: %w", b, err)
	}
	*n = Int64(v)
	return nil
}

// StorageObjectData is the data of a Cloud Storage object event.
type StorageObjectData struct {
	Kind                    string            `json:"kind,omitempty"`
	ID                      string            `json:"id,omitempty"`
	SelfLink                string            `json:"selfLink,omitempty"`
	Name                    string            `json:"name"`
	Bucket                  string            `json:"bucket"`
	Generation              Int64             `json:"generation"`
	Metageneration          Int64             `json:"metageneration,omitempty"`
	ContentType             string            `json:"contentType,omitempty"`
	ContentEncoding         string            `json:"contentEncoding,omitempty"`
	ContentDisposition      string            `json:"contentDisposition,omitempty"`
	ContentLanguage         string            `json:"contentLanguage,omitempty"`
	CacheControl            string            `json:"cacheControl,omitempty"`
	TimeCreated             *time.Time        `json:"timeCreated,omitempty"`
	Updated                 *time.Time        `json:"updated,omitempty"`
	TimeDeleted             *time.Time        `json:"timeDeleted,omitempty"`
	TimeStorageClassUpdated *time.Time        `json:"timeStorageClassUpdated,omitempty"`
	StorageClass            string            `json:"storageClass,omitempty"`
	Size                    Int64             `json:"size"`
	MD5Hash                 string            `json:"md5Hash,omitempty"`
	CRC32C                  string            `json:"crc32c,omitempty"`
	ComponentCount          int               `json:"componentCount,omitempty"`
	Etag                    string            `json:"etag,omitempty"`
	MediaLink               string            `json:"mediaLink,omitempty"`
	KMSKeyName              string            `json:"kmsKeyName,omitempty"`
	TemporaryHold           bool              `json:"temporaryHold,omitempty"`
	EventBasedHold          bool              `json:"eventBasedHold,omitempty"`
	RetentionExpirationTime *time.Time        `json:"retentionExpirationTime,omitempty"`
	Metadata                map[string]string `json:"metadata,omitempty"`
	CustomerEncryption      *struct {
		EncryptionAlgorithm string `json:"encryptionAlgorithm,omitempty"`
		KeySha256           string `json:"keySha256,omitempty"`
	} `json:"customerEncryption,omitempty"`
}

// PubsubMessage is the message inside MessagePublishedData.
type PubsubMessage struct {
	Data        []byte            `json:"data,omitempty"` // base64 in JSON
	Attributes  map[string]string `json:"attributes,omitempty"`
	MessageID   string            `json:"messageId,omitempty"`
	PublishTime time.Time         `json:"publishTime"`
	OrderingKey string            `json:"orderingKey,omitempty"`
}

// MessagePublishedData is the data of a Pub/Sub messagePublished event.
type MessagePublishedData struct {
	Message      PubsubMessage `json:"message"`
	Subscription string        `json:"subscription,omitempty"`
}

// Message is the JSON payload of every pipeline topic message. Every message
// carries the run id, the dataset and the ids of its inputs, so any artifact
// can be traced back to the dropped file.
type Message struct {
	RunID   string `json:"run_id"`
	Dataset string `json:"dataset"`
	// Step is the step that published the message; on pipeline-trigger, the
	// step asked to run.
	Step string `json:"step"`
	// Object names an object (gs://bucket/name) on pipeline-trigger messages
	// that ask ingest to (re)read a file.
	Object     string `json:"object,omitempty"`
	Generation int64  `json:"generation,omitempty"`
	// Inputs are the ids of what this output was made from (objects with
	// generations, earlier artifacts).
	Inputs []string `json:"inputs,omitempty"`
	// Artifacts maps an artifact name to its gs:// URI.
	Artifacts map[string]string `json:"artifacts,omitempty"`
	Model     string            `json:"model,omitempty"`
	Version   string            `json:"version,omitempty"`
	Params    map[string]string `json:"params,omitempty"`
}

// Validate reports a message that cannot be acted on. Only the step is
// required: ticks (drift-tick) name no run, and functions that need a run id
// check for it themselves.
func (m Message) Validate() error {
	if m.Step == "" {
		return errors.New("message has no step")
	}
	return nil
}

// Input is what a function was asked to do by one CloudEvent.
type Input struct {
	EventID   string
	EventType string
	Source    string
	Time      time.Time
	// Object is set for storage events.
	Object *StorageObjectData
	// Message is set for Pub/Sub events, decoded from the message data.
	Message *Message
	// Topic is the topic of a Pub/Sub event (from ce-source).
	Topic string
	// Attributes of the Pub/Sub message.
	Attributes map[string]string
}

// ErrMalformed marks an event that can never be processed: retrying it would
// not help.
var ErrMalformed = errors.New("malformed event")

// Parse decodes a CloudEvent delivered by Eventarc (or the local router).
func Parse(e event.Event) (Input, error) {
	in := Input{EventID: e.ID(), EventType: e.Type(), Source: e.Source(), Time: e.Time()}
	switch e.Type() {
	case TypeObjectFinalized:
		var d StorageObjectData
		if err := json.Unmarshal(e.Data(), &d); err != nil {
			return in, fmt.Errorf("%w: storage event %s: %v", ErrMalformed, e.ID(), err)
		}
		if d.Bucket == "" || d.Name == "" {
			return in, fmt.Errorf("%w: storage event %s: no bucket or name", ErrMalformed, e.ID())
		}
		in.Object = &d
	case TypeMessagePublished:
		var d MessagePublishedData
		if err := json.Unmarshal(e.Data(), &d); err != nil {
			return in, fmt.Errorf("%w: pubsub event %s: %v", ErrMalformed, e.ID(), err)
		}
		in.Topic = TopicFromSource(e.Source())
		in.Attributes = d.Message.Attributes
		var m Message
		dec := json.NewDecoder(bytes.NewReader(d.Message.Data))
		if err := dec.Decode(&m); err != nil {
			return in, fmt.Errorf("%w: pubsub event %s: message data is not a pipeline message: %v", ErrMalformed, e.ID(), err)
		}
		if err := m.Validate(); err != nil {
			return in, fmt.Errorf("%w: pubsub event %s: %v", ErrMalformed, e.ID(), err)
		}
		in.Message = &m
	default:
		return in, fmt.Errorf("%w: unexpected event type %q", ErrMalformed, e.Type())
	}
	return in, nil
}

// TopicFromSource returns the topic id of a Pub/Sub ce-source such as
// //pubsub.googleapis.com/projects/p/topics/t.
func TopicFromSource(source string) string {
	i := strings.LastIndex(source, "/topics/")
	if i < 0 {
		return ""
	}
	return source[i+len("/topics/"):]
}

// Key is the idempotency key of the work an input asks for: for a storage
// event the object and its generation, for a pipeline message a digest of its
// content. The function name is part of the key, since two functions may act
// on the same input.
func (in Input) Key(function string) string {
	h := sha256.New()
	h.Write([]byte(function))
	h.Write([]byte{0})
	switch {
	case in.Object != nil:
		fmt.Fprintf(h, "gs://%s/%s#%d", in.Object.Bucket, in.Object.Name, in.Object.Generation)
	case in.Message != nil:
		b, _ := json.Marshal(in.Message) // struct fields in fixed order, map keys sorted
		h.Write(b)
	default:
		h.Write([]byte(in.EventID))
	}
	return function + "-" + hex.EncodeToString(h.Sum(nil))[:32]
}

// ObjectURI formats gs://bucket/name.
func ObjectURI(bucket, name string) string { return "gs://" + bucket + "/" + name }

// ParseObjectURI splits gs://bucket/name.
func ParseObjectURI(uri string) (bucket, name string, err error) {
	rest, ok := strings.CutPrefix(uri, "gs://")
	if !ok {
		return "", "", fmt.Errorf("object uri %q: want gs://bucket/name", uri)
	}
	bucket, name, ok = strings.Cut(rest, "/")
	if !ok || bucket == "" || name == "" {
		return "", "", fmt.Errorf("object uri %q: want gs://bucket/name", uri)
	}
	return bucket, name, nil
}
