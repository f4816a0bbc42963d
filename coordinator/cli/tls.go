package cli

import (
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"net"
	"strings"

	"github.com/hashicorp/go-hclog"
	"google.golang.org/grpc/credentials"

	"github.com/packbench/packbench/coordinator"
	"github.com/packbench/packbench/pkg/certs"
)

// tlsFlags are the mTLS flags of a coordinator command.
type tlsFlags struct {
	cert, key, ca string
}

func (t *tlsFlags) register(fs *flag.FlagSet, role string) {
	fs.StringVar(&t.cert, "tls-cert", "",
		"this "+role+"'s certificate (PEM), from 'packbench tls cert create'")
	fs.StringVar(&t.key, "tls-key", "", "the key of --tls-cert (PEM)")
	fs.StringVar(&t.ca, "tls-ca", "",
		"the fleet CA certificate the agents' certificates must chain to")
}

// clientCreds builds the coordinator's mTLS credentials, or nil when no TLS
// flag is set. The agent's certificate is checked against the CA, the agent
// role and the host name each connection dialled.
func (t *tlsFlags) clientCreds() (credentials.TransportCredentials, error) {
	if t.cert == "" && t.key == "" && t.ca == "" {
		return nil, nil
	}
	for _, f := range []struct{ name, v string }{
		{"--tls-cert", t.cert}, {"--tls-key", t.key}, {"--tls-ca", t.ca}} {
		if f.v == "" {
			return nil, usagef("%s is missing: --tls-cert, --tls-key and --tls-ca go together",
				f.name)
		}
	}
	cfg, err := certs.ClientConfig(t.cert, t.key, t.ca, "")
	if err != nil {
		return nil, usagef("invalid --tls-cert/--tls-key/--tls-ca: %v", err)
	}
	return credentials.NewTLS(cfg), nil
}

// warnPlaintext warns once per agent that is not on this machine: without
// TLS anyone on the path can read the results and impersonate the agent.
func warnPlaintext(logger hclog.Logger, agents []coordinator.Agent) {
	for _, a := range agents {
		host, _, err := net.SplitHostPort(a.Address)
		if err != nil {
			continue
		}
		if ip := net.ParseIP(host); host == "localhost" || (ip != nil && ip.IsLoopback()) {
			continue
		}
		logger.Warn("talking to an agent without TLS; pass --tls-cert, --tls-key and --tls-ca",
			"address", a.Address)
	}
}

func runTLS(args []string, env Env) error {
	if len(args) >= 2 && args[0] == "ca" && args[1] == "create" {
		return runTLSCACreate(args[2:], env)
	}
	if len(args) >= 2 && args[0] == "cert" && args[1] == "create" {
		return runTLSCertCreate(args[2:], env)
	}
	return usagef("usage: packbench tls ca create [flags] | packbench tls cert create " +
		"(--agent|--coordinator) --name NAME [--host DNS/IP ...] [flags]")
}

func runTLSCACreate(args []string, env Env) error {
	fset := flag.NewFlagSet("packbench tls ca create", flag.ContinueOnError)
	fset.SetOutput(env.Stderr)
	var o certs.CAOptions
	fset.StringVar(&o.Dir, "dir", ".", "directory for packbench-ca.pem and packbench-ca-key.pem")
	fset.StringVar(&o.CommonName, "common-name", "",
		"the CA's common name (default: packbench fleet CA)")
	fset.IntVar(&o.Days, "days", certs.DefaultCADays, "days the CA is valid")
	fset.StringVar(&o.KeyType, "key-type", certs.DefaultKeyType,
		"key type: "+strings.Join(certs.KeyTypes(), ", "))
	fset.BoolVar(&o.Force, "force", false, "overwrite existing files")
	if err := fset.Parse(args); err != nil {
		return flagErr(err)
	}
	cert, key, err := certs.CreateCA(o)
	if err != nil {
		return certErr(err)
	}
	fmt.Fprintf(env.Stdout, "==> CA certificate: %s\n==> CA key (keep it secret): %s\n", cert, key)
	return nil
}

// hostList collects repeated --host flags.
type hostList []string

func (h *hostList) String() string { return strings.Join(*h, ",") }

func (h *hostList) Set(s string) error {
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			*h = append(*h, p)
		}
	}
	return nil
}

func runTLSCertCreate(args []string, env Env) error {
	fset := flag.NewFlagSet("packbench tls cert create", flag.ContinueOnError)
	fset.SetOutput(env.Stderr)
	var o certs.CertOptions
	var agentRole, coordRole bool
	var hosts hostList
	fset.BoolVar(&agentRole, "agent", false, "a certificate for a packbench-agent (server)")
	fset.BoolVar(&coordRole, "coordinator", false, "a certificate for a coordinator (client)")
	fset.StringVar(&o.Name, "name", "", "the agent's or coordinator's name (required)")
	fset.Var(&hosts, "host", "DNS name or IP the agent is dialled at (repeatable; agents need one)")
	fset.StringVar(&o.Dir, "dir", ".", "directory for the certificate and key")
	fset.StringVar(&o.CACert, "ca", "", "CA certificate (default: packbench-ca.pem in --dir)")
	fset.StringVar(&o.CAKey, "ca-key", "", "CA key (default: packbench-ca-key.pem in --dir)")
	fset.IntVar(&o.Days, "days", certs.DefaultCertDays, "days the certificate is valid")
	fset.StringVar(&o.KeyType, "key-type", certs.DefaultKeyType,
		"key type: "+strings.Join(certs.KeyTypes(), ", "))
	fset.BoolVar(&o.Force, "force", false, "overwrite existing files")
	if err := fset.Parse(args); err != nil {
		return flagErr(err)
	}

	switch {
	case agentRole == coordRole:
		return usagef("tls cert create: pass exactly one of --agent and --coordinator")
	case agentRole:
		o.Role = certs.RoleAgent
		if len(hosts) == 0 {
			return usagef("tls cert create --agent: --host is required: the DNS names or IPs " +
				"the coordinator dials this agent at")
		}
	default:
		o.Role = certs.RoleCoordinator
	}
	o.Hosts = hosts
	cert, key, err := certs.CreateCert(o)
	if err != nil {
		return certErr(err)
	}
	fmt.Fprintf(env.Stdout, "==> %s certificate: %s\n==> %s key: %s\n", o.Role, cert, o.Role, key)
	return nil
}

// certErr turns bad options and refused overwrites into usage errors.
func certErr(err error) error {
	if errors.Is(err, certs.ErrOption) || errors.Is(err, fs.ErrExist) {
		return usagef("%v", err)
	}
	return err
}
