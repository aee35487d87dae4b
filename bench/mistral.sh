#!/bin/sh
# Runs the chain, fan-out and concurrent workloads on Sirocco and on a
# running real Mistral 15 in one benchmark run, with the same workflow
# documents (bench/workflows) and the same client, and prints the ratio
# (column "VS MISTRAL": above 1 means Sirocco is faster).
#
#   MISTRAL_URL=http://127.0.0.1:9090 bench/mistral.sh [more sirocco-bench flags]
#
# Environment:
#   MISTRAL_URL      root of the Mistral API, without /v2 (required); how to
#                    run one is in docs/performance.md
#   MODES            Sirocco modes to compare (default: embedded)
#   WORKLOADS        default: chain,fanout,concurrent
#   SIROCCO_BIN      the sirocco binary (default: bin/sirocco, from make build)
#   PEER_CHAIN, PEER_ITEMS, PEER_CONCURRENT
#                    smaller sizes for Mistral only (its figures are rates,
#                    tasks/s or items/s, so they stay comparable); default:
#                    the same sizes as Sirocco
# Any argument is passed to sirocco-bench (e.g. -runs 2, -out FILE).
set -eu
cd "$(dirname "$0")/.."
: "${MISTRAL_URL:?set MISTRAL_URL to the root of a running Mistral 15 API (see docs/performance.md)}"
SIROCCO_BIN=${SIROCCO_BIN:-bin/sirocco}
BENCH_BIN=${BENCH_BIN:-bin/sirocco-bench}
if [ ! -x "$SIROCCO_BIN" ]; then
    echo "mistral.sh: $SIROCCO_BIN not found; run make build or set SIROCCO_BIN" >&2
    exit 2
fi
go build -o "$BENCH_BIN" ./bench
set -- -sirocco "$SIROCCO_BIN" -modes "${MODES:-embedded}" \
    -workloads "${WORKLOADS:-chain,fanout,concurrent}" -peer "mistral=$MISTRAL_URL" "$@"
[ -n "${PEER_CHAIN:-}" ] && set -- "$@" -peer-chain "$PEER_CHAIN"
[ -n "${PEER_ITEMS:-}" ] && set -- "$@" -peer-items "$PEER_ITEMS"
[ -n "${PEER_CONCURRENT:-}" ] && set -- "$@" -peer-concurrent "$PEER_CONCURRENT"
exec "$BENCH_BIN" "$@"
