package main

import (
	"fmt"
	"os"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/megapipe/mega/shared/config"
	"github.com/megapipe/mega/shared/kfp"
)

func init() { commands = append(commands, newKfpCmd) }

func newKfpCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:     "kfp",
		Example: "  mega kfp compile -o pipeline.yaml --image REGION-docker.pkg.dev/PROJECT/megapipe/mega:latest\n  mega kfp submit --project PROJECT --run RUN_ID --dataset NAME",
		Short:   "Kubeflow pipeline: compile the spec, submit a run to Vertex AI Pipelines",
	}
	cmd.AddCommand(newKfpCompileCmd(), newKfpSubmitCmd())
	return cmd
}

// kfpImage is the image of the components: --image, else $MEGA_IMAGE, else
// the one cloudbuild.yaml pushes for the project.
func kfpImage(image, region string) (string, error) {
	switch {
	case image != "":
		return image, nil
	case os.Getenv("MEGA_IMAGE") != "":
		return os.Getenv("MEGA_IMAGE"), nil
	case global.Project != "":
		return fmt.Sprintf("%s-docker.pkg.dev/%s/%s/mega:latest", region, global.Project, global.Project), nil
	}
	return "", usagef("no image: give --image, MEGA_IMAGE or --project")
}

func newKfpCompileCmd() *cobra.Command {
	var out, image, region string
	var noCache bool
	cmd := &cobra.Command{
		Use:   "compile -o FILE",
		Short: "Write the KFP v2 pipeline spec (featurize -> train -> distill -> quantize) as YAML",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if out == "" {
				return usagef("compile needs -o FILE (- for stdout)")
			}
			img, err := kfpImage(image, region)
			if err != nil {
				return err
			}
			spec, err := kfp.Pipeline(kfp.Options{Image: img, NoCache: noCache})
			if err != nil {
				return err
			}
			if out == "-" {
				return spec.WriteYAML(cmd.OutOrStdout())
			}
			f, err := os.Create(out)
			if err != nil {
				return fmt.Errorf("kfp compile: %w", err)
			}
			if err := spec.WriteYAML(f); err != nil {
				f.Close()
				return err
			}
			if err := f.Close(); err != nil {
				return fmt.Errorf("kfp compile: %w", err)
			}
			if global.JSON {
				return printJSON(cmd.OutOrStdout(), map[string]any{"file": out, "pipeline": spec.PipelineInfo.Name, "schema_version": spec.SchemaVersion, "image": img, "steps": kfp.Steps})
			}
			fmt.Fprintf(cmd.OutOrStdout(), "wrote %s: pipeline %s (schema %s), steps %s, image %s\n", out, spec.PipelineInfo.Name, spec.SchemaVersion, strings.Join(kfp.Steps, " -> "), img)
			return nil
		},
	}
	cmd.Flags().StringVarP(&out, "out", "o", "", "output file (- for stdout)")
	cmd.Flags().StringVar(&image, "image", "", "container image of mega (default $MEGA_IMAGE or the project's Artifact Registry image)")
	cmd.Flags().StringVar(&region, "region", "us-central1", "region of the Artifact Registry repository")
	cmd.Flags().BoolVar(&noCache, "no-cache", false, "turn KFP's step cache off")
	return cmd
}

func newKfpSubmitCmd() *cobra.Command {
	var (
		runID, dataset, region, root, sa, image, id string
		params                                      []string
	)
	cmd := &cobra.Command{
		Use:   "submit --run RUN_ID --dataset NAME --project P",
		Short: "Submit a pipeline run to Vertex AI Pipelines",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if global.Project == "" {
				return usagef("submit needs --project: Vertex AI Pipelines runs in a Google Cloud project")
			}
			if runID == "" || dataset == "" {
				return usagef("submit needs --run RUN_ID and --dataset NAME")
			}
			img, err := kfpImage(image, region)
			if err != nil {
				return err
			}
			spec, err := kfp.Pipeline(kfp.Options{Image: img})
			if err != nil {
				return err
			}
			cfg, err := config.FromEnv()
			if err != nil {
				return err
			}
			if os.Getenv("MEGA_ARTIFACTS_BUCKET") == "" && os.Getenv("MEGA_PREFIX") == "" {
				cfg.ArtifactsBucket = global.Project + "-artifacts"
			}
			values := map[string]any{"run_id": runID, "dataset": dataset, "project": global.Project, "artifacts_bucket": cfg.ArtifactsBucket}
			for _, p := range params {
				k, v, ok := strings.Cut(p, "=")
				if !ok {
					return usagef("--param %q: want KEY=VALUE", p)
				}
				def, ok := kfp.Parameters[k]
				if !ok {
					return usagef("--param %q: unknown parameter", k)
				}
				val, err := parseParam(def.ParameterType, v)
				if err != nil {
					return usagef("--param %s: %v", k, err)
				}
				values[k] = val
			}
			if root == "" {
				root = "gs://" + cfg.ArtifactsBucket + "/kfp"
			}
			ctx := cmd.Context()
			s, err := kfp.NewSubmitter(ctx, global.Project, region)
			if err != nil {
				return err
			}
			defer s.Close()
			job, err := s.Submit(ctx, kfp.Job{ID: id, Spec: spec, PipelineRoot: root, Parameters: values, ServiceAccount: sa, Labels: map[string]string{"megapipe-run": labelValue(runID)}})
			if err != nil {
				return err
			}
			if global.JSON {
				return printJSON(cmd.OutOrStdout(), map[string]any{"name": job.GetName(), "state": job.GetState().String(), "run_id": runID})
			}
			fmt.Fprintf(cmd.OutOrStdout(), "submitted %s (%s)\n", job.GetName(), job.GetState())
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&runID, "run", "", "run id the pipeline continues")
	f.StringVar(&dataset, "dataset", "", "dataset name")
	f.StringVar(&region, "region", "us-central1", "Vertex AI region")
	f.StringVar(&root, "pipeline-root", "", "gs:// folder for KFP's artifacts (default gs://<artifacts bucket>/kfp)")
	f.StringVar(&sa, "service-account", "", "service account of the components (terraform output pipeline_service_account)")
	f.StringVar(&image, "image", "", "container image of mega")
	f.StringVar(&id, "id", "", "pipeline job id (default: chosen by Vertex AI)")
	f.StringArrayVar(&params, "param", nil, "pipeline parameter KEY=VALUE (epochs, prune_sparsity, seed); repeatable")
	return cmd
}

// labelValue makes s a valid Google Cloud label value: lower-case letters,
// digits, - and _, at most 63 characters.
func labelValue(s string) string {
	b := []byte(strings.ToLower(s))
	for i, c := range b {
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			b[i] = '-'
		}
	}
	if len(b) > 63 {
		b = b[:63]
	}
	return string(b)
}

func parseParam(typ, v string) (any, error) {
	switch typ {
	case kfp.Integer:
		return strconv.Atoi(v)
	case kfp.Double:
		return strconv.ParseFloat(v, 64)
	case kfp.Boolean:
		return strconv.ParseBool(v)
	}
	return v, nil
}
