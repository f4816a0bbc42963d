// Package sdnotify tells systemd about a service's state (READY=1,
// STOPPING=1) over the datagram socket named by $NOTIFY_SOCKET, the
// protocol of sd_notify(3). Outside systemd it does nothing.
package sdnotify
