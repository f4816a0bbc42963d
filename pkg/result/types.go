package result

import (
	"time"

	"github.com/packbench/packbench/pkg/timing"
)

// Status values of an instance and of a combo.
const (
	StatusOK        = "ok"
	StatusFailed    = "failed"
	StatusTimedOut  = "timeout"
	StatusCancelled = "cancelled"
	StatusSkipped   = "skipped"
	// StatusPartial marks a combo in which some instances, not all, finished.
	StatusPartial = "partial"
)

// Instance is the outcome of one runner process of a pack.
type Instance struct {
	Index        int           `json:"index"`
	PID          int           `json:"pid"`
	ExecMode     string        `json:"exec_mode"`
	Status       string        `json:"status"`
	Reason       string        `json:"reason,omitempty"`
	ExitCode     int           `json:"exit_code"`
	Signal       string        `json:"signal,omitempty"`
	StartedAt    time.Time     `json:"started_at"`
	EndedAt      time.Time     `json:"ended_at"`
	StoppedEarly bool          `json:"stopped_early"`
	Timing       timing.Report `json:"timing"`
	PeakRSSBytes uint64        `json:"peak_rss_bytes"`
	PeakPSSBytes uint64        `json:"peak_pss_bytes"`
	StdoutPath   string        `json:"stdout_path"`
	StderrPath   string        `json:"stderr_path"`
}

// WallSeconds is how long the process ran, zero when it never started.
func (i Instance) WallSeconds() float64 {
	if i.StartedAt.IsZero() || i.EndedAt.Before(i.StartedAt) {
		return 0
	}
	return i.EndedAt.Sub(i.StartedAt).Seconds()
}

// TokPerSec is the instance's generation rate, and whether it has one.
func (i Instance) TokPerSec() (float64, bool) {
	if i.Status != StatusOK || i.Timing.EvalTokPerSec == nil {
		return 0, false
	}
	return *i.Timing.EvalTokPerSec, true
}

// Memory is the headroom check made before a pack: the estimate and the cap
// it was held against.
type Memory struct {
	Source           string  `json:"source"`
	Warning          string  `json:"warning,omitempty"`
	Mmap             bool    `json:"mmap"`
	WeightsBytes     uint64  `json:"weights_bytes"`
	PerInstanceBytes uint64  `json:"per_instance_bytes"`
	TotalBytes       uint64  `json:"total_bytes"`
	AvailableBytes   uint64  `json:"available_bytes"`
	CapBytes         uint64  `json:"cap_bytes"`
	Headroom         float64 `json:"headroom"`
}

// Runner says what was run and how: the identity recorded in results.json.
type Runner struct {
	Binary   string   `json:"binary"`
	Kind     string   `json:"kind"`
	ExecMode string   `json:"exec_mode"`
	Version  string   `json:"version,omitempty"`
	Args     []string `json:"args,omitempty"`
	Dropped  []string `json:"dropped,omitempty"`
	CPUOnly  []string `json:"cpu_only,omitempty"`
	Notes    []string `json:"notes,omitempty"`
}

// Pack is everything measured for one (instances, threads) combo.
type Pack struct {
	ID         string        `json:"id"`
	Instances  int           `json:"instances"`
	Threads    int           `json:"threads_per_instance"`
	Status     string        `json:"status"`
	Reason     string        `json:"reason,omitempty"`
	StartedAt  time.Time     `json:"started_at"`
	EndedAt    time.Time     `json:"ended_at"`
	StartSkew  time.Duration `json:"start_skew_ns"`
	Memory     Memory        `json:"memory"`
	Runner     Runner        `json:"runner"`
	UsableCPUs int           `json:"usable_cpus"`
	Model      *Model        `json:"model,omitempty"`
	Results    []Instance    `json:"instances_detail"`
}

// Model is the weights a pack ran. For a synthetic model (Ref set) it names
// the shape, type and seed the agent wrote and the sha256 of the bytes, so
// that results from two hosts can be shown to come from the same file; for
// a model file given by path only Path and Bytes are set, since hashing a
// large file for each sweep would cost more than it tells.
type Model struct {
	// Ref is the synthetic model reference, such as "synth:tiny:q8_0:1".
	Ref string `json:"ref,omitempty"`
	// Path is the file on the agent's host.
	Path   string `json:"path"`
	Bytes  int64  `json:"bytes"`
	SHA256 string `json:"sha256,omitempty"`
	Shape  string `json:"shape,omitempty"`
	Type   string `json:"type,omitempty"`
	Seed   uint64 `json:"seed,omitempty"`
	Params int64  `json:"params,omitempty"`
	// Reused is true when the agent found the synthetic model already
	// written and its hash unchanged. Only a run's model says it (results.json's
	// top-level "model"); a pack's is always false.
	Reused bool `json:"reused,omitempty"`
}
