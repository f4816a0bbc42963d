package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"

	"github.com/packbench/packbench/pkg/api"
	"github.com/packbench/packbench/pkg/runner"
	"github.com/packbench/packbench/pkg/wire"
	packbenchv1 "github.com/packbench/packbench/proto/packbench/v1"
)

// model is the shared tiny model beside the checkout, set by TestMain.
var model string

// agentBin is packbench-agent built by TestMain.
var agentBin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "packbench-agent-test")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	if model, err = filepath.Abs("../../../../shared/models/llama-2-tiny-random.gguf"); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	agentBin = filepath.Join(dir, "packbench-agent")
	out, err := exec.Command("go", "build", "-o", agentBin, ".").CombinedOutput()
	if err != nil {
		fmt.Fprintf(os.Stderr, "build packbench-agent: %v\n%s", err, out)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

func TestBadSettingsExit2(t *testing.T) {
	cfgFile := filepath.Join(t.TempDir(), "agent.json")
	if err := os.WriteFile(cfgFile, []byte(`{"listen": "127.0.0.1:0", "colour": 1}`),
		0o644); err != nil {
		t.Fatal(err)
	}
	badJSON := filepath.Join(t.TempDir(), "agent.json")
	if err := os.WriteFile(badJSON, []byte("{\n  \"listen\": \"127.0.0.1:0\"\n  \"name\": \"a\"\n}\n"),
		0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"non-loopback listen", []string{"--listen", "0.0.0.0:7070"}, "--listen"},
		{"bad listen", []string{"--listen", "nohost"}, "--listen"},
		{"bad log level", []string{"--log-level", "loud"}, "--log-level"},
		{"missing allow entry", []string{"--listen", "127.0.0.1:0", "--state-dir",
			t.TempDir(), "--allow", "/nonexistent/llama"}, "--allow"},
		{"unknown config field", []string{"--config", cfgFile}, "colour"},
		{"missing config", []string{"--config", "/nonexistent.json"}, "--config"},
		{"config missing a comma", []string{"--config", badJSON},
			"line 3, column 3: invalid character '\"' after object key:value pair"},
		{"unknown flag", []string{"--frobnicate"}, "frobnicate"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			if got := run(tt.args, &stdout, &stderr); got != 2 {
				t.Errorf("run(%q) = %d, want 2; stderr: %s", tt.args, got, stderr.String())
			}
			if !strings.Contains(stderr.String(), tt.want) {
				t.Errorf("run(%q) stderr = %q, want it to name %q", tt.args, stderr.String(),
					tt.want)
			}
		})
	}
}

