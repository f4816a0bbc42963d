package sdnotify_test

import (
	"net"
	"path/filepath"
	"testing"

	"github.com/packbench/packbench/agent/sdnotify"
)

// listen opens a unixgram socket in a temp dir, as systemd would.
func listen(t *testing.T) (*net.UnixConn, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "notify.sock")
	conn, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: path, Net: "unixgram"})
	if err != nil {
		t.Fatalf("ListenUnixgram(%s) error = %v", path, err)
	}
	t.Cleanup(func() { conn.Close() })
	return conn, path
}

func TestNotify(t *testing.T) {
	conn, path := listen(t)
	t.Setenv("NOTIFY_SOCKET", path)

	for _, state := range []string{sdnotify.Ready, sdnotify.Stopping} {
		t.Run(state, func(t *testing.T) {
			sent, err := sdnotify.Notify(state)
			if err != nil || !sent {
				t.Fatalf("Notify(%q) = %v, %v, want true, nil", state, sent, err)
			}
			buf := make([]byte, 256)
			n, err := conn.Read(buf)
			if err != nil {
				t.Fatalf("read datagram: %v", err)
			}
			if got := string(buf[:n]); got != state {
				t.Errorf("datagram = %q, want %q", got, state)
			}
		})
	}
}

func TestNotifyUnset(t *testing.T) {
	t.Setenv("NOTIFY_SOCKET", "")
	sent, err := sdnotify.Notify(sdnotify.Ready)
	if sent || err != nil {
		t.Errorf("Notify without NOTIFY_SOCKET = %v, %v, want false, nil", sent, err)
	}
}

func TestNotifyNoListener(t *testing.T) {
	path := filepath.Join(t.TempDir(), "absent.sock")
	if err := sdnotify.Send(path, sdnotify.Ready); err == nil {
		t.Errorf("Send(%s) error = nil, want an error for a missing socket", path)
	}
}
