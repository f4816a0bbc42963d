package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/packbench/packbench/agent"
	"github.com/packbench/packbench/agent/server"
	"github.com/packbench/packbench/pkg/jsonfile"
)

// config is the agent's settings after flags and the config file.
type config struct {
	Listen   string   `json:"listen"`
	Name     string   `json:"name"`
	StateDir string   `json:"state_dir"`
	Allow    []string `json:"allow"`
	LogLevel string   `json:"log_level"`
	TLSCert  string   `json:"tls_cert"`
	TLSKey   string   `json:"tls_key"`
	TLSCA    string   `json:"tls_ca"`
	Limits   limits   `json:"limits"`
	agent.ArgPolicy
	insecure bool
	version  bool
}

// limits is the "limits" object of the config file: the agent's request
// limits, the transport's bounds and the unary call deadlines, in seconds.
// Zero or missing keys keep the defaults.
type limits struct {
	agent.Limits
	server.Transport
	MaxTimeoutSeconds       int `json:"max_timeout_seconds"`
	RPCTimeoutSeconds       int `json:"rpc_timeout_seconds"`
	PreflightTimeoutSeconds int `json:"preflight_timeout_seconds"`
	// PrepareModelTimeoutSeconds bounds the writing of a synthetic model.
	PrepareModelTimeoutSeconds int `json:"prepare_model_timeout_seconds"`
}

// tls reports whether the settings ask for TLS.
func (c config) tls() bool { return c.TLSCert != "" || c.TLSKey != "" || c.TLSCA != "" }

// flagHelp is returned for -h: the usage was printed and the exit is 0.
var flagHelp = errors.New("help requested")

// usageError is a bad flag or setting: the process exits 2.
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

func badf(format string, args ...any) error {
	return &usageError{msg: fmt.Sprintf(format, args...)}
}

// listFlag collects a repeatable, comma-separated flag.
type listFlag struct{ vals *[]string }

func (l listFlag) String() string {
	if l.vals == nil {
		return ""
	}
	return strings.Join(*l.vals, ",")
}

func (l listFlag) Set(v string) error {
	for _, p := range strings.Split(v, ",") {
		if p = strings.TrimSpace(p); p != "" {
			*l.vals = append(*l.vals, p)
		}
	}
	return nil
}

// parseConfig reads flags, and the config file when --config names one;
// flags given on the command line override the file.
func parseConfig(args []string, stderr io.Writer) (config, error) {
	host, _ := os.Hostname()
	def := config{Listen: "127.0.0.1:7070", Name: host, StateDir: "/var/lib/packbench-agent",
		LogLevel: "info"}

	var flags config
	var file string
	fs := flag.NewFlagSet("packbench-agent", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&flags.Listen, "listen", def.Listen, "address to serve gRPC on (host:port)")
	fs.StringVar(&flags.Name, "name", def.Name, "the agent's name in results")
	fs.StringVar(&flags.StateDir, "state-dir", def.StateDir, "where results and logs are kept")
	fs.Var(listFlag{&flags.Allow}, "allow",
		"binary, model or directory the agent may run (repeatable, comma-separated)")
	fs.StringVar(&file, "config", "", "JSON file with the same settings")
	fs.StringVar(&flags.LogLevel, "log-level", def.LogLevel, "trace, debug, info, warn or error")
	fs.StringVar(&flags.TLSCert, "tls-cert", "", "the agent's certificate (PEM), "+
		"from 'packbench tls cert create --agent'")
	fs.StringVar(&flags.TLSKey, "tls-key", "", "the key of --tls-cert (PEM)")
	fs.StringVar(&flags.TLSCA, "tls-ca", "", "the fleet's CA certificate (PEM); "+
		"clients need a coordinator certificate it signed")
	fs.BoolVar(&flags.insecure, "insecure", false,
		"allow a non-loopback --listen address without TLS")
	fs.BoolVar(&flags.version, "version", false, "print the version and exit")
	if err := fs.Parse(args); errors.Is(err, flag.ErrHelp) {
		return config{}, flagHelp
	} else if err != nil {
		return config{}, &usageError{msg: err.Error()}
	}
	if fs.NArg() > 0 {
		return config{}, badf("unexpected argument %q", fs.Arg(0))
	}

	cfg := def
	if file != "" {
		if err := readConfigFile(file, &cfg); err != nil {
			return config{}, err
		}
	}
	fs.Visit(func(f *flag.Flag) {
		switch f.Name {
		case "listen":
			cfg.Listen = flags.Listen
		case "name":
			cfg.Name = flags.Name
		case "state-dir":
			cfg.StateDir = flags.StateDir
		case "allow":
			cfg.Allow = flags.Allow
		case "log-level":
			cfg.LogLevel = flags.LogLevel
		case "tls-cert":
			cfg.TLSCert = flags.TLSCert
		case "tls-key":
			cfg.TLSKey = flags.TLSKey
		case "tls-ca":
			cfg.TLSCA = flags.TLSCA
		}
	})
	cfg.insecure, cfg.version = flags.insecure, flags.version
	return cfg, nil
}

