package tfcheck

import (
	"encoding/json"
	"os"
	"regexp"
	"sort"
	"testing"
)

// TestAlertingKeysConsumed checks that terraform/alerting.tf reads every
// field that shared/alerting/policies.json uses: a field the dynamic blocks
// do not map would be dropped silently on deploy, and the cloud policy would
// differ from the one the local emulator evaluates.
func TestAlertingKeysConsumed(t *testing.T) {
	data, err := os.ReadFile("../../shared/alerting/policies.json")
	if err != nil {
		t.Fatal(err)
	}
	var v any
	if err := json.Unmarshal(data, &v); err != nil {
		t.Fatal(err)
	}
	keys := map[string]bool{}
	var walk func(any, bool)
	walk = func(v any, record bool) {
		switch x := v.(type) {
		case map[string]any:
			for k, e := range x {
				if record {
					keys[k] = true
				}
				// userLabels is a map passed whole: its keys are data.
				walk(e, record && k != "userLabels")
			}
		case []any:
			for _, e := range x {
				walk(e, record)
			}
		}
	}
	walk(v, true)
	tf, err := os.ReadFile(terraformDir + "/alerting.tf")
	if err != nil {
		t.Fatal(err)
	}
	var missing []string
	for k := range keys {
		if !regexp.MustCompile(`\.` + regexp.QuoteMeta(k) + `\b`).Match(tf) {
			missing = append(missing, k)
		}
	}
	sort.Strings(missing)
	if len(missing) > 0 {
		t.Errorf("policies.json fields that terraform/alerting.tf never reads: %v", missing)
	}
	if len(keys) < 10 {
		t.Errorf("only %d keys found in policies.json", len(keys))
	}
}
