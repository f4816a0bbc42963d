package cli

import "github.com/packbench/packbench/coordinator"

func versionString() string { return coordinator.Version }
