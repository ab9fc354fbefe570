"""Text that is not a clinical note is refused at the edge, with a message; real notes never are."""

from __future__ import annotations

import base64
import random
import zlib

import pytest
from service_fakes import KeywordSuggester, auth, service

from codesuggest.pipeline.nlp import NotClinicalTextError
from codesuggest.pipeline.notetext import check_note_text
from codesuggest.training.datasets import load_codiesp

TERSE_US_NOTES = [
    "BP 152/88, HR 88, RR 18, SpO2 97% RA, T 98.6",
    "Na 138 K 4.1 Cl 102 CO2 24 BUN 24 Cr 1.6 Glu 210 Ca 9.4 Mg 2.0 WBC 14.2 Hgb 12.1 Plt 250",
    "64M CP x2h. HR 110 BP 90/60. Trop 0.9. EKG STE II/III/aVF. Cath lab. ASA 325, hep gtt.",
    "CC: SOB\nHPI: 71M w/ CHF, COPD, AF on warfarin. 3d SOB, orthopnea.\nA/P: CHF exac. Lasix 40 IV BID.",
    "S: no c/o\nO: 37.1 120/80 72 16 98%\nA: s/p lap chole POD1\nP: d/c home",
    "I/O: 1200/850. UOP 0.4 mL/kg/h x 6h. CVP 4. MAP 58 on NE 0.08 mcg/kg/min.",
    "Meds: ASA 81 qd, metoprolol 25 bid, atorva 40 qhs, lisinopril 10 qd, metformin 1000 bid",
    "ABG 7.21/68/55/26 on FiO2 40%, PEEP 8, TV 450, RR 20.",
    "HR 88",
    "DM2",
    "Pt seen and examined. Agree with plan as above. -- J. Smith, MD 12/03/2026 14:32",
    "Hgb 7.2 -> 8.1 s/p 1u PRBC. Plt 45k. INR 1.9. Fib 110.",
    "\n".join(f"{h:02d}:00 T 98.{h % 10} HR {80 + h} BP {110 + h}/{70 + h % 7} RR 16 O2 98% RA" for h in range(24)),
    "\n".join(f"{d}/12 Na 13{d % 10} K 4.{d % 9} Cl 10{d % 10} CO2 2{d % 10} BUN 2{d % 10} Cr 1.{d % 10}" for d in range(1, 31)),
]


def _pdf_bytes() -> bytes:
    rng = random.Random(0)
    hexed = " ".join(f"{rng.randrange(256):02X}" for _ in range(600)).encode()
    stream = zlib.compress(b"BT /F1 12 Tf (Patient with AF) Tj ET" * 40)
    return (
        b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<< /Type /Catalog >>\nendobj\n5 0 obj\n<< /Filter /ASCIIHexDecode >>\n"
        b"stream\n" + hexed + b">\nendstream\nendobj\n4 0 obj\n<< /Filter /FlateDecode >>\nstream\n" + stream + b"\nendstream\n"
    )


NOT_NOTES = {
    "pdf as latin-1": (_pdf_bytes().decode("latin-1"), "PDF"),
    "pdf as utf-8 with replacements": (_pdf_bytes().decode("utf-8", "replace"), "PDF"),
    "pdf body without its header": (_pdf_bytes()[80:].decode("latin-1"), "hexadecimal"),
    "hex dump": (" ".join(f"{b:02X}" for b in random.Random(2).randbytes(800)), "hexadecimal"),
    "random bytes": (bytes(random.Random(1).randbytes(3000)).decode("latin-1"), "binary"),
    "base64": (base64.b64encode(_pdf_bytes() * 3).decode(), "long runs"),
    "a table of numbers": ("\n".join(" ".join(str(i * j % 997) for j in range(10)) for i in range(20)), "not letters"),
    "digits only": ("12345 67890", "no words"),
    "spanish": (
        "Paciente de 64 años que acude a urgencias por dolor torácico de 2 horas de evolución. Refiere antecedentes "
        "de hipertensión arterial y diabetes mellitus tipo 2 en tratamiento con metformina. No presenta fiebre ni "
        "disnea. En la exploración física se encuentra consciente y orientado, con buen estado general.",
        "Spanish",
    ),
    "german": (
        "Der Patient wurde mit Brustschmerzen aufgenommen. Es besteht eine arterielle Hypertonie und ein Diabetes "
        "mellitus Typ 2. Bei der Untersuchung war der Patient wach und orientiert, die Lunge war frei und das Herz "
        "ohne Geräusche. Keine Ödeme der Beine. Die Therapie mit Metformin wird fortgesetzt und der Blutdruck "
        "wird im Verlauf kontrolliert, eine Echokardiographie ist geplant und wird bei Bedarf wiederholt.",
        "German",
    ),
}


