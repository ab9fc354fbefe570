"""The history, status, tobacco, drug, laterality, encounter and external-cause rules of the coding
layer, on hand-made notes: a NoteAnalysis with the mentions the pipeline would find, the ranked
CodeLines, and a small catalogue of the codes involved (fast, no model, no code files)."""

from __future__ import annotations

import re

import pytest

from codesuggest.codesets.catalog import CodeCatalog
from codesuggest.codesets.records import Code, CodeSystem
from codesuggest.guidelines import RULE_NAMES, apply_guidelines
from codesuggest.guidelines.engine import CodeLine, NoteCoding
from codesuggest.guidelines.history import history_code, history_codes_for
from codesuggest.guidelines.specificity import lateral_siblings
from codesuggest.guidelines.tables import (
    ADVERSE_EFFECTS, ALLERGY_CODES, DRUGS, EXTERNAL_CAUSES, HISTORY_CODES, INTEGRAL_SYMPTOMS, STATUS_CODES,
)
from codesuggest.pipeline.schema import Assertion, Candidate, Mention, NoteAnalysis

CODES = {
    "I21.9": "Acute myocardial infarction, unspecified", "I25.2": "Old myocardial infarction",
    "I10": "Essential (primary) hypertension", "C50.919": "Malignant neoplasm of unspecified site of unspecified female breast",
    "Z85.3": "Personal history of malignant neoplasm of breast", "Z85.9": "Personal history of malignant neoplasm, unspecified",
    "Z80.3": "Family history of malignant neoplasm of breast", "Z83.3": "Family history of diabetes mellitus",
    "M32.9": "Systemic lupus erythematosus, unspecified",
    "Z82.69": "Family history of other diseases of the musculoskeletal system and connective tissue",
    "E11.9": "Type 2 diabetes mellitus without complications", "J18.9": "Pneumonia, unspecified organism",
    "Z87.01": "Personal history of pneumonia (recurrent)", "R69": "Illness, unspecified",
    "Z95.5": "Presence of coronary angioplasty implant and graft", "Z95.1": "Presence of aortocoronary bypass graft",
    "Z95.0": "Presence of cardiac pacemaker", "Z90.49": "Acquired absence of other specified parts of digestive tract",
    "Z96.651": "Presence of right artificial knee joint", "Z96.652": "Presence of left artificial knee joint",
    "Z96.653": "Presence of artificial knee joint, bilateral", "Z96.659": "Presence of unspecified artificial knee joint",
    "Z89.511": "Acquired absence of right leg below knee", "Z89.512": "Acquired absence of left leg below knee",
    "Z89.519": "Acquired absence of unspecified leg below knee",
    "F17.200": "Nicotine dependence, unspecified, uncomplicated", "F17.210": "Nicotine dependence, cigarettes, uncomplicated",
    "F17.290": "Nicotine dependence, other tobacco product, uncomplicated", "Z72.0": "Tobacco use",
    "Z87.891": "Personal history of nicotine dependence", "F17.220": "Nicotine dependence, chewing tobacco, uncomplicated",
    "Z79.01": "Long term (current) use of anticoagulants", "Z79.02": "Long term (current) use of antithrombotics/antiplatelets",
    "Z79.82": "Long term (current) use of aspirin", "Z79.4": "Long term (current) use of insulin",
    "Z79.84": "Long term (current) use of oral hypoglycemic drugs", "Z79.52": "Long term (current) use of systemic steroids",
    "Z79.891": "Long term (current) use of opiate analgesic",
    "E10.9": "Type 1 diabetes mellitus without complications",
    "S72.009A": "Fracture of unspecified part of neck of unspecified femur, initial encounter for closed fracture",
    "S72.001A": "Fracture of unspecified part of neck of right femur, initial encounter for closed fracture",
    "S72.002A": "Fracture of unspecified part of neck of left femur, initial encounter for closed fracture",
    "S72.001D": "Fracture of unspecified part of neck of right femur, subsequent encounter for closed fracture with routine healing",
    "S72.001S": "Fracture of unspecified part of neck of right femur, sequela",
    "S72.001K": "Fracture of unspecified part of neck of right femur, subsequent encounter for closed fracture with nonunion",
    "S72.001B": "Fracture of unspecified part of neck of right femur, initial encounter for open fracture type I or II",
    "S72.001C": "Fracture of unspecified part of neck of right femur, initial encounter for open fracture type IIIA, IIIB, or IIIC",
    "S72.001E": "Fracture of unspecified part of neck of right femur, subsequent encounter for open fracture type I or II with routine healing",
    "H25.10": "Age-related nuclear cataract, unspecified eye", "H25.11": "Age-related nuclear cataract, right eye",
    "H25.12": "Age-related nuclear cataract, left eye", "H25.13": "Age-related nuclear cataract, bilateral",
    "M17.10": "Unilateral primary osteoarthritis, unspecified knee", "M17.11": "Unilateral primary osteoarthritis, right knee",
    "M17.12": "Unilateral primary osteoarthritis, left knee",
    "M25.569": "Pain in unspecified knee", "M25.561": "Pain in right knee", "M25.562": "Pain in left knee",
    "S61.419A": "Laceration without foreign body of unspecified hand, initial encounter",
    "S61.411A": "Laceration without foreign body of right hand, initial encounter",
    "S61.411D": "Laceration without foreign body of right hand, subsequent encounter",
    "W19.XXXA": "Unspecified fall, initial encounter", "W19.XXXD": "Unspecified fall, subsequent encounter",
    "W10.9XXA": "Fall (on) (from) unspecified stairs and steps, initial encounter",
    "Y93.67": "Activity, basketball", "Y93.55": "Activity, bike riding",
    "W10.9XXD": "Fall (on) (from) unspecified stairs and steps, subsequent encounter",
    "W01.0XXA": "Fall on same level from slipping, tripping and stumbling without subsequent striking against object, initial encounter",
    "W54.0XXA": "Bitten by dog, initial encounter", "V89.2XXA": "Person injured in unspecified motor-vehicle accident, traffic, initial encounter",
}
CODES.update({
    "K63.5": "Polyp of colon", "Z86.0100": "Personal history of colon polyps, unspecified", "C61": "Malignant neoplasm of prostate",
    "Z80.42": "Family history of malignant neoplasm of prostate", "Z85.46": "Personal history of malignant neoplasm of prostate",
    "Z98.61": "Coronary angioplasty status", "Z90.12": "Acquired absence of left breast and nipple",
    "Z79.1": "Long term (current) use of non-steroidal anti-inflammatories (NSAID)",
    "W11.XXXA": "Fall on and from ladder, initial encounter", "W26.0XXA": "Contact with knife, initial encounter",
    "W25.XXXA": "Contact with sharp glass, initial encounter",
})
PCS_CODES = {"02703DZ": "Dilation of Coronary Artery, One Artery with Intraluminal Device, Percutaneous Approach"}


