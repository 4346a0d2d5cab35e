package main

import (
	"context"
	"fmt"
	"maps"
	"os"

	"github.com/megapipe/mega/shared/config"
	"github.com/megapipe/mega/shared/step"
)

// connect returns the clients for the target of the command line: a real
// project with --project, else the local stack started by `mega local up`
// (its endpoints are read from the state directory and exported, so the
// official clients find the emulators).
func connect(ctx context.Context) (*step.Env, error) { return connectWith(ctx, nil) }

// connectWith is connect with settings (variable -> value) that override the
// environment for this command: they reach the configuration and the work
// (step.Env.Lookup) explicitly, not through os.Setenv.
func connectWith(ctx context.Context, vars map[string]string) (*step.Env, error) {
	vars = maps.Clone(vars)
	if vars == nil {
		vars = map[string]string{}
	}
	if global.Project != "" {
		vars["GOOGLE_CLOUD_PROJECT"] = global.Project
	} else if err := applyLocalStack(); err != nil {
		return nil, err
	} else if err := probeEmulators(ctx); err != nil {
		return nil, err
	}
	lookup := config.Over(os.LookupEnv, vars)
	cfg, err := config.FromLookup(lookup)
	if err != nil {
		return nil, err
	}
	env, err := step.NewEnv(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("connect to %s: %w", cfg.Project, err)
	}
	env.Lookup = lookup
	return env, nil
}
