#!/usr/bin/env bash
# Finds a geth that seals Clique blocks (go-ethereum 1.13.x) or builds v1.13.15 with the Go
# toolchain into .gridledger/bin (git-ignored). Prints the path of the binary on stdout; all
# messages go to stderr. Exit 0 when geth is usable, 1 otherwise (with what to do).
#
#   scripts/poa/install-geth.sh            # find or build
#   GETH=/path/to/geth scripts/poa/install-geth.sh   # use this one (checked like the others)
set -euo pipefail
cd "$(dirname "$0")/../.."
GETH_VERSION=1.13.15
BIN_DIR="$PWD/.gridledger/bin"

usable() {
  # Clique sealing was removed after 1.13: accept 1.13.x only.
  local v
  v=$("$1" version 2>/dev/null | awk -F': ' '/^Version:/ {print $2}') || return 1
  case "$v" in 1.13.*) return 0 ;; *) echo "ignoring $1: version ${v:-unknown}, Clique needs 1.13.x" >&2; return 1 ;; esac
}

for candidate in "${GETH:-}" "$BIN_DIR/geth" "$(command -v geth 2>/dev/null || true)"; do
  if [ -n "$candidate" ] && [ -x "$candidate" ] && usable "$candidate"; then
    echo "$candidate"
    exit 0
  fi
done

if ! command -v go >/dev/null 2>&1; then
  cat >&2 <<MSG
geth $GETH_VERSION was not found (PATH, .gridledger/bin) and there is no Go toolchain to build it.
Either install Go 1.21 or later (https://go.dev/dl/) and run this script again, or put a geth
1.13.x binary on PATH (https://geth.ethereum.org/downloads, "Geth & Tools 1.13.15") or in
$BIN_DIR/geth, or point GETH at one.
MSG
  exit 1
fi

mkdir -p "$BIN_DIR"
echo "building geth $GETH_VERSION with $(go version | awk '{print $3}') into $BIN_DIR (several minutes on 2 cores)..." >&2
started=$(date +%s)
# -checklinkname=0: geth 1.13 links against runtime internals that Go 1.23+ otherwise refuses.
if ! GOBIN="$BIN_DIR" GOFLAGS=-mod=mod go install -ldflags=-checklinkname=0 \
  "github.com/ethereum/go-ethereum/cmd/geth@v$GETH_VERSION" >&2; then
  cat >&2 <<MSG
building geth $GETH_VERSION failed (see the Go output above). Check that the Go module proxy is
reachable (GOPROXY=$(go env GOPROXY)) and that a C compiler is installed (geth needs cgo:
apt-get install build-essential), or install a geth 1.13.x binary as described in docs/poa.md.
MSG
  exit 1
fi
echo "built geth in $(( $(date +%s) - started )) s" >&2
usable "$BIN_DIR/geth" || exit 1
echo "$BIN_DIR/geth"
