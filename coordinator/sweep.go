package coordinator

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/packbench/packbench/pkg/host"
	"github.com/packbench/packbench/pkg/result"

	"google.golang.org/grpc/credentials"

	"github.com/hashicorp/go-hclog"
)

// Dialer connects to the agent at address; the closer ends the connection.
type Dialer func(address string) (Client, io.Closer, error)

// RemoteDialer dials agents over gRPC, retrying within b; creds nil means
// plaintext.
func RemoteDialer(logger hclog.Logger, b Backoff, creds credentials.TransportCredentials) Dialer {
	return func(address string) (Client, io.Closer, error) {
		conn, err := Dial(address, creds)
		if err != nil {
			return nil, nil, err
		}
		svc := newAgentServiceClient(conn)
		return NewRemote(logger.With("address", address), svc, b), conn, nil
	}
}

// SweepOptions are a fleet sweep's settings.
type SweepOptions struct {
	Agents []Agent
	// Host is every host's options; OutDir, Stamp, Prior, Lookup and
	// FetchLogs are set per host by the sweep.
	Host Options
	// OutDir receives fleet.csv, fleet.json and one directory per host.
	OutDir string
	// Resume continues the sweep recorded in OutDir/fleet.json.
	Resume bool
	Dial   Dialer
	// Progress returns the progress of the host named name; nil for none.
	Progress func(name string) Progress
	// Flags are recorded in fleet.json for a later resume.
	Flags map[string]string
}

// ErrNothingToResume: --resume found no fleet.json in the outdir.
var ErrNothingToResume = errors.New("no sweep to resume")

// Sweep drives a fleet of agents: each host's combos one after another,
// the hosts in parallel. It keeps fleet.csv and fleet.json up to date.
type Sweep struct {
	logger hclog.Logger
	opts   SweepOptions

	mu  sync.Mutex // guards doc and the fleet files
	doc FleetDocument
}

// NewSweep prepares a sweep; Run starts it.
func NewSweep(logger hclog.Logger, opts SweepOptions) *Sweep {
	return &Sweep{logger: logger, opts: opts}
}

// sweepHost is one host's connection while the sweep runs.
type sweepHost struct {
	agent  Agent
	client Client
	closer io.Closer
	facts  host.Facts
	err    error // from dialing or the facts
}

// Run sweeps every host and returns fleet.json's document. Hosts that fail
// are marked failed in it while the others go on. It returns ctx's error
// when the sweep was interrupted, and otherwise only errors that stop the
// whole sweep (an unreadable fleet.json on resume, an unwritable outdir).
func (s *Sweep) Run(ctx context.Context) (FleetDocument, error) {
	prior, err := s.readPrior()
	if err != nil {
		return FleetDocument{}, err
	}
	if err := os.MkdirAll(s.opts.OutDir, 0o755); err != nil {
		return FleetDocument{}, fmt.Errorf("create outdir: %w", err)
	}
	agents := s.opts.Agents
	if len(agents) == 0 && prior != nil {
		for _, h := range prior.Hosts {
			agents = append(agents, Agent{Name: h.Name, Address: h.Address, Labels: h.Labels})
		}
	}
	stamp := time.Now().Format("20060102-150405")
	if prior != nil {
		stamp = prior.Stamp
	}

	hosts := s.connect(ctx, agents)
	defer func() {
		for _, h := range hosts {
			if h.closer != nil {
				h.closer.Close()
			}
		}
	}()
	for name, addrs := range sharedMachines(hosts) {
		s.logger.Warn("agents report the same host name: their packs run at the same time "+
			"on one machine and slow each other down", "hostname", name, "agents", addrs)
	}
	s.doc = FleetDocument{Tool: "packbench", Version: Version, Stamp: stamp,
		Flags: s.opts.Flags, Hosts: s.summaries(hosts, prior)}
	if err := s.writeFleet(); err != nil {
		return s.doc, err
	}

	var wg sync.WaitGroup
	for i, h := range hosts {
		if h.err != nil {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			s.runHost(ctx, i, h)
		}()
	}
	wg.Wait()

	s.mu.Lock()
	defer s.mu.Unlock()
	if m := modelMismatch(s.doc.Hosts); m != "" {
		// TODO(synth): a version skew between agents is the likely cause;
		// refusing to compare would be stricter than a warning.
		s.logger.Warn("hosts ran different bytes for the same synthetic model; "+
			"their results do not compare", "mismatch", m)
	}
	s.doc.Complete = ctx.Err() == nil
	for _, h := range s.doc.Hosts {
		s.doc.Complete = s.doc.Complete && h.Status == HostOK
	}
	if err := s.writeFleetLocked(); err != nil {
		return s.doc, err
	}
	return s.doc, ctx.Err()
}

