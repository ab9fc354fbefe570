"""codesuggest_sections: header detection, section_of, robustness."""

import time

import pytest
import spacy

from codesuggest.pipeline.sections import SECTION_CATEGORIES, section_of, sections_of


@pytest.fixture(scope="module")
def nlp():
    nlp = spacy.blank("en")
    nlp.add_pipe("sentencizer")
    nlp.add_pipe("codesuggest_sections")
    return nlp


def section_at(doc, word: str, occurrence: int = 0) -> str:
    tokens = [token for token in doc if token.text == word]
    return section_of(tokens[occurrence])


US_NOTE = """CHIEF COMPLAINT: chest pain
HISTORY OF PRESENT ILLNESS
67 yo man with a history of angina.
PAST MEDICAL HISTORY:
1. Hypertension
PAST SURGICAL HISTORY: appendectomy
FAMILY HISTORY: Mother with breast cancer.
SOCIAL HISTORY: quit smoking.
MEDICATIONS: lisinopril
ALLERGIES: penicillin
REVIEW OF SYSTEMS: negative for fever.
PHYSICAL EXAM: lungs clear.
LABS: troponin negative.
IMAGING: chest x-ray clear.
HOSPITAL COURSE: uneventful.
ASSESSMENT AND PLAN:
Unstable angina.
DISCHARGE DIAGNOSES: angina
"""


@pytest.mark.parametrize(
    "word, expected",
    [
        ("pain", "chief_complaint"),
        ("angina", "history_present_illness"),
        ("Hypertension", "past_medical_history"),
        ("appendectomy", "past_surgical_history"),
        ("cancer", "family_history"),
        ("smoking", "social_history"),
        ("lisinopril", "medications"),
        ("penicillin", "allergies"),
        ("fever", "review_of_systems"),
        ("lungs", "physical_exam"),
        ("troponin", "labs"),
        ("x", "imaging"),
        ("uneventful", "hospital_course"),
        ("Unstable", "assessment_plan"),
    ],
)
def test_headers_on_their_own_line_or_with_colon(nlp, word, expected):
    assert section_at(nlp(US_NOTE), word) == expected


def test_an_ed_dispo_line_is_the_plan(nlp):
    """"Dispo: suture removal in 10 days" plans a later visit; it does not make this visit a follow-up (I.C.19.a)."""
    doc = nlp("Impression: Laceration of the right index finger.\nDispo: suture removal in 10 days.")
    assert section_at(doc, "suture") == "plan"


def test_last_section_runs_to_the_end(nlp):
    doc = nlp(US_NOTE)
    assert section_at(doc, "angina", 2) == "discharge_diagnoses"
    assert sections_of(doc)[-1][2] == len(US_NOTE.rstrip("\n")) or sections_of(doc)[-1][2] == len(US_NOTE)


def test_flattened_soap_note_inline_and_comma_separated(nlp):
    doc = nlp("SUBJECTIVE: cough for 3 days, OBJECTIVE: lungs clear, ASSESSMENT: bronchitis, PLAN: rest and fluids.")
    assert [category for category, _, _ in sections_of(doc)] == ["subjective", "objective", "assessment", "plan"]
    assert section_at(doc, "cough") == "subjective"
    assert section_at(doc, "bronchitis") == "assessment"
    assert section_at(doc, "fluids") == "plan"


def test_soap_letters_need_a_line_start_or_a_separator(nlp):
    doc = nlp("S: cough. O: afebrile. A: URI. P: fluids. Vitamin A: normal level.")
    assert section_at(doc, "URI") == "assessment"
    assert section_at(doc, "fluids") == "plan"
    assert section_at(doc, "normal") == "plan"  # "Vitamin A:" is not a header


@pytest.mark.parametrize("header", ["A/P:", "Assessment and Plan:", "ASSESSMENT/PLAN:", "Impression and plan:"])
def test_assessment_and_plan_variants(nlp, header):
    doc = nlp(f"FAMILY HISTORY: CAD in father.\n{header} CAD, continue aspirin.")
    assert section_at(doc, "CAD", 1) == "assessment_plan"
    assert section_at(doc, "CAD", 0) == "family_history"


def test_operative_report_headers(nlp):
    doc = nlp(
        "PREOPERATIVE DIAGNOSIS: Appendicitis.\nPOSTOPERATIVE DIAGNOSIS: Perforated appendicitis.\n"
        "PROCEDURE PERFORMED: Laparoscopic appendectomy.\nINDICATIONS: abdominal pain.\nFINDINGS: perforation."
    )
    assert section_at(doc, "Appendicitis") == "preoperative_diagnosis"
    assert section_at(doc, "Perforated") == "postoperative_diagnosis"
    assert section_at(doc, "Laparoscopic") == "procedures"
    assert section_at(doc, "abdominal") == "indications"
    assert section_at(doc, "perforation") == "findings"


