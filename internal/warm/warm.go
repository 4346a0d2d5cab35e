package warm

import (
	_ "cloud.google.com/go/aiplatform/apiv1"
	_ "cloud.google.com/go/firestore"
	_ "cloud.google.com/go/monitoring/apiv3/v2"
	_ "cloud.google.com/go/pubsub/v2"
	_ "cloud.google.com/go/storage"
	_ "github.com/GoogleCloudPlatform/functions-framework-go/funcframework"
	_ "github.com/GoogleCloudPlatform/functions-framework-go/functions"
	_ "github.com/cloudevents/sdk-go/v2"
	_ "github.com/fsouza/fake-gcs-server/fakestorage"
	_ "github.com/google/flatbuffers/go"
	_ "github.com/google/go-cmp/cmp"
	_ "github.com/hashicorp/hcl/v2/hclwrite"
	_ "github.com/spf13/cobra"
	_ "gonum.org/v1/gonum/stat"
	_ "github.com/parquet-go/parquet-go"
	_ "cloud.google.com/go/pubsub/v2/pstest"
)
