// Package cli is packbench's command line: the local, parse and version
// subcommands, their flags, and the exit statuses they end with (0 done,
// 1 failed, 2 bad input, 130 interrupted).
package cli
