"""Writes spec/cases/hostile/<op>/NNN-slug.json: inputs built to break a parser or a billing run.

Each case states its expectation explicitly below (an error code and path, or for the few that
succeed, the result computed by the CLI and then read by hand). `--check` only runs every case
through the CLI and prints what it returns, to review; the expectations are never copied from it
unless listed in RESULT_FROM_CLI (and those were read line by line before committing).

Huge inputs are generators (`input_gen`, see spec/README.md), expanded here with the same code the
Python runner uses (bindings-python/tests/case_inputs.py).
"""

from __future__ import annotations

import base64
import copy
import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bindings-python" / "tests"))
from case_inputs import expand, request_bytes  # noqa: E402

OUT = ROOT / "spec" / "cases" / "hostile"
BW = sys.argv[sys.argv.index("--bw") + 1] if "--bw" in sys.argv else str(ROOT / "target" / "debug" / "billwise")


def entry(**changes):
    e = {"id": "TE-1", "project_id": "P-1", "task_id": "T-1", "resource_id": "R-1", "role": "Consultant",
         "work_date": "2026-03-02", "hours": "8", "status": "approved"}
    e.update(changes)
    return e


def work_log(*entries):
    return {"schema_version": 1, "kind": "work_log", "time_entries": list(entries)}


def contract(**changes):
    c = {"schema_version": 1, "kind": "contract", "id": "C-1", "account_id": "A-1", "legal_entity": "US01",
         "currency": "USD", "billing_model": "time_and_materials", "status": "active",
         "start_date": "2026-01-01", "end_date": "2026-12-31",
         "rate_card": {"entries": [{"role": "Consultant", "rate": {"amount": "150.00", "currency": "USD"},
                                    "effective_from": "2026-01-01"}]}}
    c.update(changes)
    return c


def preview(**changes):
    r = {"contract": contract(),
         "projects": [{"schema_version": 1, "kind": "project", "id": "P-1", "contract_id": "C-1",
                       "legal_entity": "US01", "status": "active", "tasks": [{"id": "T-1", "name": "Delivery"}]}],
         "time_entries": [entry()], "expenses": [],
         "period": {"start": "2026-03-01", "end": "2026-03-31"}, "as_of": "2026-04-02"}
    r.update(changes)
    return r


def text(value) -> str:
    return json.dumps(value, separators=(",", ":"))


ENTRY = text(entry())
WL_HEAD = '{"document":{"schema_version":1,"kind":"work_log","time_entries":['
WL_TAIL = "]}}"

cases = []  # (op, slug, description, input-fields, expect)


def case(op, slug, description, expect, **inp):
    assert len(inp) == 1, slug
    cases.append((op, slug, description, inp, expect))


def err(code, path=None):
    e = {"code": code}
    if path is not None:
        e["path"] = path
    return {"error": e}


def gen(template, **repeat):
    return {"template": template, "repeat": repeat}


def rep(text, times, separator=None, start=None):
    r = {"text": text, "times": times}
    if start is not None:
        r["start"] = start
    if separator is not None:
        r["separator"] = separator
    return r


# A validate report with one problem (read: the code and path are the case's point).
def report(kind, *problems):
    return {"result": {"schema_version": 1, "kind": kind, "valid": not problems,
                       "problems": [{"code": c, "path": p, "message": m} for c, p, m in problems]}}


# ---- Size and shape: nesting, strings, arrays --------------------------------------------------

case("validate", "object-nesting-100000-deep",
     "objects nested 100,000 deep are refused by the depth limit (64) at the 64th level, before any parsing",
     err("INPUT_LIMIT_EXCEEDED", "/document" + "/a" * 63),
     input_gen=gen('{"document":@{open}1@{close}}', open=rep('{"a":', 100000), close=rep("}", 100000)))
case("validate", "array-nesting-1000000-deep",
     "arrays nested a million deep are refused by the depth limit, never by a stack overflow",
     err("INPUT_LIMIT_EXCEEDED", "/document" + "/0" * 63),
     input_gen=gen('{"document":@{open}@{close}}', open=rep("[", 1000000), close=rep("]", 1000000)))
case("validate", "unclosed-nesting-1000000-deep",
     "a million opening brackets with no closing ones hit the depth limit before the parser sees the missing end",
     err("INPUT_LIMIT_EXCEEDED", "/0" * 64),
     input_gen=gen("@{open}", open=rep("[", 1000000)))
