package host

import (
	"bufio"
	"os"
	"path/filepath"
	"strings"
)

// maxCPUEntries bounds the sysfs and cpuinfo scans.
const maxCPUEntries = 1 << 16

// topology is what sysfs or /proc/cpuinfo say about the CPUs; a zero field
// means that source could not tell.
type topology struct {
	cpus    int // logical CPUs seen
	cores   int // distinct (package, core) pairs
	sockets int // distinct package ids
	nodes   int // NUMA nodes
	model   string
}

// readSysTopology reads /sys/devices/system/cpu/cpuN/topology and the NUMA
// node directories under root. Only online CPUs have a topology directory.
func readSysTopology(root string) topology {
	var t topology
	dirs, _ := filepath.Glob(filepath.Join(root, "sys/devices/system/cpu/cpu[0-9]*"))
	cores := make(map[[2]string]bool)
	sockets := make(map[string]bool)
	for i, dir := range dirs {
		if i >= maxCPUEntries || !allDigits(strings.TrimPrefix(filepath.Base(dir), "cpu")) {
			continue
		}
		pkg, perr := readTrim(filepath.Join(dir, "topology/physical_package_id"))
		core, cerr := readTrim(filepath.Join(dir, "topology/core_id"))
		if perr != nil || cerr != nil {
			continue
		}
		// core ids repeat across dies on some multi-die packages
		where := pkg
		if die, err := readTrim(filepath.Join(dir, "topology/die_id")); err == nil {
			where += "/" + die
		}
		t.cpus++
		cores[[2]string{where, core}] = true
		sockets[pkg] = true
	}
	t.cores, t.sockets = len(cores), len(sockets)

	nodes, _ := filepath.Glob(filepath.Join(root, "sys/devices/system/node/node[0-9]*"))
	for _, n := range nodes {
		if allDigits(strings.TrimPrefix(filepath.Base(n), "node")) {
			t.nodes++
		}
	}
	return t
}

// readCPUInfo reads root/proc/cpuinfo. Cores and sockets stay 0 unless every
// processor block names its physical id and core id (ARM kernels do not).
func readCPUInfo(root string) topology {
	var t topology
	f, err := os.Open(filepath.Join(root, "proc/cpuinfo"))
	if err != nil {
		return t
	}
	defer f.Close()

	cores := make(map[[2]string]bool)
	sockets := make(map[string]bool)
	complete := true
	var pkg, core string
	flush := func() {
		if pkg == "" || core == "" {
			complete = false
		} else {
			cores[[2]string{pkg, core}] = true
			sockets[pkg] = true
		}
		pkg, core = "", ""
	}

	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 0, 64*1024), 1024*1024)
	for sc.Scan() && t.cpus <= maxCPUEntries {
		key, val, ok := strings.Cut(sc.Text(), ":")
		if !ok {
			continue
		}
		key, val = strings.TrimSpace(key), strings.TrimSpace(val)
		switch key {
		case "processor":
			if t.cpus > 0 {
				flush()
			}
			t.cpus++
		case "physical id":
			pkg = val
		case "core id":
			core = val
		case "model name", "Model", "cpu model":
			if t.model == "" {
				t.model = val
			}
		}
	}
	if t.cpus > 0 {
		flush()
	}

	if complete && sc.Err() == nil {
		t.cores, t.sockets = len(cores), len(sockets)
	}
	return t
}

// pickCount returns the first candidate in 1..limit, or limit when none is
// (limit itself must be >= 1). It chooses physical cores and sockets from
// sources in order of trust.
func pickCount(limit int, candidates ...int) int {
	for _, c := range candidates {
		if c >= 1 && c <= limit {
			return c
		}
	}
	return limit
}

// readTrim reads a small file and trims surrounding space.
func readTrim(path string) (string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return "", err
	}
	return strings.TrimSpace(string(b)), nil
}

// allDigits reports whether s is a non-empty run of ASCII digits.
func allDigits(s string) bool {
	if s == "" {
		return false
	}
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return true
}
