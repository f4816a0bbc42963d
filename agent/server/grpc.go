package server

import (
	"context"
	"crypto/x509"
	"net"
	"strings"
	"time"

	"golang.org/x/net/netutil"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/keepalive"
	"google.golang.org/grpc/peer"

	"github.com/packbench/packbench/pkg/certs"
	packbenchv1 "github.com/packbench/packbench/proto/packbench/v1"
)

// Transport bounds what the gRPC layer accepts, so that a caller cannot
// exhaust the agent's memory or goroutines. The JSON names are keys of
// packbench-agent's "limits" config object; zero fields take the defaults
// of DefaultTransport.
type Transport struct {
	// MaxRecvMsgBytes bounds a request message; a larger one is answered
	// RESOURCE_EXHAUSTED by gRPC.
	MaxRecvMsgBytes int `json:"max_recv_msg_bytes"`
	// MaxConcurrentStreams bounds the calls open at once on one connection.
	MaxConcurrentStreams uint32 `json:"max_concurrent_streams"`
	// RPCTimeout bounds each unary call but Preflight and PrepareModel.
	RPCTimeout time.Duration `json:"-"`
	// PreflightTimeout bounds a Preflight call, which may run the binary
	// twice with the agent's own per-run timeout.
	PreflightTimeout time.Duration `json:"-"`
	// PrepareModelTimeout bounds a PrepareModel call, which may write or
	// hash tens of gigabytes.
	PrepareModelTimeout time.Duration `json:"-"`
	// HandshakeTimeout bounds a new connection's TLS handshake.
	HandshakeTimeout time.Duration `json:"-"`
	// MaxConnections bounds the connections served at once; more wait,
	// unaccepted, until one closes. Each connection costs goroutines and
	// buffers whether or not it makes calls.
	MaxConnections int `json:"max_connections"`
}

// DefaultTransport are the transport bounds of an agent that sets none.
var DefaultTransport = Transport{
	MaxRecvMsgBytes:      4 << 20,
	MaxConcurrentStreams: 16,
	RPCTimeout:           30 * time.Second,
	PreflightTimeout:     90 * time.Second,
	// a llama-13b f32 model (49 GiB) on a disk that writes 50 MB/s
	PrepareModelTimeout: time.Hour,
	HandshakeTimeout:    10 * time.Second,
	// a coordinator holds one connection per agent; this leaves room for
	// several people, retries and monitoring
	MaxConnections: 64,
}

// withDefaults fills the zero fields of t from DefaultTransport.
func (t Transport) withDefaults() Transport {
	d := DefaultTransport
	if t.MaxRecvMsgBytes <= 0 {
		t.MaxRecvMsgBytes = d.MaxRecvMsgBytes
	}
	if t.MaxConcurrentStreams == 0 {
		t.MaxConcurrentStreams = d.MaxConcurrentStreams
	}
	if t.RPCTimeout <= 0 {
		t.RPCTimeout = d.RPCTimeout
	}
	if t.PreflightTimeout <= 0 {
		t.PreflightTimeout = d.PreflightTimeout
	}
	if t.PrepareModelTimeout <= 0 {
		t.PrepareModelTimeout = d.PrepareModelTimeout
	}
	if t.HandshakeTimeout <= 0 {
		t.HandshakeTimeout = d.HandshakeTimeout
	}
	if t.MaxConnections <= 0 {
		t.MaxConnections = d.MaxConnections
	}
	return t
}

// Keepalive settings. The agent pings a quiet coordinator every
// serverPingEvery so that a stream whose coordinator vanished ends instead of
// holding its goroutines until the pack's timeout, and it accepts the
// coordinator's own pings (coordinator.ClientKeepalive) down to gRPC's
// client minimum of 10 s; more frequent pings close the connection.
const (
	serverPingEvery   = 2 * time.Minute
	serverPingTimeout = 20 * time.Second
	clientPingMin     = 10 * time.Second
)

// GRPCOptions returns the options a grpc.Server for s needs: the transport
// bounds of Options.Transport, keepalive, a deadline on every unary call,
// and a Debug log line per call naming the peer. Add grpc.Creds for TLS,
// and serve on Listener's wrapper to bound the connections.
func (s *Server) GRPCOptions() []grpc.ServerOption {
	t := s.opts.Transport
	return []grpc.ServerOption{
		grpc.MaxRecvMsgSize(t.MaxRecvMsgBytes),
		grpc.MaxConcurrentStreams(t.MaxConcurrentStreams),
		grpc.ConnectionTimeout(t.HandshakeTimeout),
		grpc.KeepaliveParams(keepalive.ServerParameters{Time: serverPingEvery,
			Timeout: serverPingTimeout}),
		grpc.KeepaliveEnforcementPolicy(keepalive.EnforcementPolicy{MinTime: clientPingMin}),
		grpc.ChainUnaryInterceptor(s.unaryBounds),
		grpc.ChainStreamInterceptor(s.streamLog),
	}
}

// Listener bounds l to Transport.MaxConnections connections open at once.
func (s *Server) Listener(l net.Listener) net.Listener {
	return netutil.LimitListener(l, s.opts.Transport.MaxConnections)
}

// unaryBounds runs a unary call under its deadline and logs its peer.
func (s *Server) unaryBounds(ctx context.Context, req any, info *grpc.UnaryServerInfo,
	handler grpc.UnaryHandler) (any, error) {
	s.logPeer(ctx, info.FullMethod)
	limit := s.opts.Transport.RPCTimeout
	switch info.FullMethod {
	case packbenchv1.AgentService_Preflight_FullMethodName:
		limit = s.opts.Transport.PreflightTimeout
	case packbenchv1.AgentService_PrepareModel_FullMethodName:
		limit = s.opts.Transport.PrepareModelTimeout
	}
	ctx, cancel := context.WithTimeout(ctx, limit)
	defer cancel()
	return handler(ctx, req)
}

// streamLog logs a streaming call's peer. Streams have no deadline of the
// agent's: a pack is bounded by its own timeout, and a log by its size.
func (s *Server) streamLog(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo,
	handler grpc.StreamHandler) error {
	s.logPeer(ss.Context(), info.FullMethod)
	return handler(srv, ss)
}

// logPeer logs who calls method, at Debug only: the role and name of a
// verified client certificate, or the address of a plaintext peer.
func (s *Server) logPeer(ctx context.Context, method string) {
	if !s.logger.IsDebug() {
		return
	}
	method = method[strings.LastIndexByte(method, '/')+1:]
	p, ok := peer.FromContext(ctx)
	if !ok {
		s.logger.Debug("call", "method", method)
		return
	}
	var leaf *x509.Certificate
	if ti, ok := p.AuthInfo.(credentials.TLSInfo); ok && len(ti.State.PeerCertificates) > 0 {
		leaf = ti.State.PeerCertificates[0]
	}
	if leaf == nil {
		s.logger.Debug("call", "method", method, "peer", p.Addr.String(), "tls", false)
		return
	}
	role, name, _ := certs.IdentityOf(leaf)
	s.logger.Debug("call", "method", method, "peer", p.Addr.String(), "role", role,
		"peer_name", name)
}
