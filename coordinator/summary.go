package coordinator

import (
	"fmt"
	"maps"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/packbench/packbench/pkg/host"
	"github.com/packbench/packbench/pkg/result"
)

// Host statuses in fleet.csv and fleet.json.
const (
	HostPending = "pending"
	HostRunning = "running"
	HostOK      = "ok"
	HostFailed  = "failed"
	// HostInterrupted: the sweep was stopped (Ctrl-C, SIGTERM) before the
	// host finished; --resume continues it.
	HostInterrupted = "interrupted"
)

// HostSummary is one host's row of fleet.csv and entry of fleet.json: who
// it is, what it is, how its sweep went and its best combo.
type HostSummary struct {
	Name    string            `json:"name"`
	Address string            `json:"address"`
	Labels  map[string]string `json:"labels,omitempty"`
	Dir     string            `json:"dir"`
	Status  string            `json:"status"`
	Reason  string            `json:"reason,omitempty"`

	Facts *host.Facts   `json:"facts,omitempty"`
	Model *result.Model `json:"model,omitempty"`

	CombosPlanned int             `json:"combos_planned"`
	CombosDone    int             `json:"combos_done"`
	Best          *result.BestRow `json:"best,omitempty"`
	// BestOverlap is the best combo's overlap when it has several instances.
	BestOverlap *float64 `json:"best_overlap,omitempty"`
}

// FleetDocument is fleet.json.
type FleetDocument struct {
	Tool        string    `json:"tool"`
	Version     string    `json:"version"`
	GeneratedAt time.Time `json:"generated_at"`
	Stamp       string    `json:"stamp"`
	Complete    bool      `json:"complete"`
	// Flags are the sweep's benchmark flags as given, by name, so that a
	// resume can run the rest of it with the same settings.
	Flags map[string]string `json:"flags,omitempty"`
	Hosts []HostSummary     `json:"hosts"`
}

func factsCell(f func(host.Facts) string) func(HostSummary) string {
	return func(h HostSummary) string {
		if h.Facts == nil {
			return ""
		}
		return f(*h.Facts)
	}
}

func bestCell(f func(result.BestRow) string) func(HostSummary) string {
	return func(h HostSummary) string {
		if h.Best == nil {
			return ""
		}
		return f(*h.Best)
	}
}

