// Package coordinator holds the sweep plan and drives agents through it: it
// asks each agent for its host's facts, plans combos from that host's cores,
// runs the combos one after another on that agent, and writes the per-host
// results.csv, best_by_instances.csv and results.json after every combo.
package coordinator
