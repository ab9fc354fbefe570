"""The coding layer's rules (codesuggest.guidelines), each on a small hand-made note: the mentions the
pipeline would find and the codes a ranker would rank, so each test names exactly what a rule sees."""

from __future__ import annotations

from dataclasses import replace

import pytest

from codesuggest.guidelines import RULE_NAMES, CodeLine, apply_guidelines, as_a_coder_reads, infer_setting
from codesuggest.pipeline.schema import Assertion, Candidate, Mention, NoteAnalysis

CM = "ICD10CM"


def note(text: str, *mentions: tuple) -> NoteAnalysis:
    """``mentions``: (words, code, assertion flags dict, section); the words must be in ``text``."""
    out = []
    for words, code, flags, section in mentions:
        start = text.index(words)
        line_start = text.rfind("\n", 0, start) + 1
        line_end = text.find("\n", start)
        out.append(Mention(
            text=words, start=start, end=start + len(words), kind="diagnosis", section=section,
            sentence_start=line_start, sentence_end=len(text) if line_end < 0 else line_end,
            assertion=Assertion(**flags), candidates=(Candidate(CM, code, "", 1.0, words.lower()),),
        ))
    return NoteAnalysis(text=text, mentions=tuple(out))


def m(words: str, code: str, section: str = "assessment", **flags: bool) -> tuple:
    return words, code, flags, section


def lines(*codes: tuple[str, float, tuple[int, ...]]) -> list[CodeLine]:
    return [CodeLine(CM, code, score, score, indexes) for code, score, indexes in codes]


def code(analysis, ranked, catalog, setting="outpatient", **kw):
    return apply_guidelines(analysis, ranked, catalog, setting, **kw)


def codes_of(coded) -> list[str]:
    return [line.code for line in coded.lines]


def notes_of(coded, code_: str) -> list[str]:
    return [n.section for line in coded.lines if line.code == code_ for n in line.notes]


def test_hypertension_with_ckd_is_i12_and_keeps_the_stage(cm_catalog):
    a = note("A/P: Hypertension. CKD stage 3a.", m("Hypertension", "I10"), m("CKD stage 3a", "N18.9"))
    coded = code(a, lines(("I10", 0.9, (0,)), ("N18.9", 0.8, (1,))), cm_catalog)
    assert codes_of(coded)[:2] == ["I12.9", "N18.31"] and "I10" not in codes_of(coded)
    i12 = coded.lines[0]
    assert i12.confidence == pytest.approx(0.8) and i12.score == 0.9  # as sure as its least sure part
    assert any("I.C.9.a.2" in n.message and "replaces I10" in n.message for n in i12.notes)


def test_hypertension_heart_failure_and_esrd_is_i13_2(cm_catalog):
    a = note("Dx: hypertension; chronic diastolic heart failure; ESRD on dialysis.",
             m("hypertension", "I10"), m("chronic diastolic heart failure", "I50.32"), m("ESRD", "N18.6"))
    coded = code(a, lines(("I10", 0.9, (0,)), ("I50.32", 0.9, (1,)), ("N18.6", 0.9, (2,))), cm_catalog, "inpatient")
    assert {"I13.2", "I50.32", "N18.6"} <= set(codes_of(coded)) and "I10" not in codes_of(coded)


def test_conditions_the_note_calls_unrelated_are_not_combined(cm_catalog):
    a = note("Hypertension.\nCKD stage 2, unrelated to hypertension, due to reflux nephropathy.",
             m("Hypertension", "I10"), m("CKD stage 2", "N18.2"))
    assert codes_of(code(a, lines(("I10", 0.9, (0,)), ("N18.2", 0.8, (1,))), cm_catalog)) == ["I10", "N18.2"]


def test_diabetes_with_ckd_and_neuropathy(cm_catalog):
    a = note("PMH: type 2 diabetes. CKD stage 2. Peripheral neuropathy.",
             m("type 2 diabetes", "E11.9"), m("CKD stage 2", "N18.2"), m("Peripheral neuropathy", "G62.9"))
    coded = code(a, lines(("E11.9", 0.95, (0,)), ("N18.2", 0.9, (1,)), ("G62.9", 0.8, (2,))), cm_catalog)
    got = codes_of(coded)
    assert {"E11.22", "E11.42", "N18.2"} <= set(got)
    assert "E11.9" not in got and "G62.9" not in got  # E11.42 names the neuropathy; N18.2 stays for the stage
    rule_notes = [n for line in coded.lines for n in line.notes if n.rule == "diabetes"]
    assert rule_notes and all("I.A.15" in n.section for n in rule_notes)


def test_the_type_of_diabetes_is_the_one_the_note_names_else_type_2(cm_catalog):
    typed = note("Type 2 diabetes, diet controlled.", m("Type 2 diabetes", "E13.9"))
    assert codes_of(code(typed, lines(("E13.9", 0.8, (0,))), cm_catalog)) == ["E11.9"]
    untyped = note("Diabetes mellitus on metformin.", m("Diabetes mellitus", "E10.9"))
    coded = code(untyped, lines(("E10.9", 0.8, (0,))), cm_catalog)
    e11 = [line for line in coded.lines if line.code.startswith(("E10", "E11"))]
    assert [line.code for line in e11] == ["E11.9"] and any("I.C.4.a.2" in n.message for n in e11[0].notes)


def test_copd_with_pneumonia_and_exacerbation(cm_catalog):
    a = note("COPD with acute exacerbation.\nLeft lower lobe pneumonia.", m("COPD", "J44.9"), m("pneumonia", "J18.9"))
    got = codes_of(code(a, lines(("J44.9", 0.9, (0,)), ("J18.9", 0.9, (1,))), cm_catalog, "inpatient"))
    assert {"J44.0", "J44.1", "J18.9"} <= set(got) and "J44.9" not in got


def test_stable_copd_without_exacerbations_stays_j44_9(cm_catalog):
    a = note("COPD, stable, no exacerbations in the past year.", m("COPD", "J44.9"))
    assert codes_of(code(a, lines(("J44.9", 0.9, (0,))), cm_catalog)) == ["J44.9"]


def test_asthma_in_exacerbation_takes_the_exacerbation_code(cm_catalog):
    a = note("Moderate persistent asthma with acute exacerbation.", m("Moderate persistent asthma", "J45.40"))
    assert codes_of(code(a, lines(("J45.40", 0.9, (0,))), cm_catalog, "emergency")) == ["J45.41"]


@pytest.mark.parametrize("words, expected", [
    ("Acute calculous cholecystitis", "K80.00"),
    ("acute on chronic calculous cholecystitis", "K80.12"),
    ("Calculous cholecystitis", "K80.10"),  # the index's default: chronic
])
def test_gallstones_with_cholecystitis_are_one_code(cm_catalog, words, expected):
    a = note(f"US: gallstones.\nA/P: {words}.", m("gallstones", "K80.20", "imaging"), m(words, "K81.0"))
    coded = code(a, lines(("K80.20", 0.8, (0,)), ("K81.0", 0.6, (1,))), cm_catalog, "inpatient")
    assert codes_of(coded) == [expected]
    assert set(coded.lines[0].mention_indexes) == {0, 1}  # the cholecystitis mention is evidence too


def test_gallstones_alone_stay_without_cholecystitis(cm_catalog):
    a = note("Incidental cholelithiasis, asymptomatic.", m("cholelithiasis", "K80.20"))
    assert codes_of(code(a, lines(("K80.20", 0.8, (0,)), ("K80.10", 0.3, (0,))), cm_catalog)) == ["K80.20"]


def test_heart_failure_type_and_acuity_from_the_words(cm_catalog):
    a = note("Acute on chronic systolic heart failure (HFrEF).", m("heart failure", "I50.9"))
    assert codes_of(code(a, lines(("I50.9", 0.9, (0,))), cm_catalog, "inpatient")) == ["I50.23"]


def test_one_ckd_code_at_the_stage_the_note_gives(cm_catalog):
    a = note("Chronic kidney disease stage 4.", m("Chronic kidney disease", "N18.9"))
    coded = code(a, lines(("N18.9", 0.9, (0,)), ("N18.2", 0.3, (0,))), cm_catalog)
    assert codes_of(coded) == ["N18.4"]


def test_the_ckd_stage_said_now_before_the_one_of_the_history(cm_catalog):
    """I.C.14.a: after a kidney transplant "for ESRD", the CKD the assessment stages is the one coded."""
    text = "HPI: s/p kidney transplant in 2019 for ESRD.\nA/P: CKD stage 3a."
    a = note(text, m("ESRD", "N18.6", "history_present_illness", historical=True), m("CKD stage 3a", "N18.31"))
    coded = code(a, lines(("N18.6", 0.8, (0,)), ("N18.31", 0.8, (1,))), cm_catalog)
    assert [c for c in codes_of(coded) if c.startswith("N18")] == ["N18.31"]


def test_a_status_code_leaves_beside_the_complication_of_its_device(cm_catalog):
    """I.C.21.c.3: T84.53XA (infection of the right knee prosthesis) includes Z96.651; the left knee's status stays."""
    text = "A/P: Periprosthetic joint infection of the right total knee arthroplasty."
    a = note(text, m("Periprosthetic joint infection", "T84.53XA"), m("right total knee arthroplasty", "Z96.651"))
    coded = code(a, lines(("T84.53XA", 0.8, (0,)), ("Z96.651", 0.8, (1,))), cm_catalog, "inpatient")
    assert codes_of(coded) == ["T84.53XA"]
    text = "A/P: Infection of the right knee prosthesis. Status post left knee replacement."
    a = note(text, m("Infection of the right knee prosthesis", "T84.53XA"), m("left knee replacement", "Z96.652"))
    coded = code(a, lines(("T84.53XA", 0.8, (0,)), ("Z96.652", 0.8, (1,))), cm_catalog, "inpatient")
    assert sorted(codes_of(coded)) == ["T84.53XA", "Z96.652"]


@pytest.mark.parametrize("text, expected", [
    ("Post-op visit 9 days after appendectomy.\nA/P: Superficial incisional surgical site infection. Start cephalexin.", "T81.41XA"),
    ("Follow-up visit for the surgical site infection, healing well on cephalexin.\nA/P: Surgical site infection.", "T81.41XD"),
])
def test_a_complication_found_at_a_post_operative_visit_is_its_initial_encounter(cm_catalog, text, expected):
    """I.C.19.a: 7th character A while the complication is actively treated, though the surgery is followed up."""
    words = "Superficial incisional surgical site infection" if "Superficial" in text else "Surgical site infection"
    coded = code(note(text, m(words, "T81.41XA")), lines(("T81.41XA", 0.8, (0,))), cm_catalog)
    assert [c for c in codes_of(coded) if c.startswith("T")] == [expected]


@pytest.mark.parametrize("text, expected", [
    ("HPI: ran out of insulin glargine 5 days ago, could not afford the refill.\nA/P: Type 2 diabetes with hyperglycemia.",
     ["E11.65", "T38.3X6A", "Z91.120"]),
    ("HPI: forgot to take his insulin for 3 days.\nA/P: Type 2 diabetes with hyperglycemia.", ["E11.65", "T38.3X6A", "Z91.138"]),
    ("HPI: takes insulin as prescribed, denies missed doses.\nA/P: Type 2 diabetes with hyperglycemia.", ["E11.65"]),
])
def test_underdosing_codes_the_drug_and_its_reason_after_the_condition(cm_catalog, text, expected):
    """I.C.19.e.5.c: the condition first, the underdosing code (6th character 6), the reason Z91.12- / Z91.13-."""
    a = note(text, m("Type 2 diabetes with hyperglycemia", "E11.65"))
    coded = code(a, lines(("E11.65", 0.8, (0,))), cm_catalog)
    assert [c for c in codes_of(coded) if not c.startswith("Z79")] == expected and coded.lines[0].code == "E11.65"


def test_symptoms_integral_to_a_confirmed_diagnosis_are_dropped(cm_catalog):
    a = note("HPI: fever and cough.\nA/P: Community-acquired pneumonia. Also a rash on the arm.",
             m("fever", "R50.9", "history_present_illness"), m("cough", "R05.9", "history_present_illness"),
             m("pneumonia", "J18.9"), m("rash", "R21"))
    coded = code(a, lines(("R50.9", 0.9, (0,)), ("R05.9", 0.9, (1,)), ("J18.9", 0.8, (2,)), ("R21", 0.6, (3,))), cm_catalog)
    assert codes_of(coded) == ["J18.9", "R21"]  # the rash is not part of pneumonia (I.B.6)
    assert sum("I.B.5" in n.message for n in coded.lines[0].notes) == 2


def test_uncertain_diagnosis_outpatient_codes_the_symptom(cm_catalog):
    a = note("Cough and fever. Possible pneumonia.", m("Cough", "R05.9"), m("fever", "R50.9"),
             m("pneumonia", "J18.9", possible=True))
    ranked = lines(("J18.9", 0.5, (2,)), ("R05.9", 0.8, (0,)), ("R50.9", 0.8, (1,)))
    assert codes_of(code(a, ranked, cm_catalog, "emergency")) == ["R05.9", "R50.9"]


def test_uncertain_diagnosis_inpatient_is_coded_as_established(cm_catalog):
    a = note("Discharge diagnosis: probable pneumonia. Fever.", m("pneumonia", "J18.9", "discharge_diagnoses", possible=True),
             m("Fever", "R50.9"))
    coded = code(a, lines(("J18.9", 0.7, (0,)), ("R50.9", 0.8, (1,))), cm_catalog, "inpatient")
    assert codes_of(coded) == ["J18.9"]
    assert coded.lines[0].needs_review and coded.lines[0].principal


def test_what_the_note_does_not_state_as_current_is_not_coded(cm_catalog):
    a = note("PMH: hypertension, MI 2015.\nDenies chest pain. Mother with breast cancer.",
             m("hypertension", "I10", "past_medical_history", historical=True),
             m("MI", "I21.9", "past_medical_history", historical=True), m("chest pain", "R07.9", negated=True),
             m("breast cancer", "C50.919", "family_history", family=True))
    ranked = lines(("I10", 0.5, (0,)), ("I21.9", 0.5, (1,)), ("R07.9", 0.4, (2,)), ("C50.919", 0.4, (3,)))
    coded = code(a, ranked, cm_catalog)
    assert "I10" in codes_of(coded)  # chronic, so still current (Section IV.J)
    assert not {"I21.9", "R07.9", "C50.919"} & set(codes_of(coded))


def test_a_diagnosis_no_words_support_is_not_coded(cm_catalog):
    a = note("Pneumonia.", m("Pneumonia", "J18.9"))
    assert codes_of(code(a, lines(("J18.9", 0.8, (0,)), ("A41.9", 0.7, ())), cm_catalog)) == ["J18.9"]


def test_sepsis_by_organism_septic_shock_and_first(cm_catalog):
    a = note("Septic shock due to E. coli urinary tract infection. Hypotension, shock.",
             m("Septic shock", "A41.9"), m("E. coli", "B96.20"), m("urinary tract infection", "N39.0"), m("shock", "R57.9"))
    ranked = lines(("N39.0", 0.9, (2,)), ("A41.9", 0.8, (0,)), ("B96.20", 0.8, (1,)), ("R57.9", 0.6, (3,)))
    coded = code(a, ranked, cm_catalog, "inpatient")
    got = codes_of(coded)
    assert got[0] == "A41.51" and coded.lines[0].principal  # sepsis before the localized infection (I.C.1.d.4)
    assert "R65.21" in got and "R57.9" not in got and "A41.9" not in got


def test_an_unspecified_code_gives_way_to_a_specific_sibling_and_other_to_unspecified(cm_catalog):
    a = note("Paroxysmal atrial fibrillation.", m("atrial fibrillation", "I48.91"))
    assert codes_of(code(a, lines(("I48.91", 0.8, (0,)), ("I48.0", 0.6, (0,))), cm_catalog)) == ["I48.0"]
    b = note("Hyperlipidemia.", m("Hyperlipidemia", "E78.5"))
    assert codes_of(code(b, lines(("E78.5", 0.8, (0,)), ("E78.49", 0.9, (0,))), cm_catalog)) == ["E78.5"]  # NOS, not "other"


def test_principal_diagnosis_is_the_first_reason_for_the_encounter(cm_catalog):
    a = note("CC: cough.\nDischarge diagnoses: COPD exacerbation; hypertension.",
             m("hypertension", "I10", "discharge_diagnoses"), m("COPD exacerbation", "J44.1", "discharge_diagnoses"))
    coded = code(a, lines(("I10", 0.95, (0,)), ("J44.1", 0.8, (1,))), cm_catalog, "inpatient")
    assert codes_of(coded) == ["J44.1", "I10"] and coded.lines[0].principal and not coded.lines[1].principal


def test_rules_can_be_switched_off_by_name_and_unknown_names_are_refused(cm_catalog):
    a = note("Fever. Pneumonia.", m("Fever", "R50.9"), m("Pneumonia", "J18.9"))
    ranked = lambda: lines(("R50.9", 0.9, (0,)), ("J18.9", 0.8, (1,)))  # noqa: E731
    assert "R50.9" not in codes_of(code(a, ranked(), cm_catalog))
    assert "R50.9" in codes_of(code(a, ranked(), cm_catalog, disabled={"integral_symptoms"}))
    assert "integral_symptoms" in RULE_NAMES
    with pytest.raises(ValueError, match="unknown guideline rule"):
        code(a, ranked(), cm_catalog, disabled={"no_such_rule"})


def test_the_setting_is_inferred_from_the_note():
    assert infer_setting("DISCHARGE SUMMARY\nHospital course: ...") == "inpatient"
    assert infer_setting("ED note. Chief complaint: cough.") == "outpatient"


def test_the_ranker_sees_the_note_as_a_coder_reads_it():
    a = note("PMH: hypertension, MI.\nProbable pneumonia.",
             m("hypertension", "I10", "past_medical_history", historical=True),
             m("MI", "I21.9", "past_medical_history", historical=True), m("pneumonia", "J18.9", possible=True))
    inpatient = as_a_coder_reads(a, "inpatient")
    assert [x.assertion.historical for x in inpatient.mentions] == [False, True, False]  # chronic HTN is current
    assert [x.assertion.possible for x in inpatient.mentions] == [False, False, False]  # II.H
    assert as_a_coder_reads(a, "outpatient").mentions[2].assertion.possible  # IV.H


def test_the_cli_lists_the_rules_and_which_are_off(monkeypatch):
    from typer.testing import CliRunner

    from codesuggest import config
    from codesuggest.cli import app

    monkeypatch.setenv("CODESUGGEST_GUIDELINES_OFF", "sepsis")
    config.get_settings.cache_clear()
    try:
        result = CliRunner().invoke(app, ["guidelines"])
    finally:
        config.get_settings.cache_clear()
    assert result.exit_code == 0
    rows = {line.split()[1]: line.split()[0] for line in result.stdout.splitlines()}
    assert set(rows) == set(RULE_NAMES) and rows["sepsis"] == "off" and rows["hypertension"] == "on"


def test_a_model_refuses_an_unknown_rule_name():
    from codesuggest.models.suggester import ModelSuggester

    with pytest.raises(ValueError, match="unknown guideline rule"):
        ModelSuggester(object(), object(), "v", guidelines_off={"sepsiss"})


def test_coronary_disease_with_unstable_angina_is_one_code(cm_catalog):
    a = note("CAD with unstable angina.", m("CAD", "I25.10"), m("unstable angina", "I20.0"))
    coded = code(a, lines(("I25.10", 0.9, (0,)), ("I20.0", 0.7, (1,))), cm_catalog, "inpatient")
    assert codes_of(coded) == ["I25.110"] and set(coded.lines[0].mention_indexes) == {0, 1}


def test_a_bleeding_duodenal_ulcer_is_ulcer_with_hemorrhage(cm_catalog):
    a = note("Melena. EGD: duodenal ulcer with a visible vessel.", m("Melena", "K92.1"), m("duodenal ulcer", "K26.9"))
    assert codes_of(code(a, lines(("K92.1", 0.9, (0,)), ("K26.9", 0.8, (1,))), cm_catalog, "inpatient")) == ["K26.4"]


def test_kidney_and_ureter_stones_are_n20_2(cm_catalog):
    a = note("CT: left renal stone and left ureteral stone.", m("renal stone", "N20.0"), m("ureteral stone", "N20.1"))
    assert codes_of(code(a, lines(("N20.0", 0.9, (0,)), ("N20.1", 0.8, (1,))), cm_catalog, "emergency")) == ["N20.2"]


def test_an_unspecified_code_gives_way_to_its_own_mentions_specific_candidate(cm_catalog):
    words = "Paroxysmal atrial fibrillation"
    mention = Mention(
        text=words, start=0, end=len(words), kind="diagnosis", section="assessment", sentence_start=0,
        sentence_end=len(words), candidates=(
            Candidate(CM, "I48.91", "", 0.9, "atrial fibrillation"), Candidate(CM, "I48.0", "", 1.0, words.lower()),
        ),
    )
    a = NoteAnalysis(text=words, mentions=(mention,))
    coded = code(a, lines(("I48.91", 0.8, (0,))), cm_catalog)
    assert codes_of(coded) == ["I48.0"] and coded.lines[0].confidence == pytest.approx(0.8)


def test_one_code_per_condition_when_two_codes_of_a_category_share_their_words(cm_catalog):
    a = note("Left ankle sprain.\nRight wrist pain.", m("Left ankle sprain", "S93.402A"), m("Right wrist pain", "M25.531"))
    ranked = lines(("S93.402A", 0.9, (0,)), ("S93.412A", 0.6, (0,)), ("M25.531", 0.5, (1,)), ("M25.532", 0.3, (1,)))
    coded = code(a, ranked, cm_catalog, "emergency")
    # the note names no ligament: its own words' code stays, not a sibling naming one it does not say
    assert codes_of(coded) == ["S93.402A", "M25.531"]
    assert any("S93.412A not coded" in n.message and "I.B.12" in n.message for n in coded.lines[0].notes)


def test_two_codes_whose_details_the_same_words_both_say_are_both_coded(cm_catalog):
    """"Acute on chronic hypoxic and hypercapnic respiratory failure" names both J96.21 (with hypoxia)
    and J96.22 (with hypercapnia): two details, both said, are no two readings of one condition."""
    text = "Discharge diagnoses: Acute on chronic hypoxic and hypercapnic respiratory failure."
    a = note(text, m("Acute on chronic hypoxic and hypercapnic respiratory failure", "J96.22"))
    coded = code(a, lines(("J96.22", 0.8, (0,)), ("J96.21", 0.5, (0,))), cm_catalog, "inpatient")
    assert sorted(codes_of(coded)) == ["J96.21", "J96.22"]
    one = note("Discharge diagnoses: Acute on chronic hypercapnic respiratory failure.",
               m("Acute on chronic hypercapnic respiratory failure", "J96.22"))
    assert codes_of(code(one, lines(("J96.22", 0.8, (0,)), ("J96.21", 0.5, (0,))), cm_catalog, "inpatient")) == ["J96.22"]
    # "diverticulitis" says no "diverticulosis" though both start alike: K57.91 leaves
    div = note("Final diagnosis: acute sigmoid diverticulitis.", m("diverticulitis", "K57.92"))
    assert codes_of(code(div, lines(("K57.92", 0.8, (0,)), ("K57.91", 0.4, (0,))), cm_catalog, "inpatient")) == ["K57.92"]


def test_dependence_in_remission_is_not_also_uncomplicated(cm_catalog):
    """I.C.5.b.1: "in sustained remission" documented is F11.21, not F11.21 beside F11.20."""
    text = "PMH: opioid use disorder, severe.\nA/P: Opioid dependence, in sustained remission, on buprenorphine."
    a = note(text, m("opioid use disorder, severe", "F11.20", "past_medical_history"),
             m("Opioid dependence, in sustained remission", "F11.21"))
    coded = code(a, lines(("F11.20", 0.88, (0, 1)), ("F11.21", 0.85, (0, 1))), cm_catalog)
    assert codes_of(coded) == ["F11.21"]
    active = note("A/P: Opioid dependence, on buprenorphine.", m("Opioid dependence", "F11.20"))
    assert codes_of(code(active, lines(("F11.20", 0.88, (0,)), ("F11.21", 0.5, (0,))), cm_catalog)) == ["F11.20"]


def test_a_specific_sibling_the_note_names_wins_over_the_unspecified_code(cm_catalog):
    text = "Sprain of the calcaneofibular ligament, left ankle."
    a = note(text, m("Sprain of the calcaneofibular ligament, left ankle", "S93.402A"))
    coded = code(a, lines(("S93.402A", 0.9, (0,)), ("S93.412A", 0.6, (0,))), cm_catalog, "emergency")
    assert codes_of(coded) == ["S93.412A"]


