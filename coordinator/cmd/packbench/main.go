// Command packbench finds how many runner processes, with how many threads
// each, give the most tokens per second on a CPU host.
package main

import (
	"os"

	"github.com/packbench/packbench/coordinator/cli"
)

func main() {
	os.Exit(cli.Main(os.Args[1:], cli.Env{
		Stdout:      os.Stdout,
		Stderr:      os.Stderr,
		Interactive: cli.IsTerminal(os.Stderr),
	}))
}
