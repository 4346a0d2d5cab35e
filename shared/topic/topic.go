// Package topic publishes Megapipe's Pub/Sub messages. It follows
// PUBSUB_EMULATOR_HOST like the official client.
//
// Publishing is bounded by the caller's context: a publish that cannot reach
// Pub/Sub fails when the context ends, and the caller treats that as a
// transient failure (the event is retried).
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
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// DefaultTimeout bounds one publish when the caller's context has no deadline.
const DefaultTimeout = 30 * time.Second

// Publisher publishes to topics of one project.
type Publisher struct {
	project string
	c       *pubsub.Client

	mu   sync.Mutex
	pubs map[string]*pubsub.Publisher
}

// New returns a Publisher for project.
func New(ctx context.Context, project string) (*Publisher, error) {
	c, err := pubsub.NewClient(ctx, project)
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
	pub.PublishSettings.Timeout = DefaultTimeout
	p.pubs[topic] = pub
	return pub
}

// Publish sends one message and waits for the server's id.
func (p *Publisher) Publish(ctx context.Context, topic string, data []byte, attrs map[string]string) (string, error) {
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, DefaultTimeout)
		defer cancel()
	}
	id, err := p.publisher(topic).Publish(ctx, &pubsub.Message{Data: data, Attributes: attrs}).Get(ctx)
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
