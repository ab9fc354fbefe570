"""A code whose title the note's words contradict (guidelines.wording, I.B.1), on hand-made notes
over the packaged ICD-10-CM catalogue."""

from __future__ import annotations

import pytest

from codesuggest.guidelines.wording import conflict, title_words
from test_guidelines import code, codes_of, lines, m, note


@pytest.mark.parametrize("title, text, drop, take", [
    ("Type 2 diabetes mellitus with hypoglycemia with coma", "hypoglycemia due to type 2 dm, without coma", {"coma"}, set()),
    ("Calculus of bile duct without cholangitis or cholecystitis without obstruction",
     "choledocholithiasis without cholangitis or cholecystitis, with obstruction", set(), {"obstruction"}),
    ("Chronic obstructive pulmonary disease with (acute) exacerbation", "copd without exacerbation",
     {"acute", "exacerbation"}, set()),
    ("Migraine without aura, intractable, without status migrainosus", "migraine without aura, not intractable",
     {"intractable"}, set()),
    ("Mild persistent asthma with (acute) exacerbation", "mild persistent asthma, no exacerbations this year",
     {"acute", "exacerbation"}, set()),  # plural and singular meet
    ("Mild persistent asthma with (acute) exacerbation", "mild persistent asthma, uncomplicated", {"acute", "exacerbation"}, set()),
    ("Major depressive disorder, single episode, moderate", "major depressive disorder, recurrent, moderate",
     {"single", "episode"}, {"recurrent"}),
    ("Primary osteoarthritis, left ankle and foot", "primary osteoarthritis of left knee", {"ankle", "foot"}, {"knee"}),
    ("Nondisplaced fracture of lateral malleolus of right fibula", "closed displaced fracture r lateral malleolus",
     {"nondisplaced"}, {"displaced"}),
    ("Displaced fracture of lateral malleolus of right fibula", "non-displaced fracture of the lateral malleolus",
     {"displaced"}, {"nondisplaced"}),
])
def test_a_title_and_the_words_that_deny_it(title, text, drop, take):
    found = conflict(title, text, text)
    assert found is not None and found.drop == drop and found.take == take


@pytest.mark.parametrize("title, text", [
    ("Type 2 diabetes mellitus with hypoglycemia without coma", "hypoglycemia due to type 2 dm, without coma"),
    ("Acute cystitis without hematuria", "acute cystitis without hematuria superimposed on chronic interstitial cystitis"),
    ("Interstitial cystitis (chronic) without hematuria", "acute cystitis without hematuria superimposed on chronic interstitial cystitis"),
    ("Acute on chronic diastolic (congestive) heart failure", "acute on chronic diastolic heart failure"),
    ("Personal history of pneumonia (recurrent)", "history of pneumonia"),
    ("Pneumonia, unspecified organism", "pneumonia without sepsis"),
    ("Idiopathic gout, right ankle and foot", "acute gout flare of right great toe"),  # a toe is part of the foot
    ("Nondisplaced fracture of lateral malleolus of right fibula", "nondisplaced fracture of the lateral malleolus"),
    ("Alcohol dependence with withdrawal, uncomplicated", "alcohol dependence with withdrawal, uncomplicated"),
])
def test_titles_the_words_do_not_deny(title, text):
    assert conflict(title, text, text) is None


def test_a_title_reads_as_what_it_affirms_and_what_it_denies():
    affirmed, denied = title_words("Migraine without aura, not intractable, without status migrainosus")
    assert affirmed == {"migraine"} and denied == {"aura", "intractable", "status", "migrainosus"}


