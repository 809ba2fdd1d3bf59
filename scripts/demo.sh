#!/usr/bin/env bash
# The sample scenario, through the `billwise` CLI. Usage: scripts/demo.sh path/to/billwise
set -euo pipefail
bw=${1:-target/debug/billwise}
cd "$(dirname "$0")/.."
ex=spec/examples

section() { printf '\n== %s ==\n' "$1"; }

section "Validating the sample documents (Northwind Logistics, two legal entities: US01 and UK01)"
"$bw" validate "$ex"/*.json

section "The change order checked against the contract it amends"
"$bw" validate --contract "$ex/contract-northwind-tm.json" "$ex/change-order-northwind-co1.json"

section "A contract with mistakes: every problem is reported, with its path and code"
set +e
"$bw" validate "$ex/invalid/contract-with-mistakes.json"
status=$?
set -e
if [ "$status" -ne 1 ]; then
  echo "demo: expected exit status 1 (invalid) for the broken contract, got $status" >&2
  exit 1
fi
echo "(exit status $status: the document was read and has problems)"

section "Rate resolution: the most specific rate in force on the work date, and why"
"$bw" rate "$ex/contract-northwind-tm.json" --role "Senior Architect" --task T-CUTOVER --date 2026-03-02
"$bw" rate "$ex/contract-northwind-tm.json" --role "Senior Architect" --date 2026-03-02 \
  --change-orders "$ex/change-order-northwind-co1.json"

section "Applying change order CO-1: the new contract version and its impact"
"$bw" amend "$ex/contract-northwind-tm.json" "$ex/change-order-northwind-co1.json"

section "Summary"
count=$(ls "$ex"/*.json | wc -l)
echo "demo: $count sample documents valid; the broken contract was refused with every problem listed"