@pytest.fixture(scope="module")
def catalog() -> CodeCatalog:
    codes = [Code(CodeSystem.ICD10CM, code, text) for code, text in CODES.items()]
    codes += [Code(CodeSystem.ICD10CM, "S72.001", "Fracture of unspecified part of neck of right femur", billable=False)]
    codes += [Code(CodeSystem.ICD10PCS, code, text) for code, text in PCS_CODES.items()]
    return CodeCatalog(codes, {})


def mention(text: str, phrase: str, code: str, *, nth: int = 0, section: str = "unknown", kind: str = "diagnosis",
            similarity: float = 1.0, **assertion: bool) -> Mention:
    """The mention of ``phrase`` (its ``nth`` occurrence) in ``text``, its sentence the line it stands on."""
    start = [m.start() for m in re.finditer(re.escape(phrase), text, re.I)][nth]
    end = start + len(phrase)
    phrase = text[start:end]
    s = text.rfind("\n", 0, start) + 1
    e = text.find("\n", end)
    system = "ICD10PCS" if kind == "procedure" else "ICD10CM"
    return Mention(phrase, start, end, kind, section, s, len(text) if e < 0 else e, Assertion(**assertion),
                   candidates=(Candidate(system, code, CODES.get(code, ""), similarity),))


def sections(text: str, *headers: tuple[str, str]) -> tuple[tuple[str, int, int], ...]:
    """(category, start, end) for each header given as (header text, category), each up to the next."""
    starts = sorted((text.index(header), category) for header, category in headers)
    ends = [s for s, _ in starts[1:]] + [len(text)]
    return tuple((category, s, e) for (s, category), e in zip(starts, ends))


def code(catalog, text, mentions, lines, *, setting="outpatient", sect=(), only=None) -> NoteCoding:
    """Run the rule table (``only``: these rules and nothing else) over the note."""
    analysis = NoteAnalysis(text, tuple(mentions), sect)
    disabled = [name for name in RULE_NAMES if only is not None and name not in only]
    return apply_guidelines(analysis, lines, catalog, setting, disabled=disabled)


def line(code: str, confidence: float, *indexes: int, system: str = "ICD10CM") -> CodeLine:
    return CodeLine(system, code, confidence, confidence, tuple(indexes))


def codes(note: NoteCoding) -> dict[str, CodeLine]:
    return {l.code: l for l in note.lines}


def notes_of(note: NoteCoding, code: str) -> str:
    return " | ".join(n.message for n in codes(note)[code].notes)


# -- the tables -----------------------------------------------------------------------------------


