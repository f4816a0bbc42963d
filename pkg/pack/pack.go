package pack

import (
	"errors"
	"fmt"
	"time"
)

// Defaults applied by Run to the zero values of Spec.
const (
	DefaultGrace       = 5 * time.Second
	DefaultLogCap      = 16 << 20
	DefaultSampleEvery = time.Second
)

// Exec modes reported in InstanceResult.ExecMode.
const (
	ExecDirect = "direct"
	ExecSh     = "sh"
)

// ErrInvalidSpec is wrapped by Run's error when the Spec cannot be run at all.
var ErrInvalidSpec = errors.New("invalid pack spec")

// ErrUnsupported is returned by Run on operating systems other than Linux.
var ErrUnsupported = errors.New("pack: unsupported operating system")

// Instance describes one runner process of a pack.
//
// Path without a slash is looked up in PATH; a relative Path with a slash is
// resolved against Dir. A nil Env inherits this process's environment. An
// empty StdoutPath or StderrPath sends that stream to /dev/null; equal paths
// merge both streams into one file, counted as stdout.
type Instance struct {
	Index      int
	Path       string
	Args       []string // argv[1:]
	Env        []string
	Dir        string
	StdoutPath string
	StderrPath string

	// RetryViaSh retries a start that fails with ENOEXEC once as
	// /bin/sh <absolute Path> Args..., the way a POSIX shell would.
	RetryViaSh bool
}

// Spec is a pack to run: the instances and how to supervise them.
type Spec struct {
	Instances []Instance

	// Timeout limits each instance from its own start; 0 means no limit.
	Timeout time.Duration

	// Grace is the time between SIGTERM and SIGKILL; 0 means DefaultGrace.
	Grace time.Duration

	// LogCap is the number of bytes kept on disk per stream before only a
	// bounded tail is kept; 0 means DefaultLogCap.
	LogCap int64

	// SampleEvery caps the RSS/PSS sampling period (sampling starts denser); 0 means
	// DefaultSampleEvery and a negative value disables sampling.
	SampleEvery time.Duration
}

// InstanceResult is what happened to one instance.
//
// ExitCode is 128+signal for a death by signal and -1 when the instance never
// started. ExecMode is the mode of the last start tried, empty when none was.
// StdoutBytes and StderrBytes count everything the child wrote;
// DroppedBytes counts what of it did not reach the files (both streams).
// PeakRSSBytes is the larger of the sampled RSS and the kernel's ru_maxrss.
type InstanceResult struct {
	Index        int       `json:"index"`
	PID          int       `json:"pid"`
	ExecMode     string    `json:"exec_mode"`
	Started      time.Time `json:"started"`
	Ended        time.Time `json:"ended"`
	ExitCode     int       `json:"exit_code"`
	Signal       string    `json:"signal"`
	TimedOut     bool      `json:"timed_out"`
	Cancelled    bool      `json:"cancelled"`
	StartError   string    `json:"start_error"`
	PeakRSSBytes uint64    `json:"peak_rss_bytes"`
	PeakPSSBytes uint64    `json:"peak_pss_bytes"`
	StdoutBytes  int64     `json:"stdout_bytes"`
	StderrBytes  int64     `json:"stderr_bytes"`
	DroppedBytes int64     `json:"dropped_bytes"`
}

// Result is what happened to a pack. Instances is in Spec order.
//
// StartSkew is the latest minus the earliest start over the instances that
// started. Started is the earliest start (or when starting began, if none
// started) and Ended is when the last instance was reaped.
type Result struct {
	Instances []InstanceResult `json:"instances"`
	StartSkew time.Duration    `json:"start_skew_ns"`
	Started   time.Time        `json:"started"`
	Ended     time.Time        `json:"ended"`
}

// Observer hears about instances as they start and exit. Its methods are
// called from the pack's goroutines, possibly at the same time for different
// instances, and must not block for long.
type Observer interface {
	// InstanceStarted reports a started instance, once all were started.
	InstanceStarted(index, pid int, at time.Time)

	// InstanceExited reports an instance once it was reaped and its output
	// drained, or once its start failed.
	InstanceExited(r InstanceResult)
}

// withDefaults checks spec and fills in its zero values.
func withDefaults(spec Spec) (Spec, error) {
	if len(spec.Instances) == 0 {
		return spec, fmt.Errorf("check spec: no instances: %w", ErrInvalidSpec)
	}
	if spec.Timeout < 0 || spec.Grace < 0 || spec.LogCap < 0 {
		return spec, fmt.Errorf("check spec: negative timeout, grace or log cap: %w",
			ErrInvalidSpec)
	}

	if spec.Grace == 0 {
		spec.Grace = DefaultGrace
	}
	if spec.LogCap == 0 {
		spec.LogCap = DefaultLogCap
	}
	if spec.SampleEvery == 0 {
		spec.SampleEvery = DefaultSampleEvery
	}
	return spec, nil
}
