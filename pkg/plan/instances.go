package plan

import (
	"errors"
	"slices"
	"strconv"
	"strings"
)

// Bounds on --instances. MaxCounts keeps a sweep finite; MaxInstances stops a
// typo from starting thousands of runner processes.
const (
	MaxCounts    = 256
	MaxInstances = 1024
)

// ParseInstances parses an --instances value. It returns nil for "auto"
// (any case), otherwise the distinct counts in ascending order, each from 1
// to MaxInstances and at most MaxCounts of them. Accepted forms are a list
// ("3,4,5"), a range ("3-8") and a stepped range ("2:1:10", start:step:end).
// Every error is an *Error with Flag "--instances".
func ParseInstances(s string) ([]int, error) {
	v := strings.TrimSpace(s)
	switch {
	case v == "":
		return nil, instancesError(s, "value is empty")
	case strings.EqualFold(v, "auto"):
		return nil, nil
	case strings.Contains(v, ":"):
		return parseStepped(s, v)
	case strings.Contains(v, "-"):
		return parseDashRange(s, v)
	default:
		return parseList(s, v)
	}
}

// parseStepped parses "start:step:end". raw is the value as given, for errors.
func parseStepped(raw, v string) ([]int, error) {
	parts := strings.Split(v, ":")
	if len(parts) != 3 {
		return nil, instancesError(raw, "a stepped range needs start:step:end")
	}

	n, err := parseInts(raw, parts, "start", "step", "end")
	if err != nil {
		return nil, err
	}
	start, step, end := n[0], n[1], n[2]
	if err := checkCount(raw, start, "start"); err != nil {
		return nil, err
	}
	if step < 1 {
		return nil, instancesError(raw, "step must be >= 1")
	}
	if err := checkCount(raw, end, "end"); err != nil {
		return nil, err
	}

	return expandRange(raw, start, step, end)
}

// parseDashRange parses "start-end".
func parseDashRange(raw, v string) ([]int, error) {
	if strings.HasPrefix(v, "-") {
		return nil, instancesError(raw, "counts must be >= 1")
	}
	parts := strings.Split(v, "-")
	if len(parts) != 2 {
		return nil, instancesError(raw, "a range needs exactly one start and one end")
	}

	n, err := parseInts(raw, parts, "start", "end")
	if err != nil {
		return nil, err
	}
	for i, what := range []string{"start", "end"} {
		if err := checkCount(raw, n[i], what); err != nil {
			return nil, err
		}
	}
	return expandRange(raw, n[0], 1, n[1])
}

// expandRange lists start, start+step, ... up to end. All three are already
// known to be in range, so the arithmetic cannot overflow.
func expandRange(raw string, start, step, end int) ([]int, error) {
	if end < start {
		return nil, instancesError(raw, "end %d is below start %d", end, start)
	}
	if n := (end-start)/step + 1; n > MaxCounts {
		return nil, instancesError(raw, "range gives %d counts, more than %d", n, MaxCounts)
	}

	var counts []int
	for m := start; m <= end; m += step {
		counts = append(counts, m)
	}
	return counts, nil
}

// parseList parses "3,4,5" (or a single count) into sorted distinct counts.
func parseList(raw, v string) ([]int, error) {
	items := strings.Split(v, ",")
	counts := make([]int, 0, len(items))
	for _, item := range items {
		m, err := parseInt(raw, item, "count")
		if err != nil {
			return nil, err
		}
		counts = append(counts, m)
	}
	for _, m := range counts {
		if err := checkCount(raw, m, "count"); err != nil {
			return nil, err
		}
	}

	slices.Sort(counts)
	counts = slices.Compact(counts)
	if len(counts) > MaxCounts {
		return nil, instancesError(raw, "list has %d counts, more than %d", len(counts), MaxCounts)
	}
	return counts, nil
}

// parseInts parses every part before any is range-checked, so that a
// value with a typo is blamed for the typo, not for another part's bound.
// whats names the parts in order for errors.
func parseInts(raw string, parts []string, whats ...string) ([]int, error) {
	n := make([]int, len(parts))
	for i, p := range parts {
		var err error
		if n[i], err = parseInt(raw, p, whats[i]); err != nil {
			return nil, err
		}
	}
	return n, nil
}

// checkCount checks 1 <= m <= MaxInstances. what names the part ("start",
// "end", "count") in the error.
func checkCount(raw string, m int, what string) error {
	if m < 1 {
		return instancesError(raw, "%s %d: counts must be >= 1", what, m)
	}
	if m > MaxInstances {
		return instancesError(raw, "%s %d: counts must be <= %d", what, m, MaxInstances)
	}
	return nil
}

// parseInt parses a trimmed decimal integer, naming the part when it is
// missing or not a number.
func parseInt(raw, part, what string) (int, error) {
	p := strings.TrimSpace(part)
	if p == "" {
		return 0, instancesError(raw, "%s is missing", what)
	}
	n, err := strconv.Atoi(p)
	if errors.Is(err, strconv.ErrRange) {
		return 0, instancesError(raw, "%s %s is out of range", what, p)
	}
	if err != nil {
		return 0, instancesError(raw, "%s %q is not an integer", what, p)
	}
	return n, nil
}
