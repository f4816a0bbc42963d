// Package host reads the facts about a machine that a CPU benchmark needs:
// its CPU model, sockets, physical and logical cores, NUMA nodes, memory, and
// how many CPUs this process may really use.
//
// Usable CPUs are the smallest of the scheduler affinity mask
// (sched_getaffinity, which taskset and cpusets narrow), the cgroup CPU quota
// rounded up (cgroup v2 cpu.max or v1 cpu.cfs_quota_us / cpu.cfs_period_us)
// and runtime.NumCPU. llama.cpp reports the whole machine in its system_info
// line, so a launcher must not trust that number when it sizes N x T.
//
// Physical cores come from the distinct (package, core) pairs in sysfs or
// /proc/cpuinfo before gopsutil's count, which can be wrong in virtual
// machines; the count is never 0 and never above the logical count.
package host
