// Package router is the local stand-in for Eventarc: it turns Cloud Storage
// notifications and Pub/Sub messages into CloudEvents and POSTs them, in
// binary HTTP mode, to the functions served by functions-framework-go at
// <functions-url>/<Function>.
//
// Wiring. For every trigger in config.Triggers the router owns one pull
// subscription, created idempotently and named eventarc-<function>-<topic>
// (or eventarc-<function>-<bucket role>-finalized for storage triggers). A
// storage trigger subscribes to config.TopicStorageEvents, where the local
// GCS (package gcs) publishes its notifications, and lets through only
// OBJECT_FINALIZE notifications of its own bucket: raw -> Ingest,
// models -> Quantize; other buckets have no trigger. (The emulator ignores
// subscription filters, so the router filters.)
//
// Events. A finalize notification becomes
//
//	ce-type    google.cloud.storage.object.v1.finalized
//	ce-source  //storage.googleapis.com/projects/_/buckets/<bucket>
//	ce-subject objects/<name>
//	ce-bucket  <bucket>
//	ce-id      the notification's message id
//	ce-time    the object's update time
//
// with a StorageObjectData JSON body: the notification body, with size,
// generation and metageneration as JSON strings, and what fake-gcs-server
// leaves out filled in as Cloud Storage writes it: id as
// <bucket>/<name>/<generation>, selfLink, mediaLink and metageneration 1.
// A message on a topic becomes
//
//	ce-type    google.cloud.pubsub.topic.v1.messagePublished
//	ce-source  //pubsub.googleapis.com/projects/<project>/topics/<topic>
//	ce-id      the message id
//	ce-time    the publish time
//
// with the body {"message":{"data","attributes","messageId","message_id",
// "publishTime","publish_time"},"subscription":"projects/<p>/subscriptions/<s>"}.
//
// Retries. A 2xx answer acks the message. Anything else is a failed
// attempt. The Pub/Sub emulator redelivers a nacked message at once, so the
// router keeps the message (its lease is extended by the client library)
// and retries it itself after an exponential backoff with jitter: MinBackoff,
// doubling up to MaxBackoff, each delay plus up to 25% at random. After
// MaxAttempts failed attempts the message is published to
// config.TopicDeadLetter, with its data and attributes and these attributes
// added: deadLetterFunction, deadLetterTopic, deadLetterSubscription,
// deadLetterAttempts, deadLetterError, deadLetterMessageId, plus Pub/Sub's
// own CloudPubSubDeadLetterSourceDeliveryCount and
// CloudPubSubDeadLetterSourceSubscription; then it is acked. Attempts are
// counted in memory: a router restart starts the count again.
//
// Every delivery is logged (slog) with the function, trigger, event id,
// attempt, HTTP status and duration.
package router