def test_a_diagnosis_questioned_then_ruled_out_is_not_coded_inpatient(cm_catalog):
    a = note("Admitted to rule out sepsis.\nSepsis ruled out. Pneumonia.", m("sepsis", "A41.9", possible=True),
             m("Sepsis", "A41.9", negated=True), m("Pneumonia", "J18.9"))
    assert codes_of(code(a, lines(("A41.9", 0.8, (0, 1)), ("J18.9", 0.7, (2,))), cm_catalog, "inpatient")) == ["J18.9"]
    seen = as_a_coder_reads(a, "inpatient")
    assert seen.mentions[0].assertion.possible  # not established for the ranker either


def test_the_site_the_sentence_names_replaces_an_unspecified_site(cm_catalog):
    a = note("Cellulitis of the left lower leg, spreading.", m("Cellulitis", "L03.90"))
    coded = code(a, lines(("L03.90", 0.7, (0,))), cm_catalog, "emergency")
    assert codes_of(coded) == ["L03.116"] and any("I.B.2" in n.message for n in coded.lines[0].notes)
    vague = note("Cellulitis, spreading.", m("Cellulitis", "L03.90"))
    assert codes_of(code(vague, lines(("L03.90", 0.7, (0,))), cm_catalog, "emergency")) == ["L03.90"]


def test_an_uncertain_reading_of_an_image_is_not_coded_inpatient(cm_catalog):
    text = "CXR: possible RML opacity vs atelectasis.\nDischarge diagnosis: Probable community-acquired pneumonia"
    a = note(text, m("atelectasis", "J98.11", section="imaging", possible=True),
             m("pneumonia", "J18.9", section="discharge_diagnoses", possible=True))
    coded = code(a, lines(("J98.11", 0.85, (0,)), ("J18.9", 0.8, (1,))), cm_catalog, "inpatient")
    assert codes_of(coded) == ["J18.9"]
    assert any("III.B" in n.message for _, n in coded.withdrawn)
    seen = as_a_coder_reads(a, "inpatient")
    assert seen.mentions[0].assertion.possible and not seen.mentions[1].assertion.possible


def test_an_unspecified_code_leaves_beside_the_specific_code_of_its_chapter_on_the_same_words(cm_catalog):
    text = "Discharge diagnoses: 1. Acute blood loss anemia  2. Severe sepsis with acute kidney injury"
    a = note(text, m("Acute blood loss anemia", "D62"), m("Severe sepsis with acute kidney injury", "R65.20"))
    ranked = lines(("D62", 0.8, (0,)), ("D64.9", 0.7, (0,)), ("R65.20", 0.8, (1,)), ("N17.9", 0.7, (1,)))
    coded = code(a, ranked, cm_catalog, "inpatient")
    assert sorted(codes_of(coded)) == ["D62", "N17.9", "R65.20"]  # N17.9 names another condition: it stays
    assert any("D64.9 not coded" in n.message for n in coded.get("D62").notes)


def test_acute_kidney_injury_on_ckd_codes_both(cm_catalog):
    """AKI on CKD: the acute and the chronic condition are two codes (I.B.8, I.C.14), though their
    titles share "kidney" and the CKD code says more; found with a model that ranked N18.31 above N17.9."""
    text = "Discharge diagnoses: 1. Acute kidney injury on CKD 3a, prerenal"
    a = note(text, m("Acute kidney injury on CKD 3a", "N17.9", "discharge_diagnoses"),
             m("CKD 3a", "N18.31", "discharge_diagnoses"))
    coded = code(a, lines(("N18.31", 0.9, (0, 1)), ("N17.9", 0.6, (0,))), cm_catalog, "inpatient")
    assert sorted(codes_of(coded)) == ["N17.9", "N18.31"]


def test_a_stated_specific_code_the_ranker_doubts_still_replaces_the_unspecified_one(cm_catalog):
    """"Osteoarthritis of the right knee" in the impression: M17.11, not M19.90 (unspecified site), even
    when the ranker is surer of M19.90 and gives M17.11 less than the rules' floor (I.B.2, I.B.18)."""
    text = "Impression: Osteoarthritis of the right knee. PT referral."
    a = note(text, m("Osteoarthritis of the right knee", "M19.90", "impression"))
    coded = code(a, lines(("M19.90", 0.66, (0,)), ("M17.11", 0.14, (0,))), cm_catalog)
    assert codes_of(coded) == ["M17.11"]
    assert any("M19.90 not coded" in n.message for n in coded.get("M17.11").notes)


def test_diabetic_nephropathy_with_ckd_is_one_kidney_disease(cm_catalog):
    text = "A/P: DM2 with diabetic nephropathy / CKD 3a"
    a = note(text, m("DM2 with diabetic nephropathy", "E11.21"), m("CKD 3a", "N18.31"))
    coded = code(a, lines(("E11.21", 0.9, (0,)), ("N18.31", 0.8, (1,))), cm_catalog)
    assert sorted(codes_of(coded)) == ["E11.22", "N18.31"]


def test_hip_pain_is_part_of_the_hip_injury(cm_catalog):
    text = "CC: L hip pain after fall\nImpression: Contusion of left hip, initial encounter"
    a = note(text, m("hip pain", "M25.552", section="chief_complaint"), m("Contusion of left hip", "S70.02XA"))
    coded = code(a, lines(("M25.552", 0.7, (0,)), ("S70.02XA", 0.8, (1,))), cm_catalog, "emergency")
    assert "M25.552" not in codes_of(coded) and "S70.02XA" in codes_of(coded)
    assert any("I.B.5" in n.message for _, n in coded.withdrawn)


def test_deficits_of_a_past_stroke_are_coded_as_its_sequelae(cm_catalog):
    text = "HPI: L-sided hemiparesis since a R MCA ischemic stroke 8 months ago.\nA/P: Left hemiparesis as late effect of cerebral infarction"
    a = note(text, m("hemiparesis", "G81.94", section="history_present_illness"), m("ischemic stroke", "I63.9", section="history_present_illness"),
             m("Left hemiparesis", "G81.94"), m("cerebral infarction", "I63.9"))
    coded = code(a, lines(("G81.94", 0.85, (0, 2)), ("I63.9", 0.85, (1, 3)), ("Z86.73", 0.4, (1,))), cm_catalog)
    assert codes_of(coded) == ["I69.354"]
    assert {"I.C.9.d"} <= set(notes_of(coded, "I69.354"))


def test_deficits_of_this_encounters_stroke_stay_as_they_are(cm_catalog):
    text = "Reason for admission: acute L hemiparesis\nDischarge diagnoses: 1. Acute ischemic stroke, R MCA territory"
    a = note(text, m("hemiparesis", "G81.90", section="chief_complaint"), m("ischemic stroke", "I63.9", section="discharge_diagnoses"))
    coded = code(a, lines(("I63.9", 0.85, (1,)), ("G81.90", 0.8, (0,))), cm_catalog, "inpatient")
    assert sorted(codes_of(coded)) == ["G81.94", "I63.511"]  # the side (I.C.6.a) and the artery (I.B.2)


def test_hemiplegia_of_a_left_handed_patient_is_dominant_on_the_left(cm_catalog):
    text = "A/P: 70 yo left-handed M with L hemiparesis"
    a = note(text, m("hemiparesis", "G81.90"))
    assert codes_of(code(a, lines(("G81.90", 0.8, (0,))), cm_catalog)) == ["G81.92"]


def test_copd_codes_the_note_does_not_support_leave(cm_catalog):
    a = note("A/P: COPD without exacerbation - continue tiotropium", m("COPD without exacerbation", "J44.9"))
    coded = code(a, lines(("J44.9", 0.85, (0,)), ("J44.0", 0.35, (0,)), ("J44.1", 0.3, (0,))), cm_catalog)
    assert codes_of(coded) == ["J44.9"]


def test_a_deficit_beside_the_rankers_own_sequela_code_leaves(cm_catalog):
    text = "A/P: Aphasia as a sequela of prior cerebral infarction - continue SLP"
    a = note(text, m("Aphasia", "R47.01"), m("Aphasia as a sequela of prior cerebral infarction", "I69.320"))
    coded = code(a, lines(("I69.320", 0.8, (1,)), ("R47.01", 0.7, (0,))), cm_catalog)
    assert codes_of(coded) == ["I69.320"]


def test_an_uncertain_diagnosis_outside_the_discharge_diagnoses_is_not_coded(cm_catalog):
    text = "CT: incidental possible renal cyst.\nDischarge diagnosis: Acute cystitis"
    a = note(text, m("renal cyst", "N28.1", section="unknown", possible=True),
             m("Acute cystitis", "N30.00", section="discharge_diagnoses"))
    a = NoteAnalysis(text=a.text, mentions=a.mentions, sections=(("discharge_diagnoses", text.index("Discharge"), len(text)),))
    coded = code(a, lines(("N28.1", 0.85, (0,)), ("N30.00", 0.8, (1,))), cm_catalog, "inpatient")
    assert codes_of(coded) == ["N30.00"]


def test_hypertensive_heart_disease_is_listed_before_the_heart_failure_it_names(cm_catalog):
    text = "Discharge diagnoses: 1. Acute on chronic systolic heart failure  2. Hypertension"
    a = note(text, m("Acute on chronic systolic heart failure", "I50.23", section="discharge_diagnoses"),
             m("Hypertension", "I10", section="discharge_diagnoses"))
    coded = code(a, lines(("I50.23", 0.9, (0,)), ("I10", 0.9, (1,))), cm_catalog, "inpatient")
    assert codes_of(coded)[:2] == ["I11.0", "I50.23"] and coded.lines[0].principal


@pytest.mark.parametrize("value, expected", [(18.4, "Z68.1"), (32.4, "Z68.32"), (39.99, "Z68.39"), (41.0, "Z68.41"), (72, "Z68.45")])
def test_a_bmi_value_has_its_code(value, expected):
    from codesuggest.guidelines.body_mass import bmi_code

    assert bmi_code(value) == expected


def test_the_bmi_goes_with_a_documented_obesity_only(cm_catalog):
    text = "Objective: BMI 32.4.\nA/P: Obesity - counseled"
    coded = code(note(text, m("Obesity", "E66.9")), lines(("E66.9", 0.8, (0,))), cm_catalog)
    assert codes_of(coded) == ["E66.9", "Z68.32"]
    plain = note("Objective: BMI 32.4.\nA/P: Hypertension", m("Hypertension", "I10"))
    assert codes_of(code(plain, lines(("I10", 0.8, (0,))), cm_catalog)) == ["I10"]
    teen = note("16 yo F. BMI 32.4.\nA/P: Obesity", m("Obesity", "E66.9"))
    assert codes_of(code(teen, lines(("E66.9", 0.8, (0,))), cm_catalog)) == ["E66.9"]


def test_alzheimer_dementia_is_the_disease_then_the_dementia(cm_catalog):
    a = note("PMH: Alzheimer dementia, hypertension", m("Alzheimer dementia", "F03.90", section="past_medical_history"))
    coded = code(a, lines(("F03.90", 0.8, (0,))), cm_catalog, "emergency")
    assert codes_of(coded)[0] == "G30.9" and "F02.80" in codes_of(coded) and "F03.90" not in codes_of(coded)


def test_a_test_result_the_diagnoses_leave_out_is_not_coded(cm_catalog):
    text = "CXR: cardiomegaly, small effusions.\nDischarge diagnoses: Acute on chronic systolic heart failure"
    a = note(text, m("cardiomegaly", "I51.7", section="imaging"),
             m("Acute on chronic systolic heart failure", "I50.23", section="discharge_diagnoses"))
    a = NoteAnalysis(text=a.text, mentions=a.mentions, sections=(("imaging", 0, 34), ("discharge_diagnoses", 35, len(text))))
    assert codes_of(code(a, lines(("I51.7", 0.7, (0,)), ("I50.23", 0.9, (1,))), cm_catalog, "inpatient")) == ["I50.23"]
    report = NoteAnalysis(text=a.text, mentions=a.mentions[:1], sections=(("imaging", 0, 34),))
    assert codes_of(code(report, lines(("I51.7", 0.7, (0,))), cm_catalog, "outpatient")) == ["I51.7"]


@pytest.mark.parametrize("text, words, ranked, expected", [
    ("Discharge diagnosis: Hyponatremia due to hydrochlorothiazide", "Hyponatremia", "E87.1", ["E87.1", "T50.2X5A"]),
    ("Impression: lisinopril-induced angioedema", "angioedema", "T78.3XXA", ["T78.3XXA", "T46.4X5A"]),
    ("A/P: Hypertension on lisinopril, controlled", "Hypertension", "I10", ["I10"]),
    # the drug named inside the condition's own words (D64.81 has no "use additional code" note)
    ("A/P: Anemia due to antineoplastic chemotherapy", "Anemia due to antineoplastic chemotherapy", "D64.81",
     ["D64.81", "T45.1X5A"]),
    ("Discharge diagnosis: Immune-mediated heparin-induced thrombocytopenia",
     "Immune-mediated heparin-induced thrombocytopenia", "D75.822", ["D75.822", "T45.515A"]),
    # an unspecified effect takes its category's "due to drugs" code
    ("Impression: Hypotension due to amlodipine (adverse effect).", "Hypotension", "I95.9", ["I95.2", "T46.1X5A"]),
    ("A/P: Cushing syndrome due to long-term prednisone (iatrogenic).", "Cushing syndrome", "E24.9", ["E24.2", "T38.0X5A", "Z79.52"]),
    # a poisoning (I.C.19.e.5.b), not an adverse effect: the poisoning first, then its manifestation
    ("Impression: Hyponatremia after an intentional overdose of hydrochlorothiazide", "Hyponatremia", "E87.1",
     ["T50.2X2A", "E87.1"]),
    # the drug after the condition; a class ("NSAID") is the one drug of it the note names (naproxen: T39.31-)
    ("A/P: Acute duodenal ulcer with hemorrhage, NSAID-induced - hold naproxen", "Acute duodenal ulcer with hemorrhage",
     "K26.0", ["K26.0", "T39.315A"]),
    ("A/P: Gastric ulcer due to NSAID use.", "Gastric ulcer", "K25.9", ["K25.9", "T39.395A"]),
])
def test_the_adverse_effect_of_a_drug_taken_as_prescribed(cm_catalog, text, words, ranked, expected):
    coded = code(note(text, m(words, ranked)), lines((ranked, 0.8, (0,))), cm_catalog, "inpatient")
    assert codes_of(coded) == expected and coded.lines[0].principal


def test_an_uncomplicated_code_gives_way_to_its_categorys_combination_code(cm_catalog):
    """F10.20 'alcohol dependence, uncomplicated' beside F10.230 '... with withdrawal' (I.B.9)."""
    text = "Alcohol dependence with withdrawal, uncomplicated."
    a = note(text, m("Alcohol dependence with withdrawal, uncomplicated", "F10.230"))
    coded = code(a, lines(("F10.20", 0.88, (0,)), ("F10.230", 0.6, (0,))), cm_catalog, "inpatient")
    assert codes_of(coded) == ["F10.230"]


def test_sciatica_with_low_back_pain_is_lumbago_with_sciatica_on_its_side(cm_catalog):
    text = "CC: low back pain.\nA/P: Sciatica, right side."
    a = note(text, m("low back pain", "M54.50"), m("Sciatica, right side", "M54.31"))
    coded = code(a, lines(("M54.50", 0.85, (0,)), ("M54.31", 0.7, (1,))), cm_catalog, "outpatient")
    assert codes_of(coded) == ["M54.41"]


def test_a_general_examination_with_abnormal_findings_is_z00_01(cm_catalog):
    text = "Annual physical.\nA/P: Routine adult health examination with abnormal findings. Elevated blood pressure reading."
    a = note(text, m("Elevated blood pressure reading", "R03.0"))
    coded = code(a, lines(("R03.0", 0.8, (0,))), cm_catalog, "outpatient")
    assert "Z00.01" in codes_of(coded) and "Z00.00" not in codes_of(coded)


def test_a_stone_with_the_hydronephrosis_the_provider_states_is_n13_2(cm_catalog):
    text = "Impression: Left ureteral calculus with hydronephrosis."
    a = note(text, m("Left ureteral calculus", "N20.1", "impression"), m("hydronephrosis", "N13.30", "impression"))
    coded = code(a, lines(("N20.1", 0.8, (0,)), ("N13.30", 0.6, (1,))), cm_catalog, "emergency")
    assert codes_of(coded) == ["N13.2"]


def test_hydronephrosis_only_in_an_imaging_result_leaves_the_stone_alone(cm_catalog):
    text = "CT: 5 mm ureteral stone with mild hydronephrosis.\nImpression: Left ureteral calculus."
    a = note(text, m("Left ureteral calculus", "N20.1", "impression"), m("hydronephrosis", "N13.30", "imaging"))
    coded = code(a, lines(("N20.1", 0.8, (0,)), ("N13.30", 0.6, (1,))), cm_catalog, "emergency")
    assert "N13.2" not in codes_of(coded) and "N20.1" in codes_of(coded)


def test_septic_shock_the_note_does_not_document_is_not_coded(cm_catalog):
    text = "Discharge diagnoses: Sepsis due to pneumonia (severe sepsis, no shock)."
    a = note(text, m("Sepsis", "A41.9", "discharge_diagnoses"), m("pneumonia", "J18.9", "discharge_diagnoses"))
    coded = code(a, lines(("A41.9", 0.8, (0,)), ("R65.21", 0.9, (0,)), ("J18.9", 0.8, (1,))), cm_catalog, "inpatient")
    assert "R65.21" not in codes_of(coded) and "R65.20" in codes_of(coded)


def test_unspecified_sepsis_gives_way_to_the_organisms_sepsis_code(cm_catalog):
    """A41.9 is for sepsis whose organism is not specified (I.C.1.d.1.a): beside the surer A40.3 it is not
    coded, and A40.3 takes its evidence."""
    text = "Severe sepsis without septic shock due to pneumococcal pneumonia. Blood cultures: Streptococcus pneumoniae."
    a = note(text, m("Severe sepsis", "A41.9"), m("Streptococcus pneumoniae", "A40.3"), m("pneumococcal pneumonia", "J13"))
    coded = code(a, lines(("A40.3", 0.8, (1,)), ("A41.9", 0.6, (0,)), ("J13", 0.7, (2,))), cm_catalog, "inpatient")
    got = codes_of(coded)
    assert "A40.3" in got and "A41.9" not in got and "R65.20" in got and "R65.21" not in got
    sepsis = next(line for line in coded.lines if line.code == "A40.3")
    assert 0 in sepsis.mention_indexes
    # without an organism's code, the unspecified one stays
    b = note("Sepsis, source unclear.", m("Sepsis", "A41.9"))
    assert codes_of(code(b, lines(("A41.9", 0.8, (0,))), cm_catalog, "inpatient")) == ["A41.9"]


def test_a_listed_allergy_is_its_status_code_and_its_reaction_is_not_coded(cm_catalog):
    """I.C.21.c.3: "Allergies: penicillin (hives)" is Z88.0; the hives happened once (no L50.9)."""
    text = "Allergies: penicillin (hives), sulfa\nA/P: Community-acquired pneumonia."
    a = note(text, m("hives", "L50.9", "allergies"), m("pneumonia", "J18.9"))
    a = replace(a, sections=(("allergies", 0, text.index("\n")), ("assessment_plan", text.index("\n") + 1, len(text))))
    coded = code(a, lines(("J18.9", 0.8, (1,)), ("L50.9", 0.7, (0,))), cm_catalog, "inpatient")
    assert sorted(codes_of(coded)) == ["J18.9", "Z88.0", "Z88.2"]
    nkda = "Allergies: NKDA, no latex allergy\nA/P: Community-acquired pneumonia."
    b = replace(note(nkda, m("pneumonia", "J18.9")), sections=(("allergies", 0, nkda.index("\n")),))
    assert codes_of(code(b, lines(("J18.9", 0.8, (0,))), cm_catalog, "inpatient")) == ["J18.9"]


@pytest.mark.parametrize("said, code_", [
    ("Alzheimer's dementia, moderate, with agitation", "F02.B11"),
    ("Alzheimer's dementia, mild, without agitation", "F02.A0"),
    ("Alzheimer's dementia with hallucinations", "F02.82"),
])
def test_dementia_at_the_severity_and_behaviour_the_note_says(cm_catalog, said, code_):
    """I.C.5.d: the 4th character by severity (unspecified when not said), the 5th-6th by behaviour."""
    a = note(f"A/P: {said}.", m(said, "F03.90"))
    assert code_ in codes_of(code(a, lines(("F03.90", 0.8, (0,))), cm_catalog))


def test_hypotension_is_integral_to_septic_shock(cm_catalog):
    """I.C.1.d.2, I.B.5: septic shock (R65.21) is sepsis with hypotension; I95.9 is not coded beside it."""
    text = "Discharge diagnoses: Septic shock due to E. coli sepsis with hypotension."
    a = note(text, m("Septic shock", "R65.21", "discharge_diagnosis"), m("E. coli sepsis", "A41.51", "discharge_diagnosis"),
             m("hypotension", "I95.9", "discharge_diagnosis"))
    coded = code(a, lines(("A41.51", 0.9, (1,)), ("R65.21", 0.8, (0,)), ("I95.9", 0.7, (2,))), cm_catalog, "inpatient")
    assert "I95.9" not in codes_of(coded) and {"A41.51", "R65.21"} <= set(codes_of(coded))


@pytest.mark.parametrize("said, code_", [
    ("Accidental acetaminophen overdose, not intending self-harm.", "T39.1X1A"),
    ("Intentional overdose of acetaminophen, a suicide attempt.", "T39.1X2A"),
    ("Took an overdose of oxycodone.", "T40.2X1A"),  # no intent said: accidental (I.C.19.e.5.b)
])
def test_an_overdose_is_a_poisoning_with_its_intent(cm_catalog, said, code_):
    """I.C.19.e.5.b: a drug taken in excess is a poisoning (T36-T50, intent in the 6th character),
    not the adverse effect of a drug taken as prescribed (5)."""
    a = note(f"ED NOTE\nImpression: {said}", m(said.split(",")[0].rstrip("."), "X58.XXXA"))
    coded = codes_of(code(a, lines(("X58.XXXA", 0.5, (0,))), cm_catalog, "emergency"))
    assert code_ in coded and "X58.XXXA" not in coded and not any(c.endswith("5A") for c in coded)


def test_hiv_positive_without_an_hiv_related_condition_is_z21(cm_catalog):
    """I.C.1.a.2.d: "HIV positive", no symptoms: Z21; "AIDS" or an opportunistic infection: B20."""
    text = "A/P: Asymptomatic HIV infection - continue ART."
    a = note(text, m("HIV infection", "B20"))
    assert codes_of(code(a, lines(("B20", 0.8, (0,))), cm_catalog)) == ["Z21"]
    aids = note("A/P: AIDS with Pneumocystis pneumonia.", m("AIDS", "B20"), m("Pneumocystis pneumonia", "B59"))
    assert sorted(codes_of(code(aids, lines(("B20", 0.8, (0,)), ("B59", 0.8, (1,))), cm_catalog))) == ["B20", "B59"]


def test_neutropenic_fever_after_chemotherapy_is_d70_1_with_r50_81(cm_catalog):
    text = "Discharge diagnoses: Neutropenic fever due to chemotherapy. DLBCL."
    a = note(text, m("Neutropenic fever", "R50.9", "discharge_diagnosis"), m("DLBCL", "C83.30", "discharge_diagnosis"))
    coded = codes_of(code(a, lines(("R50.9", 0.8, (0,)), ("C83.30", 0.7, (1,))), cm_catalog, "inpatient"))
    assert {"D70.1", "R50.81", "C83.30"} <= set(coded) and "R50.9" not in coded


def test_a_fracture_with_osteoporosis_is_m80_by_site(cm_catalog):
    """I.C.13.d.1: "osteoporotic compression fracture of T12" with osteoporosis is M80.08XA, not M81.0
    beside an injury code; a car crash is major trauma (the injury code stays)."""
    text = "HPI: age-related osteoporosis.\nA/P: Osteoporotic compression fracture of T12, initial visit."
    a = note(text, m("osteoporosis", "M81.0", "history_present_illness"), m("fracture", "T14.8XXA"))
    coded = codes_of(code(a, lines(("M81.0", 0.8, (0,)), ("T14.8XXA", 0.7, (1,))), cm_catalog))
    assert "M80.08XA" in coded and "M81.0" not in coded and "T14.8XXA" not in coded
    crash = note(text + "\nHit by a car (MVA).", m("osteoporosis", "M81.0", "history_present_illness"))
    assert "M81.0" in codes_of(code(crash, lines(("M81.0", 0.8, (0,))), cm_catalog))