@pytest.mark.slow
def test_integral_symptom_rows_name_each_diagnosis_prefix_once():
    """A prefix repeated in a row (a column edited by appending) says nothing twice: the table stays one
    list per symptom."""
    repeated = {symptom: [p for p in diagnoses if diagnoses.count(p) > 1]
                for symptom, (_, diagnoses, _) in INTEGRAL_SYMPTOMS.items()}
    assert {s: r for s, r in repeated.items() if r} == {}
    assert all(section.startswith("I.") for _, _, section in INTEGRAL_SYMPTOMS.values())


def test_every_table_code_is_billable(cm_catalog):
    """Every code a table names exists and is billable in the loaded ICD-10-CM (with its side or 7th character)."""
    named = {c for _, personal, family, _ in HISTORY_CODES for c in (personal, family) if c}
    named |= {c for c, _ in DRUGS.values()}
    named |= {c[:-1] + "1" if c.endswith("#") else c for c, *_ in STATUS_CODES}
    named |= {c + "A" if len(c) == 7 else c for c, *_ in EXTERNAL_CAUSES}
    named |= {c for c, *_ in ALLERGY_CODES}
    named |= {stem + "A" for _, stem, _ in ADVERSE_EFFECTS} | {stem[:-1] + "1A" for _, stem, _ in ADVERSE_EFFECTS}  # poisonings
    missing = sorted(c for c in named if not (cm_catalog.get("ICD10CM", c) and cm_catalog.get("ICD10CM", c).billable))
    assert missing == []


def test_history_table_by_longest_prefix():
    assert history_codes_for("C50.912")[:2] == ("Z85.3", "Z80.3")
    assert history_codes_for("E78.01")[1] == "Z83.42" and history_codes_for("E78.5")[1] == "Z83.438"
    assert history_codes_for("I21.4")[0] == "I25.2"
    assert history_codes_for("R69") is None


def test_coarse_history_code_kept_for_the_ranker_features():
    from codesuggest.models import features

    assert features.history_code is history_code  # one copy
    assert history_code("C50.911", family=False) == "Z85.9" and history_code("D12.6", family=False) == "Z86.01"
    assert history_code("I63.9", family=True) == "Z82.3"


# -- 1. personal and family history ----------------------------------------------------------------

HISTORY_NOTE = ("PAST MEDICAL HISTORY: History of myocardial infarction in 2015. History of breast cancer. Hypertension.\n"
                "FAMILY HISTORY: Mother had breast cancer. Father had diabetes.\n"
                "ASSESSMENT: Hypertension, stable. Pneumonia in 2019, resolved.\n")


def _history_case(catalog):
    t = HISTORY_NOTE
    ms = [
        mention(t, "myocardial infarction", "I21.9", section="past_medical_history", historical=True),  # 0
        mention(t, "breast cancer", "C50.919", section="past_medical_history", historical=True),  # 1
        mention(t, "Hypertension", "I10", section="past_medical_history", historical=True),  # 2
        mention(t, "breast cancer", "C50.919", nth=1, section="family_history", family=True),  # 3
        mention(t, "diabetes", "E11.9", section="family_history", family=True),  # 4
        mention(t, "Hypertension", "I10", nth=1, section="assessment"),  # 5
        mention(t, "Pneumonia", "J18.9", section="assessment", historical=True),  # 6
    ]
    lines = [line("I10", 0.95, 2, 5), line("I21.9", 0.17, 0), line("C50.919", 0.2, 1, 3), line("Z85.9", 0.05, 1),
             line("E11.9", 0.3, 4), line("J18.9", 0.15, 6)]
    return code(catalog, t, ms, lines, only={"personal_history", "not_current"})


def test_past_conditions_become_history_codes(catalog):
    got = codes(_history_case(catalog))
    assert "I25.2" in got and "I21.9" not in got  # old MI, I.C.9.e.4
    assert "Z85.3" in got and "C50.919" not in got and "Z85.9" not in got  # by site, the coarse code leaves
    assert "Z87.01" in got and "J18.9" not in got
    assert "I10" in got  # chronic: still present
    assert got["I25.2"].confidence == pytest.approx(0.6)  # the condition is its mention's best candidate
    assert "I.C.9.e.4" in notes_of(_history_case(catalog), "I25.2")


def test_family_mentions_become_family_history_codes(catalog):
    got = codes(_history_case(catalog))
    assert "Z80.3" in got and got["Z80.3"].mention_indexes == (3,)  # the family mention only
    assert got["Z85.3"].mention_indexes == (1,)
    assert "Z83.3" in got and "E11.9" not in got  # diabetes is chronic, but the patient's father's


def test_a_relatives_lupus_is_a_family_history_code(catalog):
    """I.C.21.c.4: "her sister has SLE" is Z82.69, not the patient's M32.9."""
    t = "HPI: joint pain. Her sister has SLE.\n"
    ms = [mention(t, "SLE", "M32.9", section="family_history", family=True)]
    got = codes(code(catalog, t, ms, [line("M32.9", 0.5, 0)], only={"personal_history", "not_current"}))
    assert set(got) == {"Z82.69"}