// readConfigFile overlays the settings present in a JSON file onto cfg;
// unknown keys are refused.
func readConfigFile(path string, cfg *config) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return badf("--config: %v", err)
	}
	if err := jsonfile.Decode(data, cfg); err != nil {
		return badf("--config %s: %v", path, err)
	}
	return nil
}

// validate checks the settings; errors name the flag or config field.
func (c config) validate() (hclog.Level, error) {
	level := hclog.LevelFromString(c.LogLevel)
	if level == hclog.NoLevel {
		return level, badf("--log-level (log_level) %q: accepted: trace, debug, info, warn, "+
			"error", c.LogLevel)
	}
	if c.Name == "" {
		return level, badf("--name (name) is empty")
	}
	if c.StateDir == "" {
		return level, badf("--state-dir (state_dir) is empty")
	}
	host, _, err := net.SplitHostPort(c.Listen)
	if err != nil {
		return level, badf("--listen (listen) %q: %v", c.Listen, err)
	}
	if err := c.validateTLS(host); err != nil {
		return level, err
	}
	return level, c.validateLimits()
}

// validateTLS checks that the TLS files come all three or not at all, and
// that a plaintext agent serves only this machine unless --insecure.
func (c config) validateTLS(host string) error {
	if c.tls() {
		for _, f := range []struct{ flag, key, v string }{{"--tls-cert", "tls_cert", c.TLSCert},
			{"--tls-key", "tls_key", c.TLSKey}, {"--tls-ca", "tls_ca", c.TLSCA}} {
			if f.v == "" {
				return badf("%s (%s) is missing; TLS needs --tls-cert, --tls-key and --tls-ca",
					f.flag, f.key)
			}
		}
		if c.insecure {
			return badf("--insecure is for serving without TLS; drop it or the --tls-* flags")
		}
		return nil
	}
	if !c.insecure && !loopback(host) {
		return badf("--listen (listen) %q is not a loopback address; serving other hosts "+
			"needs --tls-cert, --tls-key and --tls-ca (or --insecure, plaintext)", c.Listen)
	}
	return nil
}

// validateLimits refuses negative limits; zero keeps a default.
func (c config) validateLimits() error {
	l := c.Limits
	for _, f := range []struct {
		key string
		v   int
	}{{"max_instances", l.MaxInstances}, {"max_threads", l.MaxThreads},
		{"max_n_predict", l.MaxNPredict}, {"max_ctx_size", l.MaxCtxSize},
		{"max_prompt_bytes", l.MaxPrompt}, {"max_extra_args", l.MaxExtraArgs},
		{"max_arg_bytes", l.MaxArgLen}, {"max_recv_msg_bytes", l.MaxRecvMsgBytes},
		{"max_connections", l.MaxConnections},
		{"max_timeout_seconds", l.MaxTimeoutSeconds},
		{"rpc_timeout_seconds", l.RPCTimeoutSeconds},
		{"preflight_timeout_seconds", l.PreflightTimeoutSeconds},
		{"prepare_model_timeout_seconds", l.PrepareModelTimeoutSeconds}} {
		if f.v < 0 {
			return badf("--config limits.%s %d: accepted: 0 (the default) or more", f.key, f.v)
		}
	}
	if l.MaxSynthBytes < 0 {
		return badf("--config limits.max_synth_bytes %d: accepted: 0 (the default) or more",
			l.MaxSynthBytes)
	}
	return nil
}

// loopback reports whether host names only this machine.
func loopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// agentConfig turns the settings into the agent's; logs and synthetic
// models live in the state directory, beside the kept results.
func (c config) agentConfig() agent.Config {
	l := c.Limits.Limits
	l.MaxTimeout = seconds(c.Limits.MaxTimeoutSeconds)
	return agent.Config{Name: c.Name, LogDir: logDir(c.StateDir), Allow: c.Allow, Limits: l,
		Args: c.ArgPolicy, ModelDir: filepath.Join(c.StateDir, "models")}
}

// transport is the server's transport bounds; zero fields keep defaults.
func (c config) transport() server.Transport {
	t := c.Limits.Transport
	t.RPCTimeout = seconds(c.Limits.RPCTimeoutSeconds)
	t.PreflightTimeout = seconds(c.Limits.PreflightTimeoutSeconds)
	t.PrepareModelTimeout = seconds(c.Limits.PrepareModelTimeoutSeconds)
	return t
}

func seconds(n int) time.Duration { return time.Duration(n) * time.Second }

func logDir(stateDir string) string { return stateDir + string(os.PathSeparator) + "logs" }
