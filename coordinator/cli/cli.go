package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/hashicorp/go-hclog"
	"golang.org/x/sys/unix"
)

// Exit statuses.
const (
	ExitOK          = 0
	ExitFailed      = 1
	ExitUsage       = 2
	ExitInterrupted = 130
)

// usageError is bad input: it ends the program with ExitUsage.
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

func usagef(format string, args ...any) error {
	return &usageError{msg: fmt.Sprintf(format, args...)}
}

// Env is what a command reads and writes besides its arguments, so tests can
// run commands in process.
type Env struct {
	Stdout, Stderr io.Writer
	// Interactive turns the progress bar on; normally whether stderr is a
	// terminal.
	Interactive bool
}

// Main runs packbench with args (without the program name) and returns the
// exit status.
func Main(args []string, env Env) int {
	if len(args) == 0 {
		printUsage(env.Stderr)
		return ExitUsage
	}
	var err error
	switch args[0] {
	case "local":
		err = runLocal(args[1:], env)
	case "sweep":
		err = runSweep(args[1:], env)
	case "model":
		err = runModel(args[1:], env)
	case "tls":
		err = runTLS(args[1:], env)
	case "parse":
		err = runParse(args[1:], env)
	case "version", "--version", "-version":
		fmt.Fprintf(env.Stdout, "packbench %s\n", versionString())
	case "help", "-h", "--help":
		printUsage(env.Stdout)
	default:
		fmt.Fprintf(env.Stderr, "packbench: unknown command %q\n", args[0])
		printUsage(env.Stderr)
		return ExitUsage
	}
	return exitStatus(err, env.Stderr)
}

func exitStatus(err error, stderr io.Writer) int {
	var ue *usageError
	switch {
	case err == nil:
		return ExitOK
	case errors.Is(err, errHelp):
		return ExitOK
	case errors.As(err, &ue):
		fmt.Fprintf(stderr, "packbench: %v\n", err)
		return ExitUsage
	case errors.Is(err, errInterrupted), errors.Is(err, errWriteInterrupted):
		fmt.Fprintf(stderr, "packbench: %v\n", err)
		return ExitInterrupted
	default:
		fmt.Fprintf(stderr, "packbench: %v\n", err)
		return ExitFailed
	}
}

var (
	errHelp        = errors.New("help shown")
	errInterrupted = errors.New("interrupted: finished combos are kept")
	// errWriteInterrupted: a model write was stopped and nothing was left
	errWriteInterrupted = errors.New("interrupted: no file was written")
)

func printUsage(w io.Writer) {
	fmt.Fprint(w, `usage: packbench <command> [flags]

commands:
  local     benchmark packs of runner processes on this machine
  sweep     benchmark packs on a fleet of packbench agents, the hosts in parallel
  model     write a synthetic GGUF model, or inspect one with its memory estimate
  tls       create the fleet's CA and certificates for agents and coordinators
  parse     print what the timing parser reads from saved runner logs, as JSON
  version   print the version

Run 'packbench <command> -h' for a command's flags.
`)
}

// newLogger builds the root logger; verbose turns on debug lines.
func newLogger(out io.Writer, verbose bool) hclog.Logger {
	level := hclog.Info
	if verbose {
		level = hclog.Debug
	}
	return hclog.New(&hclog.LoggerOptions{
		Name:   "packbench",
		Level:  level,
		Output: out,
	})
}

// IsTerminal reports whether f is a terminal.
func IsTerminal(f *os.File) bool {
	_, err := unix.IoctlGetTermios(int(f.Fd()), unix.TCGETS)
	return err == nil
}

// errSignalled is the cause of an interruptContext cancelled by a signal.
var errSignalled = errors.New("interrupted by a signal")

// interruptContext is cancelled by the first SIGINT or SIGTERM, with cause
// errSignalled, which lets the run stop its packs and write what finished.
// Then the default handling comes back, so a second Ctrl-C ends the process
// at once; results already written stay, since every file is replaced
// atomically. cancel releases the signals.
func interruptContext() (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithCancelCause(context.Background())
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	go func() {
		select {
		case <-sigs:
			cancel(errSignalled)
		case <-ctx.Done():
		}
		signal.Stop(sigs)
	}()
	return ctx, func() { cancel(nil) }
}

// onSignal calls f if and when ctx, from interruptContext, ends by a signal.
func onSignal(ctx context.Context, f func()) {
	context.AfterFunc(ctx, func() {
		if errors.Is(context.Cause(ctx), errSignalled) {
			f()
		}
	})
}
