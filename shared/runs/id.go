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
