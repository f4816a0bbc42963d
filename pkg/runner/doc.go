// Package runner knows the programs packbench benchmarks: llamafile,
// llama.cpp's llama-completion, llama-cli (the 2026 chat client) and
// llama-simple, and node-llama-cpp's `complete` command.
//
// It does three jobs, all without starting a benchmark run:
//
//   - Profiles. A Profile turns a Workload into a Command: the argv for that
//     runner, the flags it had to leave out (llama-simple takes no -t or -c),
//     the options that keep it off any GPU unless --extra-args chose
//     otherwise, and an environment without the variables that change the
//     log format.
//   - Exec modes. A llamafile is an Actually Portable Executable that the
//     kernel cannot start; ResolveExecMode reads the magic bytes and runs it
//     through /bin/sh, and a direct start that fails with ENOEXEC is retried
//     that way.
//   - Preflight. Detect runs `--help` and `--version` under a timeout, in a
//     process group of their own, and tells the kind of runner from the
//     text, so that a chat client that never exits is recognised before it
//     burns a run timeout.
package runner
