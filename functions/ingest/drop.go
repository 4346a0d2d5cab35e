package ingest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"strings"

	"github.com/megapipe/mega/shared/blob"
	"github.com/megapipe/mega/shared/events"
	"github.com/megapipe/mega/shared/runs"
)

// Dropped describes a file uploaded by Drop.
type Dropped struct {
	Object     string `json:"object"` // gs://<raw bucket>/<dataset>/<file>
	Dataset    string `json:"dataset"`
	Label      string `json:"label,omitempty"`
	Size       int64  `json:"size"`
	Generation int64  `json:"generation"`
	RunID      string `json:"run_id"` // the run the drop starts
}

// CheckDatasetName reports whether name can be a dataset: the first path
// segment of a dropped object and a Firestore document id.
func CheckDatasetName(name string) error {
	if !datasetName.MatchString(name) {
		return fmt.Errorf("dataset name %q: want 1-100 letters, digits, '_', '.', '-', starting with a letter or digit", name)
	}
	return nil
}

// Drop uploads a local file to the raw bucket as <dataset>/<base name of
// file>, with the label column in the object's "label" metadata when label
// is set, streaming (the file is never read whole into memory). The upload
// triggers ingest.
func Drop(ctx context.Context, store *blob.Store, rawBucket, file, dataset, label string) (Dropped, error) {
	if err := CheckDatasetName(dataset); err != nil {
		return Dropped{}, fmt.Errorf("drop: %w", err)
	}
	f, err := os.Open(file)
	if err != nil {
		return Dropped{}, fmt.Errorf("drop: %w", err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return Dropped{}, fmt.Errorf("drop: %w", err)
	}
	if st.IsDir() {
		return Dropped{}, fmt.Errorf("drop: %s is a directory", file)
	}
	name := path.Join(dataset, filepath.Base(file))
	o := blob.WriteOptions{ContentType: contentType(file)}
	if label != "" {
		o.Metadata = map[string]string{LabelMetadata: label}
	}
	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	w := store.Create(wctx, rawBucket, name, o)
	if _, err := io.Copy(w, f); err != nil {
		w.Abort(cancel)
		return Dropped{}, fmt.Errorf("drop: upload %s: %w", events.ObjectURI(rawBucket, name), err)
	}
	if err := w.Close(); err != nil {
		if errors.Is(err, blob.ErrNotExist) {
			return Dropped{}, fmt.Errorf("drop: bucket %s does not exist", rawBucket)
		}
		return Dropped{}, fmt.Errorf("drop: %w", err)
	}
	gen := w.Generation()
	return Dropped{Object: events.ObjectURI(rawBucket, name), Dataset: dataset, Label: label, Size: st.Size(),
		Generation: gen, RunID: runs.IDForObject(dataset, rawBucket, name, gen)}, nil
}

func contentType(file string) string {
	switch strings.ToLower(filepath.Ext(file)) {
	case ".csv":
		return "text/csv"
	case ".jsonl", ".ndjson", ".json":
		return "application/x-ndjson"
	}
	return "application/octet-stream"
}
