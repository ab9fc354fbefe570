"""The clinical-text pipeline: note -> mentions (section, assertion, abbreviation) -> candidate codes."""

from __future__ import annotations

import pytest

from codesuggest.codesets import CodeCatalog, CodeSetSources
from codesuggest.pipeline.nlp import Analyzer, EmptyNoteError, MAX_TEXT_CHARS


@pytest.fixture(scope="session")
def full_analyzer(pcs_file, request):
    """ICD-10-CM + ICD-10-PCS with approximate search; indexes cached in pytest's cache folder
    (a few minutes the first time, seconds afterwards)."""
    cache = request.config.cache.mkdir("codesuggest-index")
    return Analyzer.from_catalog(CodeCatalog.load(CodeSetSources(pcs_file=pcs_file)), cache, approximate=True)


def mention(analysis, text):
    found = [m for m in analysis.mentions if m.text == text]
    assert found, f"no mention {text!r} in {[m.text for m in analysis.mentions]}"
    return found[0]


def codes(m, n=None):
    return [c.code for c in m.candidates[:n]]


@pytest.mark.parametrize(
    ("sentence", "span", "status"),
    [
        ("The patient denies chest pain.", "chest pain", "negated"),
        ("His mother had breast cancer.", "breast cancer", "family"),
        ("He has a history of MI.", "MI", "historical"),
        ("Rule out pneumonia.", "pneumonia", "possible"),
        ("Acute appendicitis was confirmed at surgery.", "Acute appendicitis", "present"),
        # "diagnosis - plan": what the plan discusses is not the diagnosis before the dash
        ("A/P: Morbid obesity - discussed bariatric referral.", "Morbid obesity", "present"),
        ("Risks including infection and bleeding were discussed.", "infection", "hypothetical"),
    ],
)
def test_assertion_status(cm_analyzer, sentence, span, status):
    assert mention(cm_analyzer.analyze(sentence), span).assertion.label == status


def test_abbreviations_are_expanded_and_linked(cm_analyzer):
    analysis = cm_analyzer.analyze("Past history: HTN and DM2, both well controlled.")
    htn, dm2 = mention(analysis, "HTN"), mention(analysis, "DM2")
    assert htn.expanded == "hypertension" and "I10" in codes(htn, 3)
    assert dm2.expanded == "type 2 diabetes mellitus" and any(c.startswith("E11") for c in codes(dm2, 3))


def test_abbreviation_defined_in_the_note(cm_analyzer):
    analysis = cm_analyzer.analyze("Known chronic kidney disease (CKD). Today the CKD is stable.")
    later = [m for m in analysis.mentions if m.text == "CKD"]
    assert later and later[-1].expanded == "chronic kidney disease" and "N18.9" in codes(later[-1])


def test_specific_diabetes_code_is_among_the_top_three(cm_analyzer):
    analysis = cm_analyzer.analyze("Type 2 diabetes mellitus with diabetic chronic kidney disease.")
    assert "E11.22" in [c.code for m in analysis.mentions for c in m.candidates[:3]]


def test_word_order_and_synonyms(cm_analyzer):
    analysis = cm_analyzer.analyze("Ultrasound showed a renal cyst.")
    assert "N28.1" in codes(mention(analysis, "renal cyst"))


def test_offsets_point_into_the_original_text(cm_analyzer):
    text = "\tFever.\n\nPLAN:  HTN\x07 control;  denies   chest pain.\r\n"
    analysis = cm_analyzer.analyze(text)
    assert analysis.mentions
    for m in analysis.mentions:
        assert text[m.start : m.end] == m.text
        assert m.sentence_start <= m.start < m.end <= m.sentence_end


