package coordinator_test

import (
	"context"
	"errors"
	"io"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/packbench/packbench/coordinator"
	"github.com/packbench/packbench/pkg/api"
	"github.com/packbench/packbench/pkg/result"
	"github.com/packbench/packbench/pkg/wire"
	packbenchv1 "github.com/packbench/packbench/proto/packbench/v1"
)

var fastBackoff = coordinator.Backoff{Tries: 3, Initial: time.Millisecond,
	Max: 2 * time.Millisecond}

var unavailable = status.Error(codes.Unavailable, "connection refused")

// fakeStream is a server stream that gives its events, then err.
type fakeStream[T any] struct {
	grpc.ClientStream
	msgs []*T
	err  error
}

func (s *fakeStream[T]) Recv() (*T, error) {
	if len(s.msgs) == 0 {
		return nil, s.err
	}
	m := s.msgs[0]
	s.msgs = s.msgs[1:]
	return m, nil
}

// fakeAgentService answers as an agent whose stream broke: RunPack's stream
// fails with runErr, and the other calls answer from its fields. It counts
// the calls by method.
type fakeAgentService struct {
	packbenchv1.AgentServiceClient

	runErr    error
	resultErr error // GetPackResult; nil gives finished
	finished  result.Pack
	listState packbenchv1.PackState
	watch     []*packbenchv1.WatchPackResponse

	mu    sync.Mutex
	calls map[string]int
}

func (f *fakeAgentService) count(m string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.calls == nil {
		f.calls = map[string]int{}
	}
	f.calls[m]++
}

func (f *fakeAgentService) GetHostFacts(context.Context, *packbenchv1.GetHostFactsRequest,
	...grpc.CallOption) (*packbenchv1.GetHostFactsResponse, error) {
	f.count("GetHostFacts")
	return nil, unavailable
}

func (f *fakeAgentService) RunPack(_ context.Context, req *packbenchv1.RunPackRequest,
	_ ...grpc.CallOption) (grpc.ServerStreamingClient[packbenchv1.RunPackResponse], error) {
	f.count("RunPack")
	accepted := &packbenchv1.RunPackResponse{Event: wire.EventToProto(api.Event{
		Kind: api.EventAccepted, PackID: req.GetPackId(), Memory: &result.Memory{}})}
	return &fakeStream[packbenchv1.RunPackResponse]{
		msgs: []*packbenchv1.RunPackResponse{accepted}, err: f.runErr}, nil
}

func (f *fakeAgentService) GetPackResult(context.Context, *packbenchv1.GetPackResultRequest,
	...grpc.CallOption) (*packbenchv1.GetPackResultResponse, error) {
	f.count("GetPackResult")
	if f.resultErr != nil {
		return nil, f.resultErr
	}
	return &packbenchv1.GetPackResultResponse{Result: wire.PackToProto(f.finished)}, nil
}

func (f *fakeAgentService) ListPacks(context.Context, *packbenchv1.ListPacksRequest,
	...grpc.CallOption) (*packbenchv1.ListPacksResponse, error) {
	f.count("ListPacks")
	return &packbenchv1.ListPacksResponse{Packs: []*packbenchv1.PackSummary{
		{PackId: f.finished.ID, State: f.listState}}}, nil
}

func (f *fakeAgentService) WatchPack(context.Context, *packbenchv1.WatchPackRequest,
	...grpc.CallOption) (grpc.ServerStreamingClient[packbenchv1.WatchPackResponse], error) {
	f.count("WatchPack")
	return &fakeStream[packbenchv1.WatchPackResponse]{msgs: f.watch, err: unavailable}, nil
}

func finishedPack(id string) result.Pack {
	at := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	return result.Pack{ID: id, Instances: 1, Threads: 2, Status: result.StatusOK,
		StartedAt: at, EndedAt: at.Add(time.Second)}
}

func TestRemoteFactsGivesUpAfterTheBound(t *testing.T) {
	f := &fakeAgentService{}
	r := coordinator.NewRemote(hclog.NewNullLogger(), f, fastBackoff)
	_, err := r.Facts(context.Background())
	if !errors.Is(err, coordinator.ErrUnreachable) {
		t.Errorf("Facts error = %v, want ErrUnreachable", err)
	}
	if got, want := f.calls["GetHostFacts"], fastBackoff.Tries+1; got != want {
		t.Errorf("GetHostFacts calls = %d, want %d (first try and %d retries)", got, want,
			fastBackoff.Tries)
	}
}

func TestRemoteRunPackReattachesWithoutRerunning(t *testing.T) {
	const id = "m1_t2_x"
	done := finishedPack(id)
	finishedEv := &packbenchv1.WatchPackResponse{Event: wire.EventToProto(api.Event{
		Kind: api.EventPackFinished, PackID: id, Pack: &done})}
	notYet := status.Error(codes.FailedPrecondition, "pack has not finished")

	tests := []struct {
		name      string
		fake      *fakeAgentService
		wantErr   error
		wantCalls map[string]int
	}{
		{"finished while the stream was down", &fakeAgentService{runErr: unavailable,
			finished: done}, nil, map[string]int{"RunPack": 1, "GetPackResult": 1}},
		{"stream ended early, pack still running", &fakeAgentService{runErr: io.EOF,
			resultErr: notYet, finished: done,
			listState: packbenchv1.PackState_PACK_STATE_RUNNING,
			watch:     []*packbenchv1.WatchPackResponse{finishedEv}}, nil,
			map[string]int{"RunPack": 1, "GetPackResult": 1, "ListPacks": 1, "WatchPack": 1}},
		{"agent restarted during the pack", &fakeAgentService{runErr: unavailable,
			resultErr: status.Error(codes.NotFound, "interrupted"), finished: done,
			listState: packbenchv1.PackState_PACK_STATE_INTERRUPTED},
			coordinator.ErrInterrupted,
			map[string]int{"RunPack": 1, "GetPackResult": 1, "ListPacks": 1}},
		{"agent gone", &fakeAgentService{runErr: unavailable, resultErr: unavailable},
			coordinator.ErrUnreachable,
			map[string]int{"RunPack": 1, "GetPackResult": fastBackoff.Tries + 1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := coordinator.NewRemote(hclog.NewNullLogger(), tt.fake, fastBackoff)
			p, err := r.RunPack(context.Background(), api.PackRequest{ID: id}, nil)
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Errorf("RunPack error = %v, want %v", err, tt.wantErr)
				}
			} else if err != nil || p.ID != id || p.Status != result.StatusOK {
				t.Errorf("RunPack = %s %s, %v; want %s ok", p.ID, p.Status, err, id)
			}
			for m, want := range tt.wantCalls {
				if got := tt.fake.calls[m]; got != want {
					t.Errorf("%s calls = %d, want %d (all: %v)", m, got, want, tt.fake.calls)
				}
			}
		})
	}
}
