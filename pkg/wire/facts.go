package wire

import (
	"github.com/packbench/packbench/pkg/host"
	packbenchv1 "github.com/packbench/packbench/proto/packbench/v1"
)

// HostFacts is what GetHostFacts reports: the host's facts, the agent's
// identity and what it may run.
type HostFacts struct {
	Facts        host.Facts
	AgentName    string
	AgentVersion string
	Allowlist    Allowlist
}

// Allowlist is what an agent may run, resolved paths by kind.
type Allowlist struct {
	Binaries    []string
	Models      []string
	Directories []string
}

// HostFactsToProto converts a host's facts for GetHostFacts.
func HostFactsToProto(h HostFacts) *packbenchv1.GetHostFactsResponse {
	f := h.Facts
	return &packbenchv1.GetHostFactsResponse{
		HostName:          f.Hostname,
		AgentName:         h.AgentName,
		AgentVersion:      h.AgentVersion,
		CpuModel:          f.CPUModel,
		Sockets:           i32(f.Sockets),
		PhysicalCores:     i32(f.PhysicalCores),
		LogicalCores:      i32(f.LogicalCores),
		UsableCpus:        i32(f.UsableCPUs),
		NumaNodes:         i32(f.NUMANodes),
		MemTotalBytes:     f.MemTotalBytes,
		MemAvailableBytes: f.MemAvailableBytes,
		Kernel:            f.Kernel,
		Os:                f.OS,
		Arch:              f.Arch,
		Allowlist: &packbenchv1.Allowlist{
			Binaries:    strs(h.Allowlist.Binaries),
			Models:      strs(h.Allowlist.Models),
			Directories: strs(h.Allowlist.Directories),
		},
		AffinityCpus:   i32(f.AffinityCPUs),
		CgroupCpuLimit: f.CgroupCPULimit,
	}
}

// HostFactsFromProto converts a GetHostFacts response.
func HostFactsFromProto(r *packbenchv1.GetHostFactsResponse) HostFacts {
	al := r.GetAllowlist()
	return HostFacts{
		Facts: host.Facts{
			Hostname:          r.GetHostName(),
			CPUModel:          r.GetCpuModel(),
			Kernel:            r.GetKernel(),
			OS:                r.GetOs(),
			Arch:              r.GetArch(),
			Sockets:           int(r.GetSockets()),
			PhysicalCores:     int(r.GetPhysicalCores()),
			LogicalCores:      int(r.GetLogicalCores()),
			NUMANodes:         int(r.GetNumaNodes()),
			AffinityCPUs:      int(r.GetAffinityCpus()),
			CgroupCPULimit:    r.GetCgroupCpuLimit(),
			UsableCPUs:        int(r.GetUsableCpus()),
			MemTotalBytes:     r.GetMemTotalBytes(),
			MemAvailableBytes: r.GetMemAvailableBytes(),
		},
		AgentName:    r.GetAgentName(),
		AgentVersion: r.GetAgentVersion(),
		Allowlist: Allowlist{
			Binaries:    strs(al.GetBinaries()),
			Models:      strs(al.GetModels()),
			Directories: strs(al.GetDirectories()),
		},
	}
}
