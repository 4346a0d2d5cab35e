package tfcheck

import (
	"os"
	"strings"
	"testing"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
)

// TestImageMatchesCloudBuild checks that the image Terraform deploys by
// default is the one cloudbuild.yaml pushes:
// REGION-docker.pkg.dev/PROJECT/REPOSITORY/mega:latest, with the
// repository Terraform creates named like cloudbuild.yaml's default.
func TestImageMatchesCloudBuild(t *testing.T) {
	cb, err := os.ReadFile("../../cloudbuild.yaml")
	if err != nil {
		t.Fatal(err)
	}
	text := string(cb)
	for _, want := range []string{
		"\nimages:\n  - ${_REGION}-docker.pkg.dev/${PROJECT_ID}/${_REPOSITORY}/mega:${_TAG}\n",
		"\n  _REPOSITORY: ${PROJECT_ID}\n",
		"\n  _TAG: latest\n",
		"\n  _REGION: us-central1\n",
		"\n  dynamicSubstitutions: true\n",
		"--tag=${_REGION}-docker.pkg.dev/${PROJECT_ID}/${_REPOSITORY}/mega:${_TAG}",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("cloudbuild.yaml lacks %q", want)
		}
	}
	exprs := map[string]string{}
	for _, name := range []string{"main.tf", "run.tf", "variables.tf"} {
		src, err := os.ReadFile(terraformDir + "/" + name)
		if err != nil {
			t.Fatal(err)
		}
		f, diags := hclsyntax.ParseConfig(src, name, hcl.InitialPos)
		if diags.HasErrors() {
			t.Fatal(diags)
		}
		for _, b := range f.Body.(*hclsyntax.Body).Blocks {
			for attrName, a := range b.Body.Attributes {
				key := b.Type + "." + strings.Join(b.Labels, ".") + "." + attrName
				exprs[key] = string(a.Expr.Range().SliceBytes(src))
			}
		}
	}
	for key, want := range map[string]string{
		"locals..image":  `var.image != "" ? var.image : "${var.region}-docker.pkg.dev/${var.project}/${google_artifact_registry_repository.mega.repository_id}/mega:latest"`,
		"locals..prefix": `var.prefix != "" ? var.prefix : var.project`,
		"resource.google_artifact_registry_repository.mega.repository_id": `local.prefix`,
		"resource.google_artifact_registry_repository.mega.format":        `"DOCKER"`,
	} {
		if got := exprs[key]; got != want {
			t.Errorf("%s = %s\nwant %s", key, got, want)
		}
	}
}
