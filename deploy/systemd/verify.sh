#!/usr/bin/env bash
# Checks the agent's unit with systemd-analyze verify. The unit names the
# installed path of the binary, which a build machine lacks, so a copy that
# points at the freshly built bin/packbench-agent is verified instead.
# Usage: deploy/systemd/verify.sh [path/to/packbench-agent]
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
bin="$(realpath "${1:-$here/../../bin/packbench-agent}")"
test -x "$bin" || { echo "verify.sh: $bin is not an executable; run make build" >&2; exit 1; }

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
sed "s#/usr/local/bin/packbench-agent#$bin#" "$here/packbench-agent.service" \
	>"$tmp/packbench-agent.service"

# verify prints warnings and still exits 0 for some of them: fail on any output
out="$(systemd-analyze verify "$tmp/packbench-agent.service" 2>&1)" || {
	echo "$out" >&2
	exit 1
}
if [ -n "$out" ]; then
	echo "$out" >&2
	exit 1
fi
echo "verify.sh: packbench-agent.service ok"
