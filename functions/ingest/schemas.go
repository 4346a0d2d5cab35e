package ingest

import (
	"context"
	"fmt"
	"github.com/megapipe/mega/shared/config"
	"strings"
	"time"

	"cloud.google.com/go/firestore"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/megapipe/mega/shared/dataset"
)

// CollDatasets is the Firestore collection of dataset schemas: one document
// per dataset name, holding the schema JSON. (It belongs beside the other
// collection names in shared/config.)
const CollDatasets = config.CollDatasets

// schemaDoc is a dataset's stored schema.
type schemaDoc struct {
	Dataset string    `firestore:"dataset"`
	Schema  string    `firestore:"schema"` // the schema JSON (dataset.ParseSchema)
	Source  string    `firestore:"source"` // the drop it was inferred from
	Created time.Time `firestore:"created"`
}

type storedSchema struct {
	Schema *dataset.Schema
	Source string
}

type schemaStore struct{ c *firestore.Client }

func newSchemaStore(c *firestore.Client) schemaStore { return schemaStore{c: c} }

// get returns the dataset's schema, nil if it has none yet.
func (s schemaStore) get(ctx context.Context, name string) (*storedSchema, error) {
	ctx, cancel := context.WithTimeout(ctx, callTimeout)
	defer cancel()
	snap, err := s.c.Collection(CollDatasets).Doc(name).Get(ctx)
	if status.Code(err) == codes.NotFound {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read schema of %s: %w", name, err)
	}
	var d schemaDoc
	if err := snap.DataTo(&d); err != nil {
		return nil, fmt.Errorf("read schema of %s: %w", name, err)
	}
	sc, err := dataset.ParseSchema([]byte(d.Schema))
	if err != nil {
		// A stored schema that does not parse is a broken dataset, not a
		// passing outage: fail the run with the reason.
		return nil, permanentf("stored schema of dataset %s: %v", name, err)
	}
	return &storedSchema{Schema: sc, Source: d.Source}, nil
}

// create stores the first schema of a dataset. When another drop stored one
// first, the error is transient: the retry validates against that schema.
func (s schemaStore) create(ctx context.Context, name string, sc *dataset.Schema, source string) error {
	ctx, cancel := context.WithTimeout(ctx, callTimeout)
	defer cancel()
	js, err := sc.MarshalIndent()
	if err != nil {
		return fmt.Errorf("store schema of %s: %w", name, err)
	}
	_, err = s.c.Collection(CollDatasets).Doc(name).Create(ctx, schemaDoc{Dataset: name, Schema: string(js), Source: source, Created: time.Now().UTC()})
	if status.Code(err) == codes.AlreadyExists {
		return fmt.Errorf("store schema of %s: another drop stored one first; retrying validates against it", name)
	}
	if err != nil {
		return fmt.Errorf("store schema of %s: %w", name, err)
	}
	return nil
}

// StoreSchema stores a schema a person states for a dataset (mega drop
// --schema FILE), before its first drop: later drops, the first included,
// are validated against it instead of inferring one. When the dataset has a
// schema already, the same schema is fine and a different one is refused
// with the conflicting columns (the stored schema never changes under a
// dataset's existing runs).
func StoreSchema(ctx context.Context, docs *firestore.Client, name string, sc *dataset.Schema, source string) error {
	if err := CheckDatasetName(name); err != nil {
		return fmt.Errorf("store schema: %w", err)
	}
	c := *sc
	c.Dataset = name
	if err := c.Check(); err != nil {
		return fmt.Errorf("store schema of %s: %w", name, err)
	}
	s := newSchemaStore(docs)
	for range 2 {
		stored, err := s.get(ctx, name)
		if err != nil {
			return err
		}
		if stored != nil {
			if diff := stored.Schema.Conflicts(&c); len(diff) > 0 {
				return fmt.Errorf("store schema of %s: %w: the dataset's stored schema (from %s) differs: %s", name, dataset.ErrSchemaMismatch, stored.Source, strings.Join(diff, "; "))
			}
			return nil
		}
		if err := s.create(ctx, name, &c, source); err == nil {
			return nil
		}
		// Another writer stored one first: compare with it.
	}
	return fmt.Errorf("store schema of %s: the stored schema changed twice while storing", name)
}