def test_sections_are_named_and_headers_are_not_mentions(cm_analyzer):
    text = (
        "HISTORY OF PRESENT ILLNESS:\nCough for two weeks.\n"
        "FAMILY HISTORY:\nMother had breast cancer.\n"
        "ASSESSMENT AND PLAN:\nAcute bronchitis."
    )
    analysis = cm_analyzer.analyze(text)
    assert [s[0] for s in analysis.sections] == ["history_present_illness", "family_history", "assessment_plan"]
    assert mention(analysis, "breast cancer").section == "family_history"
    bronchitis = mention(analysis, "Acute bronchitis")
    assert bronchitis.section == "assessment_plan" and bronchitis.assertion.label == "present"
    assert not [m for m in analysis.mentions if m.text.upper() == "ILLNESS"]


def test_family_history_status_code_keeps_the_condition_separate(cm_analyzer):
    analysis = cm_analyzer.analyze("Family history of colon cancer.")
    condition = mention(analysis, "colon cancer")
    assert condition.assertion.family
    assert any(c.startswith("C18") for c in codes(condition))


@pytest.mark.parametrize("text, words, code", [
    ("A/P: HFpEF, chronic, compensated.", "HFpEF", "I50.3"), ("A/P: CKD3a, stable.", "CKD3a", "N18.31"),
    ("Dx: Complete SBO.", "Complete SBO", "K56.601"), ("Dx: COPD exac.", "COPD exac", "J44.1"),
    ("Dx: Chronic hypoxic resp failure.", "Chronic hypoxic resp failure", "J96.11"),
])
def test_ward_abbreviations_link_their_conditions(cm_analyzer, text, words, code):
    """US ward shorthand: upper-case abbreviations (abbreviations.tsv), lower-case words (synonyms.tsv)."""
    assert code in codes(mention(cm_analyzer.analyze(text), words))


def test_an_exposure_is_its_contact_code_not_the_disease(cm_analyzer):
    """Z20.822 for "exposure to COVID-19": the disease inside it is no current condition (hypothetical),
    and "exposure" is no external cause (X58) of its own; a coworker's positive test is someone else's."""
    analysis = cm_analyzer.analyze("HPI: coworker tested positive for COVID-19.\nA/P: Exposure to COVID-19, asymptomatic.")
    exposure = mention(analysis, "Exposure to COVID-19")
    assert codes(exposure)[0] == "Z20.822"
    assert not [m for m in analysis.mentions if m.text == "Exposure"]
    inside, coworker = [m for m in analysis.mentions if m.text == "COVID-19"][::-1]
    assert inside.assertion.hypothetical and coworker.assertion.family


@pytest.mark.parametrize("text", ["", "   \n\t "])
def test_empty_notes_are_refused(cm_analyzer, text):
    with pytest.raises(EmptyNoteError):
        cm_analyzer.analyze(text)


def test_oversized_note_is_refused(cm_analyzer):
    with pytest.raises(ValueError, match="at most"):
        cm_analyzer.analyze("a" * (MAX_TEXT_CHARS + 1))


def test_a_two_megabyte_note_is_analysed(cm_analyzer):
    text = ("Patient with hypertension and type 2 diabetes. Denies chest pain. " * 40_000)[: MAX_TEXT_CHARS - 10]
    analysis = cm_analyzer.analyze(text)
    assert len(analysis.mentions) > 1000


def test_batch_matches_single(cm_analyzer):
    texts = ["Denies chest pain.", "History of MI.", "Renal cyst."]
    assert list(cm_analyzer.analyze_many(texts)) == [cm_analyzer.analyze(t) for t in texts]


def test_analysis_serialises_without_the_note_text(cm_analyzer):
    data = cm_analyzer.analyze("Denies chest pain.").to_dict()
    assert "text" not in data and data["mentions"][0]["assertion"]["label"] == "negated"


@pytest.mark.slow
def test_chest_xray_links_to_pcs_plain_radiography(full_analyzer):
    analysis = full_analyzer.analyze("Chest x-ray showed a left lower lobe infiltrate.")
    assert "BW03ZZZ" in codes(mention(analysis, "Chest x-ray"))
    assert "ICD10PCS" in full_analyzer.code_set_versions


