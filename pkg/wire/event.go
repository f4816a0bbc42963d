package wire

import (
	"fmt"

	"github.com/packbench/packbench/pkg/api"
	"github.com/packbench/packbench/pkg/result"
	packbenchv1 "github.com/packbench/packbench/proto/packbench/v1"
)

// EventToProto converts one event of a pack. An InstanceStarted event's
// started_at is the event's time. An event of an unknown kind gives a
// PackEvent with no oneof set, which EventFromProto refuses.
func EventToProto(ev api.Event) *packbenchv1.PackEvent {
	out := &packbenchv1.PackEvent{PackId: ev.PackID, At: timestamp(ev.At)}
	switch ev.Kind {
	case api.EventAccepted:
		out.Event = &packbenchv1.PackEvent_Accepted{Accepted: &packbenchv1.PackAccepted{
			PackId: ev.PackID, Memory: memoryPtrToProto(ev.Memory)}}
	case api.EventSkipped:
		out.Event = &packbenchv1.PackEvent_Skipped{Skipped: &packbenchv1.PackSkipped{
			Reason: ev.Reason, Memory: memoryPtrToProto(ev.Memory)}}
	case api.EventInstanceStarted:
		out.Event = &packbenchv1.PackEvent_InstanceStarted{
			InstanceStarted: &packbenchv1.InstanceStarted{
				Index: i32(ev.Index), Pid: i32(ev.PID), StartedAt: timestamp(ev.At)}}
	case api.EventInstanceFinished:
		fin := &packbenchv1.InstanceFinished{Index: i32(ev.Index)}
		if ev.Instance != nil {
			fin.Result = InstanceToProto(*ev.Instance)
		}
		out.Event = &packbenchv1.PackEvent_InstanceFinished{InstanceFinished: fin}
	case api.EventPackFinished:
		fin := &packbenchv1.PackFinished{}
		if ev.Pack != nil {
			fin.Result = PackToProto(*ev.Pack)
		}
		out.Event = &packbenchv1.PackEvent_PackFinished{PackFinished: fin}
	}
	return out
}

// EventFromProto converts one event of a pack; a PackEvent without a known
// event set is an error wrapping api.ErrInvalid.
func EventFromProto(ev *packbenchv1.PackEvent) (api.Event, error) {
	out := api.Event{PackID: ev.GetPackId(), At: fromTimestamp(ev.GetAt())}
	switch e := ev.GetEvent().(type) {
	case *packbenchv1.PackEvent_Accepted:
		out.Kind = api.EventAccepted
		out.Memory = memoryPtrFromProto(e.Accepted.GetMemory())
	case *packbenchv1.PackEvent_Skipped:
		out.Kind = api.EventSkipped
		out.Memory = memoryPtrFromProto(e.Skipped.GetMemory())
		out.Reason = e.Skipped.GetReason()
	case *packbenchv1.PackEvent_InstanceStarted:
		out.Kind = api.EventInstanceStarted
		out.Index, out.PID = int(e.InstanceStarted.GetIndex()), int(e.InstanceStarted.GetPid())
	case *packbenchv1.PackEvent_InstanceFinished:
		out.Kind = api.EventInstanceFinished
		out.Index = int(e.InstanceFinished.GetIndex())
		if r := e.InstanceFinished.GetResult(); r != nil {
			in := InstanceFromProto(r)
			out.Instance = &in
		}
	case *packbenchv1.PackEvent_PackFinished:
		out.Kind = api.EventPackFinished
		if r := e.PackFinished.GetResult(); r != nil {
			p := PackFromProto(r)
			out.Pack = &p
		}
	default:
		return api.Event{}, fmt.Errorf("convert pack event: %w: no known event set (%T)",
			api.ErrInvalid, e)
	}
	return out, nil
}

func memoryPtrToProto(m *result.Memory) *packbenchv1.MemoryEstimate {
	if m == nil {
		return nil
	}
	return MemoryToProto(*m)
}

func memoryPtrFromProto(m *packbenchv1.MemoryEstimate) *result.Memory {
	if m == nil {
		return nil
	}
	out := MemoryFromProto(m)
	return &out
}
