package agent

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/packbench/packbench/pkg/api"
	"github.com/packbench/packbench/pkg/host"
	"github.com/packbench/packbench/pkg/memory"
	"github.com/packbench/packbench/pkg/runner"
)

// Config is an agent's settings.
type Config struct {
	// Name identifies the agent in results; the host name by default.
	Name string
	// LogDir receives the runners' stdout and stderr files.
	LogDir string
	// Allow lists the binaries, models and directories the agent may run or
	// read. Symlinks are resolved on both sides before comparing.
	Allow []string
	// LogCap bounds each stored output stream, in bytes.
	LogCap int64
	// Grace is how long a runner has between SIGTERM and SIGKILL.
	Grace time.Duration
	// SampleEvery is the RSS/PSS sampling period.
	SampleEvery time.Duration
	// PreflightTimeout bounds each run of a binary's --help and --version.
	PreflightTimeout time.Duration
	// Limits bound what one request may ask for; zero fields take
	// DefaultLimits'.
	Limits Limits
	// Args says which refused extra args a request may still pass.
	Args ArgPolicy
	// ModelDir receives the synthetic models the agent writes; empty means
	// the agent refuses synthetic model references. Its files are the
	// agent's own, so they need no allowlist entry.
	ModelDir string
}

// Agent runs packs on this host, one at a time. It is safe for concurrent use.
type Agent struct {
	logger hclog.Logger
	cfg    Config
	allow  []string // resolved allowlist

	mu        sync.Mutex
	running   string                      // id of the running pack, guarded by mu
	preflight map[string]runner.Preflight // by binary, kind and mode, guarded by mu
	estimates map[string]memory.Estimate  // by model, ctx and mmap, guarded by mu
	models    map[string]preparedModel    // by synthetic model reference, guarded by mu
}

// New builds an agent; it resolves the allowlist and creates LogDir.
func New(logger hclog.Logger, cfg Config) (*Agent, error) {
	if cfg.Name == "" {
		cfg.Name, _ = os.Hostname()
	}
	if cfg.Grace <= 0 {
		cfg.Grace = 5 * time.Second
	}
	if cfg.PreflightTimeout <= 0 {
		cfg.PreflightTimeout = 20 * time.Second
	}
	cfg.Limits = cfg.Limits.withDefaults()
	if err := os.MkdirAll(cfg.LogDir, 0o755); err != nil {
		return nil, fmt.Errorf("create log dir: %w", err)
	}
	// the model dir is made on first use; something else in its place
	// would fail every synthetic model, so refuse it now
	if st, err := os.Stat(cfg.ModelDir); cfg.ModelDir != "" && err == nil && !st.IsDir() {
		return nil, fmt.Errorf("model dir %s is not a directory", cfg.ModelDir)
	}

	a := &Agent{
		logger:    logger.Named("agent"),
		cfg:       cfg,
		preflight: map[string]runner.Preflight{},
		estimates: map[string]memory.Estimate{},
		models:    map[string]preparedModel{},
	}
	for _, p := range cfg.Allow {
		r, err := resolve(p)
		if err != nil {
			return nil, fmt.Errorf("allowlist entry %q: %w", p, err)
		}
		a.allow = append(a.allow, r)
	}
	return a, nil
}

// Version is packbench-agent's version, reported by GetHostFacts.
var Version = "0.1.0"

// Name is the agent's name.
func (a *Agent) Name() string { return a.cfg.Name }

// LogDir is where the runners' stdout and stderr files are written.
func (a *Agent) LogDir() string { return a.cfg.LogDir }

// ValidateID checks that a pack id can serve as a file-name stem that stays
// inside the log directory; the error wraps api.ErrInvalid.
func ValidateID(id string) error {
	if !idPattern.MatchString(id) {
		return fmt.Errorf("%w: pack id %q; accepted: 1-128 letters, digits, '.', '_' or '-', "+
			"not starting with '.', '_' or '-'", api.ErrInvalid, id)
	}
	return nil
}

// Allowed lists the resolved allowlist.
func (a *Agent) Allowed() []string { return append([]string(nil), a.allow...) }

// Facts describes this host.
func (a *Agent) Facts(ctx context.Context) (host.Facts, error) {
	return host.Detect(ctx)
}

