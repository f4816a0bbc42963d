// Command packbench-agent serves one benchmark host's agent over gRPC: it
// runs the packs a coordinator asks for, one at a time, with the binaries
// and models of its allowlist only, and keeps finished results and logs in
// its state directory.
//
// Settings come from flags, or from a JSON file given with --config whose
// keys are listen, name, state_dir, allow and log_level; flags override it.
package main
