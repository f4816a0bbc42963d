// Package timing reads what a llama.cpp-family runner (llama-completion,
// llama-cli, llama-simple, llamafile, node-llama-cpp) prints about its own
// run: load, prompt and eval times and counts, the build, the buffer sizes it
// allocated, and the failures it names.
//
// Timing lines are found by their label ("load time", "prompt eval time",
// "eval time", "total time") after any "<name>:" tag, so the renamed tags
// (llama_print_timings, llama_perf_print, llama_perf_context_print,
// common_perf_print) and any prefix before them (log stamps, journald) all
// read alike. Carriage-return redraws and ANSI escapes are removed first, and
// fields are split on spaces, not columns. Rates are always computed from the
// count and the milliseconds, so a printed "inf" never gets in and a phase
// timed at 0 ms has no rate. The last block with an eval line wins; the
// chat client's "[ Prompt: x t/s | Generation: y t/s ]" line is used only
// when there is none.
//
// Parse reads a stream in bounded memory; ParseFiles merges a runner's stdout
// and stderr, since the report may be on either.
package timing
