"""The hand-off to billing: a coded note's final code set as a FHIR R4 ``Claim`` and as flat CSV rows.

The Claim carries what coding knows: the diagnoses in sequence (the principal one typed ``principal``) with
their present-on-admission indicator, and the procedures with a date. Patient, provider and coverage are the
billing system's: they are references by display only ("to be completed by billing"). The resource is built
and validated with ``fhir.resources`` (its R4B models: the Claim resource is the same in R4 and R4B).

The code-set checks run first: a note with an open error-level finding is exported only when the coder gave an
override reason (``export_override`` with the decisions), which the Claim then carries as a note.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from ..storage.orm import Note
from . import schemas

SYSTEM_URIS = {
    "ICD10CM": "http://hl7.org/fhir/sid/icd-10-cm",
    "ICD10PCS": "http://www.cms.gov/Medicare/Coding/ICD10",
    "CPT": "http://www.ama-assn.org/go/cpt",
}
POA_SYSTEM = "http://terminology.hl7.org/CodeSystem/ex-diagnosis-on-admission"
DIAGNOSIS_TYPE_SYSTEM = "http://terminology.hl7.org/CodeSystem/ex-diagnosistype"
CLAIM_TYPE_SYSTEM = "http://terminology.hl7.org/CodeSystem/claim-type"
CSV_COLUMNS = ("note_id", "external_id", "setting", "kind", "sequence", "system", "code", "description", "principal",
               "poa", "coded_at", "override_reason")
TO_BILLING = "to be completed by billing"


class ExportBlocked(Exception):
    """Error-level code-set findings and no override from the coder."""

    def __init__(self, note_id: str, findings: Sequence[schemas.FindingOut]):
        self.note_id = note_id
        self.findings = list(findings)
        listed = "; ".join(f"{f.rule}: {f.message}" for f in self.findings[:5])
        super().__init__(
            f"note {note_id} has {len(self.findings)} open error-level code-set finding(s) ({listed}); fix the codes, "
            "or submit an 'export_override' reason with the decisions to export it anyway"
        )


@dataclass(frozen=True)
class CodedNote:
    note: Note
    final_codes: list[schemas.FinalCode]
    findings: list[schemas.FindingOut]
    override_reason: str | None


def check_exportable(coded: CodedNote) -> None:
    """Refuse a note that is not coded, or has error-level findings without the coder's override."""
    errors = [f for f in coded.findings if f.severity == "error"]
    if errors and not coded.override_reason:
        raise ExportBlocked(coded.note.id, errors)


def claim_resource(coded: CodedNote) -> dict:
    """The FHIR R4 Claim (JSON), validated by ``fhir.resources``."""
    from fhir.resources.R4B.claim import Claim

    note = coded.note
    created = (note.coded_at or note.created_at).isoformat()
    diagnoses, procedures = [], []
    for code in coded.final_codes:
        coding = {"system": SYSTEM_URIS.get(code.system, code.system), "code": code.code}
        if code.description:
            coding["display"] = code.description
        if code.system == "ICD10CM":
            item = {"sequence": code.sequence, "diagnosisCodeableConcept": {"coding": [coding]}}
            if code.principal:
                item["type"] = [{"coding": [{"system": DIAGNOSIS_TYPE_SYSTEM, "code": "principal"}]}]
            if code.poa:
                item["onAdmission"] = {"coding": [{"system": POA_SYSTEM, "code": code.poa.lower()}]}
            diagnoses.append(item)
        else:
            procedures.append({"sequence": code.sequence, "date": created, "procedureCodeableConcept": {"coding": [coding]}})
    resource = {
        "resourceType": "Claim",
        "id": note.id,
        "status": "draft",  # billing completes and submits it
        "type": {"coding": [{"system": CLAIM_TYPE_SYSTEM, "code": "institutional" if note.setting == "inpatient" else "professional"}]},
        "use": "claim",
        "patient": {"display": TO_BILLING},
        "created": created,
        "provider": {"display": TO_BILLING},
        "priority": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/processpriority", "code": "normal"}]},
        "insurance": [{"sequence": 1, "focal": True, "coverage": {"display": TO_BILLING}}],
        "diagnosis": diagnoses or None,
        "procedure": procedures or None,
    }
    if note.external_id:
        resource["identifier"] = [{"system": "urn:codesuggest:external-id", "value": note.external_id}]
    if coded.override_reason:
        resource["supportingInfo"] = [{
            "sequence": 1, "category": {"text": "coder override of code-set errors"}, "valueString": coded.override_reason,
        }]
    resource = {k: v for k, v in resource.items() if v is not None}
    return Claim.model_validate(resource).model_dump(mode="json", exclude_none=True)


def csv_rows(coded: CodedNote) -> list[dict]:
    note = coded.note
    coded_at = note.coded_at.isoformat() if isinstance(note.coded_at, datetime) else ""
    return [{
        "note_id": note.id, "external_id": note.external_id or "", "setting": note.setting or "",
        "kind": "diagnosis" if c.system == "ICD10CM" else "procedure", "sequence": c.sequence, "system": c.system,
        "code": c.code, "description": c.description, "principal": "Y" if c.principal else "N", "poa": c.poa or "",
        "coded_at": coded_at, "override_reason": coded.override_reason or "",
    } for c in coded.final_codes]


def to_csv(rows: Iterable[dict]) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=CSV_COLUMNS, lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: _safe_cell(v) for k, v in row.items()})
    return out.getvalue()


def _safe_cell(value):
    """A cell a spreadsheet would run as a formula is written as text."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@"):
        return "'" + value
    return value
