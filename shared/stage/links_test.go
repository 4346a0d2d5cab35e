package stage

import (
	"errors"
	"strings"
	"testing"
)

// TestRepoLinks keeps the deployed functions lean: distill and quantize do
// not link functions/train or the Vertex AI client, collect does not link
// the inference service, features does not link nn, and no function links
// another.
func TestRepoLinks(t *testing.T) {
	if err := CheckLinks(ctxT(t), Options{ModuleDir: "../.."}, Links); err != nil {
		t.Fatal(err)
	}
}

// TestCheckLinksReports shows that CheckLinks fails, and says why, for a
// denied package (direct or not) and for a function importing another.
func TestCheckLinksReports(t *testing.T) {
	dir := fixtureModule(t)
	writeFiles(t, dir, map[string]string{
		"functions/bye/bye.go": "package bye\n\nimport _ \"example.com/fixture/functions/hello\"\n",
	})
	entry := func(name string) (string, bool) {
		if name == "bye" {
			return "Bye", true
		}
		return fixtureEntry(name)
	}
	o := Options{ModuleDir: dir, EntryPoint: entry}
	ctx := ctxT(t)
	if err := CheckLinks(ctx, Options{ModuleDir: dir}, nil); err == nil || errors.Is(err, ErrForbiddenLink) {
		t.Fatalf("without an entry point for bye: %v, want a discover error", err)
	}
	tests := []struct {
		name  string
		rules []LinkRule
		want  []string // lines the error must hold
	}{
		{"function imports function", nil, []string{
			"example.com/fixture/functions/bye links example.com/fixture/functions/hello (example.com/fixture/functions/bye -> example.com/fixture/functions/hello): a function that imports another function registers it too"}},
		{"denied through another package", []LinkRule{{"functions/hello", []string{"lib"}, "no libs"}}, []string{
			"example.com/fixture/functions/bye links example.com/fixture/functions/hello",
			"example.com/fixture/functions/hello links example.com/fixture/lib/greet (example.com/fixture/functions/hello -> example.com/fixture/lib/greet): no libs"}},
		{"another module", []LinkRule{{"functions/hello", []string{"github.com/GoogleCloudPlatform/functions-framework-go"}, "no framework"}}, []string{
			"example.com/fixture/functions/hello links github.com/GoogleCloudPlatform/functions-framework-go/functions (example.com/fixture/functions/hello -> github.com/GoogleCloudPlatform/functions-framework-go/functions): no framework"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := CheckLinks(ctx, o, tt.rules)
			if !errors.Is(err, ErrForbiddenLink) {
				t.Fatalf("CheckLinks = %v, want ErrForbiddenLink", err)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error lacks %q:\n%v", w, err)
				}
			}
		})
	}
	// Without bye, hello breaks no rule that does not deny what it links.
	writeFiles(t, dir, map[string]string{"functions/bye/bye.go": "package bye\n"})
	if err := CheckLinks(ctx, o, []LinkRule{{"functions/hello", []string{"lib/unused", "cloud.google.com/go/aiplatform"}, "x"}}); err != nil {
		t.Errorf("clean fixture: %v", err)
	}
}