def test_an_unspecified_code_leaves_beside_another_chapters_code_of_its_condition(cm_catalog):
    """I.B.2, I.B.9: "chronic hepatitis C" is B18.2, not also K73.9 "chronic hepatitis, unspecified" read
    from its words; but E11.22 asks for the CKD stage: N18.9 stays beside it."""
    a = note("A/P: Chronic hepatitis C.", m("Chronic hepatitis C", "B18.2"))
    assert codes_of(code(a, lines(("B18.2", 0.9, (0,)), ("K73.9", 0.6, (0,))), cm_catalog)) == ["B18.2"]
    asp = note("Dx: Aspiration pneumonia.", m("Aspiration pneumonia", "J69.0", "discharge_diagnosis"))
    assert codes_of(code(asp, lines(("J69.0", 0.8, (0,)), ("J18.9", 0.6, (0,))), cm_catalog, "inpatient")) == ["J69.0"]
    dm = note("A/P: Type 2 diabetes with diabetic CKD.", m("Type 2 diabetes with diabetic CKD", "E11.22"))
    coded = codes_of(code(dm, lines(("E11.22", 0.9, (0,)), ("N18.9", 0.6, (0,))), cm_catalog))
    assert "E11.22" in coded and "N18.9" in coded


def test_a_vaccine_given_is_z23_not_the_disease_it_prevents(cm_catalog):
    """I.C.21.c.2: "here for the influenza vaccine" is Z23, not influenza J11.1; "Tdap up to date" is no vaccine given."""
    text = "Nurse visit\n68 yo M here for the seasonal influenza vaccine.\nA/P: Influenza vaccine given."
    a = note(text, m("influenza", "J11.1"))
    assert codes_of(code(a, lines(("J11.1", 0.8, (0,))), cm_catalog)) == ["Z23"]
    lac = note("ED NOTE\nLaceration of left hand. Tdap up to date.", m("Laceration of left hand", "S61.412A"))
    assert "Z23" not in codes_of(code(lac, lines(("S61.412A", 0.8, (0,))), cm_catalog, "emergency"))


@pytest.mark.parametrize("text, expected", [
    ("Well child visit\n2 yo M here for his 2-year well check, meeting milestones.", "Z00.129"),
    ("Annual physical\n52 yo F, no complaints.\nA/P: New diagnosis of essential hypertension.", "Z00.01"),
])
def test_a_general_examination_by_age_and_findings(cm_catalog, text, expected):
    """I.C.21.c.13: a child's routine examination is Z00.12-; with a new diagnosis, "with abnormal findings"."""
    assert expected in codes_of(code(note(text), [], cm_catalog))


def test_gestational_diabetes_is_not_also_diabetes_mellitus(cm_catalog):
    text = "OB clinic\n31 yo at 28 weeks.\nA/P: Gestational diabetes, diet controlled."
    a = note(text, m("Gestational diabetes, diet controlled", "O24.410"))
    assert codes_of(code(a, lines(("O24.410", 0.8, (0,)), ("E11.9", 0.6, (0,))), cm_catalog)) == ["O24.410", "Z3A.28"]


def test_an_external_cause_needs_an_injury(cm_catalog):
    """I.C.20: "disease activity low" is no activity code (Y93.9) when nothing was injured."""
    a = note("A/P: Rheumatoid arthritis, disease activity low.", m("Rheumatoid arthritis", "M06.9"), m("activity", "Y93.9"))
    assert codes_of(code(a, lines(("M06.9", 0.8, (0,)), ("Y93.9", 0.6, (1,))), cm_catalog)) == ["M06.9"]


def test_an_unspecified_kidney_disorder_leaves_beside_the_kidney_disease_the_note_names(cm_catalog):
    """I.B.18: "creatinine 2.4" read as N28.9 says less than the stated acute kidney injury N17.9."""
    text = "HPI: creatinine 2.4.\nDischarge diagnoses: Acute kidney injury."
    a = note(text, m("creatinine", "N28.9", "history_present_illness"), m("Acute kidney injury", "N17.9", "discharge_diagnosis"))
    assert codes_of(code(a, lines(("N28.9", 0.8, (0,)), ("N17.9", 0.8, (1,))), cm_catalog, "inpatient")) == ["N17.9"]


def test_left_ventricular_hypertrophy_is_the_hypertensive_heart_disease(cm_catalog):
    """I.C.9.a.1 (Index: Hypertrophy, ventricular, with hypertension -> I11.-): no I51.7 beside I11.9."""
    text = "A/P: Hypertensive heart disease with LVH, no heart failure."
    a = note(text, m("Hypertensive heart disease", "I11.9"), m("LVH", "I51.7"))
    assert codes_of(code(a, lines(("I11.9", 0.8, (0,)), ("I51.7", 0.7, (1,))), cm_catalog)) == ["I11.9"]


def test_a_without_title_leaves_beside_the_stated_sibling_that_says_it(cm_catalog):
    """I.B.1: D57.1 "Sickle-cell disease without crisis" (from the history's "sickle cell disease") is not
    coded beside D57.00 for the assessment's "pain crisis"; a "with" sibling the note never says stays out."""
    text = "HPI: sickle cell disease.\nA/P: Sickle cell pain crisis."
    a = note(text, m("sickle cell disease", "D57.1", "history_present_illness"), m("Sickle cell pain crisis", "D57.00"))
    assert codes_of(code(a, lines(("D57.1", 0.7, (0,)), ("D57.00", 0.8, (1,))), cm_catalog, "emergency")) == ["D57.00"]
    text = "A/P: Acute cystitis."
    a = note(text, m("Acute cystitis", "N30.00"))
    coded = code(a, lines(("N30.00", 0.6, (0,)), ("N30.01", 0.6, (0,))), cm_catalog)
    assert not [n for line in coded.lines for n in line.notes if "says what its title denies" in n.message]


def test_a_title_denying_what_the_mention_says_is_a_conflict():
    from codesuggest.guidelines.wording import conflict

    found = conflict("Sickle-cell disease without crisis", "sickle cell pain crisis", "sickle cell pain crisis")
    assert found is not None and "crisis" in found.why
    assert conflict("Sickle-cell disease without crisis", "sickle cell disease, no crisis", "sickle cell disease") is None


@pytest.mark.parametrize("text, weeks", [
    ("G1P0 at 24 weeks by ultrasound.", 24), ("IUP at 39w2d.", 39), ("GA 35 wks, BP 160/110.", 35),
    ("28 weeks gestation, GTT abnormal.", 28), ("Follow up in 2 weeks.", None), ("Cough for 3 weeks.", None),
])
def test_the_weeks_of_gestation_a_note_gives(text, weeks):
    from codesuggest.guidelines.engine import NoteCoding as Coding
    from codesuggest.guidelines.pregnancy import gestation_weeks, trimester_of, weeks_code

    assert gestation_weeks(Coding(note(text), [], None, "outpatient")) == weeks
    assert (weeks_code(5), weeks_code(24), weeks_code(44)) == ("Z3A.01", "Z3A.24", "Z3A.49")
    assert (trimester_of(13), trimester_of(14), trimester_of(27), trimester_of(28)) == ("first", "second", "second", "third")


def test_a_prenatal_visit_at_the_trimester_of_its_weeks_with_the_weeks(cm_catalog):
    """I.C.15.a.3 (24 weeks is the second trimester), Z3A.24 beside it; no Z33.1 "incidental" beside Z34 (I.C.15.a.1)."""
    text = "26 yo G1P0 at 24 weeks.\nA/P: Routine prenatal care, normal first pregnancy."
    a = note(text, m("normal first pregnancy", "Z34.01"), m("pregnancy", "Z33.1"))
    assert sorted(codes_of(code(a, lines(("Z34.01", 0.8, (0,)), ("Z33.1", 0.8, (1,))), cm_catalog))) == ["Z34.02", "Z3A.24"]


def test_severe_preeclampsia_before_delivery_is_no_uncomplicated_delivery(cm_catalog):
    text = "33 yo G2P1 at 35 weeks.\nAssessment: Severe preeclampsia. Plan delivery."
    a = note(text, m("Severe preeclampsia", "O14.12"), m("delivery", "O80"))
    coded = code(a, lines(("O14.12", 0.8, (0,)), ("O80", 0.6, (1,))), cm_catalog, "inpatient")
    assert sorted(codes_of(coded)) == ["O14.13", "Z3A.35"]


def test_a_delivery_record_and_a_newborn_record(cm_catalog):
    """O80 with Z37.0 and no prenatal Z34 on the mother's record; the newborn's Z38.00 takes none of them (I.C.15.a.2)."""
    text = "G2P1 at 39 weeks 2 days, spontaneous vaginal delivery of a single live-born infant.\nDiagnosis: Term pregnancy, delivered."
    a = note(text, m("spontaneous vaginal delivery", "O80"), m("single live-born infant", "Z37.0"), m("Term pregnancy", "Z34.90"))
    coded = code(a, lines(("O80", 0.8, (0,)), ("Z37.0", 0.8, (1,)), ("Z34.90", 0.6, (2,))), cm_catalog, "inpatient")
    assert sorted(codes_of(coded)) == ["O80", "Z37.0", "Z3A.39"]
    text = "Term male infant born here by vaginal delivery.\nDischarge diagnoses: Term newborn. Neonatal jaundice."
    a = note(text, m("Term newborn", "Z38.00"), m("vaginal delivery", "O80"), m("Neonatal jaundice", "P59.9"), m("Term newborn", "Z37.0"))
    coded = code(a, lines(("Z38.00", 0.8, (0,)), ("O80", 0.7, (1,)), ("P59.9", 0.8, (2,)), ("Z37.0", 0.8, (3,))), cm_catalog, "inpatient")
    assert sorted(codes_of(coded)) == ["P59.9", "Z38.00"]


def test_a_delivery_is_not_coded_on_a_postpartum_office_visit(cm_catalog):
    """I.C.15.b.4-5: O80 and Z37.- belong to the delivery's stay; 6 weeks later the office visit is Z39.2 (I.C.15.n)."""
    text = "Seen 6 weeks after an uncomplicated vaginal delivery.\nAssessment: Routine postpartum follow-up."
    a = note(text, m("uncomplicated vaginal delivery", "O80", "history_present_illness"), m("Routine postpartum follow-up", "Z39.2"))
    coded = code(a, lines(("O80", 0.8, (0,)), ("Z39.2", 0.8, (1,)), ("Z39.1", 0.4, (1,))), cm_catalog)
    assert codes_of(coded) == ["Z39.2"]


def test_no_long_term_insulin_beside_insulin_controlled_gestational_diabetes(cm_catalog):
    """I.C.15.i: O24.414 says the insulin; Z79.4 is not assigned with O24.4-."""
    text = "On NPH insulin 10 units qhs.\nA/P: Gestational diabetes, insulin controlled."
    a = note(text, m("Gestational diabetes, insulin controlled", "O24.414"), m("insulin", "Z79.4", "medications"))
    coded = code(a, lines(("O24.414", 0.8, (0,)), ("Z79.4", 0.8, (1,))), cm_catalog)
    assert "Z79.4" not in codes_of(coded) and "O24.414" in codes_of(coded)


@pytest.mark.parametrize("treatment, expected", [("Started on diet.", "O24.410"), ("Started insulin NPH.", "O24.414"),
                                                 ("Diet and metformin.", "O24.415")])
def test_gestational_diabetes_by_how_it_is_controlled(cm_catalog, treatment, expected):
    """I.C.15.i: insulin controlled when insulin is given (with or without diet), oral drugs next, else diet."""
    text = f"OB clinic, 31 yo at 28 weeks. {treatment}\nA/P: Gestational diabetes."
    a = note(text, m("Gestational diabetes", "O24.419"))
    coded = code(a, lines(("O24.419", 0.8, (0,)), ("O24.414", 0.3, (0,))), cm_catalog)
    assert [c for c in codes_of(coded) if c.startswith("O24")] == [expected]


@pytest.mark.parametrize("infection, ranked, expected", [
    ("Cellulitis of the right forearm", "L03.113", ["L03.113", "B95.62"]),
    ("Sepsis due to MRSA", "A41.02", ["A41.02"]),
])
def test_the_organism_of_an_infection_coded_by_its_site(cm_catalog, infection, ranked, expected):
    """I.C.1.e.1: MRSA with a site's infection is B95.62 beside it, not A49.02 (unspecified site); a
    combination code that names the organism takes neither."""
    text = f"Wound culture grew MRSA.\nImpression: {infection}, MRSA."
    a = note(text, m("MRSA", "A49.02", "history_present_illness"), m(infection, ranked))
    coded = code(a, lines((ranked, 0.8, (1,)), ("A49.02", 0.7, (0,))), cm_catalog)
    assert codes_of(coded) == expected


def test_coronary_disease_with_the_angina_the_note_is_surest_of(cm_catalog):
    """I.C.9.b: "CAD with stable angina" is I25.118 at the stable angina's confidence, whatever other I20 code ranks low."""
    a = note("A/P: CAD with stable angina.", m("CAD", "I25.10"), m("stable angina", "I20.89"))
    coded = code(a, lines(("I25.10", 0.9, (0,)), ("I20.89", 0.8, (1,)), ("I20.81", 0.3, (1,))), cm_catalog)
    assert codes_of(coded) == ["I25.118"] and coded.lines[0].confidence == 0.8


def test_an_unspecified_site_beside_the_code_of_another_part_it_names(cm_catalog):
    """I.B.2: C43.59 "melanoma of other part of trunk" is the back's site code, not a residual kind: no C43.9 beside it."""
    text = "HPI: biopsy showed melanoma.\nA/P: Malignant melanoma of the skin of the upper back."
    a = note(text, m("melanoma", "C43.9", "history_present_illness"), m("Malignant melanoma of the skin of the upper back", "C43.59"))
    assert codes_of(code(a, lines(("C43.9", 0.8, (0,)), ("C43.59", 0.7, (1,))), cm_catalog)) == ["C43.59"]


def test_a_past_state_leaves_beside_the_opposite_state_now(cm_catalog):
    """IV.J: Graves' disease ablated in 2023 (historical) is not coded beside the postablative hypothyroidism now;
    hypokalemia and hyperkalemia both of this stay are both coded."""
    text = "HPI: radioactive iodine for Graves disease in 2023.\nA/P: Postablative hypothyroidism."
    a = note(text, m("Graves disease", "E05.00", "history_present_illness", historical=True), m("Postablative hypothyroidism", "E89.0"))
    assert codes_of(code(a, lines(("E05.00", 0.8, (0,)), ("E89.0", 0.8, (1,))), cm_catalog)) == ["E89.0"]
    text = "Hospital course: hypokalemia on admission, repleted; hyperkalemia on day 3."
    a = note(text, m("hypokalemia", "E87.6"), m("hyperkalemia", "E87.5"))
    assert sorted(codes_of(code(a, lines(("E87.6", 0.8, (0,)), ("E87.5", 0.8, (1,))), cm_catalog, "inpatient"))) == ["E87.5", "E87.6"]


def test_a_without_code_stays_when_its_own_words_say_without(cm_catalog):
    """I.B.1: one eye's retinopathy "with macular edema" does not remove the other eye's "without macular edema"."""
    text = "A/P:\n1. Moderate NPDR with macular edema, right eye.\n2. Mild NPDR without macular edema, left eye."
    a = note(text, m("Moderate NPDR with macular edema, right eye", "E11.3311"), m("Mild NPDR without macular edema, left eye", "E11.3292"))
    assert sorted(codes_of(code(a, lines(("E11.3311", 0.8, (0,)), ("E11.3292", 0.6, (1,))), cm_catalog))) == ["E11.3292", "E11.3311"]


def test_intoxication_without_documented_abuse_is_use(cm_catalog):
    """I.C.5.b.2: alcohol "intoxication" is coded at the use level (F10.9-) unless the note says abuse."""
    a = note("Impression: Acute alcohol intoxication with vomiting.", m("Acute alcohol intoxication", "F10.129"))
    assert codes_of(code(a, lines(("F10.129", 0.6, (0,))), cm_catalog)) == ["F10.929"]
    a = note("Impression: Alcohol abuse with intoxication.", m("Alcohol abuse with intoxication", "F10.129"))
    assert codes_of(code(a, lines(("F10.129", 0.6, (0,))), cm_catalog)) == ["F10.129"]


def test_metastatic_site_cancer_is_the_primary_of_that_site(cm_catalog):
    """I.C.2: "metastatic breast cancer to bone" is C50.919 with C79.51, not C79.81 (secondary of the breast);
    the metastasis does not "say more" than the primary (two conditions)."""
    text = "A/P: Metastatic breast cancer to bone."
    a = note(text, m("Metastatic breast cancer", "C79.81"), m("bone", "C79.51"))
    coded = code(a, lines(("C79.81", 0.9, (0,)), ("C50.919", 0.8, (0,)), ("C79.51", 0.85, (0, 1))), cm_catalog, "inpatient")
    assert sorted(codes_of(coded)) == ["C50.919", "C79.51"]


@pytest.mark.parametrize("ranked, expected", [
    ((("J10.1", 0.8, (0,)), ("J18.9", 0.7, (1,))), ["J10.00"]),
    ((("J10.1", 0.8, (0,)), ("J15.212", 0.7, (1,))), ["J10.08", "J15.212"]),
    # the identified virus the note names, though the ranker is surer of the unidentified one's code
    ((("J11.1", 0.7, (0,)), ("J18.9", 0.9, (1,)), ("J10.1", 0.3, (0,))), ["J10.00"]),
])
def test_influenza_with_pneumonia_is_one_combination_code(cm_catalog, ranked, expected):
    """I.B.9: J10.00 absorbs an unspecified pneumonia; a named organism's pneumonia stays beside J10.08."""
    a = note("Discharge diagnoses: Influenza A. Pneumonia.", m("Influenza A", "J10.1"), m("Pneumonia", ranked[1][0]))
    assert codes_of(code(a, lines(*ranked), cm_catalog, "inpatient")) == expected


def test_a_pathological_fracture_through_a_metastasis_is_in_neoplastic_disease(cm_catalog):
    """I.C.13.c: M84.551A (in neoplastic disease), not M84.451A, beside the bone metastasis."""
    text = "Discharge diagnoses: Pathological fracture of the right femur due to bone metastases."
    a = note(text, m("Pathological fracture of the right femur", "M84.451A"), m("bone metastases", "C79.51"))
    coded = code(a, lines(("M84.451A", 0.7, (0,)), ("C79.51", 0.8, (1,))), cm_catalog, "inpatient")
    assert sorted(codes_of(coded)) == ["C79.51", "M84.551A"]


@pytest.mark.parametrize("text, expected", [
    ("11 yo F, BMI 27.4, 97th percentile for age (less than 120% of the 95th percentile).\nA/P: Childhood obesity.", "Z68.54"),
    ("15 yo M, BMI 38, 99th percentile, 140% of the 95th percentile.\nA/P: Severe obesity.", "Z68.56"),
    ("45 yo M, BMI 37.2.\nA/P: Obesity.", "Z68.37"),
])
def test_a_childs_bmi_is_its_percentile_code(cm_catalog, text, expected):
    """I.B.14: a patient aged 2-19 takes Z68.5- by percentile, an adult Z68.xx by value."""
    words = text.split("A/P: ")[1].rstrip(".")
    coded = code(note(text, m(words, "E66.9")), lines(("E66.9", 0.8, (0,))), cm_catalog)
    assert [c for c in codes_of(coded) if c.startswith("Z68")] == [expected]


def test_arthritis_read_inside_a_named_arthritis_is_no_second_condition(cm_catalog):
    """I.B.12: M19.90 ("arthritis") on the words "rheumatoid arthritis" leaves beside M06.9; osteoarthritis said
    on its own words stays beside the rheumatoid arthritis."""
    a = note("A/P: Rheumatoid arthritis - continue current care.", m("Rheumatoid arthritis", "M06.9"))
    assert codes_of(code(a, lines(("M06.9", 0.85, (0,)), ("M19.90", 0.5, (0,))), cm_catalog)) == ["M06.9"]
    a = note("A/P: Rheumatoid arthritis. Osteoarthritis.", m("Rheumatoid arthritis", "M06.9"), m("Osteoarthritis", "M19.90"))
    assert sorted(codes_of(code(a, lines(("M06.9", 0.85, (0,)), ("M19.90", 0.5, (1,))), cm_catalog))) == ["M06.9", "M19.90"]


def test_the_arthritis_of_a_replaced_joint_is_gone(cm_catalog):
    """IV.J: after a right total knee replacement for osteoarthritis, no M17.11; the left knee's M17.12 stays."""
    text = "6 weeks after right total knee arthroplasty for osteoarthritis; left knee osteoarthritis.\nA/P: Aftercare."
    a = note(text, m("right total knee arthroplasty", "Z96.651"), m("osteoarthritis", "M17.11"), m("left knee osteoarthritis", "M17.12"))
    coded = code(a, lines(("Z96.651", 0.8, (0,)), ("M17.11", 0.6, (1,)), ("M17.12", 0.6, (2,))), cm_catalog)
    assert "M17.11" not in codes_of(coded) and {"Z96.651", "M17.12"} <= set(codes_of(coded))


def test_a_specific_code_that_says_without_what_the_note_says_without(cm_catalog):
    """I.B.2: K85.10 "biliary acute pancreatitis without necrosis or infection" says more than K85.90 for
    "acute gallstone pancreatitis without necrosis or infection": its "without" agrees with the note's."""
    text = "HPI: gallstone pancreatitis.\nDischarge diagnosis: Acute pancreatitis without necrosis or infection."
    a = note(text, m("gallstone pancreatitis", "K85.10", "history_present_illness"),
             m("Acute pancreatitis without necrosis or infection", "K85.90", "discharge_diagnoses"))
    coded = code(a, lines(("K85.90", 0.69, (1,)), ("K85.10", 0.68, (0,))), cm_catalog, "inpatient")
    assert codes_of(coded) == ["K85.10"]


def test_prostatic_hyperplasia_with_the_symptoms_it_causes(cm_catalog):
    """I.B.9: BPH with retention is N40.1 with R33.8 after it; without symptoms it stays N40.0."""
    text = "Impression: Acute urinary retention due to benign prostatic hyperplasia."
    a = note(text, m("benign prostatic hyperplasia", "N40.0"), m("urinary retention", "R33.9"))
    coded = code(a, lines(("N40.0", 0.8, (0,)), ("R33.9", 0.8, (1,))), cm_catalog, "emergency")
    assert sorted(codes_of(coded)) == ["N40.1", "R33.8"]
    text = "A/P: Benign prostatic hyperplasia without lower urinary tract symptoms."
    a = note(text, m("Benign prostatic hyperplasia", "N40.0"))
    assert codes_of(code(a, lines(("N40.0", 0.8, (0,))), cm_catalog)) == ["N40.0"]


def test_varices_in_cirrhosis_are_secondary(cm_catalog):
    """I.A.13: I85.10 after the alcoholic cirrhosis, not I85.00."""
    text = "A/P: Alcoholic cirrhosis without ascites. Esophageal varices, no bleeding."
    a = note(text, m("Alcoholic cirrhosis without ascites", "K70.30"), m("Esophageal varices", "I85.00"))
    assert sorted(codes_of(code(a, lines(("K70.30", 0.9, (0,)), ("I85.00", 0.8, (1,))), cm_catalog))) == ["I85.10", "K70.30"]


@pytest.mark.parametrize("said, expected", [("both legs", "I70.213"), ("the right leg", "I70.211"), ("the legs", "I70.219")])
def test_leg_atherosclerosis_with_claudication_is_one_code_by_side(cm_catalog, said, expected):
    """I.B.9: atherosclerosis of the native arteries of the legs with intermittent claudication, I70.21- by side."""
    text = f"A/P: Atherosclerosis of native arteries of {said} with intermittent claudication."
    a = note(text, m("Atherosclerosis", "I70.90"), m("intermittent claudication", "I73.9"))
    assert codes_of(code(a, lines(("I70.90", 0.8, (0,)), ("I73.9", 0.8, (1,))), cm_catalog)) == [expected]


def test_a_diabetic_foot_ulcer_takes_its_site_side_and_depth(cm_catalog):
    """I.A.13 (E11.621: use additional code for the ulcer's site): the sentence that says most decides (L heel = left)."""
    text = "HPI: diabetic foot ulcer L heel x 6 weeks.\nA/P: Diabetic ulcer of left heel, fat layer exposed - debridement."
    a = note(text, m("Diabetic ulcer of left heel", "E11.621"))
    assert codes_of(code(a, lines(("E11.621", 0.8, (0,))), cm_catalog)) == ["E11.621", "L97.422"]


def test_a_sided_paralysis_takes_the_dominance_the_note_gives(cm_catalog):
    """I.C.6.a: a right hemiparesis in a right-handed patient is on the dominant side, whatever the ranker chose."""
    text = "h/o CVA w/ residual R hemiparesis, R-hand dominant.\nA/P: Late effects of CVA."
    a = note(text, m("R hemiparesis", "I69.353"))
    assert codes_of(code(a, lines(("I69.353", 0.8, (0,))), cm_catalog)) == ["I69.351"]


