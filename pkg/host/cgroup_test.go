package host

import (
	"os"
	"path/filepath"
	"testing"
)

func TestParseCPUMax(t *testing.T) {
	tests := []struct {
		in      string
		limit   float64
		ok      bool
		wantErr bool
	}{
		{"800000 100000", 8, true, false},
		{"800000 100000\n", 8, true, false},
		{"150000 100000", 1.5, true, false},
		{"50000 100000", 0.5, true, false},
		{"200000", 2, true, false},
		{"max 100000", 0, false, false},
		{"max", 0, false, false},
		{"max 100000\n", 0, false, false},
		{"", 0, false, true},
		{"  ", 0, false, true},
		{"abc 100000", 0, false, true},
		{"0 100000", 0, false, true},
		{"-1 100000", 0, false, true},
		{"100000 0", 0, false, true},
		{"100000 x", 0, false, true},
		{"max 0", 0, false, true},
		{"1 2 3", 0, false, true},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			limit, ok, err := ParseCPUMax(tt.in)
			if (err != nil) != tt.wantErr {
				t.Fatalf("ParseCPUMax(%q) error = %v, want error %v", tt.in, err, tt.wantErr)
			}
			if limit != tt.limit || ok != tt.ok {
				t.Errorf("ParseCPUMax(%q) = %v, %v; want %v, %v", tt.in, limit, ok, tt.limit, tt.ok)
			}
		})
	}
}

func TestParseCFS(t *testing.T) {
	tests := []struct {
		quota, period string
		limit         float64
		ok, wantErr   bool
	}{
		{"800000\n", "100000\n", 8, true, false},
		{"50000", "100000", 0.5, true, false},
		{"-1\n", "100000\n", 0, false, false},
		{"x", "100000", 0, false, true},
		{"100000", "", 0, false, true},
		{"0", "100000", 0, false, true},
		{"100000", "0", 0, false, true},
	}
	for _, tt := range tests {
		t.Run(tt.quota+"/"+tt.period, func(t *testing.T) {
			limit, ok, err := parseCFS(tt.quota, tt.period)
			if (err != nil) != tt.wantErr || limit != tt.limit || ok != tt.ok {
				t.Errorf("parseCFS(%q, %q) = %v, %v, %v; want %v, %v, error %v",
					tt.quota, tt.period, limit, ok, err, tt.limit, tt.ok, tt.wantErr)
			}
		})
	}
}

