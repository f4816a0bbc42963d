// Package deps pins the modules the packages are being built against while
// the tree is laid down; it is removed once every module is imported for real.
package deps

import (
	_ "github.com/gpustack/gguf-parser-go"
	_ "github.com/hashicorp/go-hclog"
	_ "github.com/shirou/gopsutil/v3/cpu"
	_ "github.com/shirou/gopsutil/v3/host"
	_ "github.com/shirou/gopsutil/v3/mem"
	_ "google.golang.org/grpc"
	_ "google.golang.org/grpc/test/bufconn"
	_ "google.golang.org/protobuf/proto"
	_ "golang.org/x/sys/unix"
	_ "github.com/google/go-cmp/cmp"
)
