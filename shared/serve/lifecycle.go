package serve

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/megapipe/mega/shared/events"
	"github.com/megapipe/mega/shared/features"
	"github.com/megapipe/mega/shared/infer"
	"github.com/megapipe/mega/shared/registry"
)

// FeaturesArtifact is the registry artifact holding a version's feature
// spec (features.json of package features), beside registry.ServedArtifact.
const FeaturesArtifact = "features"

// Registry is what the server reads from the model registry (package
// registry's Registry).
type Registry interface {
	Models(ctx context.Context) ([]registry.Model, error)
	Get(ctx context.Context, name, version string) (registry.Version, error)
	Watch(ctx context.Context, interval time.Duration, fn func(name string, s registry.Serving)) error
}

// Objects reads stored artifacts (package blob's Store).
type Objects interface {
	ReadAll(ctx context.Context, bucket, name string) ([]byte, error)
}

// Loader keeps a Server's models in step with the registry's serving
// pointers.
type Loader struct {
	Server   *Server
	Registry Registry
	Objects  Objects
	// Only restricts the models served (MEGA_SERVE_MODELS); empty means
	// every model in the registry.
	Only []string
	// Workers and Requant are passed to LoadModel.
	Workers int
	Requant infer.Requant
	// PollInterval is the registry's fallback polling period (default 10 s).
	PollInterval time.Duration

	mu      sync.Mutex // one load at a time per loader
	loading map[string]string
}

func (l *Loader) wanted(name string) bool { return len(l.Only) == 0 || slices.Contains(l.Only, name) }

// Start loads the serving version of every model (in parallel), then marks
// the server ready. Models without a serving version answer 503 until one
// is deployed. It fails only when the registry cannot be listed.
func (l *Loader) Start(ctx context.Context) error {
	ms, err := l.Registry.Models(ctx)
	if err != nil {
		return fmt.Errorf("serve: list models: %w", err)
	}
	seen := map[string]bool{}
	var wg sync.WaitGroup
	for _, m := range ms {
		if !l.wanted(m.Name) {
			continue
		}
		seen[m.Name] = true
		if m.Serving == nil {
			l.Server.Pending(m.Name, "no version is deployed yet")
			continue
		}
		wg.Add(1)
		go func(name string, s registry.Serving) {
			defer wg.Done()
			_ = l.Load(ctx, name, s)
		}(m.Name, *m.Serving)
	}
	for _, n := range l.Only {
		if !seen[n] {
			l.Server.Pending(n, "the model is not in the registry yet")
		}
	}
	wg.Wait()
	l.Server.SetReady(true)
	return nil
}

// Watch follows serving pointers until ctx ends and loads each new
// version beside the serving one, swapping when it is warm.
func (l *Loader) Watch(ctx context.Context) error {
	iv := l.PollInterval
	if iv <= 0 {
		iv = 10 * time.Second
	}
	err := l.Registry.Watch(ctx, iv, func(name string, s registry.Serving) {
		if !l.wanted(name) {
			return
		}
		lctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
		defer cancel()
		_ = l.Load(lctx, name, s)
	})
	if errors.Is(err, context.Canceled) {
		return nil
	}
	return err
}

// Load fetches, verifies, warms and installs one serving pointer. A version
// already serving is not reloaded. A refused artifact leaves the serving
// version in place; the refusal is logged and counted.
func (l *Loader) Load(ctx context.Context, name string, s registry.Serving) error {
	if cur, ok := l.Server.Model(name); ok && cur.Version == s.Version && strings.EqualFold(cur.SHA256, s.SHA256) {
		return nil
	}
	l.mu.Lock()
	if l.loading == nil {
		l.loading = map[string]string{}
	}
	key := s.Version + "@" + s.SHA256
	if l.loading[name] == key {
		l.mu.Unlock()
		return nil
	}
	l.loading[name] = key
	l.mu.Unlock()
	defer func() {
		l.mu.Lock()
		delete(l.loading, name)
		l.mu.Unlock()
	}()
	start := time.Now()
	m, err := l.load(ctx, name, s)
	if err != nil {
		l.Server.RefuseLoad(name, err)
		return err
	}
	l.Server.Install(m)
	l.Server.opts.Logger.Info("model serving", "model", name, "version", s.Version, "sha256", m.SHA256,
		"task", m.Task, "load_ms", time.Since(start).Milliseconds())
	return nil
}

func (l *Loader) load(ctx context.Context, name string, s registry.Serving) (*Model, error) {
	if s.SHA256 == "" {
		return nil, fmt.Errorf("%w: %s/%s: the serving pointer has no sha256", ErrBadModel, name, s.Version)
	}
	data, err := l.read(ctx, s.URI)
	if err != nil {
		return nil, err
	}
	cfg := ModelConfig{Name: name, Version: s.Version, TFLite: data, SHA256: s.SHA256, Workers: l.Workers, Requant: l.Requant}
	v, err := l.Registry.Get(ctx, name, s.Version)
	switch {
	case err == nil:
		cfg.Task = v.Task
		if a, ok := v.Artifacts[FeaturesArtifact]; ok && a.URI != "" {
			b, err := l.read(ctx, a.URI)
			if err != nil {
				return nil, err
			}
			if a.SHA256 != "" {
				if sum := sha256.Sum256(b); !strings.EqualFold(hex.EncodeToString(sum[:]), a.SHA256) {
					return nil, fmt.Errorf("%w: %s/%s: feature spec %s does not match its sha256", ErrBadModel, name, s.Version, a.URI)
				}
			}
			if cfg.Spec, err = features.Parse(b); err != nil {
				return nil, fmt.Errorf("%w: %s/%s: %w", ErrBadModel, name, s.Version, err)
			}
		}
	case errors.Is(err, registry.ErrNotFound):
		// A pointer without a version record: serve rows of numbers.
	default:
		return nil, fmt.Errorf("serve: load %s/%s: %w", name, s.Version, err)
	}
	return LoadModel(cfg)
}

func (l *Loader) read(ctx context.Context, uri string) ([]byte, error) {
	bucket, obj, err := events.ParseObjectURI(uri)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrBadModel, err)
	}
	b, err := l.Objects.ReadAll(ctx, bucket, obj)
	if err != nil {
		return nil, fmt.Errorf("serve: read %s: %w", uri, err)
	}
	return b, nil
}