// Preflight finds the runner profile and exec mode for a binary, running its
// --help and --version unless NoPreflight is set. Results are cached.
func (a *Agent) Preflight(ctx context.Context,
	req api.PreflightRequest) (runner.Preflight, error) {
	bin, err := a.checkPath("binary", req.Binary)
	if err != nil {
		return runner.Preflight{}, err
	}
	key := fmt.Sprintf("%s|%s|%s|%t", bin, req.Runner, req.ExecMode, req.NoPreflight)
	a.mu.Lock()
	pf, ok := a.preflight[key]
	a.mu.Unlock()
	if ok {
		return pf, nil
	}

	if req.NoPreflight {
		pf, err = skipPreflight(bin, req)
	} else {
		pf, err = runner.Detect(ctx, bin, req.ExecMode, a.cfg.PreflightTimeout)
		if err == nil && req.Runner != runner.Auto && req.Runner != "" && req.Runner != pf.Kind {
			pf.Notes = append(pf.Notes, fmt.Sprintf("--runner %s overrides detected %s",
				req.Runner, pf.Kind))
			pf.Kind = req.Runner
		}
	}
	var flagErr *runner.FlagError
	// a binary that is no runner is the caller's mistake, as a bad flag is
	if errors.As(err, &flagErr) || errors.Is(err, runner.ErrUnrecognised) {
		return runner.Preflight{}, fmt.Errorf("%w: %v", api.ErrInvalid, err)
	}
	if err != nil {
		return runner.Preflight{}, err
	}

	a.mu.Lock()
	a.preflight[key] = pf
	a.mu.Unlock()
	return pf, nil
}

func skipPreflight(bin string, req api.PreflightRequest) (runner.Preflight, error) {
	if req.Runner == runner.Auto || req.Runner == "" {
		return runner.Preflight{}, fmt.Errorf("%w: --no-preflight needs an explicit --runner "+
			"(llamafile, llama-completion, llama-cli, llama-simple or node-llama-cpp)", api.ErrInvalid)
	}
	mode, err := runner.ResolveExecMode(bin, req.ExecMode)
	if err != nil {
		return runner.Preflight{}, err
	}
	return runner.Preflight{Kind: req.Runner, ExecMode: mode,
		Notes: []string{"preflight skipped"}}, nil
}

// idPattern keeps pack ids usable as file-name stems that cannot leave LogDir.
var idPattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$`)

// checkPath resolves p and checks it against the allowlist; what names the
// request field in errors.
func (a *Agent) checkPath(what, p string) (string, error) {
	if p == "" {
		return "", fmt.Errorf("%w: %s is empty", api.ErrInvalid, what)
	}
	if len(p) > a.cfg.Limits.MaxArgLen || strings.IndexByte(p, 0) >= 0 {
		return "", fmt.Errorf("%w: %s of %d bytes; accepted: at most %d bytes, no NUL",
			api.ErrInvalid, what, len(p), a.cfg.Limits.MaxArgLen)
	}
	r, err := resolve(p)
	if err != nil {
		return "", fmt.Errorf("%w: %s %q: %v", api.ErrInvalid, what, p, err)
	}
	for _, al := range a.allow {
		if r == al || within(al, r) {
			return r, nil
		}
	}
	return "", fmt.Errorf("%w: %s %q (resolved %q) is outside the agent's allowlist; "+
		"add it or its directory to the agent's --allow (allow in its config)",
		api.ErrNotAllowed, what, p, r)
}

// resolve makes p absolute and resolves every symlink in it.
func resolve(p string) (string, error) {
	abs, err := filepath.Abs(p)
	if err != nil {
		return "", err
	}
	return filepath.EvalSymlinks(abs)
}

// within reports whether path lies below dir.
func within(dir, path string) bool {
	rel, err := filepath.Rel(dir, path)
	if err != nil || rel == "." {
		return false
	}
	return rel != ".." && !filepath.IsAbs(rel) && !startsWithDotDot(rel)
}

func startsWithDotDot(rel string) bool {
	return len(rel) >= 3 && rel[:3] == ".."+string(filepath.Separator)
}
