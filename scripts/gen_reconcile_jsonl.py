"""Writes N invoices as erp, billing and psa hold them (JSON Lines, one file per system, each in its
own random order) with about 2% drift: a third missing records, a third changed totals, a third
changed issue dates. For timing `billwise reconcile` end to end.
Usage: python3 scripts/gen_reconcile_jsonl.py N OUT_DIR"""
import json, os, random, sys

n, out = int(sys.argv[1]), sys.argv[2]
os.makedirs(out, exist_ok=True)
rng = random.Random(7)
truth = [(rng.randrange(336), 10_000 + rng.randrange(10_000_000), rng.randrange(150), rng.randrange(3)) for _ in range(n)]

def invoice(i, day, cents):
    return {"id": f"INV-{i:08d}", "contract_id": f"CTR-{i % 50000:05d}", "status": "posted",
            "issue_date": f"2026-{1 + day % 12:02d}-{1 + day % 28:02d}", "currency": "USD",
            "total": {"amount": f"{cents // 100}.{cents % 100:02d}", "currency": "USD"}}

for si, name in enumerate(["billing", "erp", "psa"]):
    order = list(range(n))
    rng.shuffle(order)
    with open(os.path.join(out, f"{name}.jsonl"), "w") as f:
        for i in order:
            day, cents, drift, victim = truth[i]
            hit = victim == si
            if drift == 0 and hit:
                continue
            rec = invoice(i, day + (1 if drift == 2 and hit else 0), cents + (1 if drift == 1 and hit else 0))
            f.write(json.dumps(rec, separators=(",", ":")) + "\n")
