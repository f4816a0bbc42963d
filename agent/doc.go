// Package agent runs benchmark packs on the host it lives on: it checks a
// request against its limits and extra-arg policy (ValidateRequest), its
// paths against the allowlist, checks memory headroom against this host's
// MemAvailable, starts the pack's runner processes, parses their timing
// reports and reports what happened as a stream of events.
//
// Extra args that name files, load other weights or open the network
// (RefusedArgs) are refused unless the agent's ArgPolicy allows them, so a
// request cannot make a runner read or write outside the allowlist.
//
// One Agent runs one pack at a time. The same Agent serves `packbench local`
// in process and `packbench-agent` behind gRPC, so there is one pack code path.
package agent
