package main

import (
	"os"
	"path/filepath"
)

// defaultStateDir is where `mega local up` keeps its state (endpoints, logs,
// pids): $MEGA_DIR, else .mega in the current directory.
func defaultStateDir() string {
	if d := os.Getenv("MEGA_DIR"); d != "" {
		return d
	}
	wd, err := os.Getwd()
	if err != nil {
		return ".mega"
	}
	return filepath.Join(wd, ".mega")
}