@pytest.mark.slow
def test_approximate_search_finds_what_exact_matching_misses(full_analyzer):
    analysis = full_analyzer.analyze("Biopsy revealed hemangiomas.")
    assert any(c.code.startswith("D18.0") for m in analysis.mentions for c in m.candidates)


def test_clean_text_blanks_exactly_the_unprintable_characters():
    """Same length; tab, newline and CR kept; every other character Python calls unprintable -> space."""
    from codesuggest.pipeline.nlp import clean_text

    text = "".join(chr(c) for c in range(0x3000)) + "Dx: HTN\u2028NBSP\u00a0\u200bend\U0001F600"
    expected = "".join(ch if ch.isprintable() or ch in "\t\n\r" else " " for ch in text)
    assert clean_text(text) == expected and len(expected) == len(text)
    assert clean_text("Plain ASCII note.\n") == "Plain ASCII note.\n"


def _tokens(tokenizer, text: str) -> list[tuple]:
    return [(t.text, t.whitespace_, t.idx, t.norm_, t.is_space) for t in tokenizer(text)]


def test_the_tokenizer_splits_notes_as_spacys_english_tokenizer_does(codiesp_dir):
    """The pipeline drops the no-op special cases for a space, tab and newline (for speed); the
    tokens must not change, on real notes and on white-space corner cases."""
    import spacy

    from codesuggest.pipeline.nlp import drop_no_op_space_cases
    from codesuggest.training.datasets import load_codiesp

    english, ours = spacy.blank("en").tokenizer, spacy.blank("en").tokenizer
    drop_no_op_space_cases(ours)
    assert len(ours.rules) == len(english.rules) - 3
    texts = [note.text for note in load_codiesp(codiesp_dir / "train")][:200]
    texts += ["a\nb", "a \n b", "a\n\nb", "\n", " \n\t x", "a\tb  c   d", "don't\nstop", "Dr. A\n(HTN)\n", "x\xa0y"]
    for text in texts:
        for _ in range(2):  # the second time from the tokenizer's cache
            assert _tokens(ours, text) == _tokens(english, text)


def _codes_of(analysis, span: str) -> list[str]:
    return [c.code for c in mention(analysis, span).candidates]


def test_a_side_word_inside_a_condition_keeps_the_match_whole(cm_analyzer):
    """"osteoarthritis of left knee" is the index's "osteoarthritis, knee" (M17.1-) with its side,
    one mention, not "primary osteoarthritis" (M19.0-) beside a weaker window."""
    analysis = cm_analyzer.analyze("A/P: Primary osteoarthritis of left knee - injection today.")
    assert [m.text for m in analysis.mentions if "osteoarthritis" in m.text] == ["Primary osteoarthritis of left knee"]
    assert _codes_of(analysis, "Primary osteoarthritis of left knee")[0] == "M17.10"


def test_plain_pain_is_r52_not_a_g89_header(cm_analyzer):
    """The index sends "pain" to R52; G89 "Pain, not elsewhere classified" needs acute, chronic..."""
    codes = _codes_of(cm_analyzer.analyze("CC: pain since yesterday."), "pain")
    assert codes[0] == "R52" and not any(c.startswith("G89") for c in codes)
    assert _codes_of(cm_analyzer.analyze("Chronic pain."), "Chronic pain")[0] == "G89.29"


def test_an_injury_title_is_found_without_its_default_without_clauses(cm_analyzer):
    """"Laceration without foreign body of left index finger without damage to nail" is what a
    note calls a laceration of the left index finger; a bare "laceration" names no site."""
    codes = _codes_of(cm_analyzer.analyze("Laceration of left index finger."), "Laceration of left index finger")
    assert codes[0].startswith("S61.211")
    bare = cm_analyzer.analyze("Laceration.")  # no site: no open-wound code of some site
    assert not any(c.code.startswith("S31") for m in bare.mentions for c in m.candidates)


