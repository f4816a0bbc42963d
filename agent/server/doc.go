// Package server serves an agent.Agent over gRPC as packbench.v1's
// AgentService. It owns the packs it starts: each runs on a context of the
// server, not of the stream that asked for it, so a broken stream leaves the
// pack running; WatchPack re-attaches to it. Finished packs are kept in the
// state directory (packs/<id>.json, logs in logs/) and loaded again at start,
// so a restarted agent still serves them.
//
// GRPCOptions bounds the transport (message size, streams per connection,
// handshake time) and puts a deadline on every unary call; the agent checks
// each pack request against its limits and extra-arg policy
// (agent.ValidateRequest) before any process starts. TLS is the caller's:
// packbench-agent adds credentials from pkg/certs.
package server
