// Package wire converts between the agent API's generated gRPC messages
// (proto/packbench/v1) and the plain Go types of pkg/api, pkg/result,
// pkg/runner, pkg/timing and pkg/host, and maps errors to gRPC status codes
// and back. Both the agent's server and the coordinator's client use it, so
// generated types stay at the edge of each side.
//
// Every XToProto has an XFromProto, and Go -> proto -> Go loses nothing.
// Values computed from others on the wire (a pack's overlap, an instance's
// timed_out flag) are filled on the way out and ignored on the way in.
package wire
