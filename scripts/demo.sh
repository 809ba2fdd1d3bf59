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

section "Ownership: CRM may not change a signed contract (ERP owns it once signed)"
set +e
echo '{"end_date": "2027-06-30"}' | "$bw" check-update - --policy "$ex/ownership-policy.json" \
  --entity contract --stage signed --source crm
status=$?
set -e
if [ "$status" -ne 1 ]; then
  echo "demo: expected exit status 1 (refused) for CRM's change to a signed contract, got $status" >&2
  exit 1
fi

section "Reconciling Northwind's invoices across ERP, billing and PSA (ERP owns invoices)"
set +e
"$bw" reconcile "$ex/reconcile/erp.jsonl" "$ex/reconcile/billing.jsonl" "$ex/reconcile/psa.jsonl" \
  --policy "$ex/ownership-policy.json" --kind invoice
status=$?
set -e
if [ "$status" -ne 1 ]; then
  echo "demo: expected exit status 1 (findings) from the invoice reconciliation, got $status" >&2
  exit 1
fi

section "Activation gate: the won Northwind opportunity may become a project"
"$bw" activate "$ex/opportunity-northwind-wms.json" --accounts "$ex/account-northwind.json" \
  --policy "$ex/ownership-policy.json"

section "Summary"
count=$(ls "$ex"/*.json | wc -l)
echo "demo: $count sample documents valid; the broken contract was refused with every problem listed"
