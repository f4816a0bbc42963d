package plan_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/packbench/packbench/pkg/plan"
)

// ladder returns the combos m x lo..hi.
func ladder(m, lo, hi int) []plan.Combo {
	var out []plan.Combo
	for t := lo; t <= hi; t++ {
		out = append(out, plan.Combo{Instances: m, Threads: t})
	}
	return out
}

// concat joins combo lists in order.
func concat(lists ...[]plan.Combo) []plan.Combo {
	var out []plan.Combo
	for _, l := range lists {
		out = append(out, l...)
	}
	return out
}

// wantNotes fails unless every fragment appears in some note.
func wantNotes(t *testing.T, p plan.Plan, fragments ...string) {
	t.Helper()
	for _, f := range fragments {
		found := false
		for _, n := range p.Notes {
			if strings.Contains(n, f) {
				found = true
				break
			}
		}
		if !found {
			t.Errorf("Build notes = %q, want one containing %q", p.Notes, f)
		}
	}
}

func TestBuildDefaults16(t *testing.T) {
	p, err := plan.Build(plan.DefaultSpec(), 16, 16)
	if err != nil {
		t.Fatalf("Build(defaults, 16, 16) error = %v", err)
	}

	// avail = 16 - 2 = 14; bases 14, 7, 4, 3, 2, 2; threads clamped to [2, 16]
	want := concat(ladder(1, 12, 16), ladder(2, 5, 9), ladder(3, 2, 6),
		ladder(4, 2, 5), ladder(6, 2, 4), ladder(7, 2, 4))
	if diff := cmp.Diff(want, p.Combos); diff != "" {
		t.Errorf("Build(defaults, 16, 16) combos mismatch (-want +got):\n%s", diff)
	}
	if p.Cores != 16 || p.Reserve != 2 || p.PhysicalCores != 16 || p.UsableCPUs != 16 {
		t.Errorf("Build(defaults, 16, 16) cores, reserve, physical, usable = %d, %d, %d, %d; "+
			"want 16, 2, 16, 16", p.Cores, p.Reserve, p.PhysicalCores, p.UsableCPUs)
	}
	wantNotes(t, p, "below --threads-min 2 raised to 2", "7 of 25 combos oversubscribe")
	if len(p.Notes) != 2 {
		t.Errorf("Build(defaults, 16, 16) notes = %q, want 2 notes", p.Notes)
	}
}

func TestBuildAutoCounts(t *testing.T) {
	tests := []struct {
		name             string
		physical, usable int
		reserve          int
		want             []int
		notes            []string
	}{
		{"16 cores", 16, 16, 2, []int{1, 2, 3, 4, 6, 7}, nil},
		{"48 cores", 48, 48, 2, []int{3, 4, 6, 7, 8, 9}, nil},
		{"8 cores", 8, 8, 2, []int{1, 2, 3, 4, 6}, []string{"auto instances 7 dropped"}},
		{"quota 4 of 16", 16, 4, 0, []int{1, 2, 3, 4}, []string{"auto instances 6,7 dropped"}},
		{"none fits", 48, 2, 2, []int{1}, []string{"no auto instance count fits in 1", "using 1"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			spec := plan.DefaultSpec()
			spec.ReserveCores = tt.reserve
			p, err := plan.Build(spec, tt.physical, tt.usable)
			if err != nil {
				t.Fatalf("Build(%+v, %d, %d) error = %v", spec, tt.physical, tt.usable, err)
			}
			if diff := cmp.Diff(tt.want, instanceCounts(p)); diff != "" {
				t.Errorf("Build(%+v, %d, %d) instance counts (-want +got):\n%s",
					spec, tt.physical, tt.usable, diff)
			}
			wantNotes(t, p, tt.notes...)
		})
	}
}

// instanceCounts lists the distinct instance counts of p in order.
func instanceCounts(p plan.Plan) []int {
	var out []int
	for _, c := range p.Combos {
		if len(out) == 0 || out[len(out)-1] != c.Instances {
			out = append(out, c.Instances)
		}
	}
	return out
}

func TestBuildTinyHost(t *testing.T) {
	p, err := plan.Build(plan.DefaultSpec(), 2, 2)
	if err != nil {
		t.Fatalf("Build(defaults, 2, 2) error = %v", err)
	}

	want := []plan.Combo{{Instances: 1, Threads: 2}}
	if diff := cmp.Diff(want, p.Combos); diff != "" {
		t.Errorf("Build(defaults, 2, 2) combos mismatch (-want +got):\n%s", diff)
	}
	if p.Reserve != 1 || p.Cores != 2 {
		t.Errorf("Build(defaults, 2, 2) reserve, cores = %d, %d; want 1, 2", p.Reserve, p.Cores)
	}
	wantNotes(t, p, "--reserve-cores 2 lowered to 1", "auto instances 3,4,6,7 dropped",
		"raised to 2", "above --threads-max 2 lowered to 2")
}