def test_coarse_history_code_refined_by_the_condition_inside_its_evidence(catalog):
    t = "PAST MEDICAL HISTORY: History of left breast cancer.\n"
    ms = [mention(t, "History of left breast cancer", "Z85.9", historical=True),
          mention(t, "breast cancer", "C50.919", historical=True)]
    got = codes(code(catalog, t, ms, [line("Z85.9", 0.25, 0)], only={"personal_history", "not_current"}))
    assert list(got) == ["Z85.3"] and got["Z85.3"].confidence == pytest.approx(0.25)


def test_history_and_family_abbreviations_the_pipeline_missed(catalog):
    t = "64 yo M, hx of colon polyps removed 2022.\nA/P: FHx prostate Ca.\n"
    ms = [mention(t, "colon polyps", "K63.5"), mention(t, "prostate Ca", "C61")]
    got = codes(code(catalog, t, ms, [line("K63.5", 0.5, 0), line("C61", 0.5, 1)], only={"personal_history", "not_current"}))
    assert set(got) == {"Z86.0100", "Z80.42"}


def test_history_rule_off_leaves_past_conditions_to_not_current(catalog):
    t = HISTORY_NOTE
    ms = [mention(t, "myocardial infarction", "I21.9", section="past_medical_history", historical=True)]
    note = code(catalog, t, ms, [line("I21.9", 0.17, 0)], only={"not_current"})
    assert codes(note) == {}


def test_negated_or_current_condition_is_not_history(catalog):
    t = "History of pneumonia. Now with pneumonia of the right lower lobe.\n"
    ms = [mention(t, "pneumonia", "J18.9", historical=True), mention(t, "pneumonia", "J18.9", nth=1)]
    got = codes(code(catalog, t, ms, [line("J18.9", 0.8, 0, 1)], only={"personal_history", "not_current"}))
    assert "J18.9" in got and "Z87.01" not in got


# -- 2. status after a procedure -------------------------------------------------------------------


def test_status_codes_with_side_and_the_past_procedure_withdrawn(catalog):
    t = ("HISTORY OF PRESENT ILLNESS: 70-year-old man status post PCI with a stent to the LAD in 2018.\n"
         "PAST SURGICAL HISTORY: Right total knee replacement. Left BKA. Laparoscopic cholecystectomy.\n"
         "PLAN: Scheduled for CABG next month.\n")
    sect = sections(t, ("HISTORY OF PRESENT", "history_present_illness"), ("PAST SURGICAL", "past_surgical_history"),
                    ("PLAN:", "plan"))
    ms = [mention(t, "PCI", "02703DZ", kind="procedure", section="history_present_illness")]  # not flagged historical
    note = code(catalog, t, ms, [line("02703DZ", 0.5, 0, system="ICD10PCS")], sect=sect,
                only={"procedure_status", "not_current"})
    got = codes(note)
    assert {"Z95.5", "Z96.651", "Z89.512", "Z90.49"} <= set(got)
    assert "Z95.1" not in got  # planned, not done
    assert "02703DZ" not in got  # the past procedure is not coded for this encounter
    assert got["Z95.5"].confidence == pytest.approx(0.6)


def test_not_current_withdraws_a_past_procedure_flagged_historical(catalog):
    t = "PAST SURGICAL HISTORY: PCI 2018.\n"
    ms = [mention(t, "PCI", "02703DZ", kind="procedure", section="past_surgical_history", historical=True)]
    note = code(catalog, t, ms, [line("02703DZ", 0.5, 0, system="ICD10PCS")], only={"not_current"})
    assert codes(note) == {} and note.withdrawn[0][1].rule == "not_current"
    note = code(catalog, t, ms, [line("02703DZ", 0.5, 0, system="ICD10PCS")], sect=sections(t, ("PAST SURGICAL", "past_surgical_history")),
                only={"procedure_status", "not_current"})
    assert set(codes(note)) == {"Z95.5"}


def test_right_and_left_knee_replacements_are_the_bilateral_code(catalog):
    t = "PAST SURGICAL HISTORY: Right TKA 2010, left TKA 2014.\n"
    sect = sections(t, ("PAST SURGICAL", "past_surgical_history"))
    got = codes(code(catalog, t, [], [], sect=sect, only={"procedure_status"}))
    assert "Z96.653" in got and "Z96.651" not in got and "Z96.652" not in got


@pytest.mark.parametrize("said, expected", [
    ("s/p balloon angioplasty (PTCA) of the RCA in 2015, no stent placed.", {"Z98.61"}),
    ("s/p PTCA with stent to the RCA.", {"Z95.5"}), ("s/p left mastectomy 2019.", {"Z90.12"}),
    ("s/p partial mastectomy 2019.", set()),
    ("Presents for follow-up s/p PCI.", {"Z95.5"}), ("Admitted for elective CABG.", set()),
    ("Candidate for TKA.", set()), ("History of CABG x3.", {"Z95.1"}),
    ("CAD s/p DES to the LAD in 2019.", {"Z95.5"}), ("In utero DES exposure.", set()),
])
def test_status_wording(catalog, said, expected):
    t = f"HPI: {said}\n"
    assert set(codes(code(catalog, t, [], [], only={"procedure_status"}))) == expected


