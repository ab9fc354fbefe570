"""The coding layer: the ICD-10-CM Official Guidelines between the ranked codes and the coder.

It is neither NLP nor ML: it takes what the pipeline found (``NoteAnalysis``) and what the ranker
scored (a ranked code list), and rewrites the list as a certified coder would, following the
ICD-10-CM Official Guidelines for Coding and Reporting (FY2026): combination codes, signs and
symptoms integral to a diagnosis, uncertain diagnoses by care setting, history and status codes,
the most specific code the note supports, and the principal diagnosis.

Every rule is a named function in :data:`RULES` (the one table, in the order they run), each
citing the guideline section it implements; any rule can be switched off by name. Every rewrite
leaves a :class:`GuidelineNote` on the code it touched.

The ranker sees the note as a coder reads it (:func:`as_a_coder_reads`: a chronic condition in
the past medical history is current; inpatient, an uncertain diagnosis is established), then the rules run over its ranked codes:

>>> coded = apply_guidelines(analysis, lines, catalog, setting="inpatient")
>>> [(line.code, line.principal, [n.message for n in line.notes]) for line in coded.lines]
"""

from __future__ import annotations

from .engine import CodeLine, GuidelineNote, NoteCoding, Rule
from .status import as_a_coder_reads
from .table import RULES, RULE_NAMES, apply_guidelines, care_setting, infer_setting

__all__ = [
    "CodeLine", "GuidelineNote", "NoteCoding", "Rule", "RULES", "RULE_NAMES", "apply_guidelines", "as_a_coder_reads",
    "care_setting", "infer_setting",
]
