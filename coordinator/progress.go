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

// Bar draws a one-line progress bar over a plan on a terminal. It is also an
// io.Writer for the log, so that log lines scroll above the bar instead of
// tearing it. It is safe for concurrent use; Close stops its redraws.
type Bar struct {
	out   io.Writer
	label string

	mu      sync.Mutex // guards everything below
	total   int
	k       int
	combo   plan.Combo
	start   time.Time
	comboAt time.Time
	spent   time.Duration // time of finished combos
	done    int
	drawn   bool
	stop    chan struct{}
	closed  bool
}

var _ Progress = (*Bar)(nil)

// NewBar returns a bar drawing on out; label prefixes the line (a host name
// in a fleet sweep).
func NewBar(out io.Writer, label string) *Bar {
	b := &Bar{out: out, label: label, start: time.Now(), stop: make(chan struct{})}
	go b.tick()
	return b
}

// tick redraws once a second so the elapsed time moves during a long combo.
func (b *Bar) tick() {
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for {
		select {
		case <-b.stop:
			return
		case <-t.C:
			b.mu.Lock()
			if b.total > 0 {
				b.drawLocked()
			}
			b.mu.Unlock()
		}
	}
}

// Planned sets the number of combos.
func (b *Bar) Planned(total int) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.total, b.start = total, time.Now()
	b.drawLocked()
}

// ComboStarted moves the bar to combo k (0-based).
func (b *Bar) ComboStarted(k int, c plan.Combo) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.k, b.combo, b.comboAt = k, c, time.Now()
	b.drawLocked()
}

// ComboDone records a finished combo.
func (b *Bar) ComboDone(k int, row result.Row) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.done++
	b.spent += time.Since(b.comboAt)
	b.drawLocked()
}

// Write prints log output above the bar.
func (b *Bar) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.clearLocked()
	n, err := b.out.Write(p)
	if b.total > 0 && !b.closed {
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
	fmt.Fprint(b.out, b.lineLocked(time.Now()))
	b.drawn = true
}

// lineLocked renders the bar: label, bar, combo k of n, elapsed, remaining.
func (b *Bar) lineLocked(now time.Time) string {
	const width = 24
	filled := 0
	if b.total > 0 {
		filled = width * b.done / b.total
	}
	bar := strings.Repeat("=", filled) + strings.Repeat(" ", width-filled)

	eta := "?"
	if b.done > 0 {
		avg := b.spent / time.Duration(b.done)
		rest := avg*time.Duration(b.total-b.done) - now.Sub(b.comboAt)
		if b.done == b.total {
			rest = 0
		}
		eta = short(max(rest, 0))
	}
	cur := min(b.k+1, b.total)
	line := fmt.Sprintf("[%s] combo %d/%d (m=%d t=%d)  elapsed %s  left ~%s",
		bar, cur, b.total, b.combo.Instances, b.combo.Threads, short(now.Sub(b.start)), eta)
	if b.label != "" {
		line = b.label + " " + line
	}
	return line
}

func short(d time.Duration) string {
	return d.Round(time.Second).String()
}
