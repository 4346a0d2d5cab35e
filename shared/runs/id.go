package runs

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"regexp"
	"strings"
)

var unsafeID = regexp.MustCompile(`[^a-z0-9-]+`)

// IDForObject is the run id of a dropped object: the dataset name and a digest
// of the object and its generation, so the same upload always maps to the same
// run, and a new upload under the same name to a new one.
func IDForObject(dataset, bucket, name string, generation int64) string {
	sum := sha256.Sum256(fmt.Appendf(nil, "gs://%s/%s#%d", bucket, name, generation))
	d := strings.Trim(unsafeID.ReplaceAllString(strings.ToLower(dataset), "-"), "-")
	if len(d) > 40 {
		d = d[:40]
	}
	if d == "" {
		d = "run"
	}
	return d + "-" + hex.EncodeToString(sum[:])[:10]
}

// ArtifactName is the deterministic object name of a step's output in the
// artifacts bucket: runs/<run id>/<step>/<file>. The same input always
// writes the same names, so redoing a step overwrites instead of duplicating.
func ArtifactName(runID, step, file string) string {
	return "runs/" + runID + "/" + step + "/" + file
}
