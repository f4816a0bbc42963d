package host

import (
	"context"
	"errors"
	"fmt"
	"os"
	"runtime"
	"strings"

	"github.com/shirou/gopsutil/v3/cpu"
	gohost "github.com/shirou/gopsutil/v3/host"
	"github.com/shirou/gopsutil/v3/mem"
)

// Facts describes the machine and what this process may use of it.
type Facts struct {
	Hostname          string  `json:"hostname"`
	CPUModel          string  `json:"cpu_model"`
	Kernel            string  `json:"kernel"`
	OS                string  `json:"os"`   // distribution and version, e.g. "ubuntu 24.04"
	Arch              string  `json:"arch"` // machine architecture, e.g. "x86_64"
	Sockets           int     `json:"sockets"`
	PhysicalCores     int     `json:"physical_cores"` // whole machine, >= 1
	LogicalCores      int     `json:"logical_cores"`  // whole machine, >= 1
	NUMANodes         int     `json:"numa_nodes"`
	AffinityCPUs      int     `json:"affinity_cpus"`    // CPUs in the sched_getaffinity mask
	CgroupCPULimit    float64 `json:"cgroup_cpu_limit"` // quota in CPUs; 0 = none
	UsableCPUs        int     `json:"usable_cpus"`      // see UsableCPUs
	MemTotalBytes     uint64  `json:"mem_total_bytes"`
	MemAvailableBytes uint64  `json:"mem_available_bytes"`
}

// Detect gathers the facts of the machine it runs on. It reads files and
// does not block for long. The CPU counts are always filled (at least 1);
// when another fact cannot be read, Detect still returns every fact it has,
// together with an error that joins each failure.
func Detect(ctx context.Context) (Facts, error) {
	var f Facts
	var errs []error

	f.Hostname, errs = collect(errs, "hostname", func() (string, error) { return os.Hostname() })
	f.Kernel, errs = collect(errs, "kernel version", func() (string, error) {
		return gohost.KernelVersionWithContext(ctx)
	})
	f.OS, errs = collect(errs, "platform", func() (string, error) { return platform(ctx) })
	f.Arch = runtime.GOARCH
	if arch, err := gohost.KernelArch(); err == nil && arch != "" {
		f.Arch = arch
	}

	f.fillCPUs(ctx)
	f.UsableCPUs, f.AffinityCPUs, f.CgroupCPULimit = UsableCPUs()

	if vm, err := mem.VirtualMemoryWithContext(ctx); err != nil {
		errs = append(errs, fmt.Errorf("detect memory: %w", err))
	} else {
		f.MemTotalBytes, f.MemAvailableBytes = vm.Total, vm.Available
	}
	return f, errors.Join(errs...)
}

// collect runs read and returns its value, appending a wrapped error to errs
// when it fails.
func collect(errs []error, what string, read func() (string, error)) (string, []error) {
	v, err := read()
	if err != nil {
		return "", append(errs, fmt.Errorf("detect %s: %w", what, err))
	}
	return v, errs
}

// platform names the distribution and version, or the kernel's OS name when
// the distribution is unknown.
func platform(ctx context.Context) (string, error) {
	name, _, version, err := gohost.PlatformInformationWithContext(ctx)
	if err != nil {
		return runtime.GOOS, err
	}
	if name == "" {
		return runtime.GOOS, nil
	}
	return strings.TrimSpace(name + " " + version), nil
}

// fillCPUs sets the model, logical and physical cores, sockets and NUMA
// nodes. Sources are tried from most to least trusted, and every count ends
// up at least 1.
func (f *Facts) fillCPUs(ctx context.Context) {
	sys := readSysTopology("/")
	info := readCPUInfo("/")

	logical, _ := cpu.CountsWithContext(ctx, true)
	f.LogicalCores = max(logical, sys.cpus, info.cpus, runtime.NumCPU(), 1)

	// gopsutil counts sibling lists or trusts "cpu cores", which VMs get wrong
	physical, _ := cpu.CountsWithContext(ctx, false)
	f.PhysicalCores = pickCount(f.LogicalCores, sys.cores, info.cores, physical)
	f.Sockets = pickCount(f.PhysicalCores, sys.sockets, info.sockets)
	f.NUMANodes = max(sys.nodes, 1)

	f.CPUModel = info.model
	if f.CPUModel == "" {
		if infos, err := cpu.InfoWithContext(ctx); err == nil && len(infos) > 0 {
			f.CPUModel = infos[0].ModelName
		}
	}
}

// UsableCPUs returns how many CPUs this process can really run threads on:
// the smallest of the affinity mask count, the cgroup CPU quota rounded up
// and runtime.NumCPU, at least 1. It also returns the affinity count and the
// raw cgroup limit in CPUs (0 when there is no quota).
//
// TODO(affinity): the count is of logical CPUs; a mask holding SMT siblings
// has fewer physical cores, so min(physical, usable) in plan overstates it.
func UsableCPUs() (n int, affinity int, cgroupLimit float64) {
	affinity = affinityCount()
	cgroupLimit = cgroupCPULimit("/")
	return usable(affinity, cgroupLimit, runtime.NumCPU()), affinity, cgroupLimit
}