NESTED_ID = '{"document":{"schema_version":1,"kind":"work_log","time_entries":[{"id":@{open}{}@{close}}]}}'
case("validate", "nesting-at-the-depth-limit",
     "nesting exactly 64 deep is within the limit: the document is read, and the object standing for an id is reported",
     report("work_log", ("INPUT_INVALID_TYPE", "/time_entries/0/id", None)),
     input_gen=gen(NESTED_ID, open=rep('{"a":', 59), close=rep("}", 59)))
case("validate", "nesting-one-past-the-depth-limit",
     "nesting 65 deep is refused by the depth limit, at the path of the 65th container",
     err("INPUT_LIMIT_EXCEEDED", "/document/time_entries/0/id" + "/a" * 60),
     input_gen=gen(NESTED_ID, open=rep('{"a":', 60), close=rep("}", 60)))
case("validate", "string-of-100-mb",
     "a 100 MB string is refused by the string limit (64 KiB) at its path",
     err("INPUT_LIMIT_EXCEEDED", "/document/time_entries/0/id"),
     input_gen=gen(WL_HEAD + ENTRY.replace('"id":"TE-1"', '"id":"@{big}"') + WL_TAIL, big=rep("a", 100_000_000)))
case("validate", "key-of-1-mb",
     "a 1 MB object key is refused by the string limit too (keys are strings)",
     err("INPUT_LIMIT_EXCEEDED"),
     input_gen=gen('{"document":{"@{big}":1}}', big=rep("k", 1_000_000)))
case("validate", "string-at-the-limit",
     "a string of exactly 65,536 bytes is within the limit; as an id it is too long (ids are at most 256 bytes)",
     report("work_log", ("INPUT_INVALID_ID", "/time_entries/0/id", None)),
     input_gen=gen(WL_HEAD + ENTRY.replace('"id":"TE-1"', '"id":"@{big}"') + WL_TAIL, big=rep("a", 65536)))
case("validate", "string-one-past-the-limit",
     "a string of 65,537 bytes is one byte over the string limit",
     err("INPUT_LIMIT_EXCEEDED", "/document/time_entries/0/id"),
     input_gen=gen(WL_HEAD + ENTRY.replace('"id":"TE-1"', '"id":"@{big}"') + WL_TAIL, big=rep("a", 65537)))
case("validate", "escaped-string-of-1-mb",
     "a string of a million `\\u0000` escapes is measured before unescaping and refused",
     err("INPUT_LIMIT_EXCEEDED", "/document/notes"),
     input_gen=gen('{"document":{"notes":"@{big}"}}', big=rep("\\u0000", 1_000_000)))