def test_device_present_only_is_less_sure_and_for_review(catalog):
    t = "ASSESSMENT: Syncope. She has a pacemaker.\nNo prior cholecystectomy.\n"
    got = codes(code(catalog, t, [], [], only={"procedure_status"}))
    assert got["Z95.0"].confidence < 0.6 and got["Z95.0"].needs_review
    assert "Z90.49" not in got


# -- 3. tobacco ------------------------------------------------------------------------------------


@pytest.mark.parametrize("said", ["Former smoker, quit 2005.", "Ex-smoker.", "Remote tobacco use.", "She quit smoking 10 years ago."])
def test_former_smoker_is_history_never_dependence(catalog, said):
    t = f"SOCIAL HISTORY: {said}\n"
    ms = [mention(t, said.split()[0], "F17.200", section="social_history", historical=True)]
    got = codes(code(catalog, t, ms, [line("F17.200", 0.7, 0), line("Z72.0", 0.3, 0)],
                     sect=sections(t, ("SOCIAL", "social_history")), only={"tobacco", "not_current"}))
    assert "Z87.891" in got and not any(c.startswith(("F17", "Z72")) for c in got)


@pytest.mark.parametrize("said, expected", [
    ("Smokes 1 pack per day.", "F17.210"), ("Current smoker.", "F17.200"), ("Smokes cigars.", "F17.290"),
    ("Chews tobacco daily.", "F17.220"),
    ("Vapes nicotine daily; uses electronic cigarettes.", "F17.290"),  # e-cigarettes are no cigarettes
])
def test_current_smoker_by_product(catalog, said, expected):
    t = f"SOCIAL HISTORY: {said} Denies alcohol.\n"
    note = code(catalog, t, [], [line("Z87.891", 0.4)], sect=sections(t, ("SOCIAL", "social_history")), only={"tobacco"})
    got = codes(note)
    assert expected in got and got[expected].confidence == pytest.approx(0.6)
    assert "Z87.891" not in got


def test_history_of_another_condition_does_not_make_a_former_smoker(catalog):
    t = "A 57-year-old man with a history of COPD, a 15 pack-year smoker and a moderate drinker.\n"
    got = codes(code(catalog, t, [], [line("Z87.891", 0.3)], only={"tobacco"}))
    assert "F17.210" in got and "Z87.891" not in got
    t = "Social history: smoker, quit in 2005.\n"
    assert set(codes(code(catalog, t, [], [], only={"tobacco"}))) == {"Z87.891"}


def test_current_smoker_replaces_the_unspecified_product(catalog):
    t = "SOCIAL HISTORY: Smokes cigarettes, half a pack a day.\n"
    ms = [mention(t, "Smokes", "F17.200", section="social_history")]
    got = codes(code(catalog, t, ms, [line("F17.200", 0.5, 0), line("F17.210", 0.01, 0)], only={"tobacco"}))
    assert list(got) == ["F17.210"] and got["F17.210"].confidence == pytest.approx(0.5)


def test_never_smoker_has_no_tobacco_code(catalog):
    t = "SOCIAL HISTORY: Never smoker. Drinks socially.\n"
    got = codes(code(catalog, t, [], [line("Z87.891", 0.3), line("F17.200", 0.3)], only={"tobacco"}))
    assert got == {}


# -- 4. long-term drug therapy ---------------------------------------------------------------------

MEDS_NOTE = ("MEDICATIONS: Eliquis 5 mg twice daily, metformin 1000 mg twice daily, Lantus 20 units nightly, "
             "prednisone 10 mg daily, oxycodone 5 mg every 6 hours as needed.\n"
             "ALLERGIES: Aspirin.\n"
             "ASSESSMENT: Type 2 diabetes. Plavix was stopped last year. Given aspirin 325 mg x1 in the ED.\n")


def _meds(catalog, text=MEDS_NOTE, lines=(), mentions=()):
    sect = sections(text, ("MEDICATIONS", "medications"), ("ALLERGIES", "allergies"), ("ASSESSMENT", "assessment"))
    return code(catalog, text, mentions, list(lines), sect=sect, only={"long_term_drugs"})


def test_drugs_from_the_medication_list(catalog):
    got = codes(_meds(catalog))
    assert {"Z79.01", "Z79.84", "Z79.4", "Z79.52"} <= set(got)  # type 2 on insulin and metformin: both (I.C.4.a.3)
    assert got["Z79.01"].confidence == pytest.approx(0.6) and not got["Z79.01"].needs_review
    assert got["Z79.891"].confidence < 0.6 and got["Z79.891"].needs_review  # as needed
    assert "Z79.82" not in got  # an allergy, and a single dose in the ED
    assert "Z79.02" not in got  # stopped


