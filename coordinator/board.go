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

// Board draws one progress line per host at the bottom of a terminal, for a
// fleet sweep. Like Bar it is the log's io.Writer: log lines scroll above
// the block of bars. It is safe for concurrent use; Close stops redraws.
type Board struct {
	out io.Writer

	mu     sync.Mutex // guards everything below
	lines  []*barState
	drawn  int // lines of the block now on screen
	stop   chan struct{}
	closed bool
}

// NewBoard returns a board drawing on out, with no lines yet.
func NewBoard(out io.Writer) *Board {
	b := &Board{out: out, stop: make(chan struct{})}
	go b.tick()
	return b
}

// Line adds a line labelled label and returns the Progress that moves it.
func (b *Board) Line(label string) *BoardLine {
	b.mu.Lock()
	defer b.mu.Unlock()
	s := &barState{label: label, start: time.Now(), note: "waiting"}
	b.lines = append(b.lines, s)
	return &BoardLine{board: b, state: s}
}

func (b *Board) tick() { everySecond(b.stop, func() { b.update(func() {}) }) }

// update changes state under the lock and redraws.
func (b *Board) update(change func()) {
	b.mu.Lock()
	defer b.mu.Unlock()
	change()
	b.drawLocked()
}

// Write prints log output above the block of bars.
func (b *Board) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.clearLocked()
	n, err := b.out.Write(p)
	b.drawLocked()
	return n, err
}

// Close stops redrawing and leaves the bars' last state on screen.
func (b *Board) Close() {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return
	}
	b.drawLocked()
	b.closed = true
	close(b.stop)
	b.drawn = 0 // the block stays, followed by whatever comes next
}

// clearLocked moves up over the block and erases it.
func (b *Board) clearLocked() {
	if b.drawn > 0 {
		fmt.Fprint(b.out, strings.Repeat("\x1b[1A\x1b[2K", b.drawn), "\r")
		b.drawn = 0
	}
}

func (b *Board) drawLocked() {
	if b.closed || len(b.lines) == 0 {
		return
	}
	b.clearLocked()
	now := time.Now()
	var sb strings.Builder
	for _, s := range b.lines {
		sb.WriteString(s.line(now))
		sb.WriteString("\n")
	}
	fmt.Fprint(b.out, sb.String())
	b.drawn = len(b.lines)
}

// BoardLine is one host's line of a Board.
type BoardLine struct {
	board *Board
	state *barState
}

var _ Progress = (*BoardLine)(nil)

// Planned sets the number of combos and how many are already done.
func (l *BoardLine) Planned(total, done int) {
	l.board.update(func() { l.state.planned(total, done); l.state.note = "" })
}

// ComboStarted moves the line to combo k (0-based).
func (l *BoardLine) ComboStarted(k int, c plan.Combo) {
	l.board.update(func() { l.state.started(k, c) })
}

// ComboDone records a finished combo.
func (l *BoardLine) ComboDone(k int, row result.Row) {
	l.board.update(func() { l.state.finished() })
}

// Note replaces the combo on the line with a short text, such as the
// host's final status.
func (l *BoardLine) Note(text string) {
	l.board.update(func() { l.state.note = text })
}