// writeTree creates files (relative path -> contents) under a new temporary
// root and returns the root.
func writeTree(t *testing.T, files map[string]string) string {
	t.Helper()
	root := t.TempDir()
	for rel, body := range files {
		p := filepath.Join(root, rel)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return root
}

const (
	mountV2 = "30 1 0:26 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime shared:4 - " +
		"cgroup2 cgroup2 rw,nsdelegate\n"
	mountV1CPU = "35 30 0:30 / /sys/fs/cgroup/cpu,cpuacct rw,relatime shared:10 - " +
		"cgroup cgroup rw,cpu,cpuacct\n"
	mountV1Mem = "36 30 0:31 / /sys/fs/cgroup/memory rw,relatime shared:11 - " +
		"cgroup cgroup rw,memory\n"
	mountRootFS = "22 1 8:1 / / rw,relatime shared:1 - ext4 /dev/sda1 rw\n"
)

func TestCgroupCPULimit(t *testing.T) {
	tests := []struct {
		name  string
		files map[string]string
		want  float64
	}{
		{
			// case 14: a container whose cgroup namespace shows its own quota at the root
			name: "v2 namespaced quota 8",
			files: map[string]string{
				"proc/self/cgroup":          "0::/\n",
				"proc/self/mountinfo":       mountRootFS + mountV2,
				"sys/fs/cgroup/cpu.max":     "800000 100000\n",
				"sys/fs/cgroup/memory.max":  "max\n",
				"sys/fs/cgroup/cgroup.type": "domain\n",
			},
			want: 8,
		},
		{
			name: "v2 parent tighter than leaf",
			files: map[string]string{
				"proc/self/cgroup":                             "0::/pack.slice/run-1.scope\n",
				"proc/self/mountinfo":                          mountV2,
				"sys/fs/cgroup/pack.slice/cpu.max":             "250000 100000\n",
				"sys/fs/cgroup/pack.slice/run-1.scope/cpu.max": "max 100000\n",
			},
			want: 2.5,
		},
		{
			name: "v2 leaf tighter than parent",
			files: map[string]string{
				"proc/self/cgroup":                             "0::/pack.slice/run-1.scope\n",
				"proc/self/mountinfo":                          mountV2,
				"sys/fs/cgroup/pack.slice/cpu.max":             "400000 100000\n",
				"sys/fs/cgroup/pack.slice/run-1.scope/cpu.max": "150000 100000\n",
			},
			want: 1.5,
		},
		{
			name: "v2 no quota",
			files: map[string]string{
				"proc/self/cgroup":                    "0::/user.slice\n",
				"proc/self/mountinfo":                 mountV2,
				"sys/fs/cgroup/user.slice/cpu.max":    "max 100000\n",
				"sys/fs/cgroup/user.slice/cpu.weight": "100\n",
			},
			want: 0,
		},
		{
			name: "v2 path missing from this mount view",
			files: map[string]string{
				"proc/self/cgroup":      "0::/elsewhere/job\n",
				"proc/self/mountinfo":   mountV2,
				"sys/fs/cgroup/cpu.max": "300000 100000\n",
			},
			want: 3,
		},
		{
			name: "v1 cpu,cpuacct",
			files: map[string]string{
				"proc/self/cgroup": "5:memory:/docker/abc\n" +
					"4:cpu,cpuacct:/docker/abc\n1:name=systemd:/docker/abc\n",
				"proc/self/mountinfo": mountRootFS + mountV1CPU + mountV1Mem,
				"sys/fs/cgroup/cpu,cpuacct/docker/abc/cpu.cfs_quota_us":  "400000\n",
				"sys/fs/cgroup/cpu,cpuacct/docker/abc/cpu.cfs_period_us": "100000\n",
				"sys/fs/cgroup/cpu,cpuacct/cpu.cfs_quota_us":             "-1\n",
				"sys/fs/cgroup/cpu,cpuacct/cpu.cfs_period_us":            "100000\n",
			},
			want: 4,
		},
		{
			// a bind-mounted hierarchy: the mount root is the container's cgroup
			name: "v1 mount root not slash",
			files: map[string]string{
				"proc/self/cgroup": "3:cpu:/docker/abc\n",
				"proc/self/mountinfo": "40 30 0:30 /docker/abc /sys/fs/cgroup/cpu ro - " +
					"cgroup cgroup rw,cpu\n",
				"sys/fs/cgroup/cpu/cpu.cfs_quota_us":  "600000",
				"sys/fs/cgroup/cpu/cpu.cfs_period_us": "100000",
			},
			want: 6,
		},
		{
			name: "hybrid takes the tighter",
			files: map[string]string{
				"proc/self/cgroup":                            "0::/\n2:cpu:/\n",
				"proc/self/mountinfo":                         mountV1CPU + mountV2,
				"sys/fs/cgroup/cpu,cpuacct/cpu.cfs_quota_us":  "300000",
				"sys/fs/cgroup/cpu,cpuacct/cpu.cfs_period_us": "100000",
				"sys/fs/cgroup/cpu.max":                       "700000 100000",
			},
			want: 3,
		},
		{
			name: "malformed quota counts as none",
			files: map[string]string{
				"proc/self/cgroup":      "0::/\n",
				"proc/self/mountinfo":   mountV2,
				"sys/fs/cgroup/cpu.max": "lots\n",
			},
			want: 0,
		},
		{
			name: "space in mount point",
			files: map[string]string{
				"proc/self/cgroup": "0::/\n",
				"proc/self/mountinfo": "30 1 0:26 / /sys/fs/my\\040cgroup rw - " +
					"cgroup2 cgroup2 rw\n",
				"sys/fs/my cgroup/cpu.max": "100000 100000\n",
			},
			want: 1,
		},
		{
			name:  "no proc files",
			files: map[string]string{"etc/hostname": "box\n"},
			want:  0,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root := writeTree(t, tt.files)
			if got := cgroupCPULimit(root); got != tt.want {
				t.Errorf("cgroupCPULimit(%s) = %v, want %v", tt.name, got, tt.want)
			}
		})
	}
}

func TestUsable(t *testing.T) {
	tests := []struct {
		name     string
		affinity int
		limit    float64
		numCPU   int
		want     int
	}{
		{"case 14: 16 cpus, quota 8", 16, 8, 16, 8},
		{"no limits", 16, 0, 16, 16},
		{"taskset one cpu", 1, 0, 1, 1},
		{"affinity narrower than numcpu", 4, 0, 16, 4},
		{"fractional quota rounds up", 16, 1.5, 16, 2},
		{"tiny quota still one", 16, 0.1, 16, 1},
		{"quota above machine", 16, 64, 16, 16},
		{"unknown affinity", 0, 6, 16, 6},
		{"nothing known", 0, 0, 0, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := usable(tt.affinity, tt.limit, tt.numCPU); got != tt.want {
				t.Errorf("usable(%d, %v, %d) = %d, want %d",
					tt.affinity, tt.limit, tt.numCPU, got, tt.want)
			}
		})
	}
}