def test_no_insulin_code_in_type_1_diabetes(catalog):
    t = MEDS_NOTE.replace("Type 2 diabetes", "Type 1 diabetes")
    got = codes(_meds(catalog, t, [line("Z79.4", 0.5)]))
    assert "Z79.4" not in got and "Z79.84" in got


def test_insulin_dependent_is_not_type_1(catalog):
    t = MEDS_NOTE.replace("Type 2 diabetes", "Insulin-dependent diabetes mellitus (IDDM)")
    assert "Z79.4" in codes(_meds(catalog, t, [line("E10.9", 0.6)]))


def test_marijuana_smoker_is_not_tobacco(catalog):
    t = "Social history: regular marijuana smoker.\n"
    assert codes(code(catalog, t, [], [line("F17.200", 0.3)], only={"tobacco"})).keys() == {"F17.200"}  # left as ranked


def test_ranked_drug_code_on_another_class_or_an_allergy_leaves(catalog):
    t = MEDS_NOTE
    ms = [mention(t, "Aspirin", "Z79.82", section="allergies"), mention(t, "metformin", "Z79.84", section="medications")]
    got = codes(_meds(catalog, t, [line("Z79.82", 0.26, 0, 1), line("Z79.02", 0.1, 1)], ms))
    assert "Z79.82" not in got and "Z79.02" not in got


def test_ranked_insulin_code_on_a_sliding_scale_leaves(catalog):
    t = "HOSPITAL COURSE: Insulin sliding scale was used while inpatient. Continue apixaban.\n"
    ms = [mention(t, "Insulin", "Z79.4"), mention(t, "apixaban", "Z79.01")]
    got = codes(code(catalog, t, ms, [line("Z79.4", 0.85, 0), line("Z79.2", 0.3, 0), line("Z79.01", 0.2, 1)],
                     only={"long_term_drugs"}))
    assert "Z79.4" not in got and "Z79.2" not in got  # temporary insulin (I.C.4.a.3); insulin is no antibiotic
    assert got["Z79.01"].confidence == pytest.approx(0.4) and got["Z79.01"].needs_review  # outside the medication list


def test_classifier_drug_code_without_its_drug_leaves(catalog):
    t = "MEDICATIONS: insulin glargine 24 units qhs.\nA/P: OA knee - steroid injection today.\n"
    ms = [mention(t, "steroid", "Z79.52")]
    got = codes(_meds(catalog, t + "ALLERGIES: none.\nASSESSMENT: OA.\n", [line("Z79.1", 0.4), line("Z79.52", 0.5, 0)], ms))
    assert "Z79.1" not in got and "Z79.52" not in got and "Z79.4" in got


def test_short_courses_and_topical_forms_are_not_long_term(catalog):
    t = "MEDICATIONS: Prednisone taper over 5 days. Hydrocortisone cream twice daily. Insulin sliding scale.\n"
    got = codes(_meds(catalog, t.replace("MEDICATIONS", "MEDICATIONS") + "ALLERGIES: none.\nASSESSMENT: rash.\n"))
    assert not any(c.startswith("Z79") for c in got)


def test_a_drug_given_as_prophylaxis_in_the_stay_is_not_long_term(catalog):
    """I.C.21.c.3: "DVT ppx: enoxaparin" in a hospital plan is prophylaxis for the stay, not Z79.01."""
    head = "MEDICATIONS: none at home.\nALLERGIES: none.\nASSESSMENT:\n1. CAP, RLL - ceftriaxone.\n"
    assert "Z79.01" not in codes(_meds(catalog, head + "2. DVT ppx: enoxaparin 40 mg SQ daily.\n"))
    assert "Z79.01" in codes(_meds(catalog, head + "2. Left leg DVT: on enoxaparin 1 mg/kg SQ BID.\n"))


# -- 5. the 7th character from the encounter -------------------------------------------------------


@pytest.mark.parametrize("said, expected", [
    ("Presents to the emergency department after a fall. Fracture of the right femoral neck.", "S72.001A"),
    ("Here for a cast check. Fracture of the right femoral neck, healing well.", "S72.001D"),
    ("Returns for follow-up of fracture of the right femoral neck with nonunion on x-ray.", "S72.001K"),
    ("Gait disturbance as a late effect of fracture of the right femoral neck.", "S72.001S"),
])
def test_seventh_character_from_the_encounter(catalog, said, expected):
    t = said + "\nPLAN: Follow up in 2 weeks.\n"
    ms = [mention(t, "fracture of the right femoral neck", "S72.001A")]
    note = code(catalog, t, ms, [line("S72.001A", 0.7, 0)], sect=sections(t, ("PLAN", "plan")),
                only={"injury_encounter"})
    assert list(codes(note)) == [expected]


