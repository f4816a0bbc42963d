package synth

import "golang.org/x/sys/unix"

// freeBytes is the space an unprivileged user may still fill on the file
// system of dir, and whether it could be read.
func freeBytes(dir string) (uint64, bool) {
	var st unix.Statfs_t
	if err := unix.Statfs(dir, &st); err != nil {
		return 0, false
	}
	return st.Bavail * uint64(st.Bsize), true
}
