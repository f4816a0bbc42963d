package agent

import (
	"os"
	"syscall"
	"time"
)

// fileStamp identifies what a stat can tell of a file's contents. Besides
// size and mtime it holds the inode and the ctime, which the kernel sets on
// every write and every metadata change and which no user can set back, so
// a file rewritten in place with its mtime restored (touch -r) still shows.
type fileStamp struct {
	size         int64
	mtime, ctime time.Time
	ino, dev     uint64
}

func stampOf(fi os.FileInfo) fileStamp {
	s := fileStamp{size: fi.Size(), mtime: fi.ModTime()}
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		s.ctime = time.Unix(st.Ctim.Sec, st.Ctim.Nsec)
		s.ino, s.dev = st.Ino, uint64(st.Dev)
	}
	return s
}