@pytest.mark.parametrize("said, ranked, expected", [
    ("Displaced fracture of the right femoral neck.", "S72.001B", "S72.001A"),  # not said open: closed (I.C.19.c.1)
    ("Open fracture of the right femoral neck.", "S72.001A", "S72.001B"),  # open, type not given: I or II
    ("Open fracture of the right femoral neck, Gustilo type IIIB.", "S72.001A", "S72.001C"),
    ("Fracture of the right femoral neck, open reduction and internal fixation.", "S72.001B", "S72.001A"),
])
def test_open_or_closed_fracture_from_the_words(catalog, said, ranked, expected):
    t = "Presents to the emergency department after a fall. " + said + "\n"
    ms = [mention(t, "racture of the right femoral neck", ranked)]
    note = code(catalog, t, ms, [line(ranked, 0.7, 0)], only={"injury_encounter"})
    assert list(codes(note)) == [expected]


def test_plan_follow_up_is_not_a_subsequent_encounter(catalog):
    t = "ED NOTE: laceration of the right hand.\nPLAN: Return for suture removal in 10 days. Follow-up visit for wound check.\n"
    ms = [mention(t, "laceration of the right hand", "S61.411A")]
    note = code(catalog, t, ms, [line("S61.411A", 0.7, 0)], sect=sections(t, ("PLAN", "plan")), only={"injury_encounter"})
    assert list(codes(note)) == ["S61.411A"]


def test_open_fracture_keeps_its_column(catalog):
    t = "Here for follow-up, routine healing of the open fracture of the right femoral neck.\n"
    ms = [mention(t, "open fracture of the right femoral neck", "S72.001B")]
    note = code(catalog, t, ms, [line("S72.001B", 0.7, 0)], only={"injury_encounter"})
    assert list(codes(note)) == ["S72.001E"]


# -- 6. external causes ----------------------------------------------------------------------------


@pytest.mark.parametrize("said, cause", [
    ("She fell down the stairs at home", "W10.9XXA"), ("He tripped on the curb", "W01.0XXA"),
    ("Bitten by the neighbor's dog", "W54.0XXA"), ("Restrained occupant in a motor vehicle collision", "V89.2XXA"),
    ("Found on the floor after a fall", "W19.XXXA"), ("He fell ~6 ft from a ladder", "W11.XXXA"),
    ("She cut her right hand with a kitchen knife", "W26.0XXA"),
    ("She cut the palmar side of her right hand with a kitchen knife", "W26.0XXA"), ("He cut his right hand on broken glass", "W25.XXXA"),
    ("Bitten on the right hand by neighbor's dog", "W54.0XXA"),
])
def test_external_cause_beside_a_current_injury(catalog, said, cause):
    t = f"HPI: {said}. Laceration of the right hand.\n"
    ms = [mention(t, "Laceration of the right hand", "S61.411A")]
    note = code(catalog, t, ms, [line("S61.411A", 0.8, 0)], only={"external_cause", "principal_diagnosis"})
    got = codes(note)
    assert cause in got and got[cause].confidence == pytest.approx(0.8)  # as sure as the injury
    assert got["S61.411A"].principal and not got[cause].principal  # never first-listed


def test_external_cause_takes_the_injury_encounter_and_replaces_an_unspecified_fall(catalog):
    t = "Here for suture removal. Laceration of the right hand after she fell down the stairs.\n"
    ms = [mention(t, "Laceration of the right hand", "S61.411A"), mention(t, "fell", "W19.XXXA")]
    note = code(catalog, t, ms, [line("S61.411A", 0.8, 0), line("W19.XXXA", 0.4, 1)],
                only={"injury_encounter", "external_cause"})
    assert set(codes(note)) == {"S61.411D", "W10.9XXD"}


@pytest.mark.parametrize("said, injury, expected", [
    ("He fell playing basketball at the gym", "S61.411A", {"S61.411A", "W19.XXXA", "Y93.67"}),
    ("She fell off her bike", "S61.411A", {"S61.411A", "W19.XXXA", "Y93.55"}),
    ("He fell playing basketball last month", "S61.411D", {"S61.411D", "W19.XXXD"}),  # initial encounter only
])
def test_the_activity_at_the_injury_once_at_the_initial_encounter(catalog, said, injury, expected):
    """I.C.20.c: an activity code (Y93.-) beside the external cause, at the initial encounter only."""
    t = f"HPI: {said}. Laceration of the right hand.\n"
    ms = [mention(t, "Laceration of the right hand", injury)]
    assert set(codes(code(catalog, t, ms, [line(injury, 0.8, 0)], only={"external_cause"}))) == expected


