#!/usr/bin/env bash
# check.sh checks packbench's API definitions: buf lint, buf format, and that
# the generated Go code committed under proto/ matches a fresh `buf generate`.
# Run it from anywhere; it works in the repository root. BUF overrides the
# buf binary (default: the one pinned in tools/, installed by `make engine`).
#
# It fails when `git status --porcelain proto/` is not empty after
# regenerating, so uncommitted edits under proto/ (not only stale generated
# code) fail it too: it is meant for CI and for a clean checkout.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
buf="${BUF:-tools/node_modules/.bin/buf}"

if [[ ! -x "$buf" ]]; then
	echo "check.sh: buf not found at $buf (run 'make engine' or set BUF)" >&2
	exit 2
fi

echo "check.sh: buf lint"
if ! "$buf" lint; then
	echo "check.sh: buf lint failed" >&2
	exit 1
fi

echo "check.sh: buf format"
if ! "$buf" format --diff --exit-code; then
	echo "check.sh: .proto files are not formatted; run '$buf format -w'" >&2
	exit 1
fi

# TODO(proto): generated files of a deleted .proto survive regeneration and
# are not flagged; remove them by hand when a .proto file goes away.
echo "check.sh: buf generate"
if ! "$buf" generate; then
	echo "check.sh: buf generate failed" >&2
	exit 1
fi

changes="$(git status --porcelain -- proto/)"
if [[ -n "$changes" ]]; then
	echo "check.sh: proto/ differs from the committed tree after regeneration:" >&2
	echo "$changes" >&2
	echo "check.sh: commit the .proto edits together with the regenerated code" >&2
	exit 1
fi
echo "check.sh: ok"