// FleetColumns are fleet.csv's columns, one row per host.
var FleetColumns = []result.Column[HostSummary]{
	col("name", "the host's directory name under the sweep's outdir",
		func(h HostSummary) string { return h.Name }),
	col("address", "the agent's host:port", func(h HostSummary) string { return h.Address }),
	col("labels", "the fleet file's labels, key=value separated by ';'",
		func(h HostSummary) string {
			var kv []string
			for _, k := range slices.Sorted(maps.Keys(h.Labels)) {
				kv = append(kv, k+"="+h.Labels[k])
			}
			return strings.Join(kv, ";")
		}),
	col("status", "ok, failed, interrupted (Ctrl-C; `--resume` continues), running or pending",
		func(h HostSummary) string { return h.Status }),
	col("reason", "why a host failed", func(h HostSummary) string { return h.Reason }),
	col("cpu_model", "CPU model name", factsCell(func(f host.Facts) string { return f.CPUModel })),
	col("sockets", "CPU sockets", factsCell(func(f host.Facts) string { return itoa(f.Sockets) })),
	col("physical_cores", "physical cores", factsCell(func(f host.Facts) string {
		return itoa(f.PhysicalCores)
	})),
	col("logical_cores", "logical CPUs", factsCell(func(f host.Facts) string {
		return itoa(f.LogicalCores)
	})),
	col("usable_cpus", "CPUs the agent's runners may use", factsCell(func(f host.Facts) string {
		return itoa(f.UsableCPUs)
	})),
	col("numa_nodes", "NUMA nodes", factsCell(func(f host.Facts) string {
		return itoa(f.NUMANodes)
	})),
	col("mem_total_mib", "memory, MiB", factsCell(func(f host.Facts) string {
		return itoa(int(f.MemTotalBytes >> 20))
	})),
	col("kernel", "kernel release", factsCell(func(f host.Facts) string { return f.Kernel })),
	col("model", "the synthetic model reference, or the model file on the host",
		func(h HostSummary) string {
			switch {
			case h.Model == nil:
				return ""
			case h.Model.Ref != "":
				return h.Model.Ref
			}
			return h.Model.Path
		}),
	col("model_sha256", "sha256 of a synthetic model's bytes: equal on hosts that ran the "+
		"same weights", func(h HostSummary) string {
		if h.Model == nil {
			return ""
		}
		return h.Model.SHA256
	}),
	col("combos_planned", "combos in the host's plan", func(h HostSummary) string {
		return itoa(h.CombosPlanned)
	}),
	col("combos_done", "combos with a final row in results.csv (not cancelled; a resume "+
		"runs cancelled ones again)", func(h HostSummary) string {
		return itoa(h.CombosDone)
	}),
	col("best_instances", "instances of the best combo", bestCell(func(b result.BestRow) string {
		return itoa(b.Instances)
	})),
	col("best_threads_per_instance", "threads per instance of the best combo",
		bestCell(func(b result.BestRow) string { return itoa(b.BestThreads) })),
	col("best_tokps_sum", "tokens/s summed over the best combo's instances",
		bestCell(func(b result.BestRow) string {
			return strconv.FormatFloat(b.TokPSSum, 'f', -1, 64)
		})),
	col("best_overlap", "the best combo's overlap (as in results.csv; empty for one "+
		"instance); under 0.5 its instances mostly ran one after another",
		func(h HostSummary) string {
			if h.BestOverlap == nil {
				return ""
			}
			return strconv.FormatFloat(*h.BestOverlap, 'f', 3, 64)
		}),
}

// col is a fleet.csv column.
func col(name, meaning string, cell func(HostSummary) string) result.Column[HostSummary] {
	return result.Column[HostSummary]{Name: name, Meaning: meaning, Cell: cell}
}

func itoa(v int) string { return strconv.Itoa(v) }

// WriteFleet atomically rewrites dir/fleet.csv and dir/fleet.json.
func WriteFleet(dir string, doc FleetDocument) error {
	if err := result.WriteCSV(filepath.Join(dir, "fleet.csv"), FleetColumns,
		doc.Hosts); err != nil {
		return err
	}
	return result.WriteJSON(filepath.Join(dir, "fleet.json"), doc)
}

// summarize fills the results part of a host's summary from its document.
func summarize(h *HostSummary, doc Document) {
	if doc.Host.LogicalCores > 0 {
		f := doc.Host
		h.Facts = &f
	}
	h.Model = doc.Model
	h.CombosPlanned, h.CombosDone = len(doc.Plan.Combos), 0
	for _, r := range doc.Results {
		if r.Status != result.StatusCancelled {
			h.CombosDone++
		}
	}
	h.Best, h.BestOverlap = nil, nil
	if top, ok := result.Top(doc.BestByInstances); ok {
		h.Best = &top
		if ov, ok := result.BestOverlap(doc.Results, top); ok {
			h.BestOverlap = &ov
		}
	}
}

// modelMismatch names two hosts whose synthetic models of the same
// reference hashed differently, or returns "" when all agree: such hosts
// did not run the same bytes, so their numbers do not compare.
func modelMismatch(hosts []HostSummary) string {
	first := map[string]HostSummary{}
	for _, h := range hosts {
		if h.Model == nil || h.Model.SHA256 == "" {
			continue
		}
		f, ok := first[h.Model.Ref]
		if !ok {
			first[h.Model.Ref] = h
			continue
		}
		if f.Model.SHA256 != h.Model.SHA256 {
			return fmt.Sprintf("%s has %s with sha256 %s, %s has sha256 %s", f.Name,
				h.Model.Ref, f.Model.SHA256, h.Name, h.Model.SHA256)
		}
	}
	return ""
}
