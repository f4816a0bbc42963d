package sdnotify

import (
	"fmt"
	"net"
	"os"
)

// States a service reports.
const (
	Ready    = "READY=1"
	Stopping = "STOPPING=1"
)

// Notify sends state to the socket named by $NOTIFY_SOCKET. It reports
// false, with no error, when the variable is unset (not run by systemd).
func Notify(state string) (bool, error) {
	path := os.Getenv("NOTIFY_SOCKET")
	if path == "" {
		return false, nil
	}
	if err := Send(path, state); err != nil {
		return false, err
	}
	return true, nil
}

// Send writes state as one datagram to the unix socket at path; a path
// starting with '@' names a socket in the abstract namespace.
func Send(path, state string) error {
	addr := &net.UnixAddr{Name: path, Net: "unixgram"}
	if path[0] == '@' {
		addr.Name = "\x00" + path[1:]
	}
	conn, err := net.DialUnix("unixgram", nil, addr)
	if err != nil {
		return fmt.Errorf("notify %s: %w", state, err)
	}
	defer conn.Close()
	if _, err := conn.Write([]byte(state)); err != nil {
		return fmt.Errorf("notify %s: %w", state, err)
	}
	return nil
}
