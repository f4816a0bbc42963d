// Package plan turns the sweep flags (--instances, --threads-min, --threads-max,
// --ladder-span, --reserve-cores) and two host facts (physical cores, usable
// CPUs) into the ordered list of combos a benchmark runs: M concurrent
// instances with T threads each.
//
// The rule, step by step:
//
//  1. Cores = min(physical cores, usable CPUs). Reserve = --reserve-cores, but
//     when that would leave less than one core it is lowered to Cores-1 (never
//     below 0) and a note says so. avail = Cores - Reserve is what the ladder
//     splits between instances.
//  2. --threads-max 0 means the physical core count. A value above it allows
//     SMT threads; it is not capped at the logical or usable CPUs, but a note
//     warns that such threads oversubscribe. --threads-min above the
//     resulting --threads-max is an error, except that a defaulted
//     maximum lowers the minimum to it (with a note) on a host with fewer
//     cores than --threads-min.
//  3. Instance counts. auto is {P/6-1, P/6, P/6+1} (values >= 1) together
//     with {3, 4, 6, 7}, where P is the physical core count, deduplicated and
//     sorted; only counts M <= avail are kept and a note lists the dropped
//     ones. When nothing is left the plan uses {1} and says why. Counts given
//     as a list or range are all kept, because the user asked for them; those
//     above avail get a note that they oversubscribe.
//  4. Threads per instance. For each M, base = max(1, avail/M); the
//     candidates are base-span .. base+span, values below 1 are dropped, each
//     one is clamped into [threads-min, threads-max], and the result is
//     deduplicated and sorted. The first clamp at each bound adds a note.
//  5. Combos are ordered by instances, then threads. A combo oversubscribes
//     when instances x threads exceeds the usable CPUs (see
//     Plan.Oversubscribed); a note counts them.
//
// Build never returns an empty plan without an error. Invalid flags come back
// as *Error, which names the flag, the value and what is accepted.
package plan