def test_a_condition_the_wording_denies_is_no_candidate_of_it(cm_analyzer):
    """R03.0 "elevated blood-pressure reading, without diagnosis of hypertension" says it is not I10."""
    text = "Elevated blood pressure reading without diagnosis of hypertension."
    codes = _codes_of(cm_analyzer.analyze(text), text[:-1])
    assert codes[0] == "R03.0" and "I10" not in codes


def test_an_elevated_bp_reading_is_r03_0(cm_analyzer):
    """"BP" is blood pressure: R03.0 "elevated blood-pressure reading, without diagnosis of hypertension"."""
    text = "Impression: Elevated BP reading without diagnosis of hypertension - recheck with PCP"
    codes = _codes_of(cm_analyzer.analyze(text), "Elevated BP reading without diagnosis of hypertension")
    assert codes[0] == "R03.0" and "I10" not in codes


def test_ptsd_and_posttraumatic_are_the_code_sets_post_traumatic(cm_analyzer):
    assert _codes_of(cm_analyzer.analyze("A/P: PTSD, chronic."), "PTSD, chronic")[0] == "F43.12"
    text = "A/P: Chronic posttraumatic stress disorder."
    assert _codes_of(cm_analyzer.analyze(text), "Chronic posttraumatic stress disorder")[0] == "F43.12"


def test_urosepsis_has_no_code(cm_analyzer):
    """I.C.1.d.1.a.ii: "urosepsis" is a nonspecific term with no default code (not N39.0, not sepsis)."""
    analysis = cm_analyzer.analyze("Impression: urosepsis.")
    assert not [c.code for m in analysis.mentions for c in m.candidates if c.code.startswith(("N39", "A41"))]


def test_influenza_a_is_an_identified_influenza_virus(cm_analyzer):
    assert _codes_of(cm_analyzer.analyze("Rapid influenza A positive."), "influenza A")[0] == "J10.1"
    assert _codes_of(cm_analyzer.analyze("Influenza."), "Influenza")[0] == "J11.1"


def test_a_nontraumatic_condition_takes_no_injury_codes_from_its_words(cm_analyzer):
    """The index's "Injury, kidney, acute (nontraumatic)" is N17.9: "acute kidney injury" is no
    injury of the kidney (S37.0-) nor an injury of unspecified site (T14), though its words hold
    "kidney injury" and "injury". An injury mention keeps them."""
    codes = _codes_of(cm_analyzer.analyze("Acute kidney injury secondary to dehydration."), "Acute kidney injury")
    assert codes[0] == "N17.9"
    assert not any(c.startswith(("S", "T0", "T1")) for c in codes)
    injury = _codes_of(cm_analyzer.analyze("Blunt trauma with kidney injury."), "kidney injury")
    assert any(c.startswith("S37.0") for c in injury)


def test_extremity_is_the_code_sets_limb_and_an_unsided_leg_is_no_side(cm_analyzer):
    """L03.116 is "Cellulitis of left lower limb" (notes say "lower extremity"); "leg pain" with no
    side is M79.606, not the right leg's M79.604."""
    text = "Impression: Cellulitis of left lower extremity."
    assert _codes_of(cm_analyzer.analyze(text), "Cellulitis of left lower extremity")[0] == "L03.116"
    assert _codes_of(cm_analyzer.analyze("CC: leg pain."), "leg pain")[0] == "M79.606"
    assert _codes_of(cm_analyzer.analyze("Left leg pain."), "Left leg pain")[0] == "M79.605"


@pytest.mark.parametrize("text, span, code", [
    ("Impression: RLQ abdominal pain, possible early appendicitis.", "RLQ abdominal pain", "R10.31"),
    ("LLQ pain and tenderness.", "LLQ pain", "R10.32"),
    ("Right upper quadrant abdominal pain.", "Right upper quadrant abdominal pain", "R10.11"),
])
def test_an_abdominal_quadrant_is_its_quadrant_pain_code(cm_analyzer, text, span, code):
    """R10.1- / R10.3- are "right lower quadrant pain" ...: notes say RLQ, and "abdominal pain"."""
    assert _codes_of(cm_analyzer.analyze(text), span)[0] == code


