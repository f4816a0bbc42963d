package runner

import "github.com/packbench/packbench/pkg/memory"

// MemoryOptions are the options of the memory estimate for one instance of
// a runner of kind k with this context size and these extra arguments. The
// agent's headroom check and `packbench model inspect` both use it, so that
// what inspect prints is what the check will compare.
func MemoryOptions(k Kind, ctxSize int, extraArgs []string) memory.Options {
	opt := memory.Options{CtxSize: ctxSize, NoMmap: memory.NoMmapRequested(extraArgs)}
	if k == NodeLlamaCpp {
		// Node.js and its addon come with every instance
		opt.RuntimeOverheadBytes = memory.NodeRuntimeOverheadBytes
	}
	return opt
}
