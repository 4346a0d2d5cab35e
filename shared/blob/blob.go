// Package blob is Megapipe's thin wrapper over Cloud Storage: read, write,
// list and stat objects by bucket and name. It follows STORAGE_EMULATOR_HOST
// like the official client, so the same code talks to fake-gcs-server locally.
//
// Reads use the JSON API (storage.WithJSONReads), which works against the
// real service and against fake-gcs-server whatever host it is reached by.
package blob

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"time"

	"cloud.google.com/go/storage"
	"google.golang.org/api/googleapi"
	"google.golang.org/api/iterator"
	"google.golang.org/api/option"
)

// ErrNotExist is returned when an object or bucket does not exist.
var ErrNotExist = errors.New("blob: object does not exist")

// ErrPrecondition is returned by PutIf when the object's generation is not
// the one the caller expected (HTTP 412): someone else wrote it first.
var ErrPrecondition = errors.New("blob: precondition failed")

// Store reads and writes objects.
type Store struct {
	c *storage.Client
}

// New returns a Store using the default credentials, or no credentials when
// STORAGE_EMULATOR_HOST is set. The options go to the Storage client after
// those (for example an in-process fake-gcs-server's endpoint and HTTP client
// in tests).
func New(ctx context.Context, extra ...option.ClientOption) (*Store, error) {
	opts := []option.ClientOption{storage.WithJSONReads()}
	if os.Getenv("STORAGE_EMULATOR_HOST") != "" {
		opts = append(opts, option.WithoutAuthentication())
	}
	opts = append(opts, extra...)
	c, err := storage.NewClient(ctx, opts...)
	if err != nil {
		return nil, fmt.Errorf("blob: new client: %w", err)
	}
	return &Store{c: c}, nil
}

// Close releases the client.
func (s *Store) Close() error { return s.c.Close() }

// Attrs describes a stored object.
type Attrs struct {
	Bucket      string
	Name        string
	Size        int64
	Generation  int64
	ContentType string
	Metadata    map[string]string
	Created     time.Time
	Updated     time.Time
}

func attrsOf(a *storage.ObjectAttrs) Attrs {
	return Attrs{Bucket: a.Bucket, Name: a.Name, Size: a.Size, Generation: a.Generation, ContentType: a.ContentType,
		Metadata: a.Metadata, Created: a.Created, Updated: a.Updated}
}

func wrap(op, bucket, name string, err error) error {
	if errors.Is(err, storage.ErrObjectNotExist) || errors.Is(err, storage.ErrBucketNotExist) {
		return fmt.Errorf("blob: %s gs://%s/%s: %w", op, bucket, name, ErrNotExist)
	}
	var ge *googleapi.Error
	if errors.As(err, &ge) && ge.Code == http.StatusPreconditionFailed {
		return fmt.Errorf("blob: %s gs://%s/%s: %w: %w", op, bucket, name, ErrPrecondition, err)
	}
	return fmt.Errorf("blob: %s gs://%s/%s: %w", op, bucket, name, err)
}

// Stat returns an object's attributes.
func (s *Store) Stat(ctx context.Context, bucket, name string) (Attrs, error) {
	a, err := s.c.Bucket(bucket).Object(name).Attrs(ctx)
	if err != nil {
		return Attrs{}, wrap("stat", bucket, name, err)
	}
	return attrsOf(a), nil
}

// Open opens an object for reading. A generation > 0 reads that generation
// only, so a reader never sees a newer upload under the same name.
func (s *Store) Open(ctx context.Context, bucket, name string, generation int64) (io.ReadCloser, error) {
	o := s.c.Bucket(bucket).Object(name)
	if generation > 0 {
		o = o.Generation(generation)
	}
	r, err := o.NewReader(ctx)
	if err != nil {
		return nil, wrap("open", bucket, name, err)
	}
	return r, nil
}

// ReadAll reads a whole (small) object.
func (s *Store) ReadAll(ctx context.Context, bucket, name string) ([]byte, error) {
	r, err := s.Open(ctx, bucket, name, 0)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	b, err := io.ReadAll(r)
	if err != nil {
		return nil, wrap("read", bucket, name, err)
	}
	return b, nil
}

