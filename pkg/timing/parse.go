package timing

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
)

// maxLine is the longest line the parser looks at. Of a longer line only
// the last maxLine bytes are kept: a timing line glued to the end of a long
// run of generated text still counts, and memory stays bounded.
const maxLine = 64 << 10

// Parse reads a runner's output line by line until EOF and returns what it
// says about the run. Memory use does not grow with the input. The error is
// a read error only; the report holds what was read before it.
func Parse(r io.Reader) (Report, error) {
	var p parser
	br := bufio.NewReaderSize(r, maxLine)

	// long holds the tail of a line that did not fit the reader's buffer.
	var long []byte
	inLong := false
	for {
		chunk, err := br.ReadSlice('\n')
		if errors.Is(err, bufio.ErrBufferFull) {
			long = keepTail(append(long, chunk...))
			inLong = true
			continue
		}

		line := chunk
		if inLong {
			long = keepTail(append(long, chunk...))
			line, long, inLong = long, long[:0], false
		}
		if len(line) > 0 {
			p.line(line)
		}

		if err == io.EOF {
			return p.report(), nil
		}
		if err != nil {
			return p.report(), fmt.Errorf("read runner output: %w", err)
		}
	}
}

// keepTail cuts b to its last maxLine bytes, in place.
func keepTail(b []byte) []byte {
	if len(b) <= maxLine {
		return b
	}
	n := copy(b, b[len(b)-maxLine:])
	return b[:n]
}

// ParseFiles parses each file (typically a runner's stdout and stderr) and
// merges the reports: the timing fields come as one group from the file with
// the most complete report (the earlier file on a tie), and every other field
// from the first file that has it. An empty path is skipped. A file that
// cannot be read gives an error, joined with the others, while the remaining
// files are still merged into the report.
func ParseFiles(paths ...string) (Report, error) {
	var out Report
	var errs []error
	for _, path := range paths {
		if path == "" {
			continue
		}
		rep, err := parseFile(path)
		if err != nil {
			errs = append(errs, err)
		}
		merge(&out, rep)
	}
	out.settle()
	return out, errors.Join(errs...)
}

func parseFile(path string) (Report, error) {
	f, err := os.Open(path)
	if err != nil {
		return Report{}, fmt.Errorf("parse timing: %w", err)
	}
	defer f.Close()

	rep, err := Parse(f)
	if err != nil {
		return rep, fmt.Errorf("parse timing %s: %w", path, err)
	}
	return rep, nil
}
