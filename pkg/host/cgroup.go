package host

import (
	"bufio"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// defaultPeriod is the kernel's CFS period in microseconds, used when
// cpu.max holds a quota alone.
const defaultPeriod = 100000

// maxCgroupDepth bounds the walk from a cgroup up to its mount point.
const maxCgroupDepth = 64

// ParseCPUMax parses the contents of a cgroup v2 cpu.max file, "QUOTA PERIOD"
// in microseconds. It returns QUOTA/PERIOD CPUs and ok true, or ok false for
// "max" (no limit). A quota alone uses the default period of 100000.
func ParseCPUMax(s string) (limit float64, ok bool, err error) {
	fields := strings.Fields(s)
	if len(fields) < 1 || len(fields) > 2 {
		return 0, false, fmt.Errorf("parse cpu.max %q: want \"QUOTA PERIOD\"", s)
	}

	period := int64(defaultPeriod)
	if len(fields) == 2 {
		period, err = strconv.ParseInt(fields[1], 10, 64)
		if err != nil || period <= 0 {
			return 0, false, fmt.Errorf("parse cpu.max %q: period must be a positive integer", s)
		}
	}

	if fields[0] == "max" {
		return 0, false, nil
	}
	quota, err := strconv.ParseInt(fields[0], 10, 64)
	if err != nil || quota <= 0 {
		return 0, false, fmt.Errorf("parse cpu.max %q: quota must be \"max\" or a positive integer", s)
	}
	return float64(quota) / float64(period), true, nil
}

// parseCFS parses cgroup v1 cpu.cfs_quota_us and cpu.cfs_period_us contents.
// A quota of -1 means no limit (ok false).
func parseCFS(quotaText, periodText string) (limit float64, ok bool, err error) {
	quota, err := strconv.ParseInt(strings.TrimSpace(quotaText), 10, 64)
	if err != nil {
		return 0, false, fmt.Errorf("parse cpu.cfs_quota_us %q: %w", quotaText, err)
	}
	if quota < 0 {
		return 0, false, nil
	}

	period, err := strconv.ParseInt(strings.TrimSpace(periodText), 10, 64)
	if err != nil {
		return 0, false, fmt.Errorf("parse cpu.cfs_period_us %q: %w", periodText, err)
	}
	if quota == 0 || period <= 0 {
		return 0, false, fmt.Errorf("parse cfs quota %d period %d: both must be positive",
			quota, period)
	}
	return float64(quota) / float64(period), true, nil
}

// cgroupMount is where one cgroup hierarchy is mounted: v2, or the v1
// hierarchy that carries the cpu controller.
type cgroupMount struct {
	v2         bool
	mountPoint string // e.g. /sys/fs/cgroup
	root       string // the hierarchy path the mount shows, usually "/"
}

// cgroupCPULimit returns the tightest CPU quota, in CPUs, that applies to
// this process, or 0 when there is none. root prefixes every path ("/" on a
// real host, a temporary tree in tests). Unreadable or malformed files count
// as no limit.
func cgroupCPULimit(root string) float64 {
	paths, err := readProcCgroup(filepath.Join(root, "proc/self/cgroup"))
	if err != nil {
		return 0
	}
	mounts, err := readMountInfo(filepath.Join(root, "proc/self/mountinfo"))
	if err != nil {
		return 0
	}

	best := 0.0
	for _, m := range mounts {
		p, found := paths[m.v2]
		if !found {
			continue
		}
		best = tighter(best, limitFromMount(root, m, p))
	}
	return best
}

// tighter returns the smaller positive limit of a and b; 0 means none.
func tighter(a, b float64) float64 {
	if a == 0 || (b > 0 && b < a) {
		return b
	}
	return a
}

// limitFromMount walks from this process's cgroup directory up to the mount
// point and returns the tightest quota found, since a parent's quota also
// caps its children.
func limitFromMount(root string, m cgroupMount, cgPath string) float64 {
	mountDir := filepath.Join(root, m.mountPoint)
	rel := "/"
	if m.root == "/" {
		rel = cgPath
	} else if r, ok := strings.CutPrefix(cgPath, m.root); ok && (r == "" || r[0] == '/') {
		rel = r
	}
	dir := filepath.Join(mountDir, rel)

	// without a cgroup namespace the path may not exist in this mount view
	if _, err := os.Stat(dir); err != nil {
		dir = mountDir
	}

	best := 0.0
	for range maxCgroupDepth {
		best = tighter(best, readDirLimit(dir, m.v2))
		if dir == mountDir || !strings.HasPrefix(dir, mountDir) {
			break
		}
		dir = filepath.Dir(dir)
	}
	return best
}

// readDirLimit reads the quota files of one cgroup directory; 0 means none.
func readDirLimit(dir string, v2 bool) float64 {
	var limit float64
	var ok bool
	var err error
	if v2 {
		b, rerr := os.ReadFile(filepath.Join(dir, "cpu.max"))
		if rerr != nil {
			return 0
		}
		limit, ok, err = ParseCPUMax(string(b))
	} else {
		q, qerr := os.ReadFile(filepath.Join(dir, "cpu.cfs_quota_us"))
		p, perr := os.ReadFile(filepath.Join(dir, "cpu.cfs_period_us"))
		if qerr != nil || perr != nil {
			return 0
		}
		limit, ok, err = parseCFS(string(q), string(p))
	}

	// TODO(cgroup): a malformed quota file is treated as no limit; surface it
	// as a warning once Facts can carry diagnostics.
	if err != nil || !ok {
		return 0
	}
	return limit
}

// readProcCgroup reads /proc/self/cgroup and returns the cgroup path for v2
// (key true, the "0::" line) and for the v1 hierarchy with the cpu
// controller (key false).
func readProcCgroup(path string) (map[bool]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("read cgroup: %w", err)
	}
	defer f.Close()

	paths := make(map[bool]string)
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		// hierarchy-ID:controller-list:cgroup-path; the path may hold colons
		parts := strings.SplitN(sc.Text(), ":", 3)
		if len(parts) != 3 {
			continue
		}
		switch {
		case parts[0] == "0" && parts[1] == "":
			paths[true] = parts[2]
		case hasItem(parts[1], "cpu"):
			paths[false] = parts[2]
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read cgroup: %w", err)
	}
	return paths, nil
}

