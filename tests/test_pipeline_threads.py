"""The analyzer is shared by the service's request threads: concurrent notes must not interfere."""

from __future__ import annotations

import sys
from concurrent.futures import ThreadPoolExecutor

NOTES = [
    f"Patient {i} with chronic kidney disease (CKD) stage 3 and congestive heart failure (CHF). "
    f"Denies chest pain. Hypertension (HTN) since {2000 + i}. Type 2 diabetes mellitus (T2DM)." * 3
    for i in range(48)
]


def summary(analysis) -> list[tuple]:
    return [(m.start, m.end, m.assertion.label, tuple(c.code for c in m.candidates)) for m in analysis.mentions]


def test_concurrent_notes_give_the_sequential_result(cm_analyzer):
    expected = [summary(cm_analyzer.analyze(n)) for n in NOTES]
    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-5)  # switch threads as often as possible: races show at once
    try:
        with ThreadPoolExecutor(8) as pool:
            got = list(pool.map(lambda n: summary(cm_analyzer.analyze(n)), NOTES))
    finally:
        sys.setswitchinterval(interval)
    assert got == expected
    assert any(m[3] for m in expected[0])
