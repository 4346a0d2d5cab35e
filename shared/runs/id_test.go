package runs

import (
	"regexp"
	"testing"
)

func TestIDForObject(t *testing.T) {
	a := IDForObject("Breast Cancer", "raw", "breast cancer/x.csv", 1)
	if !regexp.MustCompile(`^breast-cancer-[0-9a-f]{10}$`).MatchString(a) {
		t.Errorf("id %q is not <slug>-<10 hex>", a)
	}
	if a != IDForObject("Breast Cancer", "raw", "breast cancer/x.csv", 1) {
		t.Error("not deterministic")
	}
	if a == IDForObject("Breast Cancer", "raw", "breast cancer/x.csv", 2) {
		t.Error("a new generation gives the same run id")
	}
	if got := IDForObject("///", "b", "n", 1); !regexp.MustCompile(`^run-[0-9a-f]{10}$`).MatchString(got) {
		t.Errorf("empty slug: %q", got)
	}
}