// readMountInfo returns the cgroup v2 mounts and the v1 mounts carrying the
// cpu controller, from a /proc/self/mountinfo file.
func readMountInfo(path string) ([]cgroupMount, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("read mountinfo: %w", err)
	}
	defer f.Close()

	var mounts []cgroupMount
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 0, 64*1024), 1024*1024)
	for sc.Scan() {
		if m, ok := parseMountLine(sc.Text()); ok {
			mounts = append(mounts, m)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read mountinfo: %w", err)
	}
	if len(mounts) == 0 {
		return nil, errors.New("read mountinfo: no cgroup mount")
	}
	return mounts, nil
}

// parseMountLine parses one mountinfo line: "ID PARENT MAJ:MIN ROOT MOUNTPOINT
// OPTIONS [OPTIONAL...] - FSTYPE SOURCE SUPEROPTIONS".
func parseMountLine(line string) (cgroupMount, bool) {
	before, after, found := strings.Cut(line, " - ")
	if !found {
		return cgroupMount{}, false
	}
	pre, post := strings.Fields(before), strings.Fields(after)
	if len(pre) < 5 || len(post) < 1 {
		return cgroupMount{}, false
	}

	m := cgroupMount{root: unescapeMount(pre[3]), mountPoint: unescapeMount(pre[4])}
	switch {
	case post[0] == "cgroup2":
		m.v2 = true
	case post[0] == "cgroup" && len(post) >= 3 && hasItem(post[2], "cpu"):
	default:
		return cgroupMount{}, false
	}
	return m, true
}

// mountUnescaper undoes the octal escapes the kernel writes in mountinfo.
var mountUnescaper = strings.NewReplacer(`\040`, " ", `\011`, "\t", `\012`, "\n", `\134`, `\`)

// unescapeMount decodes a mountinfo path field.
func unescapeMount(s string) string {
	return mountUnescaper.Replace(s)
}

// hasItem reports whether the comma-separated list contains item.
func hasItem(list, item string) bool {
	for v := range strings.SplitSeq(list, ",") {
		if v == item {
			return true
		}
	}
	return false
}

// usable combines the three bounds: the affinity count, the cgroup limit
// rounded up, and runtime.NumCPU. Unknown (non-positive) bounds are ignored;
// the result is at least 1.
func usable(affinity int, cgroupLimit float64, numCPU int) int {
	n := numCPU
	if affinity > 0 && (n < 1 || affinity < n) {
		n = affinity
	}
	if cgroupLimit > 0 {
		c := int(math.Ceil(cgroupLimit))
		if n < 1 || c < n {
			n = c
		}
	}
	return max(n, 1)
}
