//go:build linux

package host_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/packbench/packbench/pkg/host"
)

// helperEnv selects what a re-executed test binary does instead of testing:
// "report" prints the facts, "pin" first pins its thread to helperCPUEnv.
const (
	helperEnv    = "PACKBENCH_HOST_TEST_HELPER"
	helperCPUEnv = "PACKBENCH_HOST_TEST_CPU"
)

// childReport is what a helper child prints as JSON.
type childReport struct {
	Usable   int        `json:"usable"`
	Affinity int        `json:"affinity"`
	NumCPU   int        `json:"num_cpu"`
	Facts    host.Facts `json:"facts"`
}

func TestMain(m *testing.M) {
	if mode := os.Getenv(helperEnv); mode != "" {
		os.Exit(runHelper(mode))
	}
	os.Exit(m.Run())
}

// runHelper is the child side: it reports what the package sees and returns
// the exit code.
func runHelper(mode string) int {
	if mode == "pin" {
		// pin only this OS thread; UsableCPUs must read the calling thread's mask
		runtime.LockOSThread()
		cpu, err := strconv.Atoi(os.Getenv(helperCPUEnv))
		if err != nil {
			fmt.Fprintln(os.Stderr, "helper: bad cpu:", err)
			return 2
		}
		var set unix.CPUSet
		set.Set(cpu)
		if err := unix.SchedSetaffinity(0, &set); err != nil {
			fmt.Fprintln(os.Stderr, "helper: setaffinity:", err)
			return 2
		}
	}

	var r childReport
	r.Usable, r.Affinity, _ = host.UsableCPUs()
	r.NumCPU = runtime.NumCPU()
	r.Facts, _ = host.Detect(context.Background())
	if err := json.NewEncoder(os.Stdout).Encode(r); err != nil {
		fmt.Fprintln(os.Stderr, "helper: encode:", err)
		return 2
	}
	return 0
}

// firstAllowedCPU returns the lowest CPU this process may run on.
func firstAllowedCPU(t *testing.T) int {
	t.Helper()
	var set unix.CPUSet
	if err := unix.SchedGetaffinity(0, &set); err != nil {
		t.Fatalf("SchedGetaffinity: %v", err)
	}
	for cpu := range 1024 {
		if set.IsSet(cpu) {
			return cpu
		}
	}
	t.Fatal("SchedGetaffinity: empty mask")
	return 0
}

// runChild re-executes the test binary with the helper mode set, optionally
// under a wrapper command such as taskset, and decodes its report.
func runChild(t *testing.T, mode string, cpu int, wrapper ...string) childReport {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()

	argv := append(wrapper, os.Args[0], "-test.run=^$")
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.Env = append(os.Environ(), helperEnv+"="+mode, helperCPUEnv+"="+strconv.Itoa(cpu))
	cmd.Stderr = os.Stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("run child %v: %v", argv, err)
	}

	var r childReport
	if err := json.Unmarshal(out, &r); err != nil {
		t.Fatalf("decode child report %q: %v", out, err)
	}
	return r
}

