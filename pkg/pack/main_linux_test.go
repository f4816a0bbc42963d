//go:build linux

package pack_test

import (
	"bufio"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// helperEnv names the helper a re-executed test binary runs instead of the
// tests; helperFloodEnv sets how many bytes the flood helper writes.
const (
	helperEnv      = "PACKBENCH_PACK_HELPER"
	helperFloodEnv = "PACKBENCH_PACK_FLOOD_BYTES"
	finalLine      = "llama_perf_context_print:        eval time =  214.66 ms /     7 runs\n"
)

// TestMain runs a helper when re-executed as a child; otherwise it makes the
// test process a child subreaper, so that orphaned grandchildren come back
// to it and tests can reap them and check by pid that they are gone.
func TestMain(m *testing.M) {
	switch os.Getenv(helperEnv) {
	case "":
	case "alloc":
		os.Exit(helperAlloc(0, time.Second))
	case "late-alloc":
		// a runner whose memory peaks near its end, after a second of
		// loading, and which exits soon after: a short benchmark run
		os.Exit(helperAlloc(900*time.Millisecond, 300*time.Millisecond))
	case "flood":
		os.Exit(helperFlood())
	default:
		fmt.Fprintln(os.Stderr, "unknown helper")
		os.Exit(2)
	}

	if err := unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0); err != nil {
		fmt.Fprintln(os.Stderr, "set child subreaper:", err)
		os.Exit(2)
	}
	os.Exit(m.Run())
}

// helperAlloc waits before, touches 64 MiB, holds it for hold and exits 0.
func helperAlloc(before, hold time.Duration) int {
	time.Sleep(before)
	buf := make([]byte, 64<<20)
	for i := 0; i < len(buf); i += 4096 {
		buf[i] = 1
	}
	time.Sleep(hold)
	runtime.KeepAlive(buf)
	return 0
}

// helperFlood writes "> " lines until it wrote the requested bytes, then a
// final timing line, the way a chat-mode llama-cli floods before it is done.
func helperFlood() int {
	n, err := strconv.Atoi(os.Getenv(helperFloodEnv))
	if err != nil {
		return 2
	}

	w := bufio.NewWriterSize(os.Stdout, 64<<10)
	for ; n >= 3; n -= 3 {
		_, _ = w.WriteString("> \n")
	}
	_, _ = w.WriteString(finalLine)
	if err := w.Flush(); err != nil {
		return 1
	}
	return 0
}