def test_complete_and_partial_obstruction_contradict(cm_catalog):
    """I.B.1: "complete SBO due to adhesions" is K56.52, not the partial obstruction's K56.51."""
    a = note("Dx: Complete SBO due to adhesions.", m("Complete SBO due to adhesions", "K56.51"))
    assert codes_of(code(a, lines(("K56.51", 0.8, (0,))), cm_catalog, "inpatient")) == ["K56.52"]


@pytest.mark.parametrize("said, expected", [("about 2% TBSA", "T31.0"), ("15% TBSA, 5% full-thickness", "T31.10"),
                                            ("25% TBSA, 12% third-degree", "T31.21")])
def test_a_burn_takes_the_extent_of_body_surface(cm_catalog, said, expected):
    """I.C.19.d.6: T31.- by tens of the total burned, then of its third-degree part."""
    text = f"ED NOTE\nSpilled hot coffee on the right forearm, {said}.\nImpression: Second-degree burn of the right forearm."
    a = note(text, m("Second-degree burn of the right forearm", "T22.211A"))
    coded = code(a, lines(("T22.211A", 0.8, (0,))), cm_catalog, "emergency")
    assert expected in codes_of(coded) and "X10.0XXA" in codes_of(coded)


def test_heat_exhaustion_outdoors_has_its_external_cause(cm_catalog):
    """I.C.20: effects of heat (T67) are injuries for the external cause rule: X30 for natural heat."""
    text = "ED NOTE\nRoofer working outdoors in 98 degree heat, weak and dizzy.\nImpression: Heat exhaustion with dehydration."
    a = note(text, m("Heat exhaustion", "T67.3XXA"))
    assert "X30.XXXA" in codes_of(code(a, lines(("T67.3XXA", 0.8, (0,))), cm_catalog, "emergency"))


def test_a_stated_sepsis_takes_its_organism_however_unsure_the_ranker(cm_catalog):
    """I.C.1.d.1.a: "septic shock due to E. coli pyelonephritis" stated at discharge is A41.51 even when the
    ranker gave A41.9 a low score (a code it rarely saw in training)."""
    text = "Discharge diagnoses: Septic shock due to E. coli pyelonephritis."
    a = note(text, m("Septic shock", "A41.9", "discharge_diagnoses"), m("E. coli", "B96.20", "discharge_diagnoses"))
    coded = code(a, lines(("A41.9", 0.1, (0,)), ("B96.20", 0.8, (1,))), cm_catalog, "inpatient")
    assert "A41.51" in codes_of(coded) and "A41.9" not in codes_of(coded)


def test_a_routine_gynecological_examination_is_its_own_encounter_code(cm_catalog):
    """I.C.21.c.13: Z01.419 (with or without a cervical smear), not a general adult examination Z00.00."""
    text = "Gynecology annual exam\nRoutine gynecological examination, Pap collected.\nA/P: Normal exam."
    assert codes_of(code(note(text), [], cm_catalog)) == ["Z01.419"]


def test_a_urinary_infection_in_pregnancy_is_the_chapter_15_code(cm_catalog):
    """I.C.15.a.1: O23.42 at 20 weeks, not N39.0 beside it."""
    text = "29 yo at 20 weeks.\nA/P: Urinary tract infection in pregnancy, second trimester."
    a = note(text, m("Urinary tract infection in pregnancy", "O23.42"), m("Urinary tract infection", "N39.0"))
    assert sorted(codes_of(code(a, lines(("O23.42", 0.8, (0,)), ("N39.0", 0.8, (1,))), cm_catalog))) == ["O23.42", "Z3A.20"]


def test_hypertensive_heart_and_kidney_disease_from_a_ranked_hypertensive_heart_code(cm_catalog):
    """I.C.9.a.3: the note's "hypertensive heart and chronic kidney disease" (ranked I13.10 / I11.9) with CKD 4 is
    I13.10, not I12.9 because no separate heart disease code was ranked."""
    text = "A/P: Hypertensive heart and chronic kidney disease without heart failure, CKD stage 4."
    a = note(text, m("Hypertensive heart and chronic kidney disease without heart failure", "I12.9"), m("CKD stage 4", "N18.4"))
    coded = code(a, lines(("I12.9", 0.9, (0,)), ("I11.9", 0.8, (0,)), ("N18.4", 0.9, (1,))), cm_catalog)
    assert sorted(codes_of(coded)) == ["I13.10", "N18.4"]


def test_the_disease_of_a_replaced_valve_is_gone(cm_catalog):
    """IV.J: after a TAVR for aortic stenosis, Z95.2 and no I35.0; a mitral regurgitation stated now stays."""
    text = "HPI: 6 months after TAVR for severe aortic stenosis.\nA/P: Status post TAVR, doing well. Mild mitral regurgitation."
    a = note(text, m("severe aortic stenosis", "I35.0", "history_present_illness"), m("TAVR", "Z95.2"),
             m("Mild mitral regurgitation", "I34.0"))
    coded = code(a, lines(("I35.0", 0.8, (0,)), ("Z95.2", 0.8, (1,)), ("I34.0", 0.7, (2,))), cm_catalog)
    assert sorted(codes_of(coded)) == ["I34.0", "Z95.2"]


def test_a_device_placed_at_this_encounter_has_no_status_code(cm_catalog):
    """I.C.21.c.3: "Procedure: pacemaker implanted" is no Z95.0 presence of a pacemaker (that is for a later stay)."""
    text = "Procedure: dual-chamber permanent pacemaker implanted.\nDischarge diagnosis: Sick sinus syndrome."
    a = note(text, m("pacemaker", "Z95.0", "procedures"), m("Sick sinus syndrome", "I49.5", "discharge_diagnoses"))
    coded = code(a, lines(("Z95.0", 0.85, (0,)), ("I49.5", 0.85, (1,))), cm_catalog, "inpatient")
    assert codes_of(coded) == ["I49.5"]


def test_no_organism_code_beside_a_code_that_names_it(cm_catalog):
    """I.C.1.e.1.a: J13 "pneumonia due to Streptococcus pneumoniae" needs no B95.3; J18.9 leaves beside it too."""
    text = "Discharge diagnosis: Pneumococcal pneumonia. Blood cultures grew Streptococcus pneumoniae."
    a = note(text, m("Pneumococcal pneumonia", "J13", "discharge_diagnoses"), m("Streptococcus pneumoniae", "B95.3", "discharge_diagnoses"))
    coded = code(a, lines(("B95.3", 0.9, (1,)), ("J13", 0.8, (0,)), ("J18.9", 0.7, (0,))), cm_catalog, "inpatient")
    assert codes_of(coded) == ["J13"]


def test_an_organism_named_without_sepsis_is_no_sepsis(cm_catalog):
    """I.C.1.d.1.a: "culture grew MSSA ... septic arthritis, no bacteremia" is no A41.01."""
    text = "Aspirate grew methicillin-susceptible Staphylococcus aureus.\nDischarge diagnosis: Septic arthritis of the right knee. No bacteremia."
    a = note(text, m("methicillin-susceptible Staphylococcus aureus", "A41.01", "hospital_course"),
             m("Septic arthritis of the right knee", "M00.061", "discharge_diagnoses"))
    coded = code(a, lines(("A41.01", 0.9, (0,)), ("M00.9", 0.8, (1,)), ("B95.61", 0.8, (0,))), cm_catalog, "inpatient")
    assert "A41.01" not in codes_of(coded) and {"M00.061", "B95.61"} <= set(codes_of(coded))  # by organism and joint


def test_dementia_with_lewy_bodies_is_the_disease_then_the_dementia_in_it(cm_catalog):
    """I.A.13: G31.83 first, then F02.- at the dementia's severity (not F03.-)."""
    a = note("A/P: Dementia with Lewy bodies, moderate, without behavioral disturbance.",
             m("Dementia with Lewy bodies, moderate, without behavioral disturbance", "F03.B0"))
    assert sorted(codes_of(code(a, lines(("F03.B0", 0.8, (0,))), cm_catalog))) == ["F02.B0", "G31.83"]


def test_an_illicit_drug_overdose_is_its_poisoning_code(cm_catalog):
    """I.C.19.e.5.b: heroin has no adverse-effect code; its overdose is T40.1X1A (accidental by default)."""
    a = note("Impression: Accidental heroin overdose with respiratory depression.", m("respiratory depression", "R06.89"))
    assert "T40.1X1A" in codes_of(code(a, lines(("R06.89", 0.7, (0,))), cm_catalog, "emergency"))


def with_candidates(analysis: NoteAnalysis, index: int, *candidates: tuple[str, float]) -> NoteAnalysis:
    """The analysis with mention ``index`` reading (code, similarity) candidates instead of its one."""
    mentions = list(analysis.mentions)
    mentions[index] = replace(mentions[index], candidates=tuple(Candidate(CM, c, "", s, "") for c, s in candidates))
    return replace(analysis, mentions=tuple(mentions))


def test_a_code_reading_in_part_what_another_reads_exactly_leaves(cm_catalog):
    """I.B.12: "LTBI" is Z22.7 latent tuberculosis; A15.9 read from its "tuberculosis" is no second condition."""
    a = with_candidates(note("A/P: LTBI - start rifampin.", m("LTBI", "Z22.7")), 0, ("Z22.7", 1.0), ("A15.9", 0.8))
    coded = code(a, lines(("Z22.7", 0.8, (0,)), ("A15.9", 0.54, (0,))), cm_catalog)
    assert codes_of(coded) == ["Z22.7"]


def test_a_partial_reading_the_exact_code_asks_for_stays(cm_catalog):
    """T83.511A asks in words for the infection ("use additional code to identify infection"): N39.0 stays."""
    words = "Catheter-associated urinary tract infection"
    a = with_candidates(note(f"Discharge diagnosis: {words}.", m(words, "T83.511A", "discharge_diagnoses")), 0,
                        ("T83.511A", 1.0), ("N39.0", 0.8))
    coded = code(a, lines(("T83.511A", 0.85, (0,)), ("N39.0", 0.8, (0,))), cm_catalog, "inpatient")
    assert {"T83.511A", "N39.0"} <= set(codes_of(coded))


def test_a_congenital_code_leaves_beside_the_acquired_reading(cm_catalog):
    """I.C.17: an adult's "severe AS" is I35.0; Q25.1 ("stenosis of aorta") needs the note to say congenital."""
    a = note("A/P: Severe symptomatic aortic stenosis - refer for TAVR.", m("aortic stenosis", "I35.0"))
    assert codes_of(code(a, lines(("I35.0", 0.85, (0,)), ("Q25.1", 0.85, (0,))), cm_catalog)) == ["I35.0"]
    born = note("A/P: Congenital aortic stenosis, followed since birth.", m("aortic stenosis", "I35.0"))
    assert "Q25.1" in codes_of(code(born, lines(("I35.0", 0.85, (0,)), ("Q25.1", 0.85, (0,))), cm_catalog))


def test_a_sided_code_takes_the_eye_the_note_gives(cm_catalog):
    """I.B.13: "cataract OD" is the right eye, not the bilateral code the ranker put first."""
    a = note("A/P: Age-related nuclear cataract OD, visually significant.", m("Age-related nuclear cataract", "H25.13"))
    assert codes_of(code(a, lines(("H25.13", 0.75, (0,))), cm_catalog)) == ["H25.11"]


def test_suicidal_ideation_is_coded_beside_the_depression(cm_catalog):
    """R45.851 is no integral symptom of F32.2 (its R45.8 row's emotional symptoms are); a denied
    homicidal ideation read as a second reading of "SI" leaves."""
    text = "Endorses SI with a plan; denies HI.\nAssessment: Major depressive disorder, single episode, severe, with active SI."
    a = note(text, m("SI", "R45.851", "history_present_illness"), m("HI", "R45.850", "history_present_illness", negated=True),
             m("Major depressive disorder, single episode, severe", "F32.2"))
    a = with_candidates(a, 0, ("R45.851", 1.0), ("R45.850", 0.6))
    coded = code(a, lines(("F32.2", 0.88, (2,)), ("R45.851", 0.85, (0,)), ("R45.850", 0.35, (0, 1))), cm_catalog, "emergency")
    assert codes_of(coded) == ["F32.2", "R45.851"]


def test_a_prescribed_opioids_constipation_is_no_opioid_use(cm_catalog):
    """I.C.19.e.5.a: opioid-induced constipation on prescribed oxycodone is K59.03 with T40.2X5A, not F11.9-."""
    text = "On oxycodone 20 mg q12h for bone pain.\nA/P: Opioid-induced constipation - add PEG daily."
    a = note(text, m("Opioid-induced constipation", "K59.03"))
    coded = code(a, lines(("K59.03", 0.85, (0,)), ("F11.99", 0.6, (0,))), cm_catalog)
    assert codes_of(coded)[:2] == ["K59.03", "T40.2X5A"] and not [c for c in codes_of(coded) if c.startswith("F11")]


def test_a_neoplasm_of_unspecified_behaviour_leaves_beside_its_malignant_code(cm_catalog):
    """I.C.2: D49.- is for a neoplasm whose behaviour the note does not give; "cancer to bone" is malignant."""
    text = "A/P: Metastatic prostate cancer to bone."
    a = note(text, m("Metastatic prostate cancer to bone", "C79.51"), m("cancer to bone", "D49.2"))
    coded = code(a, lines(("C61", 0.9, (0,)), ("D49.2", 0.88, (1, 0)), ("C79.51", 0.85, (0,))), cm_catalog)
    assert "D49.2" not in codes_of(coded) and {"C61", "C79.51"} <= set(codes_of(coded))


def test_with_other_complication_names_no_complication(cm_catalog):
    """B27.89 "... with other complication" does not replace B27.90 for a mononucleosis the note gives no complication."""
    a = note("A/P: Infectious mononucleosis - supportive care.", m("Infectious mononucleosis", "B27.90"))
    assert codes_of(code(a, lines(("B27.90", 0.85, (0,)), ("B27.89", 0.8, (0,))), cm_catalog))[0] == "B27.90"


def test_a_tuberculin_skin_test_is_no_smoking(cm_catalog):
    """"PPD 14 mm" is a tuberculin skin test, not packs per day: no F17.2-."""
    a = note("Health care worker, PPD 14 mm, QuantiFERON positive.\nA/P: LTBI - rifampin.", m("LTBI", "Z22.7"))
    assert not [c for c in codes_of(code(a, lines(("Z22.7", 0.8, (0,))), cm_catalog)) if c.startswith(("F17", "Z72"))]


def test_a_delusion_of_poisoning_is_no_poisoning(cm_catalog):
    """I.C.19.e.5.b codes a poisoning the note states; "believes neighbors are poisoning his food" states none."""
    text = "Paranoid schizophrenia, believes neighbors are poisoning his food.\nAssessment: Paranoid schizophrenia."
    a = note(text, m("Paranoid schizophrenia", "F20.0", "history_present_illness"),
             m("poisoning", "T36.91XA", "history_present_illness", hypothetical=True, possible=True))
    coded = code(a, lines(("F20.0", 0.88, (0,)), ("T36.91XA", 0.49, (1,))), cm_catalog, "inpatient")
    assert not [c for c in codes_of(coded) if c.startswith("T")]


def test_a_drug_the_patient_stopped_is_underdosing_with_its_reason(cm_catalog):
    """I.C.19.e.5.c: stopping risperidone on his own is T43.596A, intentional for another reason Z91.128."""
    text = "Stopped his risperidone 2 months ago because he did not think he needed it.\nAssessment: Paranoid schizophrenia, acute exacerbation."
    a = note(text, m("Paranoid schizophrenia", "F20.0"))
    coded = code(a, lines(("F20.0", 0.88, (0,))), cm_catalog, "inpatient")
    assert codes_of(coded) == ["F20.0", "T43.596A", "Z91.128"]
    we = note("We stopped his risperidone for dystonia.\nAssessment: Paranoid schizophrenia.", m("Paranoid schizophrenia", "F20.0"))
    assert codes_of(code(we, lines(("F20.0", 0.88, (0,))), cm_catalog, "inpatient")) == ["F20.0"]  # the provider's choice


@pytest.mark.parametrize("said, expected", [("secondary to celiac malabsorption", "D50.8"),
                                            ("secondary to chronic GI blood loss", "D50.0"), ("", "D50.9")])
def test_iron_deficiency_anemia_takes_the_cause_the_note_gives(cm_catalog, said, expected):
    """The Index: Anemia, iron deficiency, secondary to blood loss D50.0; specified type NEC D50.8."""
    a = note(f"A/P: Iron deficiency anemia {said} - oral iron.", m("Iron deficiency anemia", "D50.9"))
    assert codes_of(code(a, lines(("D50.9", 0.8, (0,))), cm_catalog)) == [expected]


def test_two_kinds_of_one_disease_read_apart_are_both_coded(cm_catalog):
    """I.B.18 takes an unspecified code beside a specific one of the same condition; L40.50 (psoriatic
    arthritis) and L40.0 (psoriasis vulgaris) said apart are two conditions of one category."""
    text = "A/P: Psoriatic arthritis - start methotrexate; psoriasis vulgaris - topical clobetasol."
    a = note(text, m("Psoriatic arthritis", "L40.50"), m("psoriasis vulgaris", "L40.0"))
    assert sorted(codes_of(code(a, lines(("L40.0", 0.88, (1,)), ("L40.50", 0.85, (0,))), cm_catalog))) == ["L40.0", "L40.50"]
    same = note("CC: abdominal pain.\nA/P: RUQ pain - ultrasound.", m("abdominal pain", "R10.9", "chief_complaint"), m("RUQ pain", "R10.11"))
    assert codes_of(code(same, lines(("R10.11", 0.8, (1,)), ("R10.9", 0.85, (0,))), cm_catalog)) == ["R10.11"]


def test_a_combination_code_holds_what_it_names(cm_catalog):
    """I.B.9: Crohn's disease of the small intestine with obstruction holds the obstruction; GCA with PMR the PMR."""
    a = note("Discharge diagnosis: Crohn's disease of the small intestine with partial small bowel obstruction.",
             m("Crohn's disease of the small intestine with partial small bowel obstruction", "K50.012", "discharge_diagnoses"),
             m("small bowel obstruction", "K56.609", "discharge_diagnoses"))
    assert codes_of(code(a, lines(("K50.012", 0.85, (0,)), ("K56.609", 0.8, (1,))), cm_catalog, "inpatient")) == ["K50.012"]
    gca = note("A/P: Giant cell arteritis with polymyalgia rheumatica.", m("Giant cell arteritis with polymyalgia rheumatica", "M31.5"),
               m("polymyalgia rheumatica", "M35.3"))
    assert codes_of(code(gca, lines(("M35.3", 0.85, (1,)), ("M31.5", 0.8, (0,))), cm_catalog)) == ["M31.5"]


def test_a_site_title_may_restate_the_kind_in_another_word_form(cm_catalog):
    """I.B.2: "psoriatic arthritis with distal interphalangeal predominance" is L40.51 "distal interphalangeal
    psoriatic arthropathy": its "arthropathy" restates L40.50's "arthropathic", the site is said."""
    a = note("A/P: Psoriatic arthritis with distal interphalangeal predominance - methotrexate.", m("Psoriatic arthritis", "L40.50"))
    assert codes_of(code(a, lines(("L40.50", 0.85, (0,))), cm_catalog)) == ["L40.51"]


def test_bleeding_from_a_supratherapeutic_inr_on_warfarin_is_its_adverse_effect(cm_catalog):
    """I.C.19.e.5.a: warfarin taken as prescribed with an INR of 4.8: the bleeding, then T45.515A (no poisoning)."""
    a = note("A/P: Anterior epistaxis due to supratherapeutic INR on warfarin - hold warfarin.", m("Anterior epistaxis", "R04.0"))
    coded = codes_of(code(a, lines(("R04.0", 0.85, (0,))), cm_catalog, "emergency"))
    assert coded[:2] == ["R04.0", "T45.515A"] and not [c for c in coded if c.startswith(("T45.511", "T45.512"))]


def test_no_weeks_of_gestation_beside_an_ectopic_pregnancy(cm_catalog):
    """Z3A's "code first" names O09-O9A: a pregnancy with abortive outcome (O00-O08) has no Z3A code;
    of two readings of one ectopic pregnancy the specific one stays (I.B.12)."""
    text = "29 yo at 7 weeks by LMP.\nA/P: Right tubal ectopic pregnancy - laparoscopy tonight."
    a = note(text, m("Right tubal ectopic pregnancy", "O00.101"))
    assert codes_of(code(a, lines(("O00.101", 0.85, (0,)), ("O00.90", 0.54, (0,))), cm_catalog, "emergency")) == ["O00.101"]


def test_a_stem_cell_transplant_leaves_its_status_code(cm_catalog):
    """I.C.21.c.3: "s/p autologous stem cell transplant" is Z94.84 beside the myeloma in remission."""
    text = "Multiple myeloma s/p autologous stem cell transplant 2023.\nA/P: Multiple myeloma in complete remission."
    a = note(text, m("Multiple myeloma in complete remission", "C90.01"))
    assert "Z94.84" in codes_of(code(a, lines(("C90.01", 0.85, (0,))), cm_catalog))


def test_a_stage_the_note_gives_decides_between_siblings(cm_catalog):
    """I.B.1: "intermediate dry stage" is H35.3112, not the early-stage sibling."""
    a = note("A/P: Nonexudative AMD, right eye, intermediate dry stage - AREDS2.",
             m("Nonexudative AMD, right eye, intermediate dry stage", "H35.3111"))
    assert codes_of(code(a, lines(("H35.3111", 0.76, (0,))), cm_catalog)) == ["H35.3112"]


def test_hyperemesis_with_dehydration_holds_its_metabolic_disturbance(cm_catalog):
    """I.B.12: O21.1 "with metabolic disturbance" says the dehydration and the hypokalemia; one hyperemesis code."""
    text = "24 yo G1P0 at 9 weeks 3 days.\nAssessment: Hyperemesis gravidarum with dehydration and hypokalemia."
    a = note(text, m("Hyperemesis gravidarum with dehydration", "O21.1"), m("hypokalemia", "E87.6"))
    coded = code(a, lines(("O21.1", 0.85, (0,)), ("E86.0", 0.8, (0,)), ("O21.0", 0.54, (0,)), ("E87.6", 0.85, (1,))),
                 cm_catalog, "inpatient")
    assert codes_of(coded) == ["O21.1", "Z3A.09"]


def test_steroid_hyperglycemia_is_no_diabetes_and_inpatient_sliding_scale_no_long_term_insulin(cm_catalog):
    """I.C.19.e.5.a: R73.9 with T38.0X5A; I.C.4.a.3: insulin given for a while in hospital is no Z79.4."""
    text = "On prednisone 40 mg daily.\nA/P: Steroid-induced hyperglycemia, no diabetes - sliding-scale insulin while on prednisone."
    a = note(text, m("Steroid-induced hyperglycemia", "R73.9"))
    coded = codes_of(code(a, lines(("R73.9", 0.85, (0,))), cm_catalog, "inpatient"))
    assert coded[:2] == ["R73.9", "T38.0X5A"] and "Z79.4" not in coded


def test_a_named_drugs_toxicity_is_its_adverse_effect(cm_catalog):
    """I.C.19.e.5.a: "lithium toxicity (adverse effect, therapeutic use) due to interaction with HCTZ"
    read as T50.905A is lithium's T43.595A, the drug named nearest."""
    text = "A/P: Lithium toxicity (adverse effect, therapeutic use) due to interaction with HCTZ, with tremor."
    a = note(text, m("adverse effect", "T50.905A"), m("tremor", "R25.1"))
    assert "T43.595A" in codes_of(code(a, lines(("R25.1", 0.85, (1,)), ("T50.905A", 0.85, (0,))), cm_catalog, "emergency"))


def test_a_drug_induced_hypothyroidism_is_e03_2_with_the_drug(cm_catalog):
    """I.C.19.e.5.a: "amiodarone-induced hypothyroidism" is E03.2 "due to medicaments" with T46.2X5A."""
    a = note("A/P: Amiodarone-induced hypothyroidism - levothyroxine.", m("hypothyroidism", "E03.9"))
    assert codes_of(code(a, lines(("E03.9", 0.85, (0,))), cm_catalog)) == ["E03.2", "T46.2X5A"]


def test_an_organism_named_with_parentheses_in_its_title_leaves_beside_its_pneumonia(cm_catalog):
    """I.C.1.e.1.a: B96.5 "Pseudomonas (aeruginosa) (mallei) ..." beside J15.1 "pneumonia due to Pseudomonas"."""
    text = "Sputum culture: Pseudomonas aeruginosa.\nDischarge diagnoses: Pneumonia due to Pseudomonas aeruginosa."
    a = note(text, m("Pseudomonas aeruginosa", "B96.5", "labs"), m("Pneumonia due to Pseudomonas aeruginosa", "J15.1", "discharge_diagnoses"))
    assert codes_of(code(a, lines(("J15.1", 0.85, (1,)), ("B96.5", 0.8, (0,))), cm_catalog, "inpatient")) == ["J15.1"]


