package step_test

import (
	"context"
	"testing"

	"cloud.google.com/go/pubsub/v2/pstest"
	"github.com/fsouza/fake-gcs-server/fakestorage"
	"google.golang.org/api/option"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/megapipe/mega/shared/blob"
	"github.com/megapipe/mega/shared/config"
	"github.com/megapipe/mega/shared/step"
)

// NewEnv passes each service's client options to its client, so an Env runs
// against in-process fakes without the emulators or the environment.
func TestNewEnvWithInProcessFakes(t *testing.T) {
	ps := pstest.NewServer()
	t.Cleanup(func() { ps.Close() })
	gcs, err := fakestorage.NewServerWithOptions(fakestorage.Options{Scheme: "http", Host: "127.0.0.1",
		InitialObjects: []fakestorage.Object{{ObjectAttrs: fakestorage.ObjectAttrs{BucketName: "art", Name: "keep"}}}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(gcs.Stop)
	grpcOpts := func(addr string) []option.ClientOption {
		return []option.ClientOption{option.WithEndpoint(addr), option.WithoutAuthentication(),
			option.WithGRPCDialOption(grpc.WithTransportCredentials(insecure.NewCredentials()))}
	}
	ctx := context.Background()
	env, err := step.NewEnv(ctx, config.Config{Project: "p", ArtifactsBucket: "art"}, step.ClientOptions{
		Storage:   []option.ClientOption{option.WithEndpoint(gcs.URL() + "/storage/v1/"), option.WithoutAuthentication()},
		PubSub:    grpcOpts(ps.Addr),
		Firestore: grpcOpts("127.0.0.1:1"), // built, never dialled here
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { env.Close() })
	if err := env.Topics.Ensure(ctx, config.TopicFeaturesReady); err != nil {
		t.Fatal(err)
	}
	id, err := env.Topics.PublishJSON(ctx, config.TopicFeaturesReady, map[string]string{"run_id": "r"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if m := ps.Message(id); m == nil || string(m.Data) != `{"run_id":"r"}` {
		t.Errorf("pstest holds %+v for id %s", m, id)
	}
	if _, err := env.Blob.Put(ctx, "art", "runs/r/x.json", []byte("{}"), blob.WriteOptions{}); err != nil {
		t.Fatal(err)
	}
	if o, err := gcs.GetObject("art", "runs/r/x.json"); err != nil || string(o.Content) != "{}" {
		t.Errorf("fakestorage holds %q, %v", o.Content, err)
	}
}