@pytest.mark.parametrize("text, span, code, not_codes", [
    ("Non-traumatic rhabdomyolysis from prolonged immobilization.", "rhabdomyolysis", "M62.82", ("T79.6",)),
    ("Non-infectious gastroenteritis.", "gastroenteritis", "K52.9", ("A09",)),
    ("Non-insulin dependent diabetes.", "diabetes", "E11.9", ("E10.9",)),
    ("Non-alcoholic steatohepatitis.", "Non-alcoholic steatohepatitis", "K75.81", ("F10.10",)),
    ("Non-Hodgkin lymphoma.", "Non-Hodgkin lymphoma", "C85.90", ()),
])
def test_non_denies_the_word_it_joins(cm_analyzer, text, span, code, not_codes):
    """"non-traumatic rhabdomyolysis" is no traumatic rhabdomyolysis: "non-" either joins its word as the
    code sets write it (nonalcoholic) or no term starts at the word it denies; a term with "non" in its
    own wording (non-Hodgkin) still matches whole."""
    analysis = cm_analyzer.analyze(text)
    codes = _codes_of(analysis, span)
    assert codes[0] == code
    every = {c.code for m in analysis.mentions for c in m.candidates}
    assert not any(c.startswith(not_codes) for c in every) if not_codes else True


@pytest.mark.parametrize("text, span, code, not_code", [
    ("COPD without exacerbation.", "COPD", "J44.9", "J44.1"),
    ("COPD, not in exacerbation.", "COPD", "J44.9", "J44.1"),
    ("Asthma, mild intermittent, without exacerbation.", "Asthma, mild intermittent", "J45.2", "J45.21"),
])
def test_without_is_not_read_as_with(cm_analyzer, text, span, code, not_code):
    """The matcher drops "with" and "without" alike; a term with no negator of its own may not span one,
    else "COPD without exacerbation" is J44.1 "COPD with (acute) exacerbation"."""
    analysis = cm_analyzer.analyze(text)
    assert _codes_of(analysis, span)[0] == code
    assert not_code not in {c.code for m in analysis.mentions for c in m.candidates if m.text == text.rstrip(".")}


def test_a_term_that_says_without_itself_still_spans_it(cm_analyzer):
    """R03.0 "elevated blood-pressure reading, without diagnosis of hypertension" has its own "without"."""
    text = "Elevated blood pressure reading without diagnosis of hypertension."
    assert [m.text for m in cm_analyzer.analyze(text).mentions][0] == text[:-1]
    codes = _codes_of(cm_analyzer.analyze("Type 2 diabetes without complications."), "Type 2 diabetes")
    assert "E11.9" in codes[:2]


@pytest.mark.parametrize("text, span, code", [
    ("C. difficile colitis, initial episode.", "C. difficile colitis", "A04.72"),
    ("C diff infection, recurrent.", "C diff infection, recurrent", "A04.71"),
    ("CDI, first episode.", "CDI", "A04.72"),
    ("H. influenzae pneumonia.", "H. influenzae pneumonia", "J14"),
    ("Sputum grew H. influenzae.", "H. influenzae", "B96.3"),
])
def test_organisms_as_notes_write_them(cm_analyzer, text, span, code):
    """"C. diff" / "CDI" are Clostridioides difficile (A04.7-); "H. influenzae" is the organism, never
    influenza (J11)."""
    analysis = cm_analyzer.analyze(text)
    assert code in _codes_of(analysis, span)[:2]  # beside its category (A04.7), which falls back to it
    assert not any(c.code.startswith("J11") for m in analysis.mentions for c in m.candidates)
