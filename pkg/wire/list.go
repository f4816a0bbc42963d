package wire

import packbenchv1 "github.com/packbench/packbench/proto/packbench/v1"

// PackState is where a pack kept by an agent is in its life.
type PackState int

// The states of a kept pack. The zero value is unknown.
const (
	PackRunning PackState = iota + 1
	PackFinished
	// PackInterrupted: the agent stopped while the pack ran, so the pack has
	// no result.
	PackInterrupted
)

// String names the state in lowercase, for logs and tables.
func (s PackState) String() string {
	switch s {
	case PackRunning:
		return "running"
	case PackFinished:
		return "finished"
	case PackInterrupted:
		return "interrupted"
	}
	return "unknown"
}

// PackSummary is one pack kept by an agent, as ListPacks reports it.
type PackSummary struct {
	ID    string
	State PackState
	// Status is the result's status once the pack finished, empty before.
	Status string
}

var stateToProto = map[PackState]packbenchv1.PackState{
	PackRunning:     packbenchv1.PackState_PACK_STATE_RUNNING,
	PackFinished:    packbenchv1.PackState_PACK_STATE_FINISHED,
	PackInterrupted: packbenchv1.PackState_PACK_STATE_INTERRUPTED,
}

// PackSummaryToProto converts one ListPacks entry; an unknown state
// becomes PACK_STATE_UNSPECIFIED.
func PackSummaryToProto(s PackSummary) *packbenchv1.PackSummary {
	return &packbenchv1.PackSummary{PackId: s.ID, State: stateToProto[s.State],
		Status: s.Status}
}

// PackSummaryFromProto converts one ListPacks entry; PACK_STATE_UNSPECIFIED
// and unknown values become the zero PackState.
func PackSummaryFromProto(s *packbenchv1.PackSummary) PackSummary {
	out := PackSummary{ID: s.GetPackId(), Status: s.GetStatus()}
	for k, v := range stateToProto {
		if v == s.GetState() {
			out.State = k
		}
	}
	return out
}