def test_a_code_asking_in_words_for_another_keeps_it(cm_catalog):
    """K91.89 "use additional code ... to further specify disorder": a postoperative ileus is K91.89 and K56.7."""
    a = with_candidates(note("A/P: Postoperative ileus - NG tube.", m("Postoperative ileus", "K91.89")), 0, ("K91.89", 1.0), ("K56.7", 0.8))
    assert codes_of(code(a, lines(("K91.89", 0.78, (0,)), ("K56.7", 0.6, (0,))), cm_catalog, "inpatient")) == ["K91.89", "K56.7"]


@pytest.mark.parametrize("said, expected", [("Spontaneous vaginal delivery of a live infant.", "O99.824"),
                                            ("Routine prenatal visit at 36 weeks.", "O99.820")])
def test_a_group_b_strep_carrier_in_pregnancy_is_its_chapter_15_code(cm_catalog, said, expected):
    """I.C.15.a.1: a pregnant patient's GBS carrier state is O99.82- by the episode, not Z22.330."""
    a = note(f"G1P0, {said}\nA/P: GBS carrier.", m("GBS carrier", "Z22.330"))
    assert expected in codes_of(code(a, lines(("Z22.330", 0.8, (0,))), cm_catalog, "inpatient"))


def test_diabetes_insipidus_is_no_diabetes_mellitus(cm_catalog):
    """I.B.1: "DI" read as diabetes insipidus (E23.2) takes no E11.9 from the same words."""
    a = with_candidates(note("A/P: Central DI after pituitary surgery - desmopressin.", m("DI", "E23.2")), 0,
                        ("E23.2", 1.0), ("E11.9", 1.0))
    assert codes_of(code(a, lines(("E11.9", 0.8, (0,)), ("E23.2", 0.8, (0,))), cm_catalog, "inpatient")) == ["E23.2"]


def test_a_migraine_is_without_status_migrainosus_unless_the_note_says_it(cm_catalog):
    """The Index's default: "migraine without aura, not intractable" is G43.009, not G43.001."""
    a = note("A/P: Migraine without aura, not intractable - metoclopramide.", m("Migraine without aura, not intractable", "G43.001"))
    assert codes_of(code(a, lines(("G43.001", 0.7, (0,))), cm_catalog, "emergency")) == ["G43.009"]


def test_septic_emboli_are_no_sepsis(cm_catalog):
    """I.C.1.d.1.a: "septic pulmonary emboli" with endocarditis does not say sepsis."""
    text = "Impression: MSSA tricuspid valve endocarditis with septic pulmonary emboli."
    a = note(text, m("tricuspid valve endocarditis", "I33.0"), m("septic", "A41.9"))
    assert "A41.9" not in codes_of(code(a, lines(("I33.0", 0.8, (0,)), ("A41.9", 0.7, (1,))), cm_catalog, "inpatient"))


def test_no_integral_symptom_row_is_shadowed_by_an_earlier_one():
    """The table is read in order and the first row whose prefix matches wins: a row whose prefix
    starts with an earlier row's prefix would never apply."""
    from codesuggest.guidelines.tables import INTEGRAL_SYMPTOMS
    prefixes = list(INTEGRAL_SYMPTOMS)
    shadowed = [(p, q) for i, p in enumerate(prefixes) for q in prefixes[:i] if p.startswith(q)]
    assert not shadowed


def test_the_code_the_words_read_better_stays_whatever_the_ranker_prefers(cm_catalog):
    """I.B.2: "atopic dermatitis" (the candidate L20, read by L20.9) is not L30.9 "dermatitis,
    unspecified", however surer a ranker that rarely saw L20.9 is of L30.9."""
    a = with_candidates(note("A/P: Atopic dermatitis flare - triamcinolone ointment.", m("Atopic dermatitis", "L20.9")), 0,
                        ("L20", 1.0), ("L20.9", 0.9), ("L30.9", 0.8))
    assert codes_of(code(a, lines(("L30.9", 0.69, (0,)), ("L20.9", 0.23, (0,))), cm_catalog)) == ["L20.9"]


def test_the_site_a_cancer_spread_to_is_no_primary(cm_catalog):
    """I.C.2: "metastatic lung carcinoma to the brain" is C34.- with C79.31, not also C71.9 read from
    "carcinoma to the brain"."""
    text = "Discharge diagnoses: Metastatic non-small cell lung carcinoma to the brain."
    a = note(text, m("lung carcinoma", "C34.90", "discharge_diagnoses"), m("carcinoma to the brain", "C71.9", "discharge_diagnoses"))
    coded = code(a, lines(("C34.90", 0.82, (0,)), ("C71.9", 0.6, (1,)), ("C79.31", 0.79, (1,))), cm_catalog, "inpatient")
    assert "C71.9" not in codes_of(coded) and {"C34.90", "C79.31"} <= set(codes_of(coded))


def test_a_healed_fracture_of_osteoporosis_is_its_history_code(cm_catalog):
    """I.C.13.d.2: osteoporosis with a healed fragility fracture is M81.0 with Z87.310, not M80.0- nor Z87.81."""
    text = "Age-related osteoporosis and a healed left distal radius fragility fracture from 2023, on alendronate weekly.\nA/P: Osteoporosis."
    a = note(text, m("Osteoporosis", "M81.0"), m("distal radius fragility fracture", "S52.502A", "history_present_illness", historical=True))
    coded = codes_of(code(a, lines(("M81.0", 0.88, (0,)), ("S52.502A", 0.6, (1,))), cm_catalog))
    assert {"M81.0", "Z87.310", "Z79.83"} <= set(coded) and not [c for c in coded if c.startswith(("M80", "Z87.81", "S52"))]


def test_claudication_takes_the_side_of_its_own_words(cm_catalog):
    """I.B.9: "atherosclerosis of the left leg with intermittent claudication; s/p right BKA" is I70.212."""
    text = "A/P: Atherosclerosis of native arteries of the left leg with intermittent claudication - cilostazol; status post right BKA."
    a = note(text, m("Atherosclerosis of native arteries of the left leg", "I70.209"))
    assert "I70.212" in codes_of(code(a, lines(("I70.209", 0.8, (0,))), cm_catalog))


def test_one_long_term_drug_code_per_phrase(cm_catalog):
    """I.B.12: "anticoagulated with apixaban" is Z79.01, not also Z79.02 read from "anticoagulated"."""
    a = with_candidates(note("A/P: AF, anticoagulated with apixaban.", m("anticoagulated", "Z79.01")), 0, ("Z79.01", 1.0), ("Z79.02", 0.6))
    assert "Z79.02" not in codes_of(code(a, lines(("Z79.01", 0.85, (0,)), ("Z79.02", 0.33, (0,))), cm_catalog))


@pytest.mark.parametrize("text, organism, organism_code, expected", [
    ("A/P: E. coli pneumonia - ceftriaxone.", "E. coli", "B96.20", ["J15.5"]),
    ("A/P: Pneumonia due to MRSA.", "MRSA", "A49.02", ["J15.212"]),
    # the organism could be the UTI's: the provider links them, not the coder
    ("A/P: Pneumonia and E. coli UTI.", "E. coli", "B96.20", ["J18.9", "B96.20", "N39.0"]),
])
def test_a_pneumonia_and_the_organism_its_sentence_names_are_one_code(cm_catalog, text, organism, organism_code, expected):
    """I.B.9: "E. coli pneumonia" is J15.5 (the Index's "Pneumonia, in (due to)"), no B96.20 beside it."""
    mentions = [m("neumonia", "J18.9"), m(organism, organism_code)] + ([m("UTI", "N39.0")] if "UTI" in text else [])
    ranked = lines(("J18.9", 0.9, (0,)), (organism_code, 0.85, (1,)), *((("N39.0", 0.8, (2,)),) if "UTI" in text else ()))
    assert sorted(codes_of(code(note(text, *mentions), ranked, cm_catalog, "inpatient"))) == sorted(expected)


def test_an_organism_code_leaves_beside_the_combination_that_names_it(cm_catalog):
    """I.C.1.e.1.a: B96.1 "Klebsiella pneumoniae [K. pneumoniae] ..." leaves beside J15.0 (the bracketed
    abbreviation is no part of the organism's name); "Klebsiella pneumonia" names the disease."""
    text = "A/P: Klebsiella pneumonia, RLL - ceftriaxone."
    words = "Klebsiella pneumonia"
    a = note(text, m(words, "B96.1"))
    a = replace(a, mentions=(replace(a.mentions[0], candidates=(Candidate(CM, "B96.1", "", 1.0, words),
                                                                  Candidate(CM, "J15.0", "", 1.0, words))),))
    assert codes_of(code(a, lines(("B96.1", 0.9, (0,)), ("J15.0", 0.85, (0,))), cm_catalog, "inpatient")) == ["J15.0"]
    culture = "Urine culture: Klebsiella pneumoniae."
    b = note(culture, m("Klebsiella pneumoniae", "B96.1"))
    b = replace(b, mentions=(replace(b.mentions[0], candidates=(Candidate(CM, "B96.1", "", 1.0, "k"),
                                                                  Candidate(CM, "J15.0", "", 1.0, "k"))),))
    assert "J15.0" not in codes_of(code(b, lines(("B96.1", 0.9, (0,)), ("J15.0", 0.85, (0,))), cm_catalog, "inpatient"))


def test_a_staged_ulcer_takes_the_site_of_its_own_clause_and_keeps_its_stage(cm_catalog):
    """I.C.12.a: "sacrum - stage 3 pressure injury" is L89.153 (the sacral region holds the sacrum), not
    the stage 4 of the "4 x 3 cm" beside it; the heel of the clause after the semicolon is another ulcer's."""
    text = "Skin: sacrum - stage 3 pressure injury 4 x 3 cm, full thickness; L heel - skin intact."
    got = codes_of(code(note(text, m("stage 3 pressure injury", "L89.93")), lines(("L89.93", 0.9, (0,))), cm_catalog,
                        "inpatient"))
    assert got == ["L89.153"]


@pytest.mark.parametrize("age, expected", [("71 yo F", "R62.7"), ("2 yo M", "R62.51")])
def test_failure_to_thrive_by_the_patients_age(cm_catalog, age, expected):
    text = f"{age} admitted with failure to thrive."
    a = note(text, m("failure to thrive", "R62.51"))
    assert codes_of(code(a, lines(("R62.51", 0.9, (0,))), cm_catalog, "inpatient")) == [expected]


def test_copd_not_in_exacerbation_is_no_exacerbation(cm_catalog):
    a = note("A/P: COPD, not in exacerbation - continue tiotropium.", m("COPD", "J44.9"))
    assert codes_of(code(a, lines(("J44.9", 0.9, (0,))), cm_catalog)) == ["J44.9"]


def test_a_longer_reading_that_links_more_words_is_the_one_code(cm_catalog):
    """I.B.9 / I.B.12: "L5-S1 disc herniation with left S1 radiculopathy" is M51.17 (with radiculopathy),
    not the M51.27 of its first words, though the ranker is surer of the shorter reading and the MRI
    line says the herniation alone; without a linking "with" the shorter reading is not absorbed."""
    text = "MRI: L5-S1 disc herniation at the left S1 root.\nA/P: L5-S1 disc herniation with left S1 radiculopathy - PT."
    inner, outer = "L5-S1 disc herniation", "L5-S1 disc herniation with left S1 radiculopathy"
    a = note(text, m(inner, "M51.27"), m(outer, "M51.17"))
    second = text.index(outer)
    mentions = (a.mentions[0], replace(a.mentions[0], start=second, end=second + len(inner), sentence_start=text.index("A/P"),
                                       sentence_end=len(text)), a.mentions[1])
    a = replace(a, mentions=mentions)
    coded = code(a, lines(("M51.27", 0.8, (0, 1)), ("M51.17", 0.45, (2,))), cm_catalog)
    assert codes_of(coded) == ["M51.17"] and coded.lines[0].confidence == 0.8


def test_words_that_name_an_other_kind_beat_the_unspecified_code(cm_catalog):
    """I.B.18: "sprain, anterior talofibular ligament" is a ligament no S93.4- title lists: S93.49- "other
    ligament", which the words name (its wording), not S93.40- "unspecified ligament" of "right ankle sprain"."""
    text = "Impression: Right ankle sprain, anterior talofibular ligament."
    a = note(text, m("Right ankle sprain", "S93.401A"), m("sprain, anterior talofibular ligament", "S93.49"))
    coded = code(a, lines(("S93.401A", 0.9, (0,)), ("S93.491A", 0.6, (1,))), cm_catalog, "emergency")
    assert codes_of(coded)[0] == "S93.491A" and "S93.401A" not in codes_of(coded)


@pytest.mark.parametrize("said, expected", [
    ("bilateral sciatica", ["M54.41", "M54.42"]), ("left-sided sciatica", ["M54.42"]), ("sciatica", ["M54.40"]),
])
def test_lumbago_with_sciatica_on_each_side_the_words_give(cm_catalog, said, expected):
    """I.B.9 and I.B.13: low back pain with sciatica is M54.4- on the sciatica's side; bilateral, with no
    bilateral code, is both sides; a sibling side the ranker put forward is not the note's."""
    text = f"A/P: Low back pain with {said}."
    a = note(text, m("Low back pain", "M54.50"), m("sciatica", "M54.30"))
    ranked = lines(("M54.50", 0.8, (0,)), ("M54.30", 0.8, (1,)), ("M54.31", 0.8, (1,)))
    assert sorted(c for c in codes_of(code(a, ranked, cm_catalog)) if c.startswith("M54")) == expected


def test_zoster_without_complications_gives_way_to_any_of_its_complications(cm_catalog):
    """I.B.9: B02.9 "zoster without complications" is not coded beside B02.29 postherpetic neuralgia, though
    B02.29's title ("other postherpetic nervous system involvement") has no "with"."""
    text = "Shingles 6 weeks ago, the pain persists.\nA/P: Postherpetic neuralgia - gabapentin."
    a = note(text, m("Shingles", "B02.9"), m("Postherpetic neuralgia", "B02.29"))
    coded = code(a, lines(("B02.9", 0.85, (0,)), ("B02.29", 0.78, (1,))), cm_catalog)
    assert codes_of(coded) == ["B02.29"]


def test_a_cervical_disc_with_radiculopathy_at_the_level_the_note_names(cm_catalog):
    """I.B.2: "C5-C6" is M50.122's level (not M50.13, whose "cervicothoracic" only begins like "cervical"),
    and the longer reading with the radiculopathy is the one code (I.B.9)."""
    text = "A/P: Cervical disc herniation at C5-C6 with right C6 radiculopathy."
    outer = "disc herniation at C5-C6 with right C6 radiculopathy"
    a = note(text, m("Cervical disc herniation at C5-C6", "M50.20"), m(outer, "M50.10"))
    coded = code(a, lines(("M50.20", 0.8, (0,)), ("M50.10", 0.45, (1,))), cm_catalog)
    assert codes_of(coded) == ["M50.122"]


def test_a_titles_with_reads_two_conditions_said_with_and(cm_catalog):
    """I.B.9: "sarcoidosis of lung and hilar lymph nodes" is D86.2 (lung with lymph nodes), not D86.0 of its
    first words; the cough and the enlarged nodes are its signs (I.B.5)."""
    text = "A/P: Sarcoidosis of lung and hilar lymph nodes, mild dry cough."
    a = note(text, m("Sarcoidosis of lung", "D86.0"), m("Sarcoidosis of lung and hilar lymph nodes", "D86.2"), m("cough", "R05.9"))
    coded = code(a, lines(("D86.0", 0.9, (0,)), ("D86.2", 0.4, (1,)), ("R05.9", 0.6, (2,))), cm_catalog)
    assert codes_of(coded) == ["D86.2"]


def test_an_allergy_names_allergic_urticaria(cm_catalog):
    text = "Assessment: Urticaria due to amoxicillin, drug allergy."
    a = note(text, m("Urticaria", "L50.9"))
    assert codes_of(code(a, lines(("L50.9", 0.9, (0,))), cm_catalog)) == ["L50.0", "T36.0X5A"]  # and its drug (I.C.19.e.5.a)


@pytest.mark.parametrize("said, expected", [
    ("Acute hypercapnic respiratory failure due to COPD exacerbation.", "J96.02"),
    ("Acute on chronic hypercapnic respiratory failure.", "J96.22"),
])
def test_acute_and_chronic_respiratory_failure_needs_the_word_chronic(cm_catalog, said, expected):
    """I.B.1: J96.22 "acute and chronic" for words that say only "acute" (COPD's "chronic" is not the
    failure's) gives way to J96.02."""
    failure = said.split(" due to")[0].rstrip(".")
    a = note(f"Assessment: {said}", m(failure, "J96.22"))
    assert codes_of(code(a, lines(("J96.22", 0.9, (0,))), cm_catalog, "inpatient")) == [expected]


def test_gestational_hypertension_before_delivery_is_no_essential_hypertension(cm_catalog):
    """I.C.15.a.1, I.C.15.d: hypertension in a pregnancy is O13.3 at 34 weeks (not O13.4 "complicating
    childbirth" before any delivery, a planned one aside), and I10 is not coded beside it."""
    text = "31 yo G1P0 at 34 weeks.\nAssessment: gestational hypertension without significant proteinuria.\nPlan: delivery at 37 weeks."
    a = note(text, m("gestational hypertension without significant proteinuria", "O13.9"))
    coded = code(a, lines(("O13.9", 0.8, (0,)), ("I10", 0.6, (0,)), ("O13.4", 0.3, (0,))), cm_catalog)
    assert sorted(codes_of(coded)) == ["O13.3", "Z3A.34"]


def test_a_named_kind_of_a_condition_takes_its_site_words_too(cm_catalog):
    """I.B.12: "Dupuytren's contracture, left hand" is M72.0, not also M24.542 "contracture, left hand" read
    from its last words; a diabetic foot ulcer keeps its L97.4- (E11.621 asks for it)."""
    text = "Dx: Dupuytren's contracture, left hand."
    a = note(text, m("Dupuytren's contracture", "M72.0"), m("contracture, left hand", "M24.542"))
    coded = code(a, lines(("M72.0", 0.8, (0,)), ("M24.542", 0.88, (1,))), cm_catalog)
    assert codes_of(coded) == ["M72.0"]
    text = "Dx: Diabetic foot ulcer, left heel, limited to breakdown of skin."
    a = note(text, m("Diabetic foot ulcer", "E11.621"), m("ulcer, left heel", "L97.421"))
    coded = code(a, lines(("E11.621", 0.8, (0,)), ("L97.421", 0.8, (1,))), cm_catalog)
    assert {"E11.621", "L97.421"} <= set(codes_of(coded))


@pytest.mark.parametrize("cause, expected", [
    ("hypertriglyceridemia", "K85.80"), ("gallstones", "K85.90"), ("unclear etiology", "K85.90"),
])
def test_acute_pancreatitis_of_another_named_cause(cm_catalog, cause, expected):
    """I.B.1: the index's "specified NEC": a cause with no K85 code of its own is K85.8-; a cause that has one
    (biliary K85.1-) is the ranker's and the words' to find, not "other"."""
    a = note(f"Assessment: Acute pancreatitis due to {cause}.", m("Acute pancreatitis", "K85.90"))
    assert codes_of(code(a, lines(("K85.90", 0.9, (0,))), cm_catalog, "inpatient")) == [expected]


def test_a_bleeding_is_in_the_code_titled_with_it(cm_catalog):
    """I.B.9: "diverticulosis of the sigmoid colon with hemorrhage" is K57.31 ("with bleeding": a hemorrhage
    is a bleeding), and the bleeding is not coded apart (R58)."""
    text = "Discharge diagnoses:\n1. Diverticulosis of the sigmoid colon with hemorrhage."
    a = note(text, m("Diverticulosis of the sigmoid colon", "K57.30"), m("hemorrhage", "R58"))
    coded = code(a, lines(("K57.30", 0.9, (0,)), ("R58", 0.85, (1,))), cm_catalog, "inpatient")
    assert codes_of(coded) == ["K57.31"]


def test_pancytopenia_due_to_chemotherapy(cm_catalog):
    """I.C.3.a: D61.810 with the adverse effect of the antineoplastic (T45.1X5-, I.C.19.e.5.a)."""
    a = note("Assessment: Pancytopenia due to chemotherapy.", m("Pancytopenia", "D61.818"))
    assert codes_of(code(a, lines(("D61.818", 0.9, (0,))), cm_catalog, "inpatient")) == ["D61.810", "T45.1X5A"]


def test_diabetic_osteomyelitis_of_the_foot(cm_catalog):
    """I.A.15: diabetes "with" osteomyelitis is E11.69 (the index), the osteomyelitis coded too; "acute
    osteomyelitis of the right foot" is M86.171 (its "other" is the category's name: the index's M86.1-), and
    the unspecified M86.9 of "diabetic foot osteomyelitis" leaves beside it."""
    text = ("67 yo M with type 2 diabetes.\nAssessment: Acute osteomyelitis of the right foot in a patient with type 2 "
            "diabetes (diabetic foot osteomyelitis).")
    a = note(text, m("type 2 diabetes", "E11.9"), m("Acute osteomyelitis", "M86.10"), m("osteomyelitis)", "M86.9"))
    coded = code(a, lines(("E11.9", 0.9, (0,)), ("M86.10", 0.8, (1,)), ("M86.9", 0.9, (2,))), cm_catalog, "inpatient")
    assert sorted(codes_of(coded)) == ["E11.69", "M86.171"]


def test_a_stray_unsure_code_of_the_chapter_does_not_absorb_a_stated_cancer(cm_catalog):
    """I.B.18: C80.2 (with a transplanted organ), ranked low on the words of a breast cancer, says nothing more
    of it: C50.911 stays."""
    text = "Assessment: Hypercalcemia of malignancy from right breast cancer."
    a = note(text, m("right breast cancer", "C50.911"))
    coded = code(a, lines(("C50.911", 0.9, (0,)), ("C80.2", 0.21, (0,))), cm_catalog, "inpatient")
    assert "C50.911" in codes_of(coded)


def test_a_residual_code_leaves_for_the_code_its_excludes1_note_names(cm_catalog):
    """I.A.12.a: J90 "pleural effusion, not elsewhere classified" excludes "malignant pleural effusion (J91.0)":
    on the same words only J91.0 is coded (with the primary)."""
    text = "Assessment: Malignant pleural effusion due to right upper lobe lung adenocarcinoma."
    a = note(text, m("Malignant pleural effusion", "J91.0"), m("right upper lobe lung adenocarcinoma", "C34.11"))
    coded = code(a, lines(("J90", 0.9, (0,)), ("J91.0", 0.7, (0,)), ("C34.11", 0.9, (1,))), cm_catalog, "inpatient")
    assert sorted(codes_of(coded)) == ["C34.11", "J91.0"]


def test_the_tingling_and_pain_of_a_cold_sore_are_its_own(cm_catalog):
    """I.B.5: paresthesia and pain are routinely part of herpes labialis (B00.1)."""
    text = "Tingling then painful vesicles on the upper lip.\nDx: Herpes labialis."
    a = note(text, m("Tingling", "R20.2"), m("painful", "R52"), m("Herpes labialis", "B00.1"))
    coded = code(a, lines(("B00.1", 0.9, (2,)), ("R20.2", 0.8, (0,)), ("R52", 0.7, (1,))), cm_catalog)
    assert codes_of(coded) == ["B00.1"]


def test_two_pressure_injuries_of_one_sentence_each_at_its_own_site(cm_catalog):
    """I.C.12.a, I.B.2: "sacrum - stage 3 pressure injury; L heel - deep tissue pressure injury" is L89.153 and
    L89.626: the stage 3 code takes the site of the clause that reads it, not the heel of the other clause."""
    text = "Skin: sacrum - stage 3 pressure injury, full thickness; L heel - deep tissue pressure injury, intact skin."
    first, second = "stage 3 pressure injury", "deep tissue pressure injury"
    a = note(text, m(first, "L89.93"), m(second, "L89.96"))
    mentions = (a.mentions[0], replace(a.mentions[1], candidates=a.mentions[1].candidates + (Candidate(CM, "L89.93", "", 0.6, ""),)))
    a = replace(a, mentions=mentions)
    coded = code(a, lines(("L89.93", 0.85, (0, 1)), ("L89.96", 0.9, (1,))), cm_catalog, "inpatient")
    assert sorted(codes_of(coded)) == ["L89.153", "L89.626"]


