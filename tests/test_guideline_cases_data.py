"""Shape and code validity of the guideline case suite (tests/data/guideline_cases.jsonl).

Each line is one short US-style note with the ICD-10-CM codes a certified coder must assign
(``must``, principal / first-listed first) and the tempting wrong codes (``must_not``), with the
FY2026 Official Guidelines section it tests. These checks keep the data honest: every code is a
valid billable FY2026 code, so a case can never be passed or failed by a typo.
"""

from __future__ import annotations

import gzip
import json
import re
from pathlib import Path

import pytest

CASES_FILE = Path(__file__).parent / "data" / "guideline_cases.jsonl"
FIELDS = {"id", "setting", "guideline", "text", "must", "must_not", "comment"}
SETTINGS = {"inpatient", "outpatient", "emergency"}
DOTTED_CM = re.compile(r"^[A-Z][0-9][0-9A-Z](\.[0-9A-Z]{1,4})?$")
GUIDELINE = re.compile(r"^(I\.[A-C](\.\d+)?(\.[a-z](\.\d+)?(\.[a-z])?)?|II(\.[A-K])?|III\.[A-C]|IV\.[A-R])$")


def _cases() -> list[dict]:
    with CASES_FILE.open(encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]


def _all_codes(cases: list[dict]) -> set[str]:
    return {code for case in cases for code in case["must"] + case["must_not"]}


def test_every_case_has_the_fields_and_a_usable_note() -> None:
    cases = _cases()
    assert len(cases) >= 90
    for case in cases:
        assert set(case) == FIELDS, case.get("id")
        assert case["setting"] in SETTINGS, case["id"]
        assert GUIDELINE.match(case["guideline"]), (case["id"], case["guideline"])
        assert 3 <= len(case["text"].splitlines()) <= 15, case["id"]
        assert 1 <= len(case["must"]) <= 4, case["id"]
        assert case["must_not"], case["id"]
        assert case["comment"].strip() and "\n" not in case["comment"], case["id"]


def test_ids_unique_and_must_disjoint_from_must_not() -> None:
    cases = _cases()
    ids = [case["id"] for case in cases]
    assert len(ids) == len(set(ids))
    for case in cases:
        assert len(set(case["must"])) == len(case["must"]), case["id"]
        assert not set(case["must"]) & set(case["must_not"]), case["id"]


def test_codes_are_dotted_valid_and_billable() -> None:
    import simple_icd_10_cm as cm  # a declared dependency: its absence is a failure, not a skip
    for code in sorted(_all_codes(_cases())):
        assert DOTTED_CM.match(code), code
        assert cm.is_valid_item(code) and cm.is_leaf(code), f"{code} is not a billable ICD-10-CM code"


def test_codes_are_in_the_fy2026_code_file(cdc_cm_file: Path) -> None:
    with gzip.open(cdc_cm_file, "rt", encoding="utf-8") as handle:
        billable = {line.split(maxsplit=1)[0] for line in handle if line.strip()}
    missing = sorted(code for code in _all_codes(_cases()) if code.replace(".", "") not in billable)
    assert not missing, f"not billable in FY2026: {missing}"