func TestConfigFileAndFlags(t *testing.T) {
	cfgFile := filepath.Join(t.TempDir(), "agent.json")
	data := `{"listen": "127.0.0.1:9999", "name": "from-file", "state_dir": "/s",
		"allow": ["/a", "/b"], "log_level": "debug"}`
	if err := os.WriteFile(cfgFile, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg, err := parseConfig([]string{"--config", cfgFile, "--name", "from-flag",
		"--allow", "/c,/d", "--allow", "/e"}, &bytes.Buffer{})
	if err != nil {
		t.Fatalf("parseConfig: %v", err)
	}
	want := config{Listen: "127.0.0.1:9999", Name: "from-flag", StateDir: "/s",
		Allow: []string{"/c", "/d", "/e"}, LogLevel: "debug"}
	if fmt.Sprint(cfg) != fmt.Sprint(want) {
		t.Errorf("parseConfig = %+v, want %+v", cfg, want)
	}
}

// TestSIGTERMDuringPack starts the agent as a process, runs a pack of a
// sleeping runner and stops the agent with SIGTERM.
func TestSIGTERMDuringPack(t *testing.T) {
	dir, stateDir := t.TempDir(), t.TempDir()
	pidFile := filepath.Join(t.TempDir(), "pids")
	bin := filepath.Join(dir, "llama-completion")
	script := "#!/bin/sh\necho $$ >> " + pidFile + "\nexec sleep 60\n"
	if err := os.WriteFile(bin, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	sockPath := filepath.Join(t.TempDir(), "notify.sock")
	notify, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: sockPath, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	defer notify.Close()

	cmd := exec.Command(agentBin, "--listen", "127.0.0.1:0", "--state-dir", stateDir,
		"--allow", dir+","+model, "--name", "sigterm-test")
	cmd.Env = append(os.Environ(), "NOTIFY_SOCKET="+sockPath)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start agent: %v", err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill() })

	addr, rest := listenAddress(t, bufio.NewScanner(stderr))
	if got := readDatagram(t, notify); got != "READY=1" {
		t.Errorf("notify datagram = %q, want READY=1", got)
	}

	conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	client := packbenchv1.NewAgentServiceClient(conn)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	req := api.PackRequest{ID: "sleepy", Binary: bin, Runner: runner.LlamaCompletion,
		ExecMode: runner.ExecDirect, NoPreflight: true, Instances: 1, Threads: 1,
		Workload: runner.Workload{Model: model, Prompt: "hi", NPredict: 8, CtxSize: 256},
		Timeout:  time.Minute, MemHeadroom: 0.9}
	stream, err := client.RunPack(ctx, wire.PackRequestToProto(req))
	if err != nil {
		t.Fatalf("RunPack: %v", err)
	}
	var pid int
	for range 10 {
		msg, err := stream.Recv()
		if err != nil {
			t.Fatalf("Recv: %v", err)
		}
		if st := msg.GetEvent().GetInstanceStarted(); st != nil {
			pid = int(st.GetPid())
			break
		}
	}
	if pid == 0 {
		t.Fatalf("no InstanceStarted event")
	}

	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if got := readDatagram(t, notify); got != "STOPPING=1" {
		t.Errorf("notify datagram = %q, want STOPPING=1", got)
	}
	<-rest
	if err := cmd.Wait(); err != nil {
		t.Errorf("agent exit after SIGTERM = %v, want status 0", err)
	}
	if err := syscall.Kill(pid, 0); !errors.Is(err, syscall.ESRCH) {
		t.Errorf("kill(%d, 0) = %v, want ESRCH: the runner outlived the agent", pid, err)
	}
	// the script may be stopped before it writes its pid; it never starts twice
	written, _ := os.ReadFile(pidFile)
	if got := strings.TrimSpace(string(written)); got != "" && got != strconv.Itoa(pid) {
		t.Errorf("runner pid file = %q, want %d or nothing", got, pid)
	}
	if _, err := os.Stat(filepath.Join(stateDir, "packs", "sleepy.json")); err != nil {
		t.Errorf("cancelled pack's result was not kept: %v", err)
	}
}

// listenAddress reads the agent's log until "agent listening: address=..."
// and drains the rest in the background; rest closes at EOF.
func listenAddress(t *testing.T, sc *bufio.Scanner) (string, <-chan struct{}) {
	t.Helper()
	var addr string
	for sc.Scan() {
		line := sc.Text()
		if _, after, ok := strings.Cut(line, "agent listening: address="); ok {
			addr = strings.Fields(after)[0]
			break
		}
	}
	if addr == "" {
		t.Fatalf("agent exited without logging its address")
	}
	rest := make(chan struct{})
	go func() {
		defer close(rest)
		for sc.Scan() {
		}
	}()
	return addr, rest
}

// readDatagram reads one datagram, waiting at most a minute.
func readDatagram(t *testing.T, conn *net.UnixConn) string {
	t.Helper()
	if err := conn.SetReadDeadline(time.Now().Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 256)
	n, err := conn.Read(buf)
	if err != nil {
		t.Fatalf("read notify socket: %v", err)
	}
	return string(buf[:n])
}

// TestMaxConnections starts the agent with limits.max_connections 2: a
// third connection gets no answer until one of the first two closes.
func TestMaxConnections(t *testing.T) {
	cfgFile := filepath.Join(t.TempDir(), "agent.json")
	if err := os.WriteFile(cfgFile, []byte(`{"limits": {"max_connections": 2}}`),
		0o644); err != nil {
		t.Fatal(err)
	}
	addr := net.JoinHostPort("127.0.0.1",
		startAgent(t, "--config", cfgFile, "--listen", "127.0.0.1:0"))

	facts := func(conn *grpc.ClientConn, wait time.Duration) error {
		ctx, cancel := context.WithTimeout(context.Background(), wait)
		defer cancel()
		_, err := packbenchv1.NewAgentServiceClient(conn).GetHostFacts(ctx,
			&packbenchv1.GetHostFactsRequest{})
		return err
	}
	var conns []*grpc.ClientConn
	for range 3 {
		conn, err := grpc.NewClient(addr,
			grpc.WithTransportCredentials(insecure.NewCredentials()))
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		conns = append(conns, conn)
	}
	for i, conn := range conns[:2] {
		if err := facts(conn, 30*time.Second); err != nil {
			t.Fatalf("connection %d: GetHostFacts = %v, want an answer", i+1, err)
		}
	}
	if err := facts(conns[2], 2*time.Second); status.Code(err) != codes.DeadlineExceeded {
		t.Errorf("third connection: GetHostFacts = %v, want DeadlineExceeded while two "+
			"are open", err)
	}
	if err := conns[0].Close(); err != nil {
		t.Fatal(err)
	}
	if err := facts(conns[2], 30*time.Second); err != nil {
		t.Errorf("third connection after one closed: GetHostFacts = %v, want an answer", err)
	}
}

// TestHelp prints the flags with plain value names and exits 0.
func TestHelp(t *testing.T) {
	var stdout, stderr bytes.Buffer
	if got := run([]string{"-h"}, &stdout, &stderr); got != 0 {
		t.Fatalf("run(-h) = %d, want 0; stderr: %s", got, stderr.String())
	}
	help := stdout.String() + stderr.String()
	for _, want := range []string{"-tls-cert string", "packbench tls cert create --agent",
		"-listen string", "-config string"} {
		if !strings.Contains(help, want) {
			t.Errorf("-h output lacks %q:\n%s", want, help)
		}
	}
}
