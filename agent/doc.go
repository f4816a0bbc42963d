// Package agent runs benchmark packs on the host it lives on: it checks a
// request against its allowlist and limits, checks memory headroom against
// this host's MemAvailable, starts the pack's runner processes, parses their
// timing reports and reports what happened as a stream of events.
//
// One Agent runs one pack at a time. The same Agent serves `packbench local`
// in process and `packbench-agent` behind gRPC, so there is one pack code path.
package agent