// readPrior reads OutDir/fleet.json for a resume; nil when not resuming.
func (s *Sweep) readPrior() (*FleetDocument, error) {
	if !s.opts.Resume {
		return nil, nil
	}
	return ReadFleetDocument(s.opts.OutDir)
}

// ReadFleetDocument reads the fleet.json of the sweep in outDir; the error
// wraps ErrNothingToResume when there is none.
func ReadFleetDocument(outDir string) (*FleetDocument, error) {
	path := filepath.Join(outDir, "fleet.json")
	data, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("%w: %s does not exist", ErrNothingToResume, path)
	}
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	var doc FleetDocument
	if err := json.Unmarshal(data, &doc); err != nil || doc.Stamp == "" {
		return nil, fmt.Errorf("%w: %s is not a sweep's fleet.json (%v)", ErrNothingToResume,
			path, err)
	}
	if len(doc.Hosts) == 0 {
		return nil, fmt.Errorf("%w: %s lists no host", ErrNothingToResume, path)
	}
	// the file is the user's to edit: a host's dir must stay a plain name
	// inside outDir, as the sweep made it
	for i, h := range doc.Hosts {
		if h.Dir != SanitizeName(h.Dir) || h.Dir == "." || h.Dir == ".." || reservedNames[h.Dir] {
			return nil, fmt.Errorf("%w: %s hosts[%d].dir %q: accepted: a plain name of "+
				"letters, digits, '.', '_' and '-'", ErrNothingToResume, path, i, h.Dir)
		}
	}
	return &doc, nil
}

// sharedMachines maps each host name that more than one reachable agent
// reports to those agents' addresses. Two agents on one machine measure
// each other's load, which is never what a fleet comparison wants.
func sharedMachines(hosts []*sweepHost) map[string][]string {
	by := map[string][]string{}
	for _, h := range hosts {
		if h.err == nil && h.facts.Hostname != "" {
			by[h.facts.Hostname] = append(by[h.facts.Hostname], h.agent.Address)
		}
	}
	for name, addrs := range by {
		if len(addrs) < 2 {
			delete(by, name)
		}
	}
	return by
}

// connect dials every agent and asks it for its facts, in parallel.
func (s *Sweep) connect(ctx context.Context, agents []Agent) []*sweepHost {
	hosts := make([]*sweepHost, len(agents))
	var wg sync.WaitGroup
	for i, a := range agents {
		h := &sweepHost{agent: a}
		hosts[i] = h
		wg.Add(1)
		go func() {
			defer wg.Done()
			h.client, h.closer, h.err = s.opts.Dial(a.Address)
			if h.err == nil {
				h.facts, h.err = h.client.Facts(ctx)
			}
		}()
	}
	wg.Wait()
	return hosts
}

// summaries gives each host its first fleet row and its directory: the one
// it had in the resumed sweep, else its fleet name, the name its agent
// reported or its address, made unique.
func (s *Sweep) summaries(hosts []*sweepHost, prior *FleetDocument) []HostSummary {
	taken := map[string]bool{}
	before := map[string]HostSummary{}
	if prior != nil {
		for _, h := range prior.Hosts {
			before[h.Address] = h
			taken[h.Dir] = true
		}
	}
	out := make([]HostSummary, len(hosts))
	for i, h := range hosts {
		sum, ok := before[h.agent.Address]
		if !ok {
			name := uniqueName(hostName(h), taken)
			sum = HostSummary{Name: name, Dir: name}
		}
		sum.Address, sum.Labels = h.agent.Address, h.agent.Labels
		sum.Status, sum.Reason = HostPending, ""
		out[i] = sum
		name := sum.Name
		switch {
		case h.err != nil && errors.Is(h.err, context.Canceled):
			out[i].Status, out[i].Reason = HostInterrupted, "interrupted before it started"
		case h.err != nil:
			out[i].Status, out[i].Reason = HostFailed, h.err.Error()
			s.logger.Error("host failed", "host", name, "error", h.err)
		}
	}
	return out
}

