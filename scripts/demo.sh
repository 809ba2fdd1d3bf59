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

section "A PSA time export (JSON Lines, one work log a line): every bad row of every line in one run"
set +e
"$bw" validate "$ex/invalid/psa-time-export.jsonl"
status=$?
set -e
if [ "$status" -ne 1 ]; then
  echo "demo: expected exit status 1 (invalid) for the export with bad rows, got $status" >&2
  exit 1
fi
echo "(exit status $status: lines 1 and 3 are valid; each problem names its line and path)"

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
section "The time entry lifecycle, and a recall refused once the entry is billed"
"$bw" machines time_entry
echo '{"machine": "time_entry", "state": "approved", "event": "recall", "source": "psa", "context": {"billed": true}}' \
  | "$bw" run transition -

sc="$ex/scenario"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

section "Month 1 (January): a capped T&M contract (ceiling 25,000.00) crosses its ceiling"
echo "CTR-2026-031: five roles, quarter-hour time rounding, 5% markup on travel and lodging."
echo "Change order CO-1 is still only submitted, so it prices nothing yet."
"$bw" preview "$sc/month-1-january.json"
"$bw" commit "$sc/month-1-january.json" --invoice-id INV-2026-0107 --out "$work/ledger-1.json"
echo "(committed as INV-2026-0107)"

section "CO-1 is approved: retroactive from 19 January, two rates raised, ceiling +75,000.00"
"$bw" validate --contract "$sc/contract.json" "$sc/change-order-co1.json"

section "Month 2 (February): adjustments for billed January work, held January items released"
"$bw" preview "$sc/month-2-february.json" --ledger "$work/ledger-1.json"
"$bw" commit "$sc/month-2-february.json" --ledger "$work/ledger-1.json" --invoice-id INV-2026-0212 --out "$work/ledger-2.json"
echo "(committed as INV-2026-0212)"

section "A credit note gives back 11 of the 20 h billed on TE-FEB-13; the PSA then logs 4 h more on it"
cat "$sc/credit-march.json"
"$bw" credit "$work/ledger-2.json" "$sc/credit-march.json" --currency USD --out "$work/ledger-3.json"

section "Month 3 (March): TE-FEB-13 bills exactly 24 - (20 - 11) = 15 h, and March work at the new rates"
"$bw" preview "$sc/month-3-march.json" --ledger "$work/ledger-3.json"

section "Running month 3 twice after committing it bills nothing: every item is already_billed"
"$bw" commit "$sc/month-3-march.json" --ledger "$work/ledger-3.json" --invoice-id INV-2026-0309 --out "$work/ledger-4.json"
"$bw" preview "$sc/month-3-march.json" --ledger "$work/ledger-4.json" | grep -E '^(Lines|Totals|  already_billed)' 
section "Rate resolution: the most specific rate in force on the work date, and why"
"$bw" rate "$ex/contract-northwind-tm.json" --role "Senior Architect" --task T-CUTOVER --date 2026-03-02
"$bw" rate "$ex/contract-northwind-tm.json" --role "Senior Architect" --date 2026-03-02 \
  --change-orders "$ex/change-order-northwind-co1.json"

section "Applying change order CO-1: the new contract version and its impact"
"$bw" amend "$ex/contract-northwind-tm.json" "$ex/change-order-northwind-co1.json"

section "Summary"
count=$(ls "$ex"/*.json | wc -l)
echo "demo: $count sample documents valid; the broken contract was refused with every problem listed;"
echo "demo: three months billed through a ceiling, a retroactive change order and a partial credit"

section "The same three months as the systems send them: an event log replayed through the engine"
echo "$sc/events.jsonl: envelopes from the CRM, ERP, PSA and billing platform, with a duplicate delivery,"
echo "an approval that arrives before its entry, a CRM write to the ERP-owned contract, the retroactive"
echo "change order and the partial credit. Every applied event is in the hash-chained audit log."
"$bw" replay "$sc/events.jsonl" --policy "$ex/ownership-policy.json" \
  --period 2026-01-01..2026-03-31 --as-of 2026-04-01 --snapshot "$work/snapshot-1.json"
"$bw" replay "$sc/events.jsonl" --policy "$ex/ownership-policy.json" \
  --period 2026-01-01..2026-03-31 --as-of 2026-04-01 --snapshot "$work/snapshot-2.json" > /dev/null
cmp -s "$work/snapshot-1.json" "$work/snapshot-2.json"
echo "demo: replayed twice from empty, the two snapshots are byte-identical ($(wc -c < "$work/snapshot-1.json") bytes)"

section "The same log through a durable store (SQLite, a file in a temporary folder): what operations see"
echo "Each batch of 10 envelopes is one transaction: a worker that dies mid-batch leaves nothing half-written."
db="sqlite:///$work/billing.db"
expect_status() { # the store's apply exits 1 when an envelope was rejected (it waits in the queue)
  local want=$1; shift
  set +e; "$@"; local got=$?; set -e
  if [ "$got" -ne "$want" ]; then echo "demo: expected exit status $want from: $*, got $got" >&2; exit 1; fi
}
expect_status 1 "$bw" store apply --db "$db" --contract CTR-2026-031 --policy "$ex/ownership-policy.json" \
  --batch-size 10 "$sc/events.jsonl"
cmp -s <("$bw" store snapshot --db "$db" --contract CTR-2026-031) "$work/snapshot-1.json" \
  && echo "demo: the stored engine is byte-identical to the one replayed in memory above" \
  || { echo "demo: the stored engine differs from the in-memory replay" >&2; exit 1; }
echo "A restarted worker sends the whole log again: nothing is applied twice."
expect_status 1 "$bw" store apply --db "$db" --contract CTR-2026-031 --batch-size 10 "$sc/events.jsonl"
"$bw" store exceptions --db "$db"
echo "Where is change order CO-1's business transaction stuck?"
"$bw" store trace --db "$db" CO-1
"$bw" store resolve --db "$db" --contract CTR-2026-031 --sequence 2 --actor finance-ops \
  --note "The ceiling comes from the ERP; the CRM sync no longer writes it"
"$bw" store verify --db "$db"
"$bw" store replay --db "$db"