// ReadGen reads a whole (small) object and the generation it read, for a
// read-modify-write with PutIf. The data and the generation come from one
// response, so they always belong together.
func (s *Store) ReadGen(ctx context.Context, bucket, name string) ([]byte, int64, error) {
	r, err := s.c.Bucket(bucket).Object(name).NewReader(ctx)
	if err != nil {
		return nil, 0, wrap("read", bucket, name, err)
	}
	defer r.Close()
	b, err := io.ReadAll(r)
	if err != nil {
		return nil, 0, wrap("read", bucket, name, err)
	}
	return b, r.Attrs.Generation, nil
}

// WriteOptions are optional object settings.
type WriteOptions struct {
	ContentType string
	Metadata    map[string]string
}

// Writer streams an object; the object appears only when Close succeeds.
type Writer struct {
	w            *storage.Writer
	bucket, name string
}

// Write implements io.Writer.
func (w *Writer) Write(p []byte) (int, error) { return w.w.Write(p) }

// Close finishes the upload and reports its error.
func (w *Writer) Close() error {
	if err := w.w.Close(); err != nil {
		return wrap("write", w.bucket, w.name, err)
	}
	return nil
}

// Generation is the generation of the written object, after Close.
func (w *Writer) Generation() int64 {
	if a := w.w.Attrs(); a != nil {
		return a.Generation
	}
	return 0
}

// Abort cancels the upload; nothing is written.
func (w *Writer) Abort(cancel context.CancelFunc) {
	cancel()
	_ = w.w.Close()
}

// Create opens a streaming writer. Cancel ctx to abort the upload.
func (s *Store) Create(ctx context.Context, bucket, name string, o WriteOptions) *Writer {
	w := s.c.Bucket(bucket).Object(name).NewWriter(ctx)
	w.ContentType = o.ContentType
	w.Metadata = o.Metadata
	return &Writer{w: w, bucket: bucket, name: name}
}

// Put writes a whole object and returns its generation.
func (s *Store) Put(ctx context.Context, bucket, name string, data []byte, o WriteOptions) (int64, error) {
	w := s.Create(ctx, bucket, name, o)
	if _, err := w.Write(data); err != nil {
		_ = w.Close()
		return 0, wrap("write", bucket, name, err)
	}
	if err := w.Close(); err != nil {
		return 0, err
	}
	return w.Generation(), nil
}

// PutIf writes a whole object only if its live generation is ifGeneration
// (0: only if the object does not exist), and returns the new generation.
// When another writer got there first it returns an error wrapping
// ErrPrecondition and writes nothing.
func (s *Store) PutIf(ctx context.Context, bucket, name string, data []byte, o WriteOptions, ifGeneration int64) (int64, error) {
	if ifGeneration < 0 {
		return 0, fmt.Errorf("blob: write gs://%s/%s: generation %d < 0", bucket, name, ifGeneration)
	}
	cond := storage.Conditions{DoesNotExist: true}
	if ifGeneration > 0 {
		cond = storage.Conditions{GenerationMatch: ifGeneration}
	}
	w := s.c.Bucket(bucket).Object(name).If(cond).NewWriter(ctx)
	w.ContentType = o.ContentType
	w.Metadata = o.Metadata
	if _, err := w.Write(data); err != nil {
		_ = w.Close()
		return 0, wrap("write", bucket, name, err)
	}
	if err := w.Close(); err != nil {
		return 0, wrap("write", bucket, name, err)
	}
	return w.Attrs().Generation, nil
}

// List returns the objects whose names start with prefix, in name order.
func (s *Store) List(ctx context.Context, bucket, prefix string) ([]Attrs, error) {
	it := s.c.Bucket(bucket).Objects(ctx, &storage.Query{Prefix: prefix})
	var out []Attrs
	for {
		a, err := it.Next()
		if errors.Is(err, iterator.Done) {
			return out, nil
		}
		if err != nil {
			return nil, wrap("list", bucket, prefix, err)
		}
		out = append(out, attrsOf(a))
	}
}

// EnsureBucket creates a bucket if it does not exist (the local stack and
// tests; in the cloud Terraform creates them).
func (s *Store) EnsureBucket(ctx context.Context, project, bucket string) error {
	_, err := s.c.Bucket(bucket).Attrs(ctx)
	if err == nil {
		return nil
	}
	if !errors.Is(err, storage.ErrBucketNotExist) {
		return fmt.Errorf("blob: stat bucket %s: %w", bucket, err)
	}
	if err := s.c.Bucket(bucket).Create(ctx, project, &storage.BucketAttrs{VersioningEnabled: true}); err != nil {
		return fmt.Errorf("blob: create bucket %s: %w", bucket, err)
	}
	return nil
}
