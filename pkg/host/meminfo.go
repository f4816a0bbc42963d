package host

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
)

// errNoMemAvailable means /proc/meminfo has no MemAvailable line (kernels
// before 3.14).
var errNoMemAvailable = errors.New("no MemAvailable line")

// MemAvailable returns the kernel's estimate of memory available to new
// processes without swapping, MemAvailable in /proc/meminfo, in bytes.
func MemAvailable() (uint64, error) {
	f, err := os.Open("/proc/meminfo")
	if err != nil {
		return 0, fmt.Errorf("read meminfo: %w", err)
	}
	defer f.Close()

	n, err := parseMemAvailable(f)
	if err != nil {
		return 0, fmt.Errorf("read meminfo: %w", err)
	}
	return n, nil
}

// parseMemAvailable finds "MemAvailable:   123 kB" in meminfo text and
// returns it in bytes.
func parseMemAvailable(r io.Reader) (uint64, error) {
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		rest, ok := strings.CutPrefix(sc.Text(), "MemAvailable:")
		if !ok {
			continue
		}

		fields := strings.Fields(rest)
		if len(fields) != 2 || fields[1] != "kB" {
			return 0, fmt.Errorf("parse MemAvailable %q: want \"N kB\"", rest)
		}
		kb, err := strconv.ParseUint(fields[0], 10, 64)
		if err != nil {
			return 0, fmt.Errorf("parse MemAvailable %q: %w", rest, err)
		}
		if kb > (1<<64-1)/1024 {
			return 0, fmt.Errorf("parse MemAvailable %q: too large", rest)
		}
		return kb * 1024, nil
	}
	if err := sc.Err(); err != nil {
		return 0, fmt.Errorf("parse meminfo: %w", err)
	}
	return 0, errNoMemAvailable
}