def test_signs_of_an_infection_and_of_malnutrition_are_theirs(cm_catalog):
    """I.B.5: the leukocytosis of a cellulitis; the weight loss of a malnutrition."""
    text = "Assessment: Cellulitis of the left lower leg with leukocytosis. Moderate protein-calorie malnutrition, weight loss."
    a = note(text, m("Cellulitis of the left lower leg", "L03.116"), m("leukocytosis", "D72.829"),
             m("Moderate protein-calorie malnutrition", "E44.0"), m("weight loss", "R63.4"))
    coded = code(a, lines(("L03.116", 0.9, (0,)), ("D72.829", 0.8, (1,)), ("E44.0", 0.9, (2,)), ("R63.4", 0.8, (3,))),
                 cm_catalog, "inpatient")
    assert sorted(codes_of(coded)) == ["E44.0", "L03.116"]


def test_a_keloid_is_its_scar_and_a_rash_disease_its_itch(cm_catalog):
    """I.B.12 / I.B.5: the scar of a keloid is L91.0 alone; pityriasis rosea's itch is its own."""
    text = "Firm raised scar on the left earlobe.\nAssessment: Keloid of the left earlobe. Pityriasis rosea, mild itch."
    a = note(text, m("raised scar", "L90.5"), m("Keloid", "L91.0"), m("Pityriasis rosea", "L42"), m("itch", "L29.9"))
    coded = code(a, lines(("L90.5", 0.8, (0,)), ("L91.0", 0.9, (1,)), ("L42", 0.9, (2,)), ("L29.9", 0.7, (3,))), cm_catalog)
    assert sorted(codes_of(coded)) == ["L42", "L91.0"]


@pytest.mark.parametrize("said, expected", [
    ("Type 2 diabetes without complications, diet controlled.", ["E11.9"]),
    ("Type 2 diabetes in remission after bariatric surgery, A1c 5.4 off all medication.", ["E11.A"]),
])
def test_diabetes_in_remission_only_when_the_note_says_remission(cm_catalog, said, expected):
    """I.C.5.b.1's rule for remission codes, which E11.A follows: the provider's words, not a ranker's guess."""
    a = note(f"Assessment: {said}", m("Type 2 diabetes", "E11.9"))
    coded = code(a, lines(("E11.9", 0.9, (0,)), ("E11.A", 0.45, (0,))), cm_catalog)
    assert codes_of(coded) == expected


@pytest.mark.parametrize("text, sign, sign_code, diagnosis, diagnosis_code", [
    ("Urgency and frequency.\nA/P: Overactive bladder.", "frequency", "R35.0", "Overactive bladder", "N32.81"),
    ("Left scrotal pain.\nDx: Acute left epididymitis.", "scrotal pain", "N50.82", "epididymitis", "N45.1"),
    ("Dysuria for 3 days.\nDx: Acute epididymitis.", "Dysuria", "R30.0", "epididymitis", "N45.1"),
    ("Nasal congestion, facial pressure.\nA/P: Acute maxillary sinusitis.", "Nasal congestion", "R09.81",
     "Acute maxillary sinusitis", "J01.00"),
    ("Amenorrhea for 6 months.\nA/P: Hyperprolactinemia.", "Amenorrhea", "N91.2", "Hyperprolactinemia", "E22.1"),
    ("Galactorrhea.\nA/P: Hyperprolactinemia.", "Galactorrhea", "N64.3", "Hyperprolactinemia", "E22.1"),
    ("Brief LOC while blood was drawn.\nImpression: Vasovagal syncope.", "LOC", "R40.20", "Vasovagal syncope", "R55"),
    ("8 lb weight gain, orthopnea.\nA/P: Acute on chronic systolic heart failure.", "weight gain", "R63.5",
     "Acute on chronic systolic heart failure", "I50.23"),
    ("Left-sided tinnitus, vertigo.\nA/P: Meniere's disease, left ear.", "tinnitus", "H93.12", "Meniere's disease",
     "H81.02"),
    ("PSA rising.\nA/P: Metastatic prostate cancer.", "PSA rising", "R97.20", "prostate cancer", "C61"),
    ("Right wrist pain.\nA/P: De Quervain tenosynovitis, right.", "wrist pain", "M25.531", "De Quervain tenosynovitis",
     "M65.4"),
    ("Right hip pain.\nA/P: Trochanteric bursitis, right hip.", "hip pain", "M25.551", "Trochanteric bursitis", "M70.61"),
    ("Left foot pain.\nA/P: Morton's neuroma, left foot.", "foot pain", "M79.672", "Morton's neuroma", "G57.62"),
    ("Chest wall pain.\nDx: Costochondritis.", "Chest wall pain", "R07.89", "Costochondritis", "M94.0"),
    ("CT: small bowel obstruction.\nDx: Incarcerated right inguinal hernia with obstruction.", "small bowel obstruction",
     "K56.609", "Incarcerated right inguinal hernia with obstruction", "K40.30"),
    ("CT: 20% pancreatic necrosis.\nDx: Acute biliary pancreatitis with uninfected necrosis.", "necrosis", "I96",
     "Acute biliary pancreatitis with uninfected necrosis", "K85.11"),
    ("Harsh systolic murmur.\nA/P: Obstructive hypertrophic cardiomyopathy.", "systolic murmur", "R01.1",
     "Obstructive hypertrophic cardiomyopathy", "I42.1"),
    ("6 kg weight loss.\nDischarge diagnoses: Adult failure to thrive.", "weight loss", "R63.4", "Adult failure to thrive",
     "R62.7"),
    ("Painful bump at the left great toe.\nA/P: Hallux valgus, left foot.", "Painful bump at the left great toe", "M79.675",
     "Hallux valgus, left foot", "M20.12"),
    ("Palpitations on standing.\nA/P: POTS.", "Palpitations", "R00.2", "POTS", "G90.A"),
    ("Bloating after meals.\nA/P: SIBO.", "Bloating", "R14.0", "SIBO", "K63.8219"),
    ("Morning stiffness 15 minutes.\nA/P: Ankylosing spondylitis, lumbosacral.", "Morning stiffness", "M25.60",
     "Ankylosing spondylitis, lumbosacral", "M45.7"),
    ("Duplex: thrombus in the left great saphenous vein.\nA/P: Superficial thrombophlebitis, left leg.",
     "thrombus in the left great saphenous vein", "I82.90", "Superficial thrombophlebitis, left leg", "I80.02"),
    ("CXR: bilateral pleural effusions.\nDx: Acute on chronic systolic heart failure.", "pleural effusions", "J90",
     "Acute on chronic systolic heart failure", "I50.23"),
    ("Palpable right breast lump.\nA/P: Fibroadenoma of the right breast.", "right breast lump", "N63.10",
     "Fibroadenoma of the right breast", "D24.1"),
    ("Sharp chest pain on deep breaths.\nImpression: Pleurisy.", "chest pain", "R07.9", "Pleurisy", "R09.1"),
    ("Painless gross hematuria.\nA/P: Urothelial carcinoma of the dome of the bladder.", "gross hematuria", "R31.0",
     "Urothelial carcinoma of the dome of the bladder", "C67.1"),
    ("Drenching night sweats.\nA/P: Nodular sclerosis Hodgkin lymphoma, mediastinal nodes.", "night sweats", "R61",
     "Nodular sclerosis Hodgkin lymphoma, mediastinal nodes", "C81.12"),
    ("Referred for an HSIL Pap.\nA/P: CIN II.", "HSIL Pap", "R87.613", "CIN II", "N87.1"),
    ("Abdominal pain before stooling.\nA/P: Functional constipation.", "Abdominal pain", "R10.9", "Functional constipation",
     "K59.04"),
    ("Left eye pain and tearing.\nImpression: Corneal foreign body, left eye.", "Left eye pain", "H57.12",
     "Corneal foreign body, left eye", "T15.02XA"),
    ("Confused on arrival.\nImpression: Exertional heat stroke.", "Confused", "R41.0", "Exertional heat stroke", "T67.02XA"),
    ("Palpitations for 6 months.\nA/P: WPW syndrome.", "Palpitations", "R00.2", "WPW syndrome", "I45.6"),
    ("Fainted, preceded by nausea and warmth.\nImpression: Vasovagal syncope.", "nausea", "R11.0", "Vasovagal syncope", "R55"),
    ("Retching, then blood in the vomit.\nImpression: Mallory-Weiss tear.", "Retching", "R11.10", "Mallory-Weiss tear", "K22.6"),
    ("Itching for a year.\nA/P: Primary biliary cholangitis.", "Itching", "L29.9", "Primary biliary cholangitis", "K74.3"),
    ("Dysphagia to solids and liquids.\nA/P: Achalasia.", "Dysphagia", "R13.10", "Achalasia", "K22.0"),
    ("BP 84/50.\nDx: Addison's disease.", "BP 84/50", "I95.9", "Addison's disease", "E27.1"),
    ("BP 88/60, pulsus paradoxus.\nDx: Cardiac tamponade.", "BP 88/60", "I95.9", "Cardiac tamponade", "I31.4"),
    ("Crushing chest pain.\nDx: Takotsubo cardiomyopathy.", "chest pain", "R07.9", "Takotsubo cardiomyopathy", "I51.81"),
    ("Thyroid diffusely enlarged.\nDx: Graves' disease with diffuse goiter.", "Thyroid diffusely enlarged", "E04.0",
     "Graves' disease with diffuse goiter", "E05.00"),
    ("Toes pale and waxy.\nImpression: Superficial frostbite of the right toes.", "pale", "R23.1",
     "Superficial frostbite of the right toes", "T33.831A"),
    ("Grouped calcifications on mammogram.\nA/P: Right breast DCIS.", "calcifications on mammogram", "R92.1",
     "Right breast DCIS", "D05.11"),
    ("MRI: 4 cm ring-enhancing mass, left frontal lobe.\nDx: Glioblastoma of the left frontal lobe.", "mass", "R22.9",
     "Glioblastoma of the left frontal lobe", "C71.1"),
    ("Severe L eye pain and frontal headache.\nA/P: Acute angle-closure glaucoma OS.", "headache", "R51.9",
     "Acute angle-closure glaucoma", "H40.212"),
    ("Urinary incontinence for a year.\nA/P: Idiopathic normal pressure hydrocephalus.", "Urinary incontinence", "R32",
     "normal pressure hydrocephalus", "G91.2"),
    ("Excessive daytime sleepiness.\nA/P: Narcolepsy with cataplexy.", "daytime sleepiness", "R40.0",
     "Narcolepsy with cataplexy", "G47.411"),
    ("Fever for 6 days.\nDx: Kawasaki disease.", "Fever", "R50.9", "Kawasaki disease", "M30.3"),
    ("Progressive low back pain.\nA/P: L3 vertebral osteomyelitis.", "low back pain", "M54.50",
     "vertebral osteomyelitis", "M46.26"),
    ("Purulent urethral discharge.\nA/P: Gonococcal urethritis.", "urethral discharge", "R36.0", "Gonococcal urethritis",
     "A54.01"),
    ("US: innumerable bilateral kidney cysts.\nA/P: ADPKD.", "kidney cysts", "N28.1", "ADPKD", "Q61.2"),
    ("Abuse suspected on arrival.\nDx: Child physical abuse, confirmed by CPS.", "Abuse suspected", "T76.12XA",
     "Child physical abuse, confirmed", "T74.12XA"),
    ("CT: hemoperitoneum.\nDx: Moderate laceration of the spleen.", "hemoperitoneum", "K66.1",
     "laceration of the spleen", "S36.031A"),
    ("Acute pyelonephritis.\nDx: Pyelonephritis in pregnancy, 28 weeks.", "Acute pyelonephritis", "N10",
     "Pyelonephritis in pregnancy", "O23.03"),
    ("Pleuritic chest pain, pericarditis.\nDx: Dressler syndrome.", "pericarditis", "I30.9", "Dressler syndrome", "I24.1"),
    ("Auditory hallucinations, psychosis.\nA/P: MDD, single episode, severe with psychotic features.", "psychosis", "F29",
     "MDD, single episode, severe with psychotic features", "F32.3"),
    ("Trouble sleeping, insomnia.\nA/P: Insomnia due to GAD.", "insomnia", "G47.00", "Insomnia due to GAD", "F51.05"),
    ("Tearing chest pain.\nImpression: Type A aortic dissection of the ascending aorta.", "chest pain", "R07.9",
     "aortic dissection of the ascending aorta", "I71.010"),
    ("Anxious, palpitations.\nImpression: Cannabis-induced anxiety disorder.", "palpitations", "R00.2",
     "Cannabis-induced anxiety disorder", "F12.980"),
    ("Progressive headaches.\nDx: Solitary brain metastasis from melanoma.", "headaches", "R51.9", "brain metastasis",
     "C79.31"),
    ("Total bili 18.\nDx: Hyperbilirubinemia; neonatal jaundice of prematurity.", "Hyperbilirubinemia", "E80.7",
     "neonatal jaundice of prematurity", "P59.0"),
    ("Dry mouth and dry eyes.\nA/P: Sjogren syndrome with keratoconjunctivitis sicca.", "Dry mouth", "R68.2",
     "Sjogren syndrome with keratoconjunctivitis sicca", "M35.01"),
    ("Chills since last night.\nA/P: Fever without a source.", "Chills", "R68.83", "Fever", "R50.9"),
    ("Exam: crackles R base.\nA/P: Community-acquired pneumonia.", "crackles", "R09.89", "Community-acquired pneumonia",
     "J18.9"),
    ("CC: R shoulder pain.\nImpression: fragility fracture R proximal humerus, age-related osteoporosis.", "shoulder pain",
     "M25.511", "fragility fracture R proximal humerus", "M80.021A"),
    ("Large R knee effusion.\nImpression: Lyme arthritis, R knee.", "knee effusion", "M25.461", "Lyme arthritis", "A69.23"),
    ("Pleuritic chest pain, cough.\nA/P: Hb SC disease with acute chest syndrome.", "chest pain", "R07.9",
     "Hb SC disease with acute chest syndrome", "D57.211"),
    ("Ca 6.9, perioral tingling.\nA/P: Hypoparathyroidism after total thyroidectomy.", "Ca 6.9", "E83.51",
     "Hypoparathyroidism after total thyroidectomy", "E89.2"),
    ("CC: hand injury.\nAssessment: 2nd degree burn of back of L hand.", "hand injury", "T14.8XXA",
     "2nd degree burn of back of L hand", "T23.262A"),
])
def test_signs_routinely_part_of_these_diagnoses_are_not_coded(cm_catalog, text, sign, sign_code, diagnosis,
                                                              diagnosis_code):
    """I.B.5: urgency and frequency are what an overactive bladder is; scrotal pain and dysuria come with an
    epididymitis, congestion with a sinusitis, amenorrhea and galactorrhea with a hyperprolactinemia."""
    a = note(text, m(sign, sign_code, "history_present_illness"), m(diagnosis, diagnosis_code))
    coded = code(a, lines((sign_code, 0.8, (0,)), (diagnosis_code, 0.8, (1,))), cm_catalog)
    assert codes_of(coded) == [diagnosis_code]


def test_intoxication_with_no_complication_named_is_the_uncomplicated_code(cm_catalog):
    """I.B.18 / I.C.5.b.2: "acute alcohol intoxication" is F10.920 "... with intoxication, uncomplicated",
    not F10.921 "... with intoxication delirium", which the note does not say, however the ranker orders them."""
    a = note("Impression: Acute alcohol intoxication.", m("Acute alcohol intoxication", "F10.92"))
    coded = code(a, lines(("F10.921", 0.7, (0,)), ("F10.920", 0.6, (0,))), cm_catalog, "emergency")
    assert codes_of(coded) == ["F10.920"]


def test_hypothermia_outdoors_in_the_cold_has_its_external_cause(cm_catalog):
    """I.C.20: hypothermia (T68) from a night outdoors in freezing weather is X31, exposure to excessive natural cold."""
    text = "ED NOTE\nFound outdoors overnight in freezing weather.\nAssessment: Accidental hypothermia."
    a = note(text, m("Accidental hypothermia", "T68.XXXA"))
    assert "X31.XXXA" in codes_of(code(a, lines(("T68.XXXA", 0.8, (0,))), cm_catalog, "emergency"))


@pytest.mark.parametrize("sentence, expected", [
    ("Acute inferior ST elevation myocardial infarction due to RCA occlusion.", "I21.11"),
    ("STEMI with 100% proximal LAD occlusion.", "I21.02"),
    ("Acute inferior STEMI.", "I21.19"),
    ("Anterolateral STEMI.", "I21.09"),
    ("STEMI.", "I21.3"),
])
def test_a_stemi_is_coded_by_the_artery_or_wall_named(cm_catalog, sentence, expected):
    """I.C.9.e.1: STEMI codes by site, the artery before the wall; I21.3 only when neither is documented."""
    words = "STEMI" if "STEMI" in sentence else "ST elevation myocardial infarction"
    a = note("Discharge diagnoses: " + sentence, m(words, "I21.3", "discharge_diagnoses"))
    assert codes_of(code(a, lines(("I21.3", 0.8, (0,))), cm_catalog, "inpatient")) == [expected]


def test_an_atherosclerotic_heel_ulcer_takes_its_site_code_and_its_ulcer_code(cm_catalog):
    """I.B.9 and I.A.13: atherosclerosis of the right leg with a heel ulcer is I70.234 ("heel and midfoot": the
    heel is in the pair), and I70.23- asks for the ulcer's severity, L97.411."""
    text = ("A/P: Atherosclerosis of native arteries of the right leg with ulceration of the right heel, limited to "
            "breakdown of the skin.")
    a = note(text, m("Atherosclerosis of native arteries of the right leg with ulceration", "I70.239"))
    assert codes_of(code(a, lines(("I70.239", 0.8, (0,))), cm_catalog)) == ["I70.234", "L97.411"]


def test_a_multiple_sites_code_needs_the_note_to_say_more_than_one(cm_catalog):
    """I.B.2: "ganglion cyst, left wrist" gives M67.40 no reason to become M67.49 "multiple sites"."""
    text = "Assessment: Ganglion cyst, left wrist."
    mention = Mention(text="Ganglion", start=12, end=20, kind="diagnosis", section="assessment", sentence_start=0,
                      sentence_end=len(text), assertion=Assertion(),
                      candidates=(Candidate(CM, "M67.4", "", 1.0, "ganglion"), Candidate(CM, "M67.49", "", 0.9, "ganglion"),
                                  Candidate(CM, "M67.40", "", 0.9, "ganglion")))
    a = NoteAnalysis(text=text, mentions=(mention,))
    assert "M67.49" not in codes_of(code(a, lines(("M67.40", 0.8, (0,))), cm_catalog))


def test_codes_tied_on_the_same_words_keep_the_one_a_mention_names_exactly(cm_catalog):
    """I.B.12: R13.12 "oropharyngeal phase", which an earlier sentence names, not the last of its equally sure siblings."""
    text = "PEG placed 3 months ago for oropharyngeal dysphagia.\nA/P: Dysphagia."
    a = note(text, m("oropharyngeal dysphagia", "R13.12", "history_present_illness", historical=True),
             m("Dysphagia", "R13.10"))
    ranked = lines(("R13.12", 0.4, (0, 1)), ("R13.13", 0.4, (1,)), ("R13.14", 0.4, (1,)))
    assert codes_of(code(a, ranked, cm_catalog)) == ["R13.12"]


def test_an_above_knee_amputation_by_its_abbreviation_is_its_status(cm_catalog):
    """I.C.21.c.3: "s/p left AKA" is Z89.612; "aka" alone (also known as) is no amputation."""
    a = note("PMH: s/p left AKA in 2019 for PAD.", m("PAD", "I73.9", "past_medical_history", historical=True))
    assert "Z89.612" in codes_of(code(a, lines(("I73.9", 0.8, (0,))), cm_catalog))
    b = note("John Smith aka Jack. A/P: Hypertension.", m("Hypertension", "I10"))
    assert not any(c.startswith("Z89") for c in codes_of(code(b, lines(("I10", 0.8, (0,))), cm_catalog)))


@pytest.mark.parametrize("text, words", [
    ("Blood and urine cultures grew E. coli.\nDischarge diagnoses: Acute pyelonephritis with E. coli bacteremia.", "bacteremia"),
    ("Urine culture grew E. coli.\nDischarge diagnoses: Urosepsis. Type 2 diabetes.", "Urosepsis"),
])
def test_bacteremia_and_urosepsis_are_no_sepsis(cm_catalog, text, words):
    """I.C.1.d.1.a.ii: "urosepsis" has no default code and is not sepsis (the coder queries); bacteremia is R78.81,
    whose Excludes1 is sepsis. Neither makes an A41 code, even with the organism named."""
    a = note(text, m("E. coli", "B96.20", "labs"), m(words, "A41.9", "discharge_diagnoses"))
    coded = code(a, lines(("B96.20", 0.8, (0,)), ("A41.9", 0.8, (1,))), cm_catalog, "inpatient")
    assert not any(c.startswith(("A40", "A41", "R65")) for c in codes_of(coded)), codes_of(coded)


@pytest.mark.parametrize("said, expected", [
    ("Incarcerated right inguinal hernia with obstruction.", "K40.30"),
    ("Right inguinal hernia, reducible, no obstruction symptoms.", "K40.90"),
])
def test_a_hernia_without_obstruction_gives_way_only_to_an_obstruction_the_note_says(cm_catalog, said, expected):
    """I.B.9: the hernia code "with obstruction" codes the obstruction, beside the plain code another sentence
    gave; "no obstruction" keeps K40.90."""
    text = f"CT: right inguinal hernia.\nDx: {said}"
    words = said.split(",")[0].rstrip(".")
    a = note(text, m("right inguinal hernia", "K40.90", "imaging"), m(words, "K40.30", "assessment"))
    assert codes_of(code(a, lines(("K40.90", 0.8, (0,)), ("K40.30", 0.8, (1,))), cm_catalog, "inpatient")) == [expected]


def test_a_denied_cholecystitis_leaves_the_gallstones_plain(cm_catalog):
    """I.B.9: "gallbladder with multiple stones, no cholecystitis" is K80.20, with no K81 or K80.1- beside it."""
    text = "CT: gallbladder with multiple stones, no cholecystitis.\nDischarge diagnoses: Cholelithiasis."
    a = note(text, m("gallbladder with multiple stones", "K80.20", "imaging"), m("cholecystitis", "K81.9", "imaging", negated=True),
             m("Cholelithiasis", "K80.20", "discharge_diagnoses"))
    coded = code(a, lines(("K80.20", 0.8, (0, 2)), ("K81.9", 0.6, (0, 1))), cm_catalog, "inpatient")
    assert codes_of(coded) == ["K80.20"]


@pytest.mark.parametrize("text, section, setting, coded", [
    ("Dx: Paroxysmal SVT, resolved after adenosine.", "assessment", "emergency", True),
    ("Hypokalemia, corrected with oral potassium.", "hospital_course", "inpatient", True),
    ("Assessment: UTI, resolved after nitrofurantoin.", "assessment", "outpatient", False),
    ("Dx: Atrial fibrillation, resolved after cardioversion in 2019.", "assessment", "emergency", False),
    ("PMH: Pneumonia, resolved with antibiotics.", "past_medical_history", "inpatient", False),
])
def test_a_condition_resolved_by_treatment_in_this_stay_or_visit_is_coded(cm_catalog, text, section, setting, coded):
    """Section III and IV.J: a condition treated and resolved during the hospital stay or the emergency visit was
    present in it; an office follow-up's resolved condition, a dated one or one in the past history is not."""
    words = {"SVT": "Paroxysmal SVT", "Hypokalemia": "Hypokalemia", "UTI": "UTI", "Atrial": "Atrial fibrillation",
             "Pneumonia": "Pneumonia"}
    mention = next(v for k, v in words.items() if k in text)
    codes = {"Paroxysmal SVT": "I47.10", "Hypokalemia": "E87.6", "UTI": "N39.0", "Atrial fibrillation": "I48.91",
             "Pneumonia": "J18.9"}
    a = note(text, m(mention, codes[mention], section, resolved=True, historical=True))
    assert (codes[mention] in codes_of(code(a, lines((codes[mention], 0.8, (0,))), cm_catalog, setting))) is coded


def test_a_zoster_the_note_calls_uncomplicated_stays_b02_9(cm_catalog):
    """I.B.9 gives B02.9 way to a complication's code only when the note says the complication; "without
    complications" keeps it, whatever siblings the ranker put beside it."""
    text = "Assessment: Herpes zoster, right T6 dermatome, without complications."
    a = note(text, m("Herpes zoster", "B02.9"))
    ranked = lines(("B02.9", 0.6, (0,)), ("B02.0", 0.6, (0,)), ("B02.29", 0.5, (0,)))
    assert codes_of(code(a, ranked, cm_catalog)) == ["B02.9"]