def test_ambiguous_short_headers_need_the_start_of_a_line(nlp):
    doc = nlp("Exam: afebrile.\nHe was treated for PE: on heparin. The history: unclear.")
    assert section_at(doc, "afebrile") == "physical_exam"
    assert section_at(doc, "heparin") == "physical_exam"  # "PE:" mid-line is not a new section
    assert section_at(doc, "unclear") == "physical_exam"


def test_words_in_running_text_are_not_headers(nlp):
    doc = nlp("The plan is to discuss the family history of cancer and the assessment of pain.")
    assert {category for category, _, _ in sections_of(doc)} == {"unknown"}
    assert section_at(doc, "cancer") == "unknown"


def test_case_report_without_headers_is_one_neutral_section(nlp):
    text = (
        "We describe the case of a 37-year-old man with a history of brucellosis who complained of fever. "
        "Physical examination revealed an enlarged right testicle. The patient was treated with doxycycline."
    )
    doc = nlp(text)
    assert sections_of(doc) == (("unknown", 0, len(text)),)
    assert all(section_of(token) == "unknown" for token in doc)


def test_section_of_span_and_empty_span(nlp):
    doc = nlp("PLAN: start metformin.")
    assert section_of(doc[2:4]) == "plan"
    assert section_of(doc[2:2]) == "unknown"


def test_categories_are_normalised_names():
    assert {"history_present_illness", "past_medical_history", "family_history", "assessment_plan"} <= set(SECTION_CATEGORIES)
    assert all(category == category.lower() and " " not in category for category in SECTION_CATEGORIES)


def test_empty_doc(nlp):
    doc = nlp("")
    assert sections_of(doc) == ()


def _seconds(fn, *args):
    started = time.perf_counter()
    result = fn(*args)
    return time.perf_counter() - started, result


def test_huge_note_takes_linear_time(nlp):
    """A 2,000,000-character note against one ten times smaller, timed in the same run: linear time is ~10x,
    a quadratic step 100x. (An absolute bound flakes on a loaded machine.)"""
    block = "HPI: Patient with cough and fever. PMH: hypertension.\nASSESSMENT AND PLAN:\nPneumonia, start antibiotics.\n"
    text = block * (2_000_000 // len(block))
    nlp.max_length = len(text) + 1
    component = nlp.get_pipe("codesuggest_sections")
    small, _ = _seconds(component, nlp.make_doc(text[: len(text) // 10]))
    large, doc = _seconds(component, nlp.make_doc(text))
    assert large < 40 * small, (small, large)
    assert section_of(doc[-3]) == "assessment_plan"


def test_speed_of_a_400_word_note(nlp):
    sentence = "The patient has diabetes and hypertension and presents with chest pain today . "
    text = "HPI:\n" + sentence * 15 + "\nPMH: CHF\nASSESSMENT AND PLAN:\n" + sentence * 15
    component = nlp.get_pipe("codesuggest_sections")
    tokenizing, docs = _seconds(lambda: [nlp.make_doc(text) for _ in range(50)])
    sectioning, _ = _seconds(lambda: [component(doc) for doc in docs])
    # relative to tokenizing the same notes in the same run (0.3-0.4x here), not a wall-clock bound
    assert sectioning < 5 * tokenizing, (tokenizing, sectioning)


def test_a_ct_of_the_abdomen_and_pelvis_is_no_assessment(nlp):
    """"CT A/P:" names the study; its incidental kidney cyst is a finding, not a diagnosis of the assessment (III.B)."""
    doc = nlp("HPI: back pain.\nCT A/P: incidental simple cyst of the left kidney.\nA/P: L3 vertebral osteomyelitis.")
    assert section_at(doc, "cyst") != "assessment_plan"
    assert section_at(doc, "osteomyelitis") == "assessment_plan"


@pytest.mark.parametrize("header, word, expected", [
    ("Family:", "Hashimoto", "family_history"), ("Social:", "smokes", "social_history"), ("Final dx:", "VAP", "discharge_diagnoses"),
])
def test_short_headers_at_the_start_of_a_line(nlp, header, word, expected):
    doc = nlp(f"HPI: palpitations.\n{header} mother w/ Hashimoto thyroiditis; smokes; VAP.")
    assert section_at(doc, word) == expected
