package plan

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// Bounds that keep a plan finite whatever the flags say.
const (
	MaxThreads    = 4096    // highest --threads-max (and threads per instance)
	MaxLadderSpan = 256     // highest --ladder-span
	MaxCPUs       = 1 << 16 // highest physical core or usable CPU count Build accepts
)

// Combo is one benchmark point: Instances runner processes started together,
// each with Threads threads.
type Combo struct {
	Instances int `json:"instances"`
	Threads   int `json:"threads_per_instance"`
}

// String renders the combo as "4x3" (instances x threads).
func (c Combo) String() string {
	return strconv.Itoa(c.Instances) + "x" + strconv.Itoa(c.Threads)
}

// Spec holds the planning flags as the user gave them.
type Spec struct {
	Instances    string // --instances: "auto", a list "3,4,5", a range "3-8" or "2:1:10"
	ThreadsMin   int    // --threads-min, >= 1
	ThreadsMax   int    // --threads-max; 0 means the physical core count
	LadderSpan   int    // --ladder-span: threads tried each side of the base
	ReserveCores int    // --reserve-cores: cores left for the OS and I/O
}

// DefaultSpec returns the flag defaults: auto instances, threads-min 2,
// threads-max = physical cores, ladder span 2 and 2 reserved cores.
func DefaultSpec() Spec {
	return Spec{Instances: "auto", ThreadsMin: 2, ThreadsMax: 0, LadderSpan: 2, ReserveCores: 2}
}

// Plan is the ordered sweep Build produced and the numbers it was built from.
type Plan struct {
	Combos        []Combo  `json:"combos"`         // by instances, then threads
	PhysicalCores int      `json:"physical_cores"` // as given to Build
	UsableCPUs    int      `json:"usable_cpus"`    // as given to Build
	Reserve       int      `json:"reserve"`        // cores actually reserved
	Cores         int      `json:"cores"`          // min(physical, usable): what the ladder splits
	Notes         []string `json:"notes"`          // every clip or adjustment, for the user
}

// Oversubscribed reports whether c asks for more threads in total than the
// plan's usable CPUs (Instances*Threads > UsableCPUs).
func (p Plan) Oversubscribed(c Combo) bool {
	return c.Instances*c.Threads > p.UsableCPUs
}

// Build applies the rule in the package documentation to spec on a host with
// physicalCores cores and usableCPUs usable CPUs. Invalid flags are reported
// as *Error; a returned plan without an error always has at least one combo.
func Build(spec Spec, physicalCores, usableCPUs int) (Plan, error) {
	if err := checkHost(physicalCores, usableCPUs); err != nil {
		return Plan{}, err
	}
	counts, err := checkSpec(spec)
	if err != nil {
		return Plan{}, err
	}

	b := builder{plan: Plan{PhysicalCores: physicalCores, UsableCPUs: usableCPUs}}
	b.plan.Cores = min(physicalCores, usableCPUs)
	b.reserve(spec.ReserveCores)
	if err := b.threadBounds(spec); err != nil {
		return Plan{}, err
	}

	if counts == nil {
		counts = b.autoCounts()
	} else {
		b.noteExplicitOver(counts)
	}
	for _, m := range counts {
		b.ladder(m, spec.LadderSpan)
	}

	b.noteOversubscribed()
	if b.plan.Notes == nil {
		b.plan.Notes = []string{} // results.json says "notes": [], not null
	}
	if len(b.plan.Combos) == 0 {
		// unreachable by the rule: every count yields at least one thread value
		return Plan{}, fmt.Errorf("build plan: no combos for instances %q", spec.Instances)
	}
	return b.plan, nil
}

// checkHost rejects host facts that cannot come from a real machine.
func checkHost(physicalCores, usableCPUs int) error {
	if physicalCores < 1 || physicalCores > MaxCPUs {
		return fmt.Errorf("build plan: physical cores %d: must be from 1 to %d",
			physicalCores, MaxCPUs)
	}
	if usableCPUs < 1 || usableCPUs > MaxCPUs {
		return fmt.Errorf("build plan: usable cpus %d: must be from 1 to %d", usableCPUs, MaxCPUs)
	}
	return nil
}

// Validate checks the flags that do not depend on the host, so that a
// sweep can refuse them before asking any agent. Every error is an *Error.
func (s Spec) Validate() error {
	_, err := checkSpec(s)
	return err
}

// checkSpec validates the flags that do not depend on the host and parses
// --instances (nil counts mean auto).
func checkSpec(spec Spec) ([]int, error) {
	counts, err := ParseInstances(spec.Instances)
	if err != nil {
		return nil, err
	}
	if spec.ThreadsMin < 1 {
		return nil, intError(FlagThreadsMin, spec.ThreadsMin, "must be >= 1", acceptThreadMin)
	}
	if spec.ThreadsMax < 0 || spec.ThreadsMax > MaxThreads {
		return nil, intError(FlagThreadsMax, spec.ThreadsMax,
			fmt.Sprintf("must be from 0 to %d", MaxThreads), acceptThreadMax)
	}
	if spec.LadderSpan < 0 || spec.LadderSpan > MaxLadderSpan {
		return nil, intError(FlagLadderSpan, spec.LadderSpan,
			fmt.Sprintf("must be from 0 to %d", MaxLadderSpan), acceptSpan)
	}
	if spec.ReserveCores < 0 {
		return nil, intError(FlagReserveCores, spec.ReserveCores, "must be >= 0", acceptReserve)
	}
	return counts, nil
}

