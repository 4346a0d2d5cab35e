package monitoring

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"sync"
	"time"

	"cloud.google.com/go/pubsub/v2"
	"google.golang.org/api/option"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/protobuf/encoding/protojson"
)

// Notifier publishes one notification message to a Pub/Sub topic
// ("projects/P/topics/T").
type Notifier interface {
	Notify(ctx context.Context, topic string, data []byte) error
}

// NotificationVersion is the schema version of the JSON that Cloud
// Monitoring's Pub/Sub and webhook channels send.
const NotificationVersion = "1.2"

// Notification is the message a Pub/Sub notification channel receives when
// an incident opens or closes: {"incident": {...}, "version": "1.2"}. Field
// names follow the real service's schema (snake_case, times as Unix
// seconds, threshold and observed values as strings).
type Notification struct {
	Incident NotificationIncident `json:"incident"`
	Version  string               `json:"version"`
}

// NotificationIncident is the "incident" object of a Notification.
type NotificationIncident struct {
	IncidentID              string            `json:"incident_id"`
	ScopingProjectID        string            `json:"scoping_project_id"`
	ScopingProjectNumber    int64             `json:"scoping_project_number"`
	URL                     string            `json:"url"`
	Severity                string            `json:"severity"`
	StartedAt               int64             `json:"started_at"`
	EndedAt                 *int64            `json:"ended_at"`
	State                   string            `json:"state"`
	Summary                 string            `json:"summary"`
	ApigeeURL               string            `json:"apigee_url"`
	ObservedValue           string            `json:"observed_value"`
	Resource                NotificationRef   `json:"resource"`
	ResourceTypeDisplayName string            `json:"resource_type_display_name"`
	ResourceID              string            `json:"resource_id"`
	ResourceDisplayName     string            `json:"resource_display_name"`
	ResourceName            string            `json:"resource_name"`
	Metric                  NotificationRef   `json:"metric"`
	Metadata                NotificationMeta  `json:"metadata"`
	PolicyName              string            `json:"policy_name"`
	PolicyUserLabels        map[string]string `json:"policy_user_labels,omitempty"`
	ConditionName           string            `json:"condition_name"`
	ThresholdValue          string            `json:"threshold_value"`
	Condition               json.RawMessage   `json:"condition"`
	Documentation           NotificationDoc   `json:"documentation"`
}

// NotificationRef names a metric or a monitored resource.
type NotificationRef struct {
	Type        string            `json:"type"`
	DisplayName string            `json:"displayName,omitempty"`
	Labels      map[string]string `json:"labels"`
}

// NotificationMeta carries system and user labels (empty in the emulator).
type NotificationMeta struct {
	SystemLabels map[string]string `json:"system_labels"`
	UserLabels   map[string]string `json:"user_labels"`
}

// NotificationDoc is the policy's documentation.
type NotificationDoc struct {
	Content  string `json:"content"`
	MimeType string `json:"mime_type"`
	Subject  string `json:"subject,omitempty"`
}

// notification builds the message for an event.
func (s *Server) notification(e event) Notification {
	in := e.incident
	n := NotificationIncident{
		IncidentID: in.ID, ScopingProjectID: in.Project, URL: s.incidentURL(in.ID),
		Severity: in.Severity, StartedAt: in.StartedAt.Unix(), State: in.State, Summary: in.Summary,
		ObservedValue: formatValue(in.Observed), ThresholdValue: formatValue(in.Threshold),
		Resource:                NotificationRef{Type: in.ResourceType, Labels: orEmpty(in.ResourceLabel)},
		ResourceTypeDisplayName: in.ResourceType,
		ResourceName:            in.Project + " " + in.ResourceType,
		ResourceDisplayName:     in.ResourceType,
		Metric:                  NotificationRef{Type: in.MetricType, DisplayName: in.MetricType, Labels: orEmpty(in.MetricLabels)},
		Metadata:                NotificationMeta{SystemLabels: map[string]string{}, UserLabels: map[string]string{}},
		PolicyName:              in.PolicyName, PolicyUserLabels: e.policy.GetUserLabels(),
		ConditionName: in.ConditionName,
		Documentation: NotificationDoc{Content: e.policy.GetDocumentation().GetContent(),
			MimeType: e.policy.GetDocumentation().GetMimeType(), Subject: e.policy.GetDocumentation().GetSubject()},
	}
	if n.Documentation.MimeType == "" {
		n.Documentation.MimeType = "text/markdown"
	}
	if in.EndedAt != nil {
		t := in.EndedAt.Unix()
		n.EndedAt = &t
	}
	if e.cond != nil {
		if b, err := protojson.Marshal(e.cond); err == nil {
			n.Condition = b
		}
	}
	if n.Condition == nil {
		n.Condition = json.RawMessage("{}")
	}
	return Notification{Incident: n, Version: NotificationVersion}
}

