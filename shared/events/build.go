package events

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"
)

// MarshalJSON writes the message as Eventarc does: with the snake_case
// duplicates message_id and publish_time beside messageId and publishTime.
func (m PubsubMessage) MarshalJSON() ([]byte, error) {
	type plain PubsubMessage
	return json.Marshal(struct {
		plain
		MessageIDSnake   string    `json:"message_id,omitempty"`
		PublishTimeSnake time.Time `json:"publish_time"`
	}{plain(m), m.MessageID, m.PublishTime})
}

// NewStorageEvent builds the CloudEvent Eventarc delivers for a finalized
// object: type google.cloud.storage.object.v1.finalized, source
// //storage.googleapis.com/projects/_/buckets/<bucket>, subject
// objects/<name>, the bucket extension, and the object as data.
func NewStorageEvent(id string, t time.Time, d StorageObjectData) (event.Event, error) {
	e := event.New()
	e.SetID(id)
	e.SetType(TypeObjectFinalized)
	e.SetSource("//storage.googleapis.com/projects/_/buckets/" + d.Bucket)
	e.SetSubject("objects/" + d.Name)
	e.SetTime(t)
	e.SetExtension("bucket", d.Bucket)
	if err := e.SetData("application/json", d); err != nil {
		return e, fmt.Errorf("events: storage event data: %w", err)
	}
	return e, nil
}

// NewMessageEvent builds the CloudEvent Eventarc delivers for a message
// published on projects/<project>/topics/<topic>: ce-id is the message id.
func NewMessageEvent(project, topic, subscription string, m PubsubMessage) (event.Event, error) {
	e := event.New()
	e.SetID(m.MessageID)
	e.SetType(TypeMessagePublished)
	e.SetSource("//pubsub.googleapis.com/projects/" + project + "/topics/" + topic)
	e.SetTime(m.PublishTime)
	if err := e.SetData("application/json", MessagePublishedData{Message: m, Subscription: subscription}); err != nil {
		return e, fmt.Errorf("events: pubsub event data: %w", err)
	}
	return e, nil
}
