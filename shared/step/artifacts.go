package step

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/megapipe/mega/shared/blob"
	"github.com/megapipe/mega/shared/events"
	"github.com/megapipe/mega/shared/runs"
)

// CallTimeout bounds one storage call of a step.
const CallTimeout = 2 * time.Minute

// Artifact is a written artifact.
type Artifact struct {
	URI    string
	SHA256 string
	Size   int64
}

// ReadArtifact reads a whole artifact named by its gs:// URI. A missing
// artifact is permanent: the message that names it can never succeed.
func (e *Env) ReadArtifact(ctx context.Context, uri string) ([]byte, error) {
	b, err := e.openArtifact(ctx, uri)
	if err != nil {
		return nil, err
	}
	defer b.Close()
	data, err := io.ReadAll(b)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", uri, err)
	}
	return data, nil
}

// OpenArtifact opens an artifact for streaming.
func (e *Env) OpenArtifact(ctx context.Context, uri string) (io.ReadCloser, error) {
	return e.openArtifact(ctx, uri)
}

func (e *Env) openArtifact(ctx context.Context, uri string) (io.ReadCloser, error) {
	if uri == "" {
		return nil, Permanentf("the message names no artifact where one is needed")
	}
	bucket, name, err := events.ParseObjectURI(uri)
	if err != nil {
		return nil, Permanent(err)
	}
	r, err := e.Blob.Open(ctx, bucket, name, 0)
	if err != nil {
		if isNotExist(err) {
			return nil, Permanent(err)
		}
		return nil, err
	}
	return r, nil
}

// ReadJSON reads an artifact and decodes it into v; undecodable content is
// permanent.
func (e *Env) ReadJSON(ctx context.Context, uri string, v any) error {
	b, err := e.ReadArtifact(ctx, uri)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(b, v); err != nil {
		return Permanentf("decode %s: %w", uri, err)
	}
	return nil
}

// WriteArtifact writes runs/<run>/<step>/<file> in the artifacts bucket and
// returns its URI, sha256 and size.
func (e *Env) WriteArtifact(ctx context.Context, runID, stepName, file string, data []byte, contentType string) (Artifact, error) {
	ctx, cancel := context.WithTimeout(ctx, CallTimeout)
	defer cancel()
	name := runs.ArtifactName(runID, stepName, file)
	if _, err := e.Blob.Put(ctx, e.Config.ArtifactsBucket, name, data, blob.WriteOptions{ContentType: contentType}); err != nil {
		return Artifact{}, err
	}
	sum := sha256.Sum256(data)
	return Artifact{URI: events.ObjectURI(e.Config.ArtifactsBucket, name), SHA256: hex.EncodeToString(sum[:]), Size: int64(len(data))}, nil
}

// WriteJSON writes v as an indented JSON artifact.
func (e *Env) WriteJSON(ctx context.Context, runID, stepName, file string, v any) (Artifact, error) {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return Artifact{}, fmt.Errorf("encode %s: %w", file, err)
	}
	return e.WriteArtifact(ctx, runID, stepName, file, append(b, '\n'), "application/json")
}

func isNotExist(err error) bool {
	return err != nil && errors.Is(err, blob.ErrNotExist)
}