func orEmpty(m map[string]string) map[string]string {
	if m == nil {
		return map[string]string{}
	}
	return m
}

func (s *Server) incidentURL(id string) string {
	s.mu.Lock()
	base := s.baseURL
	s.mu.Unlock()
	if base == "" {
		return ""
	}
	return base + "/#" + id
}

// notify sends an event to its Pub/Sub channels. Other channel types (email,
// ...) are logged only.
func (s *Server) notify(ctx context.Context, e event) {
	if len(e.channels) == 0 {
		return
	}
	data, err := json.Marshal(s.notification(e))
	if err != nil {
		s.log.Error("monitoring emulator: encode notification", "err", err)
		return
	}
	for _, ch := range e.channels {
		switch ch.GetType() {
		case "pubsub":
			nctx, cancel := context.WithTimeout(ctx, 10*time.Second)
			err := s.opts.Notifier.Notify(nctx, ch.GetLabels()["topic"], data)
			cancel()
			if err != nil {
				s.log.Error("monitoring emulator: notify", "channel", ch.GetName(), "topic", ch.GetLabels()["topic"], "err", err)
			}
		default:
			s.log.Info("monitoring emulator: notification not delivered (only pubsub channels deliver locally)",
				"channel", ch.GetName(), "type", ch.GetType(), "incident", e.incident.ID, "state", e.incident.State)
		}
	}
}

// pubsubNotifier publishes through a Pub/Sub emulator. With no emulator
// host it only logs, so that a local emulator never publishes to a real
// project.
type pubsubNotifier struct {
	host string
	log  *slog.Logger

	mu      sync.Mutex
	clients map[string]*pubsub.Client // by project
	pubs    map[string]*pubsub.Publisher
}

func newPubSubNotifier(host string, log *slog.Logger) *pubsubNotifier {
	return &pubsubNotifier{host: host, log: log, clients: map[string]*pubsub.Client{}, pubs: map[string]*pubsub.Publisher{}}
}

func (n *pubsubNotifier) Notify(ctx context.Context, topic string, data []byte) error {
	n.mu.Lock()
	if n.host == "" { // read late: the stack may export the variable after creating the server
		n.host = os.Getenv("PUBSUB_EMULATOR_HOST")
	}
	host := n.host
	n.mu.Unlock()
	if host == "" {
		n.log.Warn("monitoring emulator: PUBSUB_EMULATOR_HOST is not set; notification dropped", "topic", topic)
		return nil
	}
	rest, ok := strings.CutPrefix(topic, "projects/")
	project, _, ok2 := strings.Cut(rest, "/topics/")
	if !ok || !ok2 || project == "" {
		return fmt.Errorf("notify: topic %q: want projects/P/topics/T", topic)
	}
	n.mu.Lock()
	c, ok := n.clients[project]
	if !ok {
		var err error
		c, err = pubsub.NewClient(context.WithoutCancel(ctx), project, option.WithEndpoint(host), option.WithoutAuthentication(),
			option.WithGRPCDialOption(grpc.WithTransportCredentials(insecure.NewCredentials())))
		if err != nil {
			n.mu.Unlock()
			return fmt.Errorf("notify: pubsub client: %w", err)
		}
		n.clients[project] = c
	}
	p, ok := n.pubs[topic]
	if !ok {
		p = c.Publisher(topic)
		n.pubs[topic] = p
	}
	n.mu.Unlock()
	if _, err := p.Publish(ctx, &pubsub.Message{Data: data}).Get(ctx); err != nil {
		return fmt.Errorf("notify: publish to %s: %w", topic, err)
	}
	return nil
}

// Close stops the publishers and clients.
func (n *pubsubNotifier) Close() {
	n.mu.Lock()
	defer n.mu.Unlock()
	for _, p := range n.pubs {
		p.Stop()
	}
	for _, c := range n.clients {
		_ = c.Close()
	}
}
