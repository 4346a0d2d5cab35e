package step

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"

	"github.com/megapipe/mega/shared/blob"
	"github.com/megapipe/mega/shared/events"
	"github.com/megapipe/mega/shared/runs"
)

// ErrArtifactExists is wrapped by WriteArtifactOnce when the artifact exists
// with other bytes.
var ErrArtifactExists = errors.New("artifact exists with other bytes")

// WriteArtifactOnce writes runs/<run>/<step>/<file> like WriteArtifact, but
// never replaces it: a model artifact of a run belongs to the version that
// run registered, so it is immutable (issue 17). When it exists with the
// same bytes (an exact replay) it returns it; with other bytes the result
// is a permanent error naming both checksums, and nothing is written.
func (e *Env) WriteArtifactOnce(ctx context.Context, runID, stepName, file string, data []byte, contentType string) (Artifact, error) {
	ctx, cancel := context.WithTimeout(ctx, CallTimeout)
	defer cancel()
	name := runs.ArtifactName(runID, stepName, file)
	uri := events.ObjectURI(e.Config.ArtifactsBucket, name)
	sum := sha256.Sum256(data)
	out := Artifact{URI: uri, SHA256: hex.EncodeToString(sum[:]), Size: int64(len(data))}
	_, err := e.Blob.PutIf(ctx, e.Config.ArtifactsBucket, name, data, blob.WriteOptions{ContentType: contentType}, 0)
	if err == nil {
		return out, nil
	}
	if !errors.Is(err, blob.ErrPrecondition) {
		return Artifact{}, err
	}
	old, err := e.Blob.ReadAll(ctx, e.Config.ArtifactsBucket, name)
	if err != nil {
		return Artifact{}, err
	}
	if bytes.Equal(old, data) {
		return out, nil
	}
	was := sha256.Sum256(old)
	return Artifact{}, Permanent(fmt.Errorf("%w: %s has sha256 %s, this run made %s: artifacts of a registered version are immutable (a replay must reproduce them; drop the data again for a new version)",
		ErrArtifactExists, uri, hex.EncodeToString(was[:]), out.SHA256))
}
