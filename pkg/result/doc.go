// Package result holds what a pack measured and how it is summarised: the
// per-instance outcome, the per-combo row of results.csv, the best thread
// setting per instance count, and the atomic writers for the output files.
//
// The agent fills Pack values; the coordinator turns them into Rows and writes
// them. Both sides share this package so that one definition of "ok", of
// tokens per second and of overlap serves a single host and a fleet alike.
package result
