package certs_test

import (
	"context"
	"crypto/tls"
	"net"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/status"
)

// TestGRPC runs the health service over real loopback mTLS with the
// configurations as the agent and coordinator will use them.
func TestGRPC(t *testing.T) {
	f := newFleet(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := grpc.NewServer(grpc.Creds(credentials.NewTLS(serverConfig(t, f))))
	healthpb.RegisterHealthServer(srv, health.NewServer())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ln) }()
	t.Cleanup(func() {
		srv.Stop()
		if err := <-done; err != nil {
			t.Errorf("Serve: %v", err)
		}
	})

	tests := []struct {
		name     string
		certFile string
		keyFile  string
		wantCode codes.Code
	}{
		{"coordinator", f.coordCert, f.coordKey, codes.OK},
		{"agent as coordinator", f.agentCert, f.agentKey, codes.Unavailable},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := clientConfig(t, f, "")
			cfg.Certificates = []tls.Certificate{pair(t, tt.certFile, tt.keyFile)}
			conn, err := grpc.NewClient(ln.Addr().String(),
				grpc.WithTransportCredentials(credentials.NewTLS(cfg)))
			if err != nil {
				t.Fatalf("NewClient: %v", err)
			}
			defer conn.Close()

			// the deadline only keeps a broken handshake from hanging the test
			ctx, cancel := context.WithTimeout(context.Background(), ioLimit)
			defer cancel()
			resp, err := healthpb.NewHealthClient(conn).Check(ctx, &healthpb.HealthCheckRequest{})
			if got := status.Code(err); got != tt.wantCode {
				t.Fatalf("Check = %v, want code %v", err, tt.wantCode)
			}
			if err == nil && resp.GetStatus() != healthpb.HealthCheckResponse_SERVING {
				t.Errorf("Check status = %v, want SERVING", resp.GetStatus())
			}
		})
	}
}