// hostName is the name a host's directory is made from.
func hostName(h *sweepHost) string {
	if h.agent.Name != "" {
		return h.agent.Name
	}
	if n, ok := h.client.(interface{ AgentName() string }); ok && n.AgentName() != "" {
		return n.AgentName()
	}
	return h.agent.Address
}

// uniqueName sanitizes name and suffixes it until it is not taken.
func uniqueName(name string, taken map[string]bool) string {
	base := SanitizeName(name)
	out := base
	for k := 2; taken[out] || reservedNames[out]; k++ {
		out = fmt.Sprintf("%s-%d", base, k)
	}
	taken[out] = true
	return out
}

// runHost sweeps host i and records how it ended.
func (s *Sweep) runHost(ctx context.Context, i int, h *sweepHost) {
	s.mu.Lock()
	sum := s.doc.Hosts[i]
	s.mu.Unlock()
	log := s.logger.With("host", sum.Name)
	var progress Progress
	if s.opts.Progress != nil {
		progress = s.opts.Progress(sum.Name)
	}

	doc, err := s.sweepHost(ctx, log, sum, h.client, progress)
	status, reason := HostOK, ""
	switch {
	case ctx.Err() != nil:
		status, reason = HostInterrupted, "finished combos are kept; --resume continues"
	case err != nil:
		status, reason = HostFailed, err.Error()
		log.Error("host failed", "error", err)
	case len(doc.Results) > 0 && len(result.Best(doc.Results)) == 0:
		// every combo ran and none finished: the host measured nothing
		status = HostFailed
		reason = "no combo finished with every instance: " + doc.Results[0].Reason
		log.Error("host failed", "reason", reason)
	default:
		log.Info("host done", "combos", len(doc.Results))
	}
	if n, ok := progress.(interface{ Note(string) }); ok {
		n.Note(status + " " + reason)
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	sum = s.doc.Hosts[i]
	summarize(&sum, doc)
	sum.Status, sum.Reason = status, reason
	s.doc.Hosts[i] = sum
	if err := s.writeFleetLocked(); err != nil {
		log.Error("cannot write fleet files", "error", err)
	}
}

// sweepHost plans and runs one host in its directory.
func (s *Sweep) sweepHost(ctx context.Context, log hclog.Logger, sum HostSummary,
	client Client, progress Progress) (Document, error) {
	dir := filepath.Join(s.opts.OutDir, sum.Dir)
	if err := CheckOutDir(dir); err != nil {
		return Document{}, fmt.Errorf("host directory: %w", err)
	}
	opts := s.opts.Host
	opts.OutDir, opts.Stamp, opts.FetchLogs = dir, s.doc.Stamp, true
	if s.opts.Resume {
		prior, err := readDocument(filepath.Join(dir, "results.json"))
		if err != nil {
			return Document{}, err
		}
		opts.Prior, opts.Lookup = prior, true
	}

	run := NewHostRun(log, client, opts, progress)
	if _, err := run.Plan(ctx); err != nil {
		return Document{}, err
	}
	s.update(sum.Name, func(h *HostSummary) {
		h.Status = HostRunning
		summarize(h, run.doc)
	})
	return run.Run(ctx)
}

// update changes the summary of the host named name and rewrites the fleet
// files.
func (s *Sweep) update(name string, change func(*HostSummary)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i := range s.doc.Hosts {
		if s.doc.Hosts[i].Name == name {
			change(&s.doc.Hosts[i])
		}
	}
	if err := s.writeFleetLocked(); err != nil {
		s.logger.Error("cannot write fleet files", "error", err)
	}
}

// readDocument reads a host's results.json; nil when there is none.
func readDocument(path string) (*Document, error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	var doc Document
	if err := json.Unmarshal(data, &doc); err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	return &doc, nil
}

func (s *Sweep) writeFleet() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.writeFleetLocked()
}

func (s *Sweep) writeFleetLocked() error {
	s.doc.GeneratedAt = time.Now().UTC()
	return WriteFleet(s.opts.OutDir, s.doc)
}

// Results returns fleet.json's document as last written.
func (s *Sweep) Results() FleetDocument {
	s.mu.Lock()
	defer s.mu.Unlock()
	doc := s.doc
	doc.Hosts = append([]HostSummary(nil), s.doc.Hosts...)
	return doc
}