@pytest.mark.parametrize("name", NOT_NOTES)
def test_text_that_is_not_a_note_is_refused_with_the_reason(name):
    text, reason = NOT_NOTES[name]
    with pytest.raises(NotClinicalTextError, match=reason):
        check_note_text(text)


@pytest.mark.parametrize("text", TERSE_US_NOTES)
def test_terse_us_notes_full_of_abbreviations_and_numbers_are_notes(text):
    check_note_text(text)


def test_a_note_with_a_stray_control_character_or_a_url_is_a_note():
    check_note_text("Hypertension.\x00 Seen in clinic; see https://example.org/a/very/long/path/to/a/patient/portal/page today.")


def test_the_pipeline_refuses_a_pdf_instead_of_coding_it(cm_analyzer):
    with pytest.raises(NotClinicalTextError, match="PDF"):
        cm_analyzer.analyze(NOT_NOTES["pdf as latin-1"][0])


@pytest.mark.slow
def test_no_codiesp_note_is_refused(codiesp_dir):
    notes = [note for split in ("train", "dev") for note in load_codiesp(codiesp_dir / split)]
    assert len(notes) == 750
    for note in notes:
        check_note_text(note.text)


# --- how the service and the CLI report it: as an empty note (422 with the message; exit 2, one line)


class CheckingSuggester(KeywordSuggester):
    """The service's keyword double, reading the note's text as the real pipeline does first."""

    def suggest(self, text, setting=None, top_k=30):
        check_note_text(text)
        return super().suggest(text, setting, top_k)


def test_the_service_answers_422_with_the_message_and_stores_nothing(tmp_path):
    with service(tmp_path, suggester=CheckingSuggester()) as (client, keys, _):
        h = auth(keys["coder"])
        r = client.post("/v1/notes", json={"text": NOT_NOTES["pdf as latin-1"][0]}, headers=h)
        assert r.status_code == 422, r.text
        error = r.json()["error"]
        assert error["status"] == 422 and "PDF" in error["message"]
        assert client.get("/v1/notes", headers=h).json()["total"] == 0
        assert client.post("/v1/notes", json={"text": TERSE_US_NOTES[2]}, headers=h).status_code == 201


def test_extract_exits_2_with_one_line(tmp_path, monkeypatch, cm_analyzer, cm_catalog):
    from typer.testing import CliRunner

    from codesuggest import config
    from codesuggest.cli import app
    from codesuggest.models import runtime as runtime_module

    monkeypatch.setenv("CODESUGGEST_DATA_DIR", str(tmp_path))
    monkeypatch.setattr(runtime_module, "shared_resources", lambda sources, cache_dir, approximate=False: (cm_catalog, cm_analyzer))
    config.get_settings.cache_clear()
    note = tmp_path / "scan.txt"
    note.write_text(NOT_NOTES["spanish"][0], encoding="utf-8")
    result = CliRunner().invoke(app, ["extract", str(note)])
    config.get_settings.cache_clear()
    assert result.exit_code == 2
    assert "Spanish" in result.stderr and len(result.stderr.strip().splitlines()) == 1 and "Traceback" not in result.output