func TestBuildReserveOnOneCore(t *testing.T) {
	spec := plan.DefaultSpec()
	spec.ThreadsMin = 1
	p, err := plan.Build(spec, 1, 1)
	if err != nil {
		t.Fatalf("Build(%+v, 1, 1) error = %v", spec, err)
	}
	if p.Reserve != 0 {
		t.Errorf("Build(%+v, 1, 1) reserve = %d, want 0", spec, p.Reserve)
	}
	want := []plan.Combo{{Instances: 1, Threads: 1}}
	if diff := cmp.Diff(want, p.Combos); diff != "" {
		t.Errorf("Build(%+v, 1, 1) combos mismatch (-want +got):\n%s", spec, diff)
	}
	wantNotes(t, p, "--reserve-cores 2 lowered to 0")
}

func TestBuildThreadsMax(t *testing.T) {
	tests := []struct {
		name       string
		threadsMax int
		usable     int
		want       []plan.Combo
		notes      []string
	}{
		{
			name: "physical cap", threadsMax: 0, usable: 32,
			want:  ladder(1, 14, 16),
			notes: []string{"above --threads-max 16 lowered to 16"},
		},
		{
			name: "smt allowed", threadsMax: 32, usable: 32,
			want:  ladder(1, 14, 18),
			notes: []string{"--threads-max 32 is above the 16 physical cores: SMT threads allowed"},
		},
		{
			name: "smt beyond usable", threadsMax: 32, usable: 16,
			want: ladder(1, 14, 18),
			notes: []string{"SMT threads allowed", "above the 16 usable CPUs",
				"2 of 5 combos oversubscribe the 16 usable CPUs"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			spec := plan.Spec{Instances: "1", ThreadsMin: 2, ThreadsMax: tt.threadsMax, LadderSpan: 2}
			p, err := plan.Build(spec, 16, tt.usable)
			if err != nil {
				t.Fatalf("Build(%+v, 16, %d) error = %v", spec, tt.usable, err)
			}
			if diff := cmp.Diff(tt.want, p.Combos); diff != "" {
				t.Errorf("Build(%+v, 16, %d) combos (-want +got):\n%s", spec, tt.usable, diff)
			}
			wantNotes(t, p, tt.notes...)
		})
	}
}

func TestBuildExplicitCounts(t *testing.T) {
	// the seed's example: explicit counts with SMT allowed on a 16-core host
	spec := plan.Spec{Instances: "1,2,3,4,5,6,7", ThreadsMin: 2, ThreadsMax: 32,
		LadderSpan: 2, ReserveCores: 2}
	p, err := plan.Build(spec, 16, 32)
	if err != nil {
		t.Fatalf("Build(%+v, 16, 32) error = %v", spec, err)
	}
	want := concat(ladder(1, 12, 16), ladder(2, 5, 9), ladder(3, 2, 6), ladder(4, 2, 5),
		ladder(5, 2, 4), ladder(6, 2, 4), ladder(7, 2, 4))
	if diff := cmp.Diff(want, p.Combos); diff != "" {
		t.Errorf("Build(%+v, 16, 32) combos (-want +got):\n%s", spec, diff)
	}

	// counts above avail are kept, with a note
	spec = plan.Spec{Instances: "2,8", ThreadsMin: 2, LadderSpan: 1, ReserveCores: 2}
	p, err = plan.Build(spec, 4, 4)
	if err != nil {
		t.Fatalf("Build(%+v, 4, 4) error = %v", spec, err)
	}
	want = concat(ladder(2, 2, 2), ladder(8, 2, 2))
	if diff := cmp.Diff(want, p.Combos); diff != "" {
		t.Errorf("Build(%+v, 4, 4) combos (-want +got):\n%s", spec, diff)
	}
	wantNotes(t, p, "instances 8 kept as asked but exceed the 2 available core(s)",
		"1 of 2 combos oversubscribe the 4 usable CPUs")
}

func TestBuildErrors(t *testing.T) {
	def := plan.DefaultSpec()
	with := func(f func(*plan.Spec)) plan.Spec {
		s := def
		f(&s)
		return s
	}
	tests := []struct {
		name     string
		spec     plan.Spec
		physical int
		flag     string
		value    string
	}{
		{"bad instances", with(func(s *plan.Spec) { s.Instances = "2:0:8" }), 16, "--instances", "2:0:8"},
		{"empty instances", with(func(s *plan.Spec) { s.Instances = "" }), 16, "--instances", ""},
		{"threads-min 0", with(func(s *plan.Spec) { s.ThreadsMin = 0 }), 16, "--threads-min", "0"},
		{"threads-min above max", with(func(s *plan.Spec) { s.ThreadsMin = 9; s.ThreadsMax = 8 }),
			16, "--threads-min", "9"},
		{"threads-min above an explicit max on one core",
			with(func(s *plan.Spec) { s.ThreadsMax = 1 }), 1, "--threads-min", "2"},
		{"threads-max negative", with(func(s *plan.Spec) { s.ThreadsMax = -1 }), 16,
			"--threads-max", "-1"},
		{"threads-max huge", with(func(s *plan.Spec) { s.ThreadsMax = 5000 }), 16,
			"--threads-max", "5000"},
		{"span negative", with(func(s *plan.Spec) { s.LadderSpan = -1 }), 16, "--ladder-span", "-1"},
		{"span huge", with(func(s *plan.Spec) { s.LadderSpan = 257 }), 16, "--ladder-span", "257"},
		{"reserve negative", with(func(s *plan.Spec) { s.ReserveCores = -1 }), 16,
			"--reserve-cores", "-1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := plan.Build(tt.spec, tt.physical, tt.physical)
			var perr *plan.Error
			if !errors.As(err, &perr) {
				t.Fatalf("Build(%+v, %d) = %+v, %v; want a *plan.Error", tt.spec, tt.physical, p, err)
			}
			if perr.Flag != tt.flag || perr.Value != tt.value || perr.Accepted == "" {
				t.Errorf("Build(%+v, %d) error = %+v, want flag %s value %q and an accepted text",
					tt.spec, tt.physical, perr, tt.flag, tt.value)
			}
			if len(p.Combos) != 0 {
				t.Errorf("Build(%+v, %d) combos = %v with an error, want none", tt.spec, tt.physical,
					p.Combos)
			}
		})
	}
}

