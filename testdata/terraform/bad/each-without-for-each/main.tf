resource "google_pubsub_topic" "ready" {
  name = each.key
}

resource "google_pubsub_topic" "all" {
  for_each = toset(["a", "b"])
  name     = each.value
  labels   = { kind = lowercase(each.value) }
}