func TestUsableCPUsRestrictedAffinity(t *testing.T) {
	cpu := firstAllowedCPU(t)
	machine, err := host.Detect(context.Background())
	if err != nil {
		t.Fatalf("Detect() error = %v", err)
	}

	// case 14: the whole machine is visible, but only one CPU may be used
	type affinityCase struct {
		name    string
		mode    string
		wrapper []string
		numCPU  int // what runtime.NumCPU reports in the child
	}
	cases := []affinityCase{{name: "pinned thread", mode: "pin", numCPU: runtime.NumCPU()}}
	if taskset, err := exec.LookPath("taskset"); err == nil {
		wrapper := []string{taskset, "-c", strconv.Itoa(cpu)}
		cases = append(cases, affinityCase{"taskset", "report", wrapper, 1})
	} else {
		t.Logf("taskset not found (%v): checking the pinned-thread child only", err)
	}

	for _, tt := range cases {
		t.Run(tt.name, func(t *testing.T) {
			r := runChild(t, tt.mode, cpu, tt.wrapper...)
			if r.Usable != 1 || r.Affinity != 1 {
				t.Errorf("UsableCPUs() in child = %d (affinity %d), want 1 (affinity 1)",
					r.Usable, r.Affinity)
			}
			if r.NumCPU != tt.numCPU {
				t.Errorf("runtime.NumCPU() in child = %d, want %d", r.NumCPU, tt.numCPU)
			}
			if r.Facts.UsableCPUs != 1 || r.Facts.LogicalCores != machine.LogicalCores {
				t.Errorf("Detect() in child usable, logical = %d, %d; want 1, %d",
					r.Facts.UsableCPUs, r.Facts.LogicalCores, machine.LogicalCores)
			}
		})
	}
}

func TestDetect(t *testing.T) {
	f, err := host.Detect(context.Background())
	if err != nil {
		t.Fatalf("Detect() error = %v", err)
	}
	n := runtime.NumCPU()

	checks := []struct {
		name string
		ok   bool
	}{
		{"hostname set", f.Hostname != ""},
		{"kernel set", f.Kernel != ""},
		{"arch set", f.Arch != ""},
		{"os set", f.OS != ""},
		{"logical >= runtime.NumCPU", f.LogicalCores >= n},
		{"physical in 1..logical", f.PhysicalCores >= 1 && f.PhysicalCores <= f.LogicalCores},
		{"sockets in 1..physical", f.Sockets >= 1 && f.Sockets <= f.PhysicalCores},
		{"numa nodes >= 1", f.NUMANodes >= 1},
		{"affinity == runtime.NumCPU", f.AffinityCPUs == n},
		{"usable in 1..runtime.NumCPU", f.UsableCPUs >= 1 && f.UsableCPUs <= n},
		{"cgroup limit not negative", f.CgroupCPULimit >= 0},
		{"memory total > 0", f.MemTotalBytes > 0},
		{"available in 1..total", f.MemAvailableBytes > 0 && f.MemAvailableBytes <= f.MemTotalBytes},
	}
	for _, c := range checks {
		if !c.ok {
			t.Errorf("Detect() = %+v: %s failed", f, c.name)
		}
	}

	b, err := json.Marshal(f)
	if err != nil {
		t.Fatalf("json.Marshal(Facts) error = %v", err)
	}
	var keys map[string]any
	if err := json.Unmarshal(b, &keys); err != nil {
		t.Fatal(err)
	}
	keyNames := []string{"physical_cores", "usable_cpus", "cgroup_cpu_limit", "mem_available_bytes"}
	for _, k := range keyNames {
		if _, ok := keys[k]; !ok {
			t.Errorf("json.Marshal(Facts) = %s, want key %q", b, k)
		}
	}
}

func TestUsableCPUs(t *testing.T) {
	n, affinity, limit := host.UsableCPUs()
	if n < 1 || n > runtime.NumCPU() || n > affinity {
		t.Errorf("UsableCPUs() = %d, %d, %v; want 1..min(%d, affinity)", n, affinity, limit,
			runtime.NumCPU())
	}
	if limit > 0 && float64(n) > limit+1 {
		t.Errorf("UsableCPUs() = %d with cgroup limit %v, want at most ceil(limit)", n, limit)
	}
}

func TestMemAvailable(t *testing.T) {
	avail, err := host.MemAvailable()
	if err != nil {
		t.Fatalf("MemAvailable() error = %v", err)
	}
	f, err := host.Detect(context.Background())
	if err != nil {
		t.Fatalf("Detect() error = %v", err)
	}
	if avail == 0 || avail > f.MemTotalBytes {
		t.Errorf("MemAvailable() = %d, want 1..%d (MemTotal)", avail, f.MemTotalBytes)
	}
}
