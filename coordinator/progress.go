package coordinator

import (
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	"github.com/packbench/packbench/pkg/plan"
	"github.com/packbench/packbench/pkg/result"
)

// barState is what one progress line shows; its owner guards it.
type barState struct {
	label   string
	total   int
	k       int
	combo   plan.Combo
	start   time.Time
	comboAt time.Time
	spent   time.Duration // time of the combos finished in this run
	ran     int           // combos finished in this run
	done    int           // combos finished, kept ones included
	note    string        // shown instead of the combo, e.g. "failed: ..."
}

func (s *barState) planned(total, done int) {
	s.total, s.done, s.start = total, done, time.Now()
}

func (s *barState) started(k int, c plan.Combo) {
	s.k, s.combo, s.comboAt = k, c, time.Now()
}

func (s *barState) finished() {
	s.done++
	s.ran++
	s.spent += time.Since(s.comboAt)
}

// line renders the bar: label, bar, combo k of n, elapsed, remaining.
func (s *barState) line(now time.Time) string {
	const width = 24
	filled := 0
	if s.total > 0 {
		filled = width * min(s.done, s.total) / s.total
	}
	bar := strings.Repeat("=", filled) + strings.Repeat(" ", width-filled)

	eta := "?"
	if s.ran > 0 {
		avg := s.spent / time.Duration(s.ran)
		rest := avg*time.Duration(s.total-s.done) - now.Sub(s.comboAt)
		if s.done >= s.total {
			rest = 0
		}
		eta = short(max(rest, 0))
	}
	var line string
	switch {
	case s.note != "":
		line = fmt.Sprintf("[%s] %d/%d done  %s", bar, s.done, s.total, s.note)
	case s.combo.Instances == 0:
		// planned, no combo started yet (the model or preflight is on its way)
		line = fmt.Sprintf("[%s] %d/%d done  starting  elapsed %s", bar, s.done, s.total,
			short(now.Sub(s.start)))
	default:
		cur := min(s.k+1, s.total)
		line = fmt.Sprintf("[%s] combo %d/%d (m=%d t=%d)  elapsed %s  left ~%s",
			bar, cur, s.total, s.combo.Instances, s.combo.Threads, short(now.Sub(s.start)), eta)
	}
	if s.label != "" {
		line = s.label + " " + line
	}
	return line
}

func short(d time.Duration) string {
	return d.Round(time.Second).String()
}

// Bar draws a one-line progress bar over a plan on a terminal. It is also an
// io.Writer for the log, so that log lines scroll above the bar instead of
// tearing it. It is safe for concurrent use; Close stops its redraws.
type Bar struct {
	out io.Writer

	mu     sync.Mutex // guards everything below
	state  barState
	drawn  bool
	stop   chan struct{}
	closed bool
}

var _ Progress = (*Bar)(nil)

// NewBar returns a bar drawing on out; label prefixes the line.
func NewBar(out io.Writer, label string) *Bar {
	b := &Bar{out: out, state: barState{label: label, start: time.Now()},
		stop: make(chan struct{})}
	go b.tick()
	return b
}

// tick redraws once a second so the elapsed time moves during a long combo.
func (b *Bar) tick() {
	everySecond(b.stop, func() {
		b.mu.Lock()
		defer b.mu.Unlock()
		if b.state.total > 0 {
			b.drawLocked()
		}
	})
}

// everySecond calls redraw once a second until stop is closed.
func everySecond(stop <-chan struct{}, redraw func()) {
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for {
		select {
		case <-stop:
			return
		case <-t.C:
			redraw()
		}
	}
}

// Planned sets the number of combos and how many are already done.
func (b *Bar) Planned(total, done int) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.state.planned(total, done)
	b.drawLocked()
}

// ComboStarted moves the bar to combo k (0-based).
func (b *Bar) ComboStarted(k int, c plan.Combo) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.state.started(k, c)
	b.drawLocked()
}

// ComboDone records a finished combo.
func (b *Bar) ComboDone(k int, row result.Row) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.state.finished()
	b.drawLocked()
}

// Write prints log output above the bar.
func (b *Bar) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.clearLocked()
	n, err := b.out.Write(p)
	if b.state.total > 0 && !b.closed {
		b.drawLocked()
	}
	return n, err
}

// Close stops redrawing and leaves the last state of the bar on its line.
func (b *Bar) Close() {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return
	}
	b.closed = true
	close(b.stop)
	if b.drawn {
		fmt.Fprintln(b.out)
		b.drawn = false
	}
}

func (b *Bar) clearLocked() {
	if b.drawn {
		fmt.Fprint(b.out, "\r\x1b[2K")
		b.drawn = false
	}
}

func (b *Bar) drawLocked() {
	if b.closed {
		return
	}
	b.clearLocked()
	fmt.Fprint(b.out, b.state.line(time.Now()))
	b.drawn = true
}
