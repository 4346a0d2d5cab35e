// Package gcs is the local Cloud Storage: fake-gcs-server embedded as a
// library, served over plain HTTP on 127.0.0.1, with object-finalize
// notifications published to a topic of the Pub/Sub emulator.
//
// Clients reach it the standard way: STORAGE_EMULATOR_HOST=<Addr()>, which
// cloud.google.com/go/storage turns into an unauthenticated HTTP endpoint.
// The server's public host is set to the same host:port, so XML-API reads
// (the storage client's default for downloads) find their objects; Client
// also sets storage.WithJSONReads.
//
// The notification payload is fake-gcs-server's JSON_API_V1 object: kind,
// id (bucket/name#generation), name, bucket, generation, size (as JSON
// strings), contentType, timeCreated, updated, storageClass, md5Hash,
// crc32c, metadata; with attributes eventType, bucketId, objectId,
// objectGeneration, eventTime and payloadFormat. It lacks selfLink,
// mediaLink, metageneration and etag, and its id is not the real
// bucket/name/generation form: the router (package router) fills these in
// when it turns the notification into a CloudEvent.
//
// Notifications need PUBSUB_EMULATOR_HOST in the process environment, since
// fake-gcs-server builds its own Pub/Sub client from it.
package gcs
