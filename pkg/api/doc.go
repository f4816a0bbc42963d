// Package api holds the plain Go types of the agent API: the requests a
// coordinator sends, the events a running pack reports, and the errors both
// sides branch on. The gRPC messages in proto/packbench/v1 are converted to
// and from these at the edges (pkg/wire), so neither side handles generated
// types in its logic.
package api
