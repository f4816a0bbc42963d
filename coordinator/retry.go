package coordinator

import (
	"context"
	"time"
)

// Backoff bounds the retries of a call to an agent: Tries attempts at most,
// the first retry after Initial, each later one after twice the delay before
// it, never more than Max.
type Backoff struct {
	Tries   int
	Initial time.Duration
	Max     time.Duration
}

// DefaultBackoff gives an agent about 11 s to come back: 6 retries after
// 0.2, 0.4, 0.8, 1.6, 3.2 and 5 s.
var DefaultBackoff = Backoff{Tries: 6, Initial: 200 * time.Millisecond, Max: 5 * time.Second}

// Delay is the wait before retry n (1-based).
func (b Backoff) Delay(n int) time.Duration {
	d := b.Initial
	for i := 1; i < n && d < b.Max; i++ {
		d *= 2
	}
	return min(d, b.Max)
}

// Retry calls fn until it succeeds, retryable reports its error final, the
// tries are spent or ctx ends, sleeping Delay(n) before retry n. It returns
// fn's last error, or ctx's error when ctx ended during a wait.
func (b Backoff) Retry(ctx context.Context, retryable func(error) bool, fn func() error) error {
	err := fn()
	for n := 1; err != nil && retryable(err) && n <= b.Tries; n++ {
		t := time.NewTimer(b.Delay(n))
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-t.C:
		}
		err = fn()
	}
	return err
}