// intError builds the *Error for a bad integer flag.
func intError(flag string, value int, reason, accepted string) *Error {
	return &Error{Flag: flag, Value: strconv.Itoa(value), Reason: reason, Accepted: accepted}
}

// builder accumulates a plan; its methods run in the order Build calls them.
type builder struct {
	plan       Plan
	avail      int  // cores the ladder splits: Cores - Reserve, >= 1
	tmin, tmax int  // thread bounds after defaults
	clampedLo  bool // a note about raising to threads-min was added
	clampedHi  bool // a note about lowering to threads-max was added
}

// note appends a formatted note to the plan.
func (b *builder) note(format string, args ...any) {
	b.plan.Notes = append(b.plan.Notes, fmt.Sprintf(format, args...))
}

// reserve sets Reserve and avail, lowering the reserve when it would leave
// no core for the benchmark.
func (b *builder) reserve(want int) {
	cores := b.plan.Cores
	b.plan.Reserve = want
	if cores-want < 1 {
		b.plan.Reserve = max(cores-1, 0)
		b.note("--reserve-cores %d lowered to %d: only %d core(s) available "+
			"(min of %d physical, %d usable)",
			want, b.plan.Reserve, cores, b.plan.PhysicalCores, b.plan.UsableCPUs)
	}
	b.avail = cores - b.plan.Reserve
}

// threadBounds resolves --threads-max 0 to the physical core count and
// checks it against --threads-min.
func (b *builder) threadBounds(spec Spec) error {
	phys := b.plan.PhysicalCores
	b.tmin, b.tmax = spec.ThreadsMin, spec.ThreadsMax
	if b.tmax == 0 {
		b.tmax = phys
		// a defaulted maximum must not turn the default minimum into an
		// error on a host smaller than that minimum
		if b.tmin > b.tmax {
			b.note("--threads-min %d is above the %d physical cores; lowered to %d",
				b.tmin, phys, phys)
			b.tmin = phys
		}
	}

	if b.tmin > b.tmax {
		return intError(FlagThreadsMin, b.tmin,
			fmt.Sprintf("above --threads-max %d", b.tmax), acceptThreadMin)
	}
	if b.tmax > phys {
		b.note("--threads-max %d is above the %d physical cores: SMT threads allowed", b.tmax, phys)
	}
	if b.tmax > b.plan.UsableCPUs {
		b.note("--threads-max %d is above the %d usable CPUs: such threads oversubscribe",
			b.tmax, b.plan.UsableCPUs)
	}
	return nil
}

// autoCounts returns the auto instance counts that fit in avail, or {1}.
func (b *builder) autoCounts() []int {
	p6 := b.plan.PhysicalCores / 6
	var all []int
	for _, m := range []int{p6 - 1, p6, p6 + 1, 3, 4, 6, 7} {
		if m >= 1 {
			all = append(all, m)
		}
	}
	slices.Sort(all)
	all = slices.Compact(all)

	var kept, dropped []int
	for _, m := range all {
		if m <= b.avail {
			kept = append(kept, m)
		} else {
			dropped = append(dropped, m)
		}
	}
	if len(dropped) > 0 {
		b.note("auto instances %s dropped: more than the %d available core(s)", join(dropped), b.avail)
	}
	if len(kept) == 0 {
		b.note("no auto instance count fits in %d available core(s): using 1", b.avail)
		kept = []int{1}
	}
	return kept
}

// noteExplicitOver notes user-given counts above avail, which are kept.
func (b *builder) noteExplicitOver(counts []int) {
	var over []int
	for _, m := range counts {
		if m > b.avail {
			over = append(over, m)
		}
	}
	if len(over) > 0 {
		b.note("instances %s kept as asked but exceed the %d available core(s): they oversubscribe",
			join(over), b.avail)
	}
}

// ladder appends the combos for m instances: base-span..base+span threads,
// values below 1 dropped, clamped into [tmin, tmax]. Clamping is monotonic, so
// the clamped range is the contiguous run clamp(lo)..clamp(hi).
func (b *builder) ladder(m, span int) {
	base := max(1, b.avail/m)
	lo, hi := max(1, base-span), base+span

	if lo < b.tmin && !b.clampedLo {
		b.clampedLo = true
		b.note("thread counts below --threads-min %d raised to %d", b.tmin, b.tmin)
	}
	if hi > b.tmax && !b.clampedHi {
		b.clampedHi = true
		b.note("thread counts above --threads-max %d lowered to %d", b.tmax, b.tmax)
	}

	lo, hi = clamp(lo, b.tmin, b.tmax), clamp(hi, b.tmin, b.tmax)
	for t := lo; t <= hi; t++ {
		b.plan.Combos = append(b.plan.Combos, Combo{Instances: m, Threads: t})
	}
}

// noteOversubscribed counts the combos whose total threads exceed usable CPUs.
func (b *builder) noteOversubscribed() {
	n := 0
	for _, c := range b.plan.Combos {
		if b.plan.Oversubscribed(c) {
			n++
		}
	}
	if n > 0 {
		b.note("%d of %d combos oversubscribe the %d usable CPUs (instances x threads > usable)",
			n, len(b.plan.Combos), b.plan.UsableCPUs)
	}
}

// clamp returns v limited to [lo, hi].
func clamp(v, lo, hi int) int {
	return min(max(v, lo), hi)
}

// join renders counts as "3,4,6".
func join(counts []int) string {
	parts := make([]string, len(counts))
	for i, m := range counts {
		parts[i] = strconv.Itoa(m)
	}
	return strings.Join(parts, ",")
}
