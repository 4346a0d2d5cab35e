// Package events defines the payloads that travel between Megapipe's parts:
// the CloudEvent data that Eventarc delivers to functions (StorageObjectData
// for google.cloud.storage.object.v1.finalized, MessagePublishedData for
// google.cloud.pubsub.topic.v1.messagePublished), and Message, the JSON body of
// every pipeline topic message.
//
// The JSON field names follow google/events/cloud/{storage,pubsub}/v1/data.proto
// in proto3 JSON form: int64 fields (size, generation, metageneration) travel as
// JSON strings, which Int64 reads from a string or a number.
//
// Parse turns a CloudEvent into an Input: the object to read or the pipeline
// message, plus the idempotency key under which its completion is recorded.
// The key depends on the content, not on the delivery, so a redelivery, a
// duplicate notification and a duplicate publish by an interrupted upstream
// step all map to the same key.
package events
