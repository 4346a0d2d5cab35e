package main

import (
	"fmt"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/megapipe/mega/shared/stage"
)

func init() { commands = append(commands, newStageCmd) }

func newStageCmd() *cobra.Command {
	var (
		fns    []string
		out    string
		module string
		verify bool
	)
	cmd := &cobra.Command{
		Use:     "stage [--fn NAME]... [-o dist/functions] [--verify]",
		Example: "  mega stage --verify\n  mega stage --fn ingest -o /tmp/dist",
		Short:   "Write each Cloud Function as a deployable folder (what Terraform zips)",
		Long: "stage writes dist/functions/<name>/ for each function under functions/: the module's go.mod and\n" +
			"go.sum, the packages the function imports, and a root package that blank-imports it, as the\n" +
			"Cloud Functions Go builder needs. --verify checks each folder: the builder's rules, a build\n" +
			"with only the module cache, and the registered entry point; and that no function links what it\n" +
			"does not run (shared/stage.Links).",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			var only []string
			for _, f := range fns {
				for _, n := range strings.Split(f, ",") {
					if n = strings.TrimSpace(n); n != "" {
						only = append(only, n)
					}
				}
			}
			if out == "" {
				out = filepath.Join(module, "dist", stage.FunctionsDir)
			}
			ctx := cmd.Context()
			staged, err := stage.Stage(ctx, stage.Options{ModuleDir: module, OutDir: out, Only: only})
			if err != nil {
				return err
			}
			if len(staged) == 0 {
				return fmt.Errorf("stage: no function packages under %s", filepath.Join(module, stage.FunctionsDir))
			}
			if verify {
				if err := stage.CheckLinks(ctx, stage.Options{ModuleDir: module}, stage.Links); err != nil {
					return err
				}
			}
			type row struct {
				stage.Staged
				Verified bool `json:"verified"`
			}
			var rows []row
			for _, s := range staged {
				r := row{Staged: s}
				if verify {
					if err := stage.Verify(ctx, s.Dir, s.EntryPoint, ""); err != nil {
						return err
					}
					r.Verified = true
				}
				rows = append(rows, r)
			}
			if global.JSON {
				return printJSON(cmd.OutOrStdout(), rows)
			}
			w := cmd.OutOrStdout()
			for _, r := range rows {
				check := ""
				if r.Verified {
					check = "  verified: builder rules, offline build, entry point registered"
				}
				fmt.Fprintf(w, "%-11s %-11s %2d packages %3d files  %s%s\n", r.Name, r.EntryPoint, len(r.Packages), r.Files, r.Dir, check)
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringSliceVar(&fns, "fn", nil, "function to stage (folder name under functions/; repeatable; default all)")
	f.StringVarP(&out, "out", "o", "", "output folder (default <module>/dist/functions)")
	f.StringVar(&module, "module", ".", "module root (the folder of go.mod)")
	f.BoolVar(&verify, "verify", false, "check each staged folder as the Cloud Functions builder would")
	return cmd
}