def test_a_heart_failures_effusion_drained_on_its_own_is_coded(cm_catalog):
    """Section III: a pleural effusion the heart failure's diuresis treats is the failure's (I.B.5); one the note
    drains by a thoracentesis of its own is an additional diagnosis. "No thoracentesis" drains nothing."""
    for text, kept in (("CXR: right pleural effusion, thoracentesis 1.2 L.\nDx: Acute on chronic systolic heart failure.", True),
                       ("CXR: right pleural effusion, no thoracentesis.\nDx: Acute on chronic systolic heart failure.", False)):
        a = note(text, m("pleural effusion", "J90", "imaging"), m("Acute on chronic systolic heart failure", "I50.23"))
        coded = code(a, lines(("J90", 0.8, (0,)), ("I50.23", 0.8, (1,))), cm_catalog, "inpatient")
        assert ("J90" in codes_of(coded)) is kept, text


def test_a_code_leaves_for_the_code_its_excludes1_note_sends_the_notes_words_to(cm_catalog):
    """I.A.12.a: H90 excludes "noise-induced hearing loss (H83.3-)": the audiogram's sensorineural hearing loss
    of a noise-induced hearing loss is H83.3X3 alone. An Excludes1 phrase with "NOS" names the condition said
    alone: "uterine atony NOS (O62.2)" does not take O72.1's "hemorrhage due to uterine atony"."""
    text = "Audiogram: bilateral sensorineural hearing loss.\nA/P: Noise-induced hearing loss, bilateral."
    a = note(text, m("sensorineural hearing loss", "H90.5", "imaging"), m("Noise-induced hearing loss", "H83.3X3"))
    assert codes_of(code(a, lines(("H90.3", 0.8, (0,)), ("H83.3X3", 0.8, (1,))), cm_catalog)) == ["H83.3X3"]
    text = "Uterine atony noted.\nDx: Postpartum hemorrhage due to uterine atony."
    a = note(text, m("Uterine atony", "O62.2", "hospital_course"), m("Postpartum hemorrhage due to uterine atony", "O72.1"))
    assert "O72.1" in codes_of(code(a, lines(("O62.2", 0.8, (0,)), ("O72.1", 0.8, (1,))), cm_catalog, "inpatient"))


def test_of_two_equally_sure_readings_the_one_whose_side_the_note_says_stays(cm_catalog):
    """I.B.13: "bilateral sensorineural hearing loss" is H90.3, not H90.41 (unilateral, right ear), a sibling
    the ranker scored the same on the same words."""
    text = "Audiogram: bilateral high-frequency sensorineural hearing loss."
    a = note(text, m("sensorineural hearing loss", "H90.5", "imaging"))
    for ranked in (lines(("H90.41", 0.8, (0,)), ("H90.3", 0.8, (0,))), lines(("H90.3", 0.8, (0,)), ("H90.41", 0.8, (0,)))):
        assert codes_of(code(a, ranked, cm_catalog)) == ["H90.3"]


def test_each_side_of_a_bilateral_condition_is_said(cm_catalog):
    """I.B.13: "pain in the small joints of both hands" says the right hand and the left (M25.541, M25.542: no
    bilateral code); neither leaves for M25.50 "pain in unspecified joint" read from "arthralgia"."""
    text = "Pain in the small joints of both hands.\nA/P: Arthralgia of both hands."
    a = note(text, m("Pain in the small joints of both hands", "M25.549", "history_present_illness"), m("Arthralgia", "M25.50"))
    coded = code(a, lines(("M25.549", 0.8, (0,)), ("M25.50", 0.8, (1,))), cm_catalog)
    assert {"M25.541", "M25.542"} <= set(codes_of(coded)), codes_of(coded)


def test_a_site_the_clause_says_keeps_the_code_that_names_it(cm_catalog):
    """I.B.2: "lung cancer of the right upper lobe" is C34.11, though the mention is "lung cancer" (C34.90's own
    words) and the ranker is surer of C34.90; "PD-L1" says no left side (nor "L5")."""
    text = "A/P: Lung cancer of the right upper lobe, PD-L1 80%, L5 metastasis."
    a = note(text, m("Lung cancer", "C34.90"))
    coded = codes_of(code(a, lines(("C34.90", 0.85, (0,)), ("C34.11", 0.35, (0,)), ("C34.12", 0.35, (0,))), cm_catalog))
    assert "C34.11" in coded and "C34.12" not in coded, coded


def test_one_encounter_code_for_one_treatment_phrase(cm_catalog):
    """I.B.12: "encounter for immunotherapy" is Z51.12, not also its sibling Z51.11 (chemotherapy)."""
    a = note("A/P: Lung cancer; encounter for immunotherapy.", m("encounter for immunotherapy", "Z51.12"))
    assert codes_of(code(a, lines(("Z51.12", 0.85, (0,)), ("Z51.11", 0.33, (0,))), cm_catalog)) == ["Z51.12"]


def test_pulmonary_hypertension_is_no_systemic_hypertension(cm_catalog):
    """I.C.9.a: "pulmonary hypertension due to left heart disease" is I27.22; its words do not make the heart failure
    hypertensive heart disease (I11.0), nor does a classifier's I11.0 on no words when the note names no other hypertension."""
    text = "Normotensive.\nA/P: Pulmonary hypertension due to left heart disease. Chronic diastolic heart failure."
    a = note(text, m("Pulmonary hypertension due to left heart disease", "I27.22"), m("Chronic diastolic heart failure", "I50.32"))
    ranked = lines(("I27.22", 0.88, (0,)), ("I50.32", 0.85, (1,)), ("I10", 0.6, (0,)), ("I11.0", 0.3, ()))
    assert sorted(codes_of(code(a, ranked, cm_catalog))) == ["I27.22", "I50.32"]
    text = "A/P: Hypertension. Chronic diastolic heart failure. Pulmonary hypertension due to left heart disease."
    a = note(text, m("Hypertension", "I10"), m("Chronic diastolic heart failure", "I50.32"),
             m("Pulmonary hypertension due to left heart disease", "I27.22"))
    coded = codes_of(code(a, lines(("I10", 0.8, (0,)), ("I50.32", 0.85, (1,)), ("I27.22", 0.88, (2,))), cm_catalog))
    assert "I11.0" in coded, coded


def test_one_contraception_encounter_code_per_phrase(cm_catalog):
    """I.B.12: "encounter for insertion of intrauterine contraceptive device" is Z30.430, not also Z30.011 (pills)."""
    text = "A/P: Encounter for insertion of intrauterine contraceptive device."
    a = note(text, m("Encounter for insertion of intrauterine contraceptive device", "Z30.430"))
    assert codes_of(code(a, lines(("Z30.430", 0.85, (0,)), ("Z30.011", 0.4, (0,))), cm_catalog)) == ["Z30.430"]


def test_a_former_name_in_a_title_is_no_stage(cm_catalog):
    """The Index: primary biliary cholangitis is K74.3 "primary biliary cirrhosis", with or without cirrhosis."""
    text = "A/P: PBC, early stage, without cirrhosis."
    a = note(text, m("PBC", "K74.3"))
    assert codes_of(code(a, lines(("K74.3", 0.85, (0,))), cm_catalog)) == ["K74.3"]


def test_a_past_condition_no_ranked_line_stands_on_gets_its_history_code(cm_catalog):
    """I.C.21.c.4: a long past medical history's "pulmonary embolism in 2016", whose I26 code the ranker left below
    the list's cut, is Z86.711 all the same."""
    text = "PMH: COPD; pulmonary embolism in 2016, completed anticoagulation.\nA/P: COPD exacerbation."
    a = note(text, m("pulmonary embolism", "I26.99", "past_medical_history", historical=True), m("COPD exacerbation", "J44.1"))
    coded = codes_of(code(a, lines(("J44.1", 0.9, (1,))), cm_catalog, "inpatient"))
    assert "Z86.711" in coded and "I26.99" not in coded, coded


def test_a_well_child_exam_is_a_childs_exam_without_an_age_in_years(cm_catalog):
    """I.C.21.c.13: "WELL CHILD VISIT, 2 YEARS" is Z00.129, not the adult Z00.00."""
    text = "WELL CHILD VISIT, 2 YEARS\nNo concerns.\nAssessment: Well child exam, normal growth and development."
    a = note(text, m("Well child exam", "Z00.129"))
    coded = codes_of(code(a, lines(("Z00.00", 0.8, (0,))), cm_catalog))
    assert "Z00.129" in coded and "Z00.00" not in coded, coded


@pytest.mark.parametrize("setting, coded", [("outpatient", False), ("inpatient", True)])
def test_a_resolved_condition_named_only_as_a_cause_is_not_coded_at_an_office_visit(cm_catalog, setting, coded):
    """IV.J: the conditions that exist at the visit. An office note that says the pancreatitis resolved and
    names it otherwise only as the pseudocyst's cause codes the pseudocyst alone; a hospital stay's
    "resolved" condition is the one treated there (Section III) and stays."""
    text = "CT: pancreatitis resolved.\nAssessment: Pancreatic pseudocyst after acute pancreatitis."
    a = note(text, m("pancreatitis resolved", "K85.90", "imaging", resolved=True, historical=True),
             m("Pancreatic pseudocyst", "K86.3"), m("acute pancreatitis", "K85.90"))
    coded_codes = codes_of(code(a, lines(("K86.3", 0.8, (1,)), ("K85.90", 0.8, (0, 2))), cm_catalog, setting))
    assert "K86.3" in coded_codes
    assert ("K85.90" in coded_codes) is coded


def test_a_resolved_condition_also_named_on_its_own_is_not_withdrawn_by_the_cause_rule(cm_catalog):
    text = "Labs: UTI resolved.\nAssessment: Recurrent UTI. Sepsis after UTI ruled out."
    a = note(text, m("UTI resolved", "N39.0", "labs", resolved=True, historical=True), m("Recurrent UTI", "N39.0"))
    assert "N39.0" in codes_of(code(a, lines(("N39.0", 0.8, (0, 1))), cm_catalog))


def test_an_ears_side_in_capitals_chooses_between_sided_readings(cm_catalog):
    """I.B.13: "SSNHL, idiopathic, AD" is the right ear (auris dextra); H90's Excludes1 note sends "sudden
    (idiopathic) hearing loss" to H91.2-, its parenthesised word nonessential (I.A.12.a)."""
    text = "HPI: muffled hearing AD; sensorineural hearing loss AD.\nAssessment: Sudden sensorineural hearing loss, idiopathic, AD."
    a = note(text, m("sensorineural hearing loss AD", "H90.41", "history_present_illness"),
             m("Sudden sensorineural hearing loss", "H91.20"))
    ranked = lines(("H90.41", 0.8, (0,)), ("H91.23", 0.4, (1,)), ("H91.22", 0.4, (1,)), ("H91.21", 0.4, (1,)))
    assert codes_of(code(a, ranked, cm_catalog)) == ["H91.21"]


def test_a_relatives_esrd_does_not_stage_the_patients_ckd(cm_catalog):
    """I.C.14.a: "mother with ADPKD, now ESRD on HD" is family history; the patient's CKD is stage 3a."""
    text = "FHx: mother with ADPKD, now ESRD on HD.\nA/P: ADPKD with CKD stage 3a."
    a = note(text, m("ESRD", "N18.6", "family_history", family=True), m("CKD stage 3a", "N18.31"))
    coded = code(a, lines(("N18.31", 0.8, (0, 1))), cm_catalog)
    assert [c for c in codes_of(coded) if c.startswith("N18")] == ["N18.31"]


@pytest.mark.parametrize("text, expected", [
    ("44 yo F. A/P: Autosomal dominant polycystic kidney disease.", "Q61.2"),
    ("5 wk old M. Dx: Hypertrophic pyloric stenosis.", "Q40.0"),
])
def test_an_inherited_or_infants_condition_keeps_its_congenital_code(cm_catalog, text, expected):
    """I.C.17: "autosomal dominant" says the condition is inherited, and an infant's pyloric stenosis is the
    congenital one (Q40.0; K31.1 is the adult's: I.B.1), so the acquired reading does not replace it."""
    words = "polycystic kidney disease" if "polycystic" in text else "pyloric stenosis"
    acquired = "N28.1" if "polycystic" in text else "K31.1"
    coded = code(note(text, m(words, expected)), lines((expected, 0.8, (0,)), (acquired, 0.7, (0,))), cm_catalog, "inpatient")
    assert codes_of(coded)[0] == expected and acquired not in codes_of(coded)


def test_an_anaphylaxis_due_to_a_drug_taken_as_prescribed_is_t88_6(cm_catalog):
    """I.C.19.e.5.a; T78.2's Excludes1 note: anaphylaxis due to a correct drug properly administered is T88.6,
    then the drug's adverse-effect code."""
    text = "A/P: Anaphylaxis due to cefdinir, taken correctly."
    coded = code(note(text, m("Anaphylaxis", "T78.2XXA")), lines(("T78.2XXA", 0.8, (0,))), cm_catalog, "emergency")
    assert codes_of(coded) == ["T88.6XXA", "T36.1X5A"]


@pytest.mark.parametrize("text, words, ranked, expected", [
    ("Assessment: Acute gout flare R great toe, drug-induced (thiazide).", "gout flare R great toe", "M10.271",
     ["M10.271", "T50.2X5A"]),
    ("Assessment: Bilateral ototoxic hearing loss, residual of prior gentamicin therapy.", "Bilateral ototoxic hearing loss",
     "H91.03", ["H91.03", "T36.5X5S"]),
])
def test_a_drug_named_as_the_cause_in_parentheses_or_as_a_residual(cm_catalog, text, words, ranked, expected):
    """I.C.19.e.5.a: the adverse effect's T code; a residual of past therapy is its sequela (I.C.19.a)."""
    assert codes_of(code(note(text, m(words, ranked)), lines((ranked, 0.8, (0,))), cm_catalog)) == expected


def test_the_underdosings_reason_may_stand_in_another_sentence(cm_catalog):
    """I.C.19.e.5.c: the HPI says why ("on his own"), the assessment that it was underdosing."""
    text = ("HPI: Stopped taking his furosemide on his own 2 weeks ago.\n"
            "A/P: Acute on chronic systolic HF due to intentional underdosing of furosemide.")
    coded = code(note(text, m("Acute on chronic systolic HF", "I50.23")), lines(("I50.23", 0.8, (0,))), cm_catalog, "inpatient")
    assert codes_of(coded) == ["I50.23", "T50.1X6A", "Z91.128"]


def test_a_device_complication_found_at_the_operations_wound_check_is_initial(cm_catalog):
    """I.C.19.a: the wound check follows up the implantation; the lead dislodgement found there is first treated now."""
    text = "Here for wound check and interrogation.\nA/P: Dislodgement of RV pacing lead. Repositioning tomorrow."
    coded = code(note(text, m("Dislodgement of RV pacing lead", "T82.120A")), lines(("T82.120A", 0.8, (0,))), cm_catalog)
    assert codes_of(coded) == ["T82.120A"]


@pytest.mark.parametrize("text, words, ranked, expected", [
    ("Dx 3 mo ago w/ steroid-induced diabetes. FHx: father w/ type 2 DM.\nA/P: Drug-induced diabetes due to long-term "
     "prednisone, no complications.", "Drug-induced diabetes", "E11.9", "E09.9"),
    ("A/P: DM secondary to chronic alcoholic pancreatitis, no complications; not type 1 or type 2.", "DM", "E11.9", "E08.9"),
])
def test_a_secondary_diabetes_takes_its_category_before_any_type_word(cm_catalog, text, words, ranked, expected):
    """I.C.4.a.6: diabetes due to a drug is E09, due to an underlying condition E08, whatever "type" word the note
    also says (a father's type 2, "not type 1 or type 2")."""
    coded = code(note(text, m(words, ranked)), lines((ranked, 0.8, (0,))), cm_catalog)
    assert codes_of(coded)[0] == expected


def test_diabetes_after_a_pancreatectomy_is_e13_with_e89_1_and_z90_41(cm_catalog):
    """I.C.4.a.6.b.i: postpancreatectomy diabetes is E89.1, with an E13 code and Z90.41- (total: Z90.410)."""
    text = "s/p total pancreatectomy for IPMN.\nA/P: Diabetes due to total pancreatectomy, stable."
    coded = code(note(text, m("Diabetes", "E11.9")), lines(("E11.9", 0.8, (0,))), cm_catalog)
    assert codes_of(coded) == ["E13.9", "E89.1", "Z90.410"]


def test_a_follow_up_after_completed_treatment_of_a_resolved_condition_is_z09(cm_catalog):
    """I.C.21.c.8: the condition was fully treated and no longer exists: Z09 with its history code."""
    text = "Follow-up visit.\nA/P: Cellulitis L lower leg - resolved after completed antibiotic course."
    a = note(text, m("Cellulitis L lower leg", "L03.116", resolved=True, historical=True))
    assert codes_of(code(a, lines(("L03.116", 0.8, (0,))), cm_catalog)) == ["Z09", "Z87.2"]


def test_aftercare_codes_give_way_to_the_injurys_subsequent_encounter(cm_catalog):
    """I.C.21.c.7: suture removal of a healing laceration is the laceration's D code, not Z48.02."""
    text = "Returns for suture removal.\nA/P: Healing laceration of left forearm - sutures removed."
    a = note(text, m("suture removal", "Z48.02", "chief_complaint"), m("laceration of left forearm", "S51.812A"))
    coded = code(a, lines(("S51.812A", 0.8, (1,)), ("Z48.02", 0.8, (0,))), cm_catalog)
    assert codes_of(coded) == ["S51.812D"]


def test_a_vaccine_given_at_an_earlier_visit_is_not_z23(cm_catalog):
    text = "Tetanus (Tdap) given at the ED visit.\nA/P: Healing laceration of left forearm."
    coded = code(note(text, m("laceration of left forearm", "S51.812D")), lines(("S51.812D", 0.8, (0,))), cm_catalog)
    assert "Z23" not in codes_of(coded)


def test_a_test_the_note_calls_diagnostic_is_no_screening(cm_catalog):
    """I.C.21.c.5: a colonoscopy for rectal bleeding is diagnostic; its finding is coded, not Z12.11."""
    text = ("Referred as a 'screening colonoscopy'; however he reports rectal bleeding, so this is a diagnostic exam.\n"
            "Impression: sigmoid tubular adenoma, removed.")
    a = note(text, m("sigmoid tubular adenoma", "D12.5", "impression"))
    assert codes_of(code(a, lines(("D12.5", 0.9, (0,)), ("Z12.11", 0.8, (0,))), cm_catalog)) == ["D12.5"]


def test_a_ventilator_associated_pneumonia_is_j95_851_with_its_organism(cm_catalog):
    """I.C.10.d.1: VAP is J95.851 and the organism's code (B96.5), not J15.1; another pneumonia stays."""
    text = "Admission dx: pneumococcal pneumonia.\nDx: ventilator-associated pneumonia due to Pseudomonas."
    a = note(text, m("pneumococcal pneumonia", "J13", "discharge_diagnoses"),
             m("ventilator-associated pneumonia due to Pseudomonas", "J95.851", "discharge_diagnoses"))
    coded = code(a, lines(("J13", 0.9, (0,)), ("J95.851", 0.9, (1,)), ("J15.1", 0.8, (1,))), cm_catalog, "inpatient")
    assert sorted(codes_of(coded)) == ["B96.5", "J13", "J95.851"]


def test_a_discharge_diagnosis_resolved_during_the_stay_is_coded(cm_catalog):
    """Section III: a discharge diagnosis the summary calls resolved was present and treated in the stay."""
    text = "Discharge diagnoses:\n2. Viral gastroenteritis - resolved."
    a = note(text, m("Viral gastroenteritis", "A08.4", "discharge_diagnoses", resolved=True, historical=True))
    assert codes_of(code(a, lines(("A08.4", 0.8, (0,))), cm_catalog, "inpatient")) == ["A08.4"]


def test_a_childs_bmi_percentile_is_the_bmis_not_the_heights(cm_catalog):
    """I.B.14: "Ht 50th %ile ... BMI 13.6 = 3rd percentile" is under the 5th (Z68.51); "<5th" too."""
    text = "10 yo F. Ht 50th %ile, Wt 2nd %ile; BMI 13.6 kg/m2 = 3rd percentile for age.\nA/P: Underweight."
    coded = code(note(text, m("Underweight", "R63.6")), lines(("R63.6", 0.8, (0,))), cm_catalog)
    assert "Z68.51" in codes_of(coded)


def test_mrsa_the_note_says_colonises_the_nares_is_a_carrier(cm_catalog):
    """I.C.1.e.2: "MRSA nares colonization" is Z22.322, not the cellulitis's organism B95.62."""
    text = "No prior MRSA infections.\nA/P: 1) Cellulitis of LLE. 2) MRSA nares colonization - contact precautions."
    a = note(text, m("MRSA", "A49.02", "history_present_illness", negated=True), m("Cellulitis of LLE", "L03.116"),
             m("MRSA nares colonization", "A49.02"))
    coded = code(a, lines(("L03.116", 0.9, (1,)), ("A49.02", 0.8, (0, 2))), cm_catalog, "inpatient")
    assert codes_of(coded) == ["L03.116", "Z22.322"]


@pytest.mark.parametrize("text", ["Procedure: repeat low transverse cesarean; viable female.", "SVD of DCDA twins at 37 weeks."])
def test_o80_is_only_a_single_spontaneous_vaginal_delivery(cm_catalog, text):
    """I.C.15.b.4: O80 is the full-term spontaneous vaginal delivery of a single healthy infant."""
    coded = code(note(text, m("viable" if "viable" in text else "SVD", "O80", "procedures")), lines(("O80", 0.8, (0,))),
                 cm_catalog, "inpatient")
    assert "O80" not in codes_of(coded)


def test_a_drug_induced_form_the_excludes1_note_names_replaces_the_plain_code(cm_catalog):
    """I.A.12.a, I.C.19.e.5.a: I95.1 excludes "orthostatic hypotension due to drugs (I95.2)"."""
    text = "Impression: Orthostatic hypotension due to tamsulosin, taken as prescribed."
    coded = code(note(text, m("Orthostatic hypotension", "I95.1")), lines(("I95.1", 0.8, (0,))), cm_catalog, "emergency")
    assert codes_of(coded) == ["I95.2", "T44.6X5A"]


def test_an_intentional_overdose_is_its_poisoning_code_not_t14_91(cm_catalog):
    """I.C.19.e.5.b: the poisoning's 6th character says the self-harm; no T14.91 suicide attempt beside it."""
    text = "Dx: Intentional overdose of quetiapine, suicide attempt."
    coded = code(note(text, m("suicide attempt", "T14.91XA")), lines(("T14.91XA", 0.85, (0,))), cm_catalog, "emergency")
    assert codes_of(coded) == ["T43.592A"]


def test_a_pacemaker_implanted_in_this_stay_has_no_status_code(cm_catalog):
    """I.C.21.c.3: Z95.0 says a pacemaker from before; one implanted on hospital day 2 is the stay's procedure."""
    text = "HD2: dual-chamber PPM implanted via L cephalic vein.\nDx: Mobitz II AV block, s/p DDD PPM."
    a = note(text, m("Mobitz II AV block", "I44.1", "discharge_diagnoses"))
    coded = code(a, lines(("I44.1", 0.9, (0,)), ("Z95.0", 0.6, (0,))), cm_catalog, "inpatient")
    assert codes_of(coded) == ["I44.1"]


def test_a_lung_lobe_abbreviation_gives_the_site_and_side(cm_catalog):
    """I.B.2: "SCLC of the RUL" is the right upper lobe, C34.11."""
    text = "A/P: Extensive-stage SCLC of the RUL."
    coded = code(note(text, m("SCLC", "C34.90")), lines(("C34.90", 0.8, (0,)), ("C34.11", 0.6, (0,))), cm_catalog)
    assert codes_of(coded) == ["C34.11"]


def test_an_excised_primary_cancer_with_no_evidence_left_is_its_history_code(cm_catalog):
    """I.C.2.d: excised, no further treatment directed to the site, no evidence of it: Z85.820, beside the brain
    metastasis it left (C79.31)."""
    text = ("61 yo F w/ melanoma of upper back s/p wide local excision 2020; NED on surveillance since.\n"
            "Discharge dx: Solitary brain metastasis.")
    a = note(text, m("melanoma of upper back", "C43.59", "history_present_illness"),
             m("brain metastasis", "C79.31", "discharge_diagnoses"))
    coded = code(a, lines(("C79.31", 0.9, (1,)), ("C43.59", 0.85, (0,))), cm_catalog, "inpatient")
    assert codes_of(coded) == ["C79.31", "Z85.820"]


def test_a_substance_induced_disorder_keeps_its_disorder_over_a_bare_use_level(cm_catalog):
    """I.B.2: "Cannabis use, unspecified with anxiety disorder" (F12.980) is not replaced by "cannabis abuse,
    uncomplicated" because its title says "unspecified" (of the use level)."""
    text = "Impression: Cannabis-induced anxiety disorder."
    a = note(text, m("Cannabis-induced anxiety disorder", "F12.980"))
    a = replace(a, mentions=(replace(a.mentions[0], candidates=a.mentions[0].candidates + (
        Candidate(CM, "F12.10", "", 1.0, "cannabis"),)),))
    assert codes_of(code(a, lines(("F12.980", 0.85, (0,))), cm_catalog, "emergency")) == ["F12.980"]


