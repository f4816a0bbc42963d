//go:build !linux

package agent

import (
	"os"
	"time"
)

// fileStamp identifies what a stat can tell of a file's contents: here only
// size and mtime, which a careful writer can restore.
type fileStamp struct {
	size  int64
	mtime time.Time
}

func stampOf(fi os.FileInfo) fileStamp { return fileStamp{size: fi.Size(), mtime: fi.ModTime()} }
