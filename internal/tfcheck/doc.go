// Package tfcheck checks a Terraform configuration without Terraform's
// providers, which cannot be downloaded on the machines this project is built
// on, so `terraform validate` cannot run. It parses every .tf file of a module
// with github.com/hashicorp/hcl/v2 and reports:
//
//   - a file that hclwrite.Format would change (terraform fmt's formatting);
//   - a reference to an undeclared variable, local value, resource, data
//     source or module, each.* outside for_each, count.* outside count, and a
//     call to a function Terraform does not have;
//   - whatever a provider's schema would reject: an unknown resource or data
//     source type, an argument or block name that does not exist where it
//     stands (nested and dynamic blocks included), an argument written as a
//     block or a block as an argument, a missing required argument, a missing
//     required block (min_items >= 1), and a computed-only attribute being set
//     (the schema lists only configurable arguments, so it shows as unknown).
//
// Schemas come in the format of ../shared/tools/tf-schema (extracted from the
// npm package @cdktf/provider-google 16.12.1, generated from the Google
// provider 6.50.0); this repository keeps a gzip copy in
// testdata/terraform/. Resources of providers without a schema (archive_file
// of hashicorp/archive) and provider configuration blocks are listed in
// Report.Unchecked: their arguments are not checked, their references are.
// The schema carries no max_items, types or allowed values, so those are not
// checked either.
//
// The package test checks ../../terraform, that it wires every topic, trigger
// and the drift schedule of shared/config, and that each fixture under
// testdata/terraform/bad fails with exactly the problems its want.txt names.
package tfcheck
