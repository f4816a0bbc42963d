package plan

import "fmt"

// Flag names used in Error.Flag, spelled as on the command line.
const (
	FlagInstances    = "--instances"
	FlagThreadsMin   = "--threads-min"
	FlagThreadsMax   = "--threads-max"
	FlagLadderSpan   = "--ladder-span"
	FlagReserveCores = "--reserve-cores"
)

// What each flag accepts, quoted in Error messages.
const (
	acceptInstances = "auto, a list like 3,4,5, a range like 3-8 or 2:1:10"
	acceptThreadMin = "an integer >= 1 and <= --threads-max"
	acceptThreadMax = "0 (the physical core count) or an integer from --threads-min to 4096"
	acceptSpan      = "an integer from 0 to 256"
	acceptReserve   = "an integer >= 0"
)

// Error reports a flag value the planner cannot use. It names the flag, the
// value as given, why it was refused and what the flag accepts.
type Error struct {
	Flag     string // the flag, e.g. "--instances"
	Value    string // the value as the user gave it
	Reason   string // why it was refused, lowercase
	Accepted string // what the flag accepts, for the user to correct it
}

// Error returns a one-line message such as
// `invalid --instances "2:0:8": step must be >= 1; accepted: auto, ...`.
func (e *Error) Error() string {
	return fmt.Sprintf("invalid %s %q: %s; accepted: %s", e.Flag, e.Value, e.Reason, e.Accepted)
}

// instancesError builds the *Error for a bad --instances value.
func instancesError(value, reason string, args ...any) *Error {
	return &Error{
		Flag:     FlagInstances,
		Value:    value,
		Reason:   fmt.Sprintf(reason, args...),
		Accepted: acceptInstances,
	}
}