def test_i13_0_stays_beside_the_heart_failure_it_combines_with(cm_catalog):
    """I.C.9.a.3: hypertension, heart failure and CKD stage 3a are I13.0, I50.32 and N18.31. I13.0's title says
    "or unspecified chronic kidney disease": it is no unspecified code for I50.32 to replace (I.B.2)."""
    text = "A/P: 1. Chronic diastolic HF (HFpEF). 2. CKD 3a - stable. 3. HTN - controlled."
    a = note(text, m("Chronic diastolic HF", "I50.32"), m("CKD 3a", "N18.31"), m("HTN", "I10"))
    coded = code(a, lines(("I50.32", 0.88, (0, 2)), ("N18.31", 0.85, (1,)), ("I10", 0.85, (2,))), cm_catalog)
    assert sorted(codes_of(coded)) == ["I13.0", "I50.32", "N18.31"]


def test_an_acute_strokes_nihss_score_and_tpa_given_elsewhere(cm_catalog):
    """I.C.18.j: the NIHSS score documented with an acute ischemic stroke (R29.714 for 14); I.C.21.c.3: Z92.82 for
    tPA given at another facility within 24 hours before this admission."""
    text = ("Received IV tPA (alteplase) at the OSH ED at 0950, then transferred here.\nExam: NIHSS 14 on arrival.\n"
            "A/P: Acute ischemic stroke due to thrombosis of the L ICA.")
    a = note(text, m("Acute ischemic stroke due to thrombosis of the L ICA", "I63.032", "assessment_plan"))
    coded = code(a, lines(("I63.032", 0.9, (0,))), cm_catalog, "inpatient")
    assert sorted(codes_of(coded)) == ["I63.032", "R29.714", "Z92.82"]


def test_a_code_stroke_activated_is_no_stroke_to_score(cm_catalog):
    text = "CC: R arm weakness after a seizure; code stroke activated by EMS. NIHSS 2.\nA/P: Todd's paralysis."
    a = note(text, m("stroke", "I63.9", "chief_complaint"), m("Todd's paralysis", "G83.84"))
    coded = code(a, lines(("G83.84", 0.9, (1,)), ("I63.9", 0.6, (0,))), cm_catalog, "emergency")
    assert not any(c.startswith("R29.7") for c in codes_of(coded))


@pytest.mark.parametrize("text, expected", [
    ("Fell 10 ft off a ladder, struck head.\nImpression: Traumatic SAH with brief LOC.", "S06.6X1A"),
    ("No trauma; on apixaban for AF.\nDx: Spontaneous chronic subdural hematoma.", "I62.03"),
])
def test_an_intracranial_bleed_is_an_injury_only_with_a_trauma(cm_catalog, text, expected):
    """I.B.12: one code for one bleed; the note's trauma (or its absence) decides between S06.- and I60-I62."""
    words = "Traumatic SAH" if "SAH" in text else "chronic subdural hematoma"
    other = "I60.9" if "SAH" in text else "S06.5X0A"
    coded = code(note(text, m(words, expected)), lines((expected, 0.8, (0,)), (other, 0.8, (0,))), cm_catalog, "inpatient")
    assert expected in codes_of(coded) and other not in codes_of(coded)


def test_a_newborn_by_cesarean_and_by_its_weeks_and_weight(cm_catalog):
    """I.C.16.a.2: Z38.01 for a cesarean birth; I.C.16.e: the weeks (P07.37 for 34) and the birth weight (P07.18)."""
    text = "Born at 34 0/7 wks GA by repeat C/S; BW 2,140 g.\nAssessment: Prematurity."
    a = note(text, m("Prematurity", "P07.30"))
    coded = code(a, lines(("Z38.00", 0.9, (0,)), ("P07.30", 0.8, (0,))), cm_catalog, "inpatient")
    assert sorted(codes_of(coded)) == ["P07.18", "P07.37", "Z38.01"]


def test_sirs_of_non_infectious_origin_with_organ_dysfunction_is_r65_11(cm_catalog):
    """I.C.18.g: SIRS with the acute respiratory failure the note codes is R65.11, not R65.10."""
    text = "Dx: Alcoholic pancreatitis with SIRS; acute hypoxic respiratory failure."
    a = note(text, m("SIRS", "R65.10"), m("acute hypoxic respiratory failure", "J96.01"))
    coded = code(a, lines(("R65.10", 0.8, (0,)), ("J96.01", 0.8, (1,))), cm_catalog, "inpatient")
    assert "R65.11" in codes_of(coded) and "R65.10" not in codes_of(coded)


def test_a_stage_the_note_denies_is_not_the_stage(cm_catalog):
    """I.C.14.a: "CKD 5 ... not yet ESRD, no dialysis" is N18.5, not N18.6."""
    text = "A/P: CKD 5 d/t diabetic and hypertensive kidney disease - not yet ESRD, no dialysis indication today."
    coded = code(note(text, m("CKD 5", "N18.6")), lines(("N18.6", 0.85, (0,))), cm_catalog)
    assert codes_of(coded) == ["N18.5"]


def test_cirrhosis_due_to_nash_is_other_cirrhosis(cm_catalog):
    """I.B.2: NASH cirrhosis is K75.81 with K74.69, not the unspecified K74.60."""
    text = "A/P: NASH cirrhosis with hepatorenal syndrome."
    a = note(text, m("NASH", "K75.81"), m("cirrhosis", "K74.60"))
    coded = code(a, lines(("K75.81", 0.85, (0,)), ("K74.60", 0.85, (1,))), cm_catalog, "inpatient")
    assert sorted(codes_of(coded)) == ["K74.69", "K75.81"]


@pytest.mark.parametrize("text, kept", [
    ("s/p deceased-donor kidney transplant 2020 for ESRD, off dialysis since.\nDx: Acute T-cell mediated rejection.", False),
    ("Failed kidney transplant for ESRD, back on hemodialysis.\nDx: Chronic rejection.", True),
])
def test_the_esrd_a_kidney_transplant_replaced_is_not_coded(cm_catalog, text, kept):
    """I.C.14.a.2: the transplant ended the end-stage disease; a failed graft back on dialysis has it again."""
    a = note(text, m("ESRD", "N18.6", "history_present_illness"), m("rejection", "T86.11"))
    coded = code(a, lines(("T86.11", 0.9, (1,)), ("N18.6", 0.8, (0,))), cm_catalog, "inpatient")
    assert ("N18.6" in codes_of(coded)) is kept


def test_chronic_gout_is_m1a_alone_not_gout_nos_beside_it(cm_catalog):
    """M1A (chronic gout) excludes "gout NOS (M10.-)": one condition, coded as its kind (I.A.12.a)."""
    text = "A: Chronic tophaceous gout R great toe, no flare."
    a = note(text, m("Chronic tophaceous gout", "M1A.0711"), m("gout", "M10.071"))
    both = lines(("M1A.0711", 0.6, (0, 1)), ("M10.071", 0.8, (1,)))
    assert codes_of(code(a, both, cm_catalog)) == ["M1A.0711"]


def test_a_side_letter_after_the_condition_gives_its_side(cm_catalog):
    """"gout R great toe": the R after the words is the toe's side, whatever side the rest of the note names."""
    text = "A: Chronic tophaceous gout R great toe. L foot normal."
    a = note(text, m("Chronic tophaceous gout", "M1A.0721"))
    assert codes_of(code(a, lines(("M1A.0721", 0.6, (0,))), cm_catalog)) == ["M1A.0711"]


def test_fever_with_a_sickle_cell_crisis_is_r50_81(cm_catalog):
    """D57 asks for "any associated fever (R50.81)" (I.A.13): not R50.9."""
    text = "A/P: Hb SC disease with acute chest syndrome. Fever 39.1."
    a = note(text, m("Hb SC disease with acute chest syndrome", "D57.211"), m("Fever", "R50.9"))
    coded = codes_of(code(a, lines(("D57.211", 0.8, (0,)), ("R50.9", 0.8, (1,))), cm_catalog, "inpatient"))
    assert "R50.81" in coded and "R50.9" not in coded
    alone = note("A/P: Fever 39.1, viral syndrome.", m("Fever", "R50.9"))
    assert codes_of(code(alone, lines(("R50.9", 0.8, (0,))), cm_catalog)) == ["R50.9"]


def test_a_traumatic_rotator_cuff_tear_is_the_injury_code(cm_catalog):
    """M75.1- excludes "tear of rotator cuff, traumatic (S46.01-)"; a degenerative tear stays M75.1-."""
    text = "A/P: Acute traumatic rotator cuff tear, R shoulder, after a fall from a ladder."
    a = note(text, m("traumatic rotator cuff tear", "M75.101"))
    coded = codes_of(code(a, lines(("M75.101", 0.7, (0,))), cm_catalog))
    assert coded[0] == "S46.011A" and "M75.101" not in coded
    worn = "A/P: Degenerative rotator cuff tear, R shoulder. No injury."
    b = note(worn, m("rotator cuff tear", "M75.101"))
    assert codes_of(code(b, lines(("M75.101", 0.7, (0,))), cm_catalog)) == ["M75.101"]


def test_osteoporosis_with_its_fracture_leaves_no_m81_code(cm_catalog):
    """M81 excludes "osteoporosis with current pathological fracture (M80.-)": no M81.x beside M80.0-."""
    text = "HPI: age-related osteoporosis.\nA/P: Osteoporotic compression fracture of T12, initial visit."
    a = note(text, m("osteoporosis", "M81.0", "history_present_illness"), m("age-related osteoporosis", "M81.6",
                                                                            "history_present_illness"))
    coded = codes_of(code(a, lines(("M81.0", 0.8, (0,)), ("M81.6", 0.5, (1,))), cm_catalog))
    assert "M80.08XA" in coded and not any(c.startswith("M81") for c in coded)


def test_an_obstruction_with_infection_is_pyonephrosis(cm_catalog):
    """N13.6 includes "conditions in N13.0-N13.5 with infection" (I.B.9): not N13.2 beside N39.0."""
    text = "Impression: Obstructing L ureteral stone w/ hydronephrosis. UTI."
    a = note(text, m("ureteral stone w/ hydronephrosis", "N13.2"), m("UTI", "N39.0"))
    coded = codes_of(code(a, lines(("N13.2", 0.8, (0,)), ("N39.0", 0.8, (1,))), cm_catalog, "emergency"))
    assert "N13.6" in coded and "N13.2" not in coded and "N39.0" not in coded
    dry = note("Impression: Obstructing L ureteral stone w/ hydronephrosis.", m("ureteral stone w/ hydronephrosis", "N13.2"))
    assert codes_of(code(dry, lines(("N13.2", 0.8, (0,))), cm_catalog, "emergency")) == ["N13.2"]


def test_metastases_of_a_neuroendocrine_tumour_are_c7b(cm_catalog):
    """C78 excludes "secondary carcinoid tumors of liver (C7B.02)"; no D49 beside the coded tumour (I.C.2)."""
    text = "A/P: Metastatic ileal neuroendocrine tumor to liver."
    a = note(text, m("ileal neuroendocrine tumor", "C7A.012"), m("to liver", "C78.7"), m("tumor", "D49.9"))
    coded = codes_of(code(a, lines(("C7A.012", 0.8, (0,)), ("C78.7", 0.7, (1,)), ("D49.9", 0.6, (2,))), cm_catalog))
    assert coded == ["C7A.012", "C7B.02"]


@pytest.mark.parametrize("text, words, codes, expected", [
    # DSM-5 severity: moderate or severe is dependence, with its withdrawal in one code (I.C.5.b, I.B.9)
    ("Assessment: Cannabis use disorder, moderate, with cannabis withdrawal.", ("Cannabis use disorder", "cannabis withdrawal"),
     ("F12.20", "F12.93"), "F12.23"),
    ("A/P: Opioid use disorder, severe, with acute opioid withdrawal.", ("Opioid use disorder", "opioid withdrawal"),
     ("F11.13", "F11.93"), "F11.23"),
    ("A/P: Alcohol use disorder, severe, in early remission.", ("Alcohol use disorder", "remission"), ("F10.20", "F10.10"),
     "F10.21"),
    ("A/P: Alcohol use disorder, mild.", ("Alcohol use disorder", "mild"), ("F10.20", "F10.90"), "F10.10"),
])
def test_a_use_disorder_is_coded_at_its_level_and_course(cm_catalog, text, words, codes, expected):
    a = note(text, *(m(w, c) for w, c in zip(words, codes)))
    coded = codes_of(code(a, lines(*((c, 0.8, (i,)) for i, c in enumerate(codes))), cm_catalog))
    assert coded == [expected]


def test_a_withdrawal_delirium_code_is_kept_beside_the_use_disorder(cm_catalog):
    """F10.231 says more of the course than F10.230: the rule leaves it."""
    text = "A/P: Alcohol use disorder, severe, with withdrawal delirium."
    a = note(text, m("Alcohol use disorder", "F10.20"), m("withdrawal delirium", "F10.231"))
    assert "F10.231" in codes_of(code(a, lines(("F10.20", 0.8, (0,)), ("F10.231", 0.8, (1,))), cm_catalog, "inpatient"))


def test_nicotine_dependence_with_withdrawal_is_f17_2x3(cm_catalog):
    text = "Discharge dx: Nicotine dependence, cigarettes, with withdrawal."
    a = note(text, m("Nicotine dependence, cigarettes", "F17.210", "discharge_diagnosis"))
    assert codes_of(code(a, lines(("F17.210", 0.8, (0,))), cm_catalog, "inpatient")) == ["F17.213"]


def test_diabetes_with_hypoglycaemic_coma_is_e1x_641(cm_catalog):
    """"Type 1 DM with hypoglycemic coma": E10.641 with the level (E16.A3), the coma inside it (I.B.9)."""
    text = "A/P: Type 1 DM with hypoglycemic coma; level 3 hypoglycemia."
    a = note(text, m("Type 1 DM", "E10.9"), m("coma", "R40.20"), m("level 3 hypoglycemia", "E16.A3"))
    coded = codes_of(code(a, lines(("E10.9", 0.8, (0,)), ("R40.20", 0.8, (1,)), ("E16.A3", 0.8, (2,))), cm_catalog, "emergency"))
    assert set(coded) == {"E10.641", "E16.A3"}


def test_rheumatic_disease_of_two_valves_is_one_i08_code(cm_catalog):
    text = "A/P: Rheumatic mitral regurgitation and rheumatic tricuspid regurgitation."
    a = note(text, m("Rheumatic mitral regurgitation", "I05.1"), m("rheumatic tricuspid regurgitation", "I07.1"))
    assert codes_of(code(a, lines(("I05.1", 0.8, (0,)), ("I07.1", 0.8, (1,))), cm_catalog)) == ["I08.1"]
    degenerative = note("A/P: Mitral regurgitation; aortic stenosis, degenerative.", m("Mitral regurgitation", "I34.0"),
                        m("aortic stenosis", "I35.0"))
    assert codes_of(code(degenerative, lines(("I34.0", 0.8, (0,)), ("I35.0", 0.8, (1,))), cm_catalog)) == ["I34.0", "I35.0"]


def test_a_well_child_visit_with_a_new_finding_is_z00_121(cm_catalog):
    text = "WELL CHILD CHECK - 9 MONTH\nA/P: 1. Well child. 2. Positional plagiocephaly - new finding today."
    a = note(text, m("Positional plagiocephaly", "Q67.3"))
    assert "Z00.121" in codes_of(code(a, lines(("Q67.3", 0.8, (0,))), cm_catalog))


def test_a_delayed_union_is_a_subsequent_encounter_without_follow_up_words(cm_catalog):
    """A delayed union, nonunion or malunion is a later encounter's 7th character (G / K / P, I.C.19.a) whatever
    the note's header; "not a nonunion" does not make it one."""
    text = "ORTHO FOLLOW-UP\nA/P: Delayed union of R tibial shaft fx; not a nonunion at this point."
    a = note(text, m("tibial shaft fx", "S82.221A"))
    assert codes_of(code(a, lines(("S82.221A", 0.7, (0,))), cm_catalog))[0] == "S82.221G"


def test_a_former_cigarette_smoker_now_on_cigars_has_no_history_code(cm_catalog):
    """Z87.891 excludes current nicotine dependence (F17.2-)."""
    text = "Social: former cigarette smoker, quit 2015; now smokes 2 cigars daily.\nA/P: Nicotine dependence, cigars."
    a = note(text, m("Nicotine dependence, cigars", "F17.290"), m("former cigarette smoker", "Z87.891", "social_history"))
    coded = codes_of(code(a, lines(("F17.290", 0.8, (0,)), ("Z87.891", 0.8, (1,))), cm_catalog))
    assert "F17.290" in coded and "Z87.891" not in coded


def test_a_burn_takes_the_degree_its_clause_gives(cm_catalog):
    """I.C.19.d: "2nd degree ... chest wall, 1st degree R forearm": each site at its own degree; T30.0 leaves."""
    text = "A/P: 2nd degree scald chest wall, 1st degree R forearm, 12% TBSA. Burn."
    a = note(text, m("scald chest wall", "T21.01XA"), m("R forearm", "T22.011A"), m("Burn", "T30.0"))
    coded = codes_of(code(a, lines(("T21.01XA", 0.6, (0,)), ("T22.011A", 0.6, (1,)), ("T30.0", 0.7, (2,))), cm_catalog,
                          "inpatient"))
    assert {"T21.21XA", "T22.111A"} <= set(coded) and "T30.0" not in coded
    chemical = note("A/P: Alkali (lye) corrosion, 2nd degree, R hand.", m("corrosion, 2nd degree, R hand", "T23.401A"))
    assert codes_of(code(chemical, lines(("T23.401A", 0.6, (0,))), cm_catalog, "emergency"))[0] == "T23.601A"


@pytest.mark.parametrize("text, words, given, expected", [
    ("A/P: Perforated duodenal ulcer with free air.", "duodenal ulcer", "K26.9", "K26.5"),
    ("A/P: Chronic gastric ulcer with bleeding and perforation.", "gastric ulcer", "K25.9", "K25.6"),
    ("A/P: Acute duodenal ulcer, bleeding; EGD clipping.", "duodenal ulcer", "K26.9", "K26.0"),
    ("A/P: Duodenal ulcer, no bleeding.", "Duodenal ulcer", "K26.9", "K26.9"),
])
def test_a_peptic_ulcer_is_coded_with_its_bleeding_and_perforation(cm_catalog, text, words, given, expected):
    a = note(text, m(words, given))
    assert codes_of(code(a, lines((given, 0.8, (0,))), cm_catalog, "inpatient"))[0] == expected


def test_crohns_disease_by_the_bowel_it_involves(cm_catalog):
    text = "A/P: Crohn's disease of the terminal ileum with interloop abscess."
    a = note(text, m("Crohn's disease", "K50.914"))
    assert codes_of(code(a, lines(("K50.914", 0.8, (0,))), cm_catalog, "inpatient")) == ["K50.014"]


@pytest.mark.parametrize("text, expected", [
    ("Assessment: concussion; LOC status unknown.", "S06.0XAA"),
    ("Assessment: epidural hematoma with LOC ~2 hr.", "S06.4X3A"),
    ("Assessment: concussion with brief LOC for 5 min.", "S06.0X1A"),
    ("Assessment: concussion, no LOC.", "S06.0X0A"),
])
def test_an_intracranial_injury_takes_its_loss_of_consciousness(cm_catalog, text, expected):
    words, given = ("epidural hematoma", "S06.4X0A") if "epidural" in text else ("concussion", "S06.0X0A")
    a = note(text, m(words, given))
    assert codes_of(code(a, lines((given, 0.8, (0,))), cm_catalog, "emergency"))[0] == expected


def test_one_code_for_one_embolism_and_emphysema_is_the_copd(cm_catalog):
    text = "A/P: Single subsegmental PE. Centrilobular emphysema; COPD."
    a = note(text, m("Single subsegmental PE", "I26.93"), m("PE", "I26.99"), m("Centrilobular emphysema", "J43.2"),
             m("COPD", "J44.9"))
    coded = codes_of(code(a, lines(("I26.93", 0.8, (0,)), ("I26.99", 0.7, (1,)), ("J43.2", 0.8, (2,)), ("J44.9", 0.8, (3,))),
                          cm_catalog, "emergency"))
    assert set(coded) == {"I26.93", "J43.2"}


def test_an_acute_dystonia_from_metoclopramide_taken_as_prescribed(cm_catalog):
    """G24.02 with the adverse effect T45.0X5A (I.C.19.e.5.a); the torticollis is the dystonia's."""
    text = "Exam: sustained torticollis to R.\nAssessment: acute dystonic reaction due to metoclopramide, taken as prescribed."
    a = note(text, m("acute dystonic reaction", "G24.02"), m("torticollis", "M43.6", "physical_exam"))
    coded = codes_of(code(a, lines(("G24.02", 0.8, (0,)), ("M43.6", 0.8, (1,))), cm_catalog, "emergency"))
    assert "T45.0X5A" in coded and "M43.6" not in coded


def test_the_mothers_delivery_stay_takes_the_outcome_of_delivery(cm_catalog):
    """I.C.15.b.5: Z37.- on every maternal record of a delivery; a stillbirth is Z37.1; not at an office visit."""
    text = "32 yo G2P1 at 39w. A/P: Term PROM; SVD of a healthy girl."
    a = note(text, m("Term PROM", "O42.12"))
    assert "Z37.0" in codes_of(code(a, lines(("O42.12", 0.8, (0,))), cm_catalog, "inpatient"))
    still = note("A/P: IUFD at 37 wks; induction, delivered a stillborn male.", m("IUFD", "O36.4XX0"))
    assert "Z37.1" in codes_of(code(still, lines(("O36.4XX0", 0.8, (0,))), cm_catalog, "inpatient"))
    assert "Z37.0" not in codes_of(code(a, lines(("O42.12", 0.8, (0,))), cm_catalog, "outpatient"))


def test_a_puerperal_condition_alone_takes_no_weeks_of_gestation(cm_catalog):
    text = "A/P: Peripartum cardiomyopathy, 4 wks after delivery at 38 weeks."
    a = note(text, m("Peripartum cardiomyopathy", "O90.3"), m("38 weeks", "Z3A.38"))
    assert codes_of(code(a, lines(("O90.3", 0.8, (0,)), ("Z3A.38", 0.8, (1,))), cm_catalog, "emergency")) == ["O90.3"]


def test_gestational_diabetes_on_metformin_who_declined_insulin_is_oral_controlled(cm_catalog):
    text = "A/P: A2GDM at 31 weeks, on metformin. Declined insulin."
    a = note(text, m("A2GDM", "O24.414"))
    assert "O24.415" in codes_of(code(a, lines(("O24.414", 0.8, (0,))), cm_catalog))


def test_a_condition_of_a_delivery_stay_is_coded_in_childbirth(cm_catalog):
    """I.C.15.a.3: when the delivery happens this admission, the "in childbirth" code of the complication."""
    text = "L&D ADMISSION\n31 yo G1P0 at 32 weeks. A/P: HELLP syndrome; primary cesarean, delivered a liveborn girl."
    a = note(text, m("HELLP syndrome", "O14.23"))
    coded = codes_of(code(a, lines(("O14.23", 0.8, (0,))), cm_catalog, "inpatient"))
    assert "O14.24" in coded and "O14.23" not in coded and "Z37.0" in coded


def test_the_mothers_record_takes_no_newborn_code(cm_catalog):
    """I.C.16.a.1: chapter 16 codes and Z38 are never on the maternal record."""
    text = "L&D ADMISSION\n28 yo G2P1 at 37 weeks, IUFD. Induction; delivered a stillborn male."
    a = note(text, m("IUFD", "O36.4XX0"), m("stillborn", "P95"))
    coded = codes_of(code(a, lines(("O36.4XX0", 0.8, (0,)), ("P95", 0.85, (1,))), cm_catalog, "inpatient"))
    assert "P95" not in coded and "Z37.1" in coded


def test_covid_19_manifestations_take_the_guidelines_codes(cm_catalog):
    """I.C.1.g.1.c: COVID-19 pneumonia J12.82, bronchitis J20.8, sepsis A41.89, each with U07.1."""
    text = "A/P: COVID-19 with viral pneumonia and sepsis; acute bronchitis."
    a = note(text, m("COVID-19", "U07.1"), m("viral pneumonia", "J12.89"), m("sepsis", "A41.9"), m("acute bronchitis", "J20.9"))
    coded = codes_of(code(a, lines(("U07.1", 0.9, (0,)), ("J12.89", 0.8, (1,)), ("A41.9", 0.8, (2,)), ("J20.9", 0.7, (3,))),
                          cm_catalog, "inpatient"))
    assert {"U07.1", "J12.82", "A41.89", "J20.8"} <= set(coded) and not {"J12.89", "A41.9", "J20.9"} & set(coded)
