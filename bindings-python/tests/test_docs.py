"""The README's Python quickstart and the example script run as documented."""

from __future__ import annotations

import contextlib
import io
import os
import re
import subprocess
import sys

from conftest import REPO


def test_the_readme_python_quickstart_runs_and_prints_what_it_says() -> None:
    text = (REPO / "README.md").read_text(encoding="utf-8")
    match = re.search(r"^## Quickstart: Python\n.*?```python\n(.*?)```", text, re.S | re.M)
    assert match, "README.md has no ## Quickstart: Python section with a python block"
    code = match.group(1)
    expected = [line[2:] for line in code.splitlines() if line.startswith("# ")]
    out = io.StringIO()
    cwd = os.getcwd()
    try:
        os.chdir(REPO)
        with contextlib.redirect_stdout(out):
            exec(compile(code, "README.md", "exec"), {"__name__": "__readme__"})
    finally:
        os.chdir(cwd)
    printed = out.getvalue().splitlines()
    assert expected and all(line in printed for line in expected), (expected, printed)


def test_the_time_export_example_reports_problems_per_entry() -> None:
    script = REPO / "bindings-python" / "examples" / "check_time_export.py"
    done = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, check=False)
    assert done.returncode == 1, done.stderr
    assert done.stdout.splitlines() == [
        "contract CTR-2026-014: valid",
        "skipped line 9 (TE-91008): hours `7,5` is not a number",
        "time export psa-time-export.csv: 8 entries, 3 problem(s)",
        "  TE-91005 (line 6)",
        "    hours: DOCUMENT_NEGATIVE_AMOUNT: hours must not be negative (got `-6.25`)",
        "  TE-91006 (line 7)",
        "    hours: TIME_HOURS_OUT_OF_RANGE: 26 hours on one day is more than 24",
        "  TE-91002 (line 8)",
        "    id: DOCUMENT_DUPLICATE_ID: time entry id `TE-91002` is already used at index 1",
    ]


def test_a_clean_export_exits_zero(tmp_path: "os.PathLike[str]") -> None:
    export = os.path.join(tmp_path, "clean.csv")
    with open(export, "w", encoding="utf-8") as f:
        f.write("Entry ID,Project,Task,Resource,Role,Date,Hours,Status,Billable\n")
        f.write("TE-1,PRJ-5521,T-BUILD,R-CHEN,Data Engineer,03/02/2026,8,Approved,Yes\n")
    script = REPO / "bindings-python" / "examples" / "check_time_export.py"
    done = subprocess.run([sys.executable, str(script), export], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "1 entries, all valid" in done.stdout


def test_the_event_log_example_replays_previews_and_ships_the_engine_to_workers() -> None:
    script = REPO / "bindings-python" / "examples" / "replay_event_log.py"
    done = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.splitlines() == [
        "replayed 68 envelopes: 65 applied, 1 duplicate, 2 rejected (engine version 65)",
        "open exceptions: 1",
        "  OWNERSHIP_NOT_OWNER crm-ctr-2026-031-sync: `erp` owns `contract.ceiling` at stage `active`;"
        " `crm` may not change it",
        "invoice preview 2026-03-01 to 2026-03-31 as of 2026-04-02: 4 lines, total 13280.00 USD",
        "held items by reason:",
        "  already_billed: 17 (TE-JAN-11, TE-JAN-12, EX-JAN-1, ...)",
        "  not_billable: 2 (EX-JAN-2, TE-JAN-90)",
        "  outside_billing_period: 1 (TE-FEB-13), 2400.00 USD",
        "audit chain: 65 entries, valid",
        "previewed in 2 worker processes from a 71096-byte snapshot: same",
    ]


def test_the_event_log_example_reports_a_log_without_a_contract(tmp_path: "os.PathLike[str]") -> None:
    log = os.path.join(tmp_path, "events.jsonl")
    with open(log, "w", encoding="utf-8") as f:
        f.write(
            '{"idempotency_key":"k1","correlation_id":"c1","source":"psa","occurred_at":"2026-03-02",'
            '"event":{"type":"time_entry.approved","id":"TE-1"}}\n'
        )
    script = REPO / "bindings-python" / "examples" / "replay_event_log.py"
    done = subprocess.run([sys.executable, str(script), log], capture_output=True, text=True, check=False)
    assert done.returncode == 1, done.stdout + done.stderr
    assert "1 rejected (engine version 0)" in done.stdout
    assert "no preview: ENGINE_NO_CONTRACT" in done.stderr


def test_the_csv_preview_example_prices_the_export_and_groups_held_items_by_reason() -> None:
    script = REPO / "bindings-python" / "examples" / "preview_from_psa_export.py"
    done = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    out = done.stdout.splitlines()
    assert out[0] == "invoice preview CTR-2026-014 v0, 2026-03-01 to 2026-03-31, as of 2026-04-02"
    assert "total: 9230.00 USD in 6 line(s)" in out
    assert "ceiling: 440770.00 of 450000.00 USD left after this run (2.05% used)" in out
    # 7.6 worked hours bill as 7.5 (the contract rounds time to the nearest quarter hour).
    assert any("TE-93003" in line and " 7.5 hour x  195.00 =   1462.50 USD" in line for line in out)
    assert any("TE-93006" in line and "(rate_card:role=Senior Architect,task=T-CUTOVER@2026-01-01)" in line for line in out)
    held = out[out.index("held items: 7") + 1 :]
    assert [line for line in held if not line.startswith("    ")] == [
        "  not_approved (1)",
        "  not_billable (2)",
        "  project_status (1)",
        "  outside_billing_period (1, would bill 1280.00 USD)",
        "  legal_entity_mismatch (1, would bill 1170.00 USD)",
        "  missing_rate (1)",
    ]
    assert "    TE-93010: project PRJ-5523 is on_hold; billable statuses are active, completed" in held


def test_the_csv_preview_example_refuses_an_export_that_repeats_an_entry(tmp_path: "os.PathLike[str]") -> None:
    export = os.path.join(tmp_path, "repeated.csv")
    with open(export, "w", encoding="utf-8") as f:
        f.write("Entry ID,Project,Task,Resource,Role,Date,Hours,Status,Billable\n")
        f.write("TE-1,PRJ-5521,T-BUILD,R-CHEN,Data Engineer,03/02/2026,8,Approved,Yes\n")
        f.write("TE-1,PRJ-5521,T-BUILD,R-CHEN,Data Engineer,03/03/2026,8,Approved,Yes\n")
    script = REPO / "bindings-python" / "examples" / "preview_from_psa_export.py"
    done = subprocess.run([sys.executable, str(script), export], capture_output=True, text=True, check=False)
    assert done.returncode == 2, done.stdout + done.stderr
    assert done.stdout == ""
    assert "cannot preview: DOCUMENT_DUPLICATE_ID at /time_entries/1/id" in done.stderr