def test_no_external_cause_without_a_current_injury_or_for_fall_risk(catalog):
    t = "Fall precautions. No falls. Laceration of the right hand.\n"
    ms = [mention(t, "Laceration of the right hand", "S61.411A")]
    assert set(codes(code(catalog, t, ms, [line("S61.411A", 0.8, 0)], only={"external_cause"}))) == {"S61.411A"}
    t = "She fell down the stairs. No injury found.\n"
    assert codes(code(catalog, t, [], [line("R69", 0.5)], only={"external_cause"})) .keys() == {"R69"}


# -- 7. laterality ---------------------------------------------------------------------------------


def test_lateral_siblings_from_the_catalogue(catalog):
    assert lateral_siblings(catalog, "S72.009A", "right") == ["S72.001A"]
    assert lateral_siblings(catalog, "H25.10", "bilateral") == ["H25.13"]
    assert lateral_siblings(catalog, "M25.569", "bilateral") == ["M25.561", "M25.562"]  # no bilateral code: each side
    assert lateral_siblings(catalog, "M17.10", "bilateral") == []  # "unilateral": the bilateral code is another subcategory
    assert lateral_siblings(catalog, "I10", "left") == []


@pytest.mark.parametrize("said, expected", [
    ("Subcapital fracture of the right femoral neck.", {"S72.001A"}),
    ("Left femoral neck fracture.", {"S72.002A"}),
    ("Femoral neck fracture.", {"S72.009A"}),  # no side in the note: unspecified stays (I.B.13)
])
def test_laterality_from_the_evidence(catalog, said, expected):
    t = f"IMAGING: {said}\n"
    phrase = "femoral neck"
    ms = [mention(t, phrase, "S72.009A")]
    assert set(codes(code(catalog, t, ms, [line("S72.009A", 0.5, 0)], only={"laterality"}))) == expected


def test_bilateral_without_a_bilateral_code_codes_each_side(catalog):
    t = "ASSESSMENT: Pain in both knees.\n"
    ms = [mention(t, "Pain in both knees", "M25.569")]
    got = codes(code(catalog, t, ms, [line("M25.569", 0.5, 0)], only={"laterality"}))
    assert set(got) == {"M25.561", "M25.562"} and got["M25.562"].confidence == pytest.approx(0.5)


@pytest.mark.slow
def test_lateral_siblings_in_the_full_classification(cm_catalog):
    assert lateral_siblings(cm_catalog, "S72.009A", "left") == ["S72.002A"]
    assert lateral_siblings(cm_catalog, "S72.019A", "right") == ["S72.011A"]  # subcapital
    assert lateral_siblings(cm_catalog, "H25.10", "bilateral") == ["H25.13"]
    assert lateral_siblings(cm_catalog, "M25.539", "bilateral") == ["M25.531", "M25.532"]
    assert lateral_siblings(cm_catalog, "S61.419A", "right") == ["S61.411A"]
    assert lateral_siblings(cm_catalog, "M17.10", "bilateral") == []


def test_rules_are_in_the_table_in_order():
    order = list(RULE_NAMES)
    assert order.index("personal_history") < order.index("not_current")
    assert order.index("procedure_status") < order.index("not_current")
    assert order.index("tobacco") < order.index("not_current")
    assert order.index("laterality") < order.index("hypertension")
    assert order.index("injury_encounter") < order.index("external_cause") < order.index("principal_diagnosis")


def test_a_symptom_given_two_rows_in_the_integral_table_is_refused(monkeypatch):
    """A second row for one symptom prefix would silently replace the first (the hernias' K56.6 row once did)."""
    from codesuggest.guidelines import tables
    rows = [["K56.6", "obstruction", "K56.5"], ["K56.6", "obstruction", "K40.3"]]
    monkeypatch.setattr(tables, "_rows", lambda name: rows)
    with pytest.raises(ValueError, match="K56.6 has two rows"):
        tables._integral_symptoms()


def test_a_row_under_an_earlier_rows_prefix_is_refused(monkeypatch):
    """The lookup takes the first row whose prefix fits: a G47.00 row after G47.0 would never be read."""
    from codesuggest.guidelines import tables
    rows = [["G47.0", "insomnia", "F32"], ["G47.00", "insomnia", "F51.05"]]
    monkeypatch.setattr(tables, "_rows", lambda name: rows)
    with pytest.raises(ValueError, match="G47.00 comes after G47.0"):
        tables._integral_symptoms()


@pytest.mark.parametrize("meds", ["amlodipine, losartan, furosemide. No anticoagulants.",
                                  "remote PE, completed 6 mo apixaban; losartan."])
def test_a_drug_class_denied_or_a_course_completed_is_not_long_term(catalog, meds):
    """I.C.21.c.3: "No anticoagulants" and "completed 6 mo apixaban" are no current anticoagulation (Z79.01)."""
    text = f"MEDICATIONS: {meds}\nALLERGIES: none.\nASSESSMENT: CHF.\n"
    assert "Z79.01" not in codes(_meds(catalog, text))
