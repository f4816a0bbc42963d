package host

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

// sysTree returns the sysfs files of a host with the given packages, cores
// per package and threads per core, numbered the way Linux numbers them, and
// nodes NUMA nodes.
func sysTree(packages, cores, threads, nodes int) map[string]string {
	files := make(map[string]string)
	cpu := 0
	for th := 0; th < threads; th++ {
		for pkg := 0; pkg < packages; pkg++ {
			for core := 0; core < cores; core++ {
				dir := fmt.Sprintf("sys/devices/system/cpu/cpu%d/topology/", cpu)
				files[dir+"physical_package_id"] = fmt.Sprintf("%d\n", pkg)
				files[dir+"core_id"] = fmt.Sprintf("%d\n", core)
				files[dir+"die_id"] = "0\n"
				cpu++
			}
		}
	}
	for n := 0; n < nodes; n++ {
		files[fmt.Sprintf("sys/devices/system/node/node%d/cpulist", n)] = "0-1\n"
	}

	// entries that must not be counted as CPUs or nodes
	files["sys/devices/system/cpu/cpufreq/boost"] = "1\n"
	files["sys/devices/system/cpu/cpuidle/current_driver"] = "none\n"
	files["sys/devices/system/node/possible"] = "0-1\n"
	return files
}

func TestReadSysTopology(t *testing.T) {
	tests := []struct {
		name                        string
		files                       map[string]string
		cpus, cores, sockets, nodes int
	}{
		{"2 sockets 4 cores smt", sysTree(2, 4, 2, 2), 16, 8, 2, 2},
		{"1 socket 8 cores", sysTree(1, 8, 1, 1), 8, 8, 1, 1},
		{"vm with one core per socket", sysTree(4, 1, 1, 1), 4, 4, 4, 1},
		{"no sysfs", map[string]string{"proc/version": "Linux\n"}, 0, 0, 0, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := readSysTopology(writeTree(t, tt.files))
			if got.cpus != tt.cpus || got.cores != tt.cores || got.sockets != tt.sockets ||
				got.nodes != tt.nodes {
				t.Errorf("readSysTopology(%s) = cpus %d cores %d sockets %d nodes %d; "+
					"want %d %d %d %d", tt.name, got.cpus, got.cores, got.sockets, got.nodes,
					tt.cpus, tt.cores, tt.sockets, tt.nodes)
			}
		})
	}
}

func TestReadSysTopologyDies(t *testing.T) {
	// core ids restart on each die of a package: 2 dies x 2 cores = 4 cores
	files := make(map[string]string)
	for cpu := 0; cpu < 4; cpu++ {
		dir := fmt.Sprintf("sys/devices/system/cpu/cpu%d/topology/", cpu)
		files[dir+"physical_package_id"] = "0"
		files[dir+"die_id"] = fmt.Sprint(cpu / 2)
		files[dir+"core_id"] = fmt.Sprint(cpu % 2)
	}
	got := readSysTopology(writeTree(t, files))
	if got.cores != 4 || got.sockets != 1 {
		t.Errorf("readSysTopology(2 dies) cores, sockets = %d, %d; want 4, 1", got.cores, got.sockets)
	}
}

func TestReadCPUInfo(t *testing.T) {
	tests := []struct {
		file                 string
		cpus, cores, sockets int
		model                string
	}{
		{"cpuinfo-2s2c2t", 8, 4, 2, "Example Xeon 4210 @ 2.20GHz"},
		{"cpuinfo-arm4", 4, 0, 0, ""},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			body, err := os.ReadFile(filepath.Join("testdata", tt.file))
			if err != nil {
				t.Fatal(err)
			}
			got := readCPUInfo(writeTree(t, map[string]string{"proc/cpuinfo": string(body)}))
			if got.cpus != tt.cpus || got.cores != tt.cores || got.sockets != tt.sockets ||
				got.model != tt.model {
				t.Errorf("readCPUInfo(%s) = %+v, want cpus %d cores %d sockets %d model %q",
					tt.file, got, tt.cpus, tt.cores, tt.sockets, tt.model)
			}
		})
	}
}

func TestPickCount(t *testing.T) {
	tests := []struct {
		name       string
		limit      int
		candidates []int
		want       int
	}{
		{"first trusted source", 16, []int{8, 4, 16}, 8},
		{"sysfs missing", 16, []int{0, 8, 2}, 8},
		{"gopsutil only", 16, []int{0, 0, 8}, 8},
		{"above logical rejected", 4, []int{8, 0, 2}, 2},
		{"nothing usable falls back to logical", 4, []int{0, -1, 9}, 4},
		{"no candidates", 2, nil, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := pickCount(tt.limit, tt.candidates...); got != tt.want {
				t.Errorf("pickCount(%d, %v) = %d, want %d", tt.limit, tt.candidates, got, tt.want)
			}
		})
	}
}