func TestBuildBadHost(t *testing.T) {
	tests := []struct{ physical, usable int }{{0, 4}, {4, 0}, {-1, -1}, {1 << 20, 4}}
	for _, tt := range tests {
		_, err := plan.Build(plan.DefaultSpec(), tt.physical, tt.usable)
		var perr *plan.Error
		if err == nil || errors.As(err, &perr) {
			t.Errorf("Build(defaults, %d, %d) error = %v, want a plain (non-flag) error",
				tt.physical, tt.usable, err)
		}
	}
}

func TestOversubscribed(t *testing.T) {
	// case 14: 16 logical CPUs, a cgroup quota of 8, 4 copies x 4 threads
	p := plan.Plan{PhysicalCores: 16, UsableCPUs: 8}
	tests := []struct {
		c    plan.Combo
		want bool
	}{
		{plan.Combo{Instances: 4, Threads: 4}, true},
		{plan.Combo{Instances: 4, Threads: 2}, false},
		{plan.Combo{Instances: 1, Threads: 8}, false},
		{plan.Combo{Instances: 1, Threads: 9}, true},
	}
	for _, tt := range tests {
		t.Run(tt.c.String(), func(t *testing.T) {
			if got := p.Oversubscribed(tt.c); got != tt.want {
				t.Errorf("Oversubscribed(%v) with usable 8 = %v, want %v", tt.c, got, tt.want)
			}
		})
	}
}

func FuzzBuild(f *testing.F) {
	f.Add("auto", 2, 0, 2, 2, 16, 16)
	f.Add("1,2,3", 1, 32, 3, 0, 8, 4)
	f.Add("2:1:10", 4, 4, 0, 100, 2, 1)
	f.Fuzz(func(t *testing.T, inst string, tmin, tmax, span, reserve, phys, usable int) {
		spec := plan.Spec{Instances: inst, ThreadsMin: tmin, ThreadsMax: tmax,
			LadderSpan: span, ReserveCores: reserve}
		p, err := plan.Build(spec, phys, usable)
		if err != nil {
			return
		}
		if len(p.Combos) == 0 {
			t.Fatalf("Build(%+v, %d, %d) = empty plan, nil error", spec, phys, usable)
		}
		// a defaulted maximum is the physical core count, and lowers a
		// minimum above it (see TestBuildOneCoreDefaults)
		lo, hi := tmin, tmax
		if hi == 0 {
			hi, lo = phys, min(tmin, phys)
		}
		for i, c := range p.Combos {
			if c.Instances < 1 || c.Threads < lo || c.Threads > hi {
				t.Fatalf("Build(%+v, %d, %d) combo %v outside bounds", spec, phys, usable, c)
			}
			if i > 0 {
				prev := p.Combos[i-1]
				if c.Instances < prev.Instances ||
					(c.Instances == prev.Instances && c.Threads <= prev.Threads) {
					t.Fatalf("Build(%+v, %d, %d) combos not ordered: %v then %v",
						spec, phys, usable, prev, c)
				}
			}
		}
	})
}

// On a one-core host the default --threads-min 2 cannot hold; with the
// maximum left at its default the plan lowers it instead of failing.
func TestBuildOneCoreDefaults(t *testing.T) {
	p, err := plan.Build(plan.DefaultSpec(), 1, 1)
	if err != nil {
		t.Fatalf("Build(defaults, 1, 1) error = %v, want nil", err)
	}
	want := []plan.Combo{{Instances: 1, Threads: 1}}
	if diff := cmp.Diff(want, p.Combos); diff != "" {
		t.Errorf("Build(defaults, 1, 1) combos mismatch (-want +got):\n%s", diff)
	}
	found := false
	for _, n := range p.Notes {
		found = found || strings.Contains(n, "--threads-min 2 is above the 1 physical cores")
	}
	if !found {
		t.Errorf("Build(defaults, 1, 1) notes = %q, want one on --threads-min", p.Notes)
	}
}