def read_on_report(kind, item, code, suffix):
    """The report of a document of a million unreadable rows: reading goes on past each, as far
    as re-reading the document may cost (64 MiB read: `READ_ON_BUDGET` in core/src/api/validate.rs),
    then says it stopped."""
    doc_len = len('{"schema_version":1,"kind":"work_log","time_entries":[]}') + 1_000_000 * len(item) + 999_999
    n = min(1000, max(1, (64 << 20) // doc_len))
    problems = [(code, f"/time_entries/{i}{suffix}", None) for i in range(n)]
    problems.append(("INPUT_LIMIT_EXCEEDED", "", f"reading stopped after {n} unreadable values; correct them and validate again"))
    return report(kind, *problems)


case("validate", "array-of-1000000-numbers",
     "a million numbers where time entries belong: each is refused for its type (the limit allows the length), until re-reading the document has cost 64 MiB, and the report says reading stopped",
     read_on_report("work_log", "0", "INPUT_INVALID_TYPE", ""),
     input_gen=gen('{"document":{"schema_version":1,"kind":"work_log","time_entries":[@{items}]}}',
                   items=rep("0", 1_000_000, ",")))
case("validate", "array-of-1000000-empty-objects",
     "a million empty objects as time entries: each is reported for its missing field, until re-reading the document has cost 64 MiB",
     read_on_report("work_log", "{}", "INPUT_MISSING_FIELD", "/id"),
     input_gen=gen('{"document":{"schema_version":1,"kind":"work_log","time_entries":[@{items}]}}',
                   items=rep("{}", 1_000_000, ",")))
case("validate", "array-one-past-the-item-limit",
     "2,000,001 elements in one array is one over the item limit, refused at the first element past it",
     err("INPUT_LIMIT_EXCEEDED", "/document/x/2000000"),
     input_gen=gen('{"document":{"x":[@{items}]}}', items=rep("0", 2_000_001, ",")))
case("validate", "object-of-2000001-members",
     "an object with 2,000,001 members is over the item limit",
     err("INPUT_LIMIT_EXCEEDED", "/document/k2000000"),
     input_gen=gen('{"document":{@{members}}}', members=rep('"k@{i}":0', 2_000_001, ",")))
case("validate", "work-log-of-20000-entries",
     "a work log of 20,000 valid time entries (distinct ids) is read and found valid",
     report("work_log"),
     input_gen=gen(WL_HEAD + "@{entries}" + WL_TAIL,
                   entries=rep(ENTRY.replace('"id":"TE-1"', '"id":"TE-@{i}"'), 20_000, ",")))
case("validate", "work-log-of-20000-duplicate-ids",
     "20,000 entries with one id: every repeat is reported at its own path (19,999 problems), none dropped",
     {"result_gen": gen('{"schema_version":1,"kind":"work_log","valid":false,"problems":[@{problems}]}',
                        problems=rep('{"code":"DOCUMENT_DUPLICATE_ID","path":"/time_entries/@{i}/id","message":"time entry id `TE-1` is already used at index 0"}', 19_999, ",", start=1))},
     input_gen=gen(WL_HEAD + "@{entries}" + WL_TAIL, entries=rep(ENTRY, 20_000, ",")))

# ---- Numbers ------------------------------------------------------------------------------------

def hours_raw(raw):
    return WL_HEAD + ENTRY.replace('"hours":"8"', '"hours":' + raw) + WL_TAIL


case("validate", "hours-1e400", "`1e400` is valid JSON but no runtime can hold it: refused as out of range at its path",
     err("INPUT_LIMIT_EXCEEDED", "/document/time_entries/0/hours"), input_text=hours_raw("1e400"))
case("validate", "schema-version-1e400", "`1e400` where a whole number belongs is out of range at its path",
     err("INPUT_LIMIT_EXCEEDED", "/document/schema_version"),
     input_text='{"document":{"schema_version":1e400,"kind":"work_log","time_entries":[]}}')
case("validate", "integer-of-400-digits", "an integer of 400 digits is out of range like `1e400`",
     err("INPUT_LIMIT_EXCEEDED", "/schema_version"),
     input_text='{"schema_version":1' + "0" * 399 + ',"document":{}}')
case("validate", "hours-1e-400", "`1e-400` is a JSON number where a decimal string belongs (it is not out of range: it is tiny)",
     report("work_log", ("INPUT_NUMBER_NOT_ALLOWED", "/time_entries/0/hours", None)), input_text=hours_raw("1e-400"))
case("validate", "hours-negative-zero-number", "the number `-0` stands where a decimal string belongs",
     report("work_log", ("INPUT_NUMBER_NOT_ALLOWED", "/time_entries/0/hours", None)), input_text=hours_raw("-0"))
case("validate", "hours-negative-zero-string", "the decimal string `\"-0\"` is zero, not negative: the entry is valid",
     report("work_log"), input_text=hours_raw('"-0"'))
case("validate", "hours-nan-literal", "`NaN` is not JSON", err("INPUT_MALFORMED_JSON"), input_text=hours_raw("NaN"))
case("validate", "hours-infinity-literal", "`Infinity` is not JSON", err("INPUT_MALFORMED_JSON"), input_text=hours_raw("-Infinity"))
case("validate", "hours-nan-string", "`\"NaN\"` is not a decimal string",
     report("work_log", ("INPUT_INVALID_DECIMAL", "/time_entries/0/hours", None)), input_text=hours_raw('"NaN"'))
case("validate", "hours-infinity-string", "`\"Infinity\"` is not a decimal string",
     report("work_log", ("INPUT_INVALID_DECIMAL", "/time_entries/0/hours", None)), input_text=hours_raw('"Infinity"'))
case("validate", "decimal-of-40-digits", "a 40-digit decimal cannot be computed exactly: refused by the decimal-digit limit (29)",
     err("INPUT_LIMIT_EXCEEDED", "/document/time_entries/0/hours"), input_text=hours_raw('"' + "1234567890" * 4 + '"'))
case("validate", "decimal-of-40-fraction-digits", "40 digits after the point are over the decimal-digit limit",
     err("INPUT_LIMIT_EXCEEDED", "/document/time_entries/0/hours"), input_text=hours_raw('"0.' + "0" * 39 + '1"'))
case("validate", "decimal-just-over-the-largest", "79228162514264337593543950336 (2^96) is one more than the largest exact decimal",
     err("INPUT_LIMIT_EXCEEDED", "/document/time_entries/0/hours"), input_text=hours_raw('"79228162514264337593543950336"'))
case("validate", "hours-as-a-float", "a float where a decimal string belongs is refused (it may already have lost digits)",
     report("work_log", ("INPUT_NUMBER_NOT_ALLOWED", "/time_entries/0/hours", None)), input_text=hours_raw("7.5"))
case("validate", "rate-as-a-float", "a rate amount written as a float is refused, not rounded",
     report("contract", ("INPUT_NUMBER_NOT_ALLOWED", "/rate_card/entries/0/rate/amount", None)),
     input_text=text({"document": contract()}).replace('"amount":"150.00"', '"amount":150.1'))
case("validate", "decimal-with-exponent", "`\"1e5\"` is not a decimal string (no exponents)",
     report("work_log", ("INPUT_INVALID_DECIMAL", "/time_entries/0/hours", None)), input_text=hours_raw('"1e5"'))
case("validate", "decimal-with-fullwidth-digit", "a fullwidth digit is not a decimal digit",
     report("work_log", ("INPUT_INVALID_DECIMAL", "/time_entries/0/hours", None)), input_text=hours_raw('"\uff18"'))
case("validate", "schema-version-2-to-the-64", "a schema version of 2^64 is not a version this build reads",
     err("SCHEMA_VERSION_UNSUPPORTED", "/document/schema_version"),
     input_text='{"document":{"schema_version":18446744073709551616,"kind":"work_log","time_entries":[]}}')

# ---- Text: UTF-8, dates, keys, ids --------------------------------------------------------------

def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


case("validate", "invalid-utf8-in-a-string", "a byte 0xFF inside a string is not UTF-8: the input is refused whole",
     err("INPUT_MALFORMED_JSON"), input_base64=b64(hours_raw('"8"').replace('"TE-1"', '"TE-\x01"').encode().replace(b"\x01", b"\xff")))
case("validate", "utf8-encoded-surrogate", "a UTF-16 surrogate encoded as UTF-8 bytes (ED A0 80) is not UTF-8",
     err("INPUT_MALFORMED_JSON"), input_base64=b64(b'{"document":{"notes":"\xed\xa0\x80"}}'))
case("validate", "overlong-utf8", "an overlong encoding of `/` (C0 AF) is not UTF-8",
     err("INPUT_MALFORMED_JSON"), input_base64=b64(b'{"document":{"notes":"\xc0\xaf"}}'))
case("validate", "truncated-utf8-at-the-end", "a multi-byte character cut off at the end of the input",
     err("INPUT_MALFORMED_JSON"), input_base64=b64(b'{"document":{"notes":"\xe2\x82'))
case("validate", "byte-order-mark", "a UTF-8 byte-order mark before the JSON is not JSON",
     err("INPUT_MALFORMED_JSON"), input_base64=b64(b'\xef\xbb\xbf{"document":{}}'))
case("validate", "lone-surrogate-escape", "the escape `\\ud800` (a lone surrogate) is not a character",
     err("INPUT_MALFORMED_JSON"), input_text=hours_raw('"8"').replace('"TE-1"', '"TE-\\ud800"'))
case("validate", "february-30", "2026-02-30 is not a calendar date",
     report("work_log", ("INPUT_INVALID_DATE", "/time_entries/0/work_date", None)),
     input={"document": work_log(entry(work_date="2026-02-30"))})
case("validate", "february-29-in-a-common-year", "2026 is not a leap year: 2026-02-29 does not exist",
     report("work_log", ("INPUT_INVALID_DATE", "/time_entries/0/work_date", None)),
     input={"document": work_log(entry(work_date="2026-02-29"))})
case("validate", "date-with-a-time", "a timestamp where a date belongs is not a date",
     report("work_log", ("INPUT_INVALID_DATE", "/time_entries/0/work_date", None)),
     input={"document": work_log(entry(work_date="2026-03-02T00:00:00Z"))})
case("validate", "date-year-zero", "year 0000 is refused",
     report("work_log", ("INPUT_INVALID_DATE", "/time_entries/0/work_date", None)),
     input={"document": work_log(entry(work_date="0000-01-01"))})
case("validate", "duplicate-key-in-an-entry", "an entry giving `hours` twice is reported, never resolved by last-wins",
     report("work_log", ("INPUT_DUPLICATE_KEY", "/time_entries/0/hours", None)),
     input_text=hours_raw('"8","hours":"80"'))
case("validate", "duplicate-document-key", "a request giving `document` twice is refused",
     err("INPUT_DUPLICATE_KEY", "/document"), input_text='{"document":{},"document":{}}')
case("validate", "proto-key-in-a-document", "`__proto__` is an unknown field like any other",
     report("work_log", ("INPUT_UNKNOWN_FIELD", "/time_entries/0/__proto__", None)),
     input_text=hours_raw('"8","__proto__":{"billable":false}'))
case("validate", "proto-key-in-a-request", "`__proto__` at the top of a request is an unknown field",
     err("INPUT_UNKNOWN_FIELD", "/__proto__"), input_text='{"document":{},"__proto__":{"kind":"contract"}}')
case("validate", "id-with-a-nul", "an id containing NUL is refused",
     report("work_log", ("INPUT_INVALID_ID", "/time_entries/0/id", None)), input={"document": work_log(entry(id="TE-\u00001"))})
case("validate", "id-with-a-newline", "an id containing a line feed is refused",
     report("work_log", ("INPUT_INVALID_ID", "/time_entries/0/id", None)), input={"document": work_log(entry(id="TE-\n1"))})
case("validate", "id-with-a-c1-control", "an id containing the C1 control U+0085 is refused",
     report("work_log", ("INPUT_INVALID_ID", "/time_entries/0/id", None)), input={"document": work_log(entry(id="TE-\u00851"))})
case("validate", "id-with-escape-sequence", "an id containing an ANSI escape (ESC) is refused",
     report("work_log", ("INPUT_INVALID_ID", "/time_entries/0/id", None)), input={"document": work_log(entry(id="\u001b[31mTE-1"))})
case("validate", "empty-input", "an empty input is not JSON", err("INPUT_MALFORMED_JSON"), input_text="")
case("validate", "trailing-garbage", "text after the JSON value is refused", err("INPUT_MALFORMED_JSON"),
     input_text='{"document":{}} {"document":{}}')

# ---- Rules on hostile values ----------------------------------------------------------------------

case("preview_invoice", "rate-times-hours-overflows",
     "the largest exact rate times 8 hours cannot be computed: refused as an overflow at the entry, never wrapped or rounded",
     err("MONEY_OVERFLOW", "/time_entries/0"),
     input=preview(contract=contract(rate_card={"entries": [{"role": "Consultant", "rate": {"amount": "79228162514264337593543950335", "currency": "USD"}, "effective_from": "2026-01-01"}]})))
case("preview_invoice", "sum-of-lines-overflows",
     "lines that each fit but whose sum does not are refused as an overflow at the entry whose line the sum cannot take",
     err("MONEY_OVERFLOW", "/time_entries/3"),
     input=preview(contract=contract(rate_card={"entries": [{"role": "Consultant", "rate": {"amount": "1000000000000000000000000000", "currency": "USD"}, "effective_from": "2026-01-01"}]}),
                   time_entries=[entry(id=f"TE-{i}", hours="24") for i in range(1, 5)]))
case("preview_invoice", "expense-fx-overflows",
     "an expense amount times a huge exchange rate is refused as an overflow at the expense",
     err("MONEY_OVERFLOW", "/expenses/0"),
     input=preview(contract=contract(expense_policy={"billable_categories": ["travel"]}), time_entries=[],
                   expenses=[{"id": "EX-1", "project_id": "P-1", "category": "travel",
                              "date": "2026-03-03", "amount": {"amount": "1000000000000000000000000.00", "currency": "EUR"},
                              "fx_rate": "100000", "status": "approved"}]))
case("preview_invoice", "rate-written-as-a-list",
     "a rate written as a list [amount, currency] instead of an object is refused as the wrong type at the rate, never read by position",
     err("INPUT_INVALID_TYPE", "/contract/rate_card/entries/0/rate"),
     input=preview(contract=contract(rate_card={"entries": [{"role": "Consultant", "rate": ["150.00", "USD"], "effective_from": "2026-01-01"}]})))

ENVELOPE = text({"idempotency_key": "rec-TE-1", "correlation_id": "c-1", "source": "psa", "occurred_at": "2026-01-20T10:00:00Z",
                 "event": {"type": "time_entry.recorded", "time_entry": entry(status="submitted")}})
DUPLICATES = 10_000
case("engine_replay", "10000-duplicate-deliveries",
     "one envelope delivered 10,000 times is applied once; every other delivery is a duplicate with the original version and changes",
     "ENGINE",
     input_gen=gen('{"return_snapshot":false,"envelopes":[@{envelopes}]}', envelopes=rep(ENVELOPE, DUPLICATES, ",")))

RATE_ENTRY = '{"role":"Role-@{i}","rate":{"amount":"150.00","currency":"USD"},"effective_from":"2026-01-01"}'
CONTRACT_100K = text(contract()).replace(
    text(contract()["rate_card"]["entries"]), "[@{entries}]")
case("validate", "rate-card-of-100000-entries",
     "a contract whose rate card has 100,000 entries (one per role) is read and found valid",
     report("contract"),
     input_gen=gen('{"document":' + CONTRACT_100K + "}", entries=rep(RATE_ENTRY, 100_000, ",")))
case("resolve_rate", "rate-card-of-100000-entries",
     "resolving the last of 100,000 roles finds its rate",
     None,
     input_gen=gen('{"contract":' + CONTRACT_100K + ',"query":{"role":"Role-99999","work_date":"2026-03-02"}}',
                   entries=rep(RATE_ENTRY, 100_000, ",")))
case("transition", "event-with-control-characters",
     "an event name with control characters is not an event of the machine (the message shows it without them)",
     err("INPUT_INVALID_VALUE", "/event"),
     input={"machine": "time_entry", "state": "draft", "event": "sub\u0000mit\u001b[2J", "source": "psa"})
case("reconcile", "system-named-proto",
     "a system called `__proto__` is not a system name (lowercase letter first)",
     err("INPUT_INVALID_SYSTEM", "/records/__proto__"),
     input_text='{"policy":{"schema_version":1,"kind":"ownership_policy","rules":[]},"entity":"invoice","records":{"__proto__":[]}}')


def run_cli(op: str, data: bytes):
    t = time.monotonic()
    p = subprocess.run([BW, "run", op, "-"], input=data, capture_output=True)
    return p.returncode, p.stdout.decode(errors="replace"), time.monotonic() - t


def main() -> int:
    check = "--check" in sys.argv
    counters = {}
    if not check and OUT.exists():
        shutil.rmtree(OUT)
    for op, slug, description, inp, expect in cases:
        counters[op] = counters.get(op, 0) + 1
        cid = f"hostile/{op}/{counters[op]:03d}-{slug}"
        c = {"id": cid, "op": op, "description": description, **inp}
        data = request_bytes(c)
        rc, out, secs = run_cli(op, data)
        if expect == "ENGINE":
            # The first outcome and the audit are read from the CLI and checked by hand; the
            # duplicates must repeat the first outcome with status `duplicate`.
            got = json.loads(out)
            first = got["outcomes"][0]
            assert first["status"] == "applied" and first["version"] == 1
            dup = dict(first, status="duplicate")
            assert all(o == dup for o in got["outcomes"][1:]) and len(got["outcomes"]) == DUPLICATES
            assert got["version"] == 1 and got["exceptions"] == [] and got["audit"]["entries"] == 1
            head = {k: v for k, v in got.items() if k != "outcomes"}
            expect = {"result_gen": gen(text(dict(head, outcomes=["@{first}"])).replace('"@{first}"', text(first) + ",@{dups}"),
                                        dups=rep(text(dup), DUPLICATES - 1, ","))}
        elif expect is None:
            expect = {"result": json.loads(out)} if rc == 0 else {"error": json.loads(out)["error"]}
        elif "result" in expect and rc == 0:
            # Messages are prose: take them from the CLI once code and path match what is stated.
            got = json.loads(out)
            want = expect["result"]
            if want.get("problems") and len(got.get("problems", [])) == len(want["problems"]):
                for w, g in zip(want["problems"], got["problems"]):
                    if (w["code"], w["path"]) == (g["code"], g["path"]) and w["message"] is None:
                        w["message"] = g["message"]
        c["expect"] = expect
        print(f"{cid}: {secs:.2f}s rc={rc} {out[:300]}")
        if not check:
            path = OUT / op / f"{counters[op]:03d}-{slug}.json"
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(json.dumps(c, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
