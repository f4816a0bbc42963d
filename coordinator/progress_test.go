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
