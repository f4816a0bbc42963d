// Package coordinator holds the sweep plan and drives agents through it: it
// asks each agent for its host's facts, plans combos from that host's cores,
// runs the combos one after another on that agent, and writes the per-host
// results.csv, best_by_instances.csv and results.json after every combo.
// Remote is the gRPC client of an agent (re-attaching to a pack by id when
// its stream breaks, within a Backoff); Sweep runs a fleet of hosts in
// parallel and keeps fleet.csv and fleet.json; StartInProcess serves an
// in-process agent over bufconn for `packbench local`.
package coordinator
