// Package topic publishes Megapipe's Pub/Sub messages. It follows
// PUBSUB_EMULATOR_HOST like the official client.
//
// A publish is bounded by PublishTimeout, and Publish waits for the client's
// own verdict, not for the caller's context: the client keeps retrying a
// message in the background until its timeout, whatever happens to the
// context it was given, so returning earlier would leave a message that may
// still be sent after the caller has decided to retry the whole event (a
// duplicate downstream). A failure is transient: the caller's event is
// retried.
package topic

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	"cloud.google.com/go/pubsub/v2"
	"cloud.google.com/go/pubsub/v2/apiv1/pubsubpb"
	"google.golang.org/api/option"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// PublishTimeout bounds one publish: the client gives up on the message then.
const PublishTimeout = 10 * time.Second

// Publisher publishes to topics of one project.
type Publisher struct {
	project string
	c       *pubsub.Client

	mu   sync.Mutex
	pubs map[string]*pubsub.Publisher
}

// New returns a Publisher for project. The options go to the Pub/Sub client
// (for example an in-process pstest server's connection in tests).
func New(ctx context.Context, project string, opts ...option.ClientOption) (*Publisher, error) {
	c, err := pubsub.NewClient(ctx, project, opts...)
	if err != nil {
		return nil, fmt.Errorf("topic: new client: %w", err)
	}
	return &Publisher{project: project, c: c, pubs: map[string]*pubsub.Publisher{}}, nil
}

// Client returns the underlying client (for admin calls and subscribers).
func (p *Publisher) Client() *pubsub.Client { return p.c }

func (p *Publisher) publisher(topic string) *pubsub.Publisher {
	p.mu.Lock()
	defer p.mu.Unlock()
	if pub, ok := p.pubs[topic]; ok {
		return pub
	}
	pub := p.c.Publisher(topic)
	// Messages of one step are few; send each at once.
	pub.PublishSettings.CountThreshold = 1
	pub.PublishSettings.DelayThreshold = time.Millisecond
	pub.PublishSettings.Timeout = PublishTimeout
	p.pubs[topic] = pub
	return pub
}

// Publish sends one message and waits for the server's id.
func (p *Publisher) Publish(ctx context.Context, topic string, data []byte, attrs map[string]string) (string, error) {
	res := p.publisher(topic).Publish(ctx, &pubsub.Message{Data: data, Attributes: attrs})
	// Wait for the client's verdict (it comes within PublishTimeout); the
	// margin only guards against a client that never answers.
	wctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), PublishTimeout+5*time.Second)
	defer cancel()
	id, err := res.Get(wctx)
	if err != nil {
		return "", fmt.Errorf("topic: publish to %s: %w", topic, err)
	}
	return id, nil
}

// PublishJSON publishes v encoded as JSON.
func (p *Publisher) PublishJSON(ctx context.Context, topic string, v any, attrs map[string]string) (string, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return "", fmt.Errorf("topic: encode message for %s: %w", topic, err)
	}
	return p.Publish(ctx, topic, b, attrs)
}

// Ensure creates the topics that do not exist yet (the local stack and tests;
// in the cloud Terraform creates them).
func (p *Publisher) Ensure(ctx context.Context, topics ...string) error {
	for _, t := range topics {
		_, err := p.c.TopicAdminClient.CreateTopic(ctx, &pubsubpb.Topic{Name: p.TopicName(t)})
		if err != nil && status.Code(err) != codes.AlreadyExists {
			return fmt.Errorf("topic: create %s: %w", t, err)
		}
	}
	return nil
}

// TopicName returns projects/<project>/topics/<id>.
func (p *Publisher) TopicName(id string) string { return "projects/" + p.project + "/topics/" + id }

// Close flushes and stops every publisher, then closes the client.
func (p *Publisher) Close() error {
	p.mu.Lock()
	for _, pub := range p.pubs {
		pub.Stop()
	}
	p.pubs = map[string]*pubsub.Publisher{}
	p.mu.Unlock()
	err := p.c.Close()
	if err != nil && !errors.Is(err, context.Canceled) {
		return fmt.Errorf("topic: close: %w", err)
	}
	return nil
}
