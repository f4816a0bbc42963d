package coordinator

import (
	"bytes"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/packbench/packbench/pkg/plan"
	"github.com/packbench/packbench/pkg/result"
)

// lockedBuffer lets the bar's redraw goroutine and the test share a buffer.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func TestBarShowsComboAndKeepsLogLinesWhole(t *testing.T) {
	var out lockedBuffer
	bar := NewBar(&out, "host-a")
	bar.Planned(4, 0)
	bar.ComboStarted(0, plan.Combo{Instances: 2, Threads: 3})
	bar.ComboDone(0, result.Row{})
	bar.ComboStarted(1, plan.Combo{Instances: 2, Threads: 4})
	if _, err := bar.Write([]byte("a log line\n")); err != nil {
		t.Fatal(err)
	}
	bar.Close()

	got := out.String()
	for _, want := range []string{"host-a [======", "combo 2/4 (m=2 t=4)", "elapsed", "left ~"} {
		if !strings.Contains(got, want) {
			t.Errorf("bar output lacks %q:\n%q", want, got)
		}
	}
	// the log line is written on a cleared line, never glued to the bar
	if !strings.Contains(got, "\r\x1b[2Ka log line\n") {
		t.Errorf("log line not printed on a cleared line:\n%q", got)
	}
	if !strings.HasSuffix(got, "\n") {
		t.Errorf("Close left the cursor on the bar line:\n%q", got)
	}
}

// Before the first combo starts the bar names no combo (there is none yet).
func TestBarBeforeTheFirstCombo(t *testing.T) {
	var s barState
	s.total, s.start = 3, time.Now()
	got := s.line(s.start)
	if strings.Contains(got, "m=0") || !strings.Contains(got, "0/3 done  starting") {
		t.Errorf("bar before any combo = %q, want 0/3 done and starting, no m=0", got)
	}
}

// The board keeps one line per host under the log: a log line erases the
// block, is printed whole and the block is drawn again below it.
func TestBoardDrawsOneLinePerHostUnderTheLog(t *testing.T) {
	var out lockedBuffer
	board := NewBoard(&out)
	a, b := board.Line("host-a"), board.Line("host-b")
	a.Planned(2, 0)
	a.ComboStarted(0, plan.Combo{Instances: 1, Threads: 2})
	if _, err := board.Write([]byte("a log line\n")); err != nil {
		t.Fatal(err)
	}
	a.ComboDone(0, result.Row{})
	b.Note("failed unreachable")
	board.Close()

	got := out.String()
	// erase two lines (up and clear each), then the log line at column 0
	if !strings.Contains(got, "\x1b[1A\x1b[2K\x1b[1A\x1b[2K\ra log line\n") {
		t.Errorf("log line not printed over an erased two-line block:\n%q", got)
	}
	last := got[strings.LastIndex(got, "\r")+1:]
	lines := strings.Split(strings.TrimSuffix(last, "\n"), "\n")
	if len(lines) != 2 || !strings.HasPrefix(lines[0], "host-a [") ||
		!strings.Contains(lines[0], "1/2") || !strings.HasPrefix(lines[1], "host-b [") ||
		!strings.Contains(lines[1], "failed unreachable") {
		t.Errorf("final block = %q, want host-a at 1/2 and host-b failed", lines)
	}
	// Close leaves the block; later output starts below it
	if !strings.HasSuffix(got, "\n") {
		t.Errorf("board output does not end with a newline:\n%q", got)
	}
}
