package memory

import "strings"

// NoMmapRequested reports whether extraArgs make the runner read its weights
// into private memory instead of mapping them. Flags are read in order and the
// last one wins, as the runners' own parsers do. Recognised:
//
//   - --no-mmap, --no_mmap: llama.cpp (deprecated in newer builds), older
//     llamafile, node-llama-cpp style launchers; --mmap turns mapping back on.
//   - -lm/--load-mode MODE: llama.cpp's newer flag and llamafile 0.10's; none,
//     mlock and dio read privately, auto, mmap and mmap+mlock map.
//   - -mmp/--mmap 0|1: llama-bench; --use_mmap/--use-mmap false|true:
//     llama-cpp-python's server.
func NoMmapRequested(extraArgs []string) bool {
	noMmap := false
	for i := 0; i < len(extraArgs); i++ {
		name, value, hasValue := strings.Cut(extraArgs[i], "=")
		next := func() (string, bool) {
			if hasValue {
				return value, true
			}
			if i+1 < len(extraArgs) {
				i++
				return extraArgs[i], true
			}
			return "", false
		}

		switch name {
		case "--no-mmap", "--no_mmap":
			noMmap = true
		case "-lm", "--load-mode":
			if v, ok := next(); ok {
				if private, known := loadModeIsPrivate(v); known {
					noMmap = private
				}
			}
		case "-mmp", "--use_mmap", "--use-mmap":
			if v, ok := next(); ok {
				if on, ok := parseBool(v); ok {
					noMmap = !on
				}
			}
		case "--mmap":
			noMmap = mmapFlag(extraArgs, &i, value, hasValue)
		}
	}
	return noMmap
}

// mmapFlag reads --mmap, which is a bare switch in llama.cpp and takes 0 or 1
// in llama-bench; the next argument is consumed only when it is a boolean.
func mmapFlag(args []string, i *int, value string, hasValue bool) bool {
	if hasValue {
		on, ok := parseBool(value)
		return ok && !on
	}
	if *i+1 < len(args) {
		if on, ok := parseBool(args[*i+1]); ok {
			*i++
			return !on
		}
	}
	return false
}

// loadModeIsPrivate reports whether a --load-mode value reads the weights
// into private memory (none, mlock, dio) rather than mapping them; known is
// false for a value no runner defines, which then changes nothing.
func loadModeIsPrivate(mode string) (private, known bool) {
	switch strings.ToLower(mode) {
	case "none", "mlock", "dio":
		return true, true
	case "auto", "mmap", "mmap+mlock":
		return false, true
	}
	return false, false
}

func parseBool(s string) (value, ok bool) {
	switch strings.ToLower(s) {
	case "1", "true", "on", "yes":
		return true, true
	case "0", "false", "off", "no":
		return false, true
	}
	return false, false
}
