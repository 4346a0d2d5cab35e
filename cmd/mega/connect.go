package main

import (
	"context"
	"fmt"
	"os"

	"github.com/megapipe/mega/shared/config"
	"github.com/megapipe/mega/shared/step"
)

// connect returns the clients for the target of the command line: a real
// project with --project, else the local stack started by `mega local up`
// (its endpoints are read from the state directory and exported, so the
// official clients find the emulators).
func connect(ctx context.Context) (*step.Env, error) {
	if global.Project != "" {
		os.Setenv("GOOGLE_CLOUD_PROJECT", global.Project)
	} else if err := applyLocalStack(); err != nil {
		return nil, err
	} else if err := probeEmulators(ctx); err != nil {
		return nil, err
	}
	cfg, err := config.FromEnv()
	if err != nil {
		return nil, err
	}
	env, err := step.NewEnv(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("connect to %s: %w", cfg.Project, err)
	}
	return env, nil
}