@pytest.mark.parametrize("text, words, ranked, setting, expected", [
    ("Impression: Hypoglycemia due to type 2 diabetes mellitus, without coma", "Hypoglycemia due to type 2 diabetes mellitus",
     "E11.641", "emergency", "E11.649"),
    ("Discharge diagnosis: Choledocholithiasis without cholangitis or cholecystitis, with obstruction",
     "Choledocholithiasis without cholangitis or cholecystitis", "K80.50", "inpatient", "K80.51"),
    ("Discharge diagnosis: Likely Clostridioides difficile colitis (first episode)", "Clostridioides difficile colitis",
     "A04.71", "inpatient", "A04.72"),
    ("Impression: 1. R ankle sprain", "ankle sprain", "S93.402A", "emergency", "S93.401A"),
    ("A/P: Migraine without aura, not intractable, without status migrainosus", "Migraine without aura",
     "G43.019", "outpatient", "G43.009"),
    ("A/P: Migraine with aura, intractable, without status migrainosus", "Migraine with aura",
     "G43.009", "outpatient", "G43.119"),  # two points apart: through G43.109
    ("Discharge diagnosis: Recurrent Clostridioides difficile colitis", "Clostridioides difficile colitis",
     "A04.72", "inpatient", "A04.71"),
])
def test_a_contradicted_code_gives_way_to_the_sibling_that_agrees(cm_catalog, text, words, ranked, setting, expected):
    coded = code(note(text, m(words, ranked)), lines((ranked, 0.9, (0,))), cm_catalog, setting)
    assert codes_of(coded) == [expected]
    assert coded.lines[0].confidence == pytest.approx(0.9)
    assert any(n.section == "I.B.1" and n.message.startswith(f"{expected} replaces {ranked}") for n in coded.lines[0].notes)


@pytest.mark.parametrize("text, words, ranked, kept", [
    ("A/P: Chronic maxillary sinusitis - saline irrigation", "Chronic maxillary sinusitis", ("J01.90", "J32.0"), "J32.0"),
    ("Impression: Viral gastroenteritis", "Viral gastroenteritis", ("K52.9", "A08.4"), "A08.4"),
])
def test_a_contradicted_code_without_an_agreeing_sibling_leaves(cm_catalog, text, words, ranked, kept):
    wrong, right = ranked
    coded = code(note(text, m(words, right)), lines((wrong, 0.9, (0,)), (right, 0.7, (0,))), cm_catalog)
    assert codes_of(coded) == [kept]
    assert wrong in {line.code for line, _ in coded.withdrawn}


def test_a_stone_without_cholecystitis_is_not_combined_with_cholecystitis(cm_catalog):
    text = "A/P: Symptomatic cholelithiasis without cholecystitis - elective lap chole"
    a = note(text, m("cholelithiasis without cholecystitis", "K80.20"))
    coded = code(a, lines(("K80.20", 0.7, (0,)), ("K81.9", 0.6, (0,))), cm_catalog)
    assert codes_of(coded) == ["K80.20"]


def test_acute_on_chronic_cystitis_keeps_both_codes(cm_catalog):
    text = "A/P: Acute cystitis without hematuria superimposed on chronic interstitial cystitis - nitrofurantoin"
    a = note(text, m("Acute cystitis without hematuria", "N30.00"), m("chronic interstitial cystitis", "N30.10"))
    coded = code(a, lines(("N30.00", 0.8, (0,)), ("N30.10", 0.7, (1,))), cm_catalog)
    assert sorted(codes_of(coded)) == ["N30.00", "N30.10"]


def test_an_organism_name_alone_is_not_the_disease_named_after_it(cm_catalog):
    from codesuggest.pipeline.schema import Candidate, Mention, NoteAnalysis

    text = "Urine culture: Klebsiella pneumoniae.\nDischarge diagnosis: Acute pyelonephritis"
    organism = Mention(text="Klebsiella pneumoniae", start=15, end=36, kind="diagnosis", section="labs",
                       sentence_start=0, sentence_end=37, candidates=(Candidate("ICD10CM", "B96.1", "", 1.0, "klebsiella pneumoniae"),))
    start = text.index("Acute")
    pyelo = Mention(text="Acute pyelonephritis", start=start, end=len(text), kind="diagnosis", section="discharge_diagnoses",
                    sentence_start=start, sentence_end=len(text), candidates=(Candidate("ICD10CM", "N10", "", 1.0, "acute pyelonephritis"),))
    a = NoteAnalysis(text=text, mentions=(organism, pyelo))
    coded = code(a, lines(("J15.0", 0.8, (0,)), ("B96.1", 0.8, (0,)), ("N10", 0.9, (1,))), cm_catalog, "inpatient")
    assert sorted(codes_of(coded)) == ["B96.1", "N10"]
