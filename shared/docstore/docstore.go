// Package docstore holds the small Firestore helpers the stores share
// (runs, registry, drift summaries): decoding query results into typed
// values.
package docstore

import (
	"context"
	"fmt"

	"cloud.google.com/go/firestore"
)

// All runs q and decodes every document into a T, in the query's order.
func All[T any](ctx context.Context, q firestore.Query) ([]T, error) {
	snaps, err := q.Documents(ctx).GetAll()
	if err != nil {
		return nil, err
	}
	out := make([]T, 0, len(snaps))
	for _, s := range snaps {
		var v T
		if err := s.DataTo(&v); err != nil {
			return nil, fmt.Errorf("decode %s: %w", s.Ref.Path, err)
		}
		out = append(out, v)
	}
	return out, nil
}
