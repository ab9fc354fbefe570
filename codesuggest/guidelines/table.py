"""The rule table, in the order the rules run, and the function that runs it over a note."""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable
from typing import Any

from ..pipeline.schema import NoteAnalysis
from . import (
    adverse_effects, body_mass, combinations, encounters, history, pregnancy, sequelae, sequencing, specificity, status, symptoms,
    wording,
)
from .engine import INPATIENT, OUTPATIENT, CodeLine, NoteCoding, Rule

RULES: tuple[Rule, ...] = (
    # what the note says of each condition
    Rule("undocumented", "I.A.19", "a diagnosis no words of the note support is not coded", status.undocumented),
    Rule("uncertain_diagnosis", "II.H, III.C, IV.H",
         "uncertain diagnoses: coded as established inpatient, not coded outpatient (code the symptoms)",
         status.uncertain_diagnosis),
    Rule("stroke_sequelae", "I.C.9.d", "deficits a past stroke left are coded I69.- (not G81.- beside I63.-, "
         "nor Z86.73)", sequelae.stroke_sequelae),
    Rule("personal_history", "I.C.21.c.4, I.C.9.e.4", "past conditions by their history code (old MI I25.2, Z85-Z87), "
         "family members' by Z80-Z84", history.personal_history),
    Rule("procedure_status", "I.C.21.c.3", "status after a procedure (Z89-Z96: stent, CABG, pacemaker, joint replacement, ...)",
         history.procedure_status),
    Rule("tobacco", "I.C.5.b", "current tobacco dependence F17.2- by product, former use Z87.891", history.tobacco),
    Rule("nicotine_dependence_course", "I.C.5.b", "nicotine dependence with withdrawal or in remission: F17.2x3 / "
         "F17.2x1", combinations.nicotine_dependence_course),
    Rule("allergies", "I.C.21.c.3", "an allergy listed under allergies by its status code (Z88.-, Z91.0-), not its reaction",
         status.allergies),
    Rule("excised_cancer", "I.C.2.d", "a primary cancer excised, with no further treatment and no evidence of it left, "
         "by its history code (Z85.-)", status.excised_cancer),
    Rule("not_current", "III, IV.J", "conditions not stated as current (negated, family, past, resolved, "
         "hypothetical) and procedures from before this encounter are not coded", status.not_current),
    Rule("resolved_before_this_visit", "IV.J", "outside a stay or an emergency visit, a condition the note says "
         "resolved and names only as the cause of another is not coded", status.resolved_before_this_visit),
    Rule("abnormal_findings", "III.B, IV.K", "a finding stated only in a test result is not coded when the note "
         "has a diagnostic statement", status.abnormal_findings),
    Rule("long_term_drugs", "I.C.21.c.3, I.C.4.a.3", "long-term (current) drug therapy Z79.- from the medications",
         history.long_term_drugs),
    # the most specific code, then combinations ("with")
    Rule("specific_candidate", "I.B.2, I.B.18", "an unspecified code gives way to its mention's specific code",
         specificity.specific_candidate),
    Rule("contradicted_titles", "I.B.1", "a code whose title the note's words deny ('with coma' for 'without coma', "
         "acute for chronic, the other side) gives way to the sibling that agrees", wording.contradicted_titles),
    Rule("metastatic_primary", "I.C.2", "'metastatic <site> cancer' is the primary of that site, not a secondary "
         "neoplasm of it", specificity.metastatic_primary),
    Rule("spread_site_no_primary", "I.C.2", "no primary neoplasm code for the site the cancer spread to (its C77-C79 "
         "code)", specificity.spread_site_no_primary),
    Rule("substance_use_level", "I.C.5.b.2", "a substance code at the documented level: use, not abuse, unless the "
         "note says abuse", combinations.substance_use_level),
    Rule("use_disorder_course", "I.C.5.b", "a use disorder at its level (mild: abuse; moderate, severe: dependence) "
         "and course (in remission, with withdrawal) in one code", combinations.use_disorder_course),
    Rule("ckd_stage", "I.C.14.a", "one CKD code, at the stage the note gives", specificity.ckd_stage),
    Rule("laterality", "I.B.13", "the right / left / bilateral code when the note gives the side", specificity.laterality),
    Rule("paralysis_side", "I.C.6.a", "hemiplegia / monoplegia on the side the note gives, dominant by default "
         "on the right", sequelae.paralysis_side),
    Rule("by_patient_age", "I.B.1", "a condition with a child's and an adult's code takes the patient's", specificity.by_patient_age),
    Rule("site_from_words", "I.B.2", "the code of the site (and side) the evidence sentence names",
         specificity.site_from_words),
    Rule("neoplastic_fracture", "I.C.13.c", "a pathological fracture through a neoplasm: M84.5- with the neoplasm",
         specificity.neoplastic_fracture),
    Rule("traumatic_rotator_cuff_tear", "I.C.19.a", "a traumatic rotator cuff tear: S46.01- by side and encounter, "
         "not M75.1-", specificity.traumatic_rotator_cuff_tear),
    Rule("osteoporotic_fracture", "I.C.13.d.1", "a fracture with osteoporosis and no major trauma: M80.0- by site, "
         "not a traumatic fracture code", specificity.osteoporotic_fracture),
    Rule("injury_encounter", "I.C.19.a", "injury 7th character from the encounter: A initial, D subsequent, S sequela",
         specificity.injury_encounter),
    Rule("heart_failure_type", "I.C.9.a.1", "heart failure type and acuity from the note's words", combinations.heart_failure_type),
    Rule("diabetes_type", "I.C.4.a.2", "one diabetes type: the one the note names, else type 2", combinations.diabetes_type),
    Rule("hypertension", "I.C.9.a.1-3", "hypertension with heart disease / CKD: I11, I12, I13", combinations.hypertension),
    Rule("diabetes", "I.A.15, I.C.4.a", "diabetes 'with' its complications; no E11.9 beside a complication", combinations.diabetes),
    Rule("asthma", "I.C.10.a", "asthma in exacerbation / status asthmaticus at its severity", combinations.asthma),
    Rule("prostate_with_symptoms", "I.B.9", "BPH with the urinary symptoms or obstruction it causes: N40.1, "
         "the symptoms after it", combinations.prostate_with_symptoms),
    Rule("ulcer_site", "I.A.13", "a diabetic, arterial or venous ulcer with its site, side and depth (L97.-)",
         combinations.ulcer_site),
    Rule("atherosclerosis_with_claudication", "I.B.9", "atherosclerosis of the legs with intermittent claudication: "
         "I70.21- by side", combinations.atherosclerosis_with_claudication),
    Rule("iron_deficiency_cause", "I.B.2", "iron deficiency anemia with the cause the note gives: blood loss D50.0, "
         "another cause D50.8", combinations.iron_deficiency_cause),
    Rule("secondary_varices", "I.A.13", "esophageal varices in cirrhosis or portal hypertension: I85.1-, after it",
         combinations.secondary_varices),
    Rule("influenza_with_pneumonia", "I.B.9", "influenza with pneumonia: one combination code (J10.00, J11.00)",
         combinations.influenza_with_pneumonia),
    Rule("copd", "I.C.10.a", "COPD with lower respiratory infection (J44.0) or exacerbation (J44.1)", combinations.copd),
    Rule("gallbladder", "I.B.9", "cholelithiasis with cholecystitis: one combination code", combinations.gallbladder),
    Rule("coronary_disease_with_angina", "I.C.9.b", "coronary atherosclerosis with angina: I25.11-",
         combinations.coronary_disease_with_angina),
    Rule("ulcer_with_bleeding", "I.B.9", "a peptic ulcer with the bleeding it explains: ulcer with hemorrhage",
         combinations.ulcer_with_bleeding),
    Rule("dementia_severity", "I.C.5.d", "dementia at the severity and with the behaviour the note says",
         combinations.dementia_severity),
    Rule("alzheimer_dementia", "I.A.13", "dementia in Alzheimer's disease: G30.- first, then F02.-",
         combinations.alzheimer_dementia),
    Rule("sciatica_with_lumbago", "I.B.9", "sciatica with low back pain: M54.4- on the sciatica's side",
         combinations.sciatica_with_lumbago),
    Rule("stones_with_hydronephrosis", "I.B.9", "a kidney or ureter stone with hydronephrosis: N13.2",
         combinations.stones_with_hydronephrosis),
    Rule("kidney_and_ureter_stones", "I.B.9", "kidney and ureter stones: N20.2", combinations.kidney_and_ureter_stones),
    Rule("sepsis", "I.C.1.d.1-2", "sepsis by organism; severe sepsis R65.20, septic shock R65.21", combinations.sepsis),
    Rule("gestational_diabetes", "I.C.15.i", "gestational diabetes O24.4-, not an E08-E13 code on its words",
         combinations.gestational_diabetes),
    Rule("carrier_in_pregnancy", "I.C.15.a.1", "a group B streptococcus carrier in pregnancy: O99.82- by the episode, "
         "not Z22.330", pregnancy.carrier_in_pregnancy),
    Rule("trimester", "I.C.15.a.3", "a pregnancy code at the trimester of the weeks of gestation the note gives",
         pregnancy.trimester),
    Rule("hypertension_in_pregnancy", "I.C.15.a.1, I.C.15.d", "hypertension in a pregnancy by its O10-O16 code, "
         "not I10", pregnancy.hypertension_in_pregnancy),
    Rule("birth_record", "I.C.15.a.1-2, I.C.15.b.5", "no mother's code on the newborn's record; Z33.1 and O80 only "
         "without other pregnancy codes", pregnancy.birth_record),
    Rule("newborn_details", "I.C.16.a.2, I.C.16.e", "a newborn delivered by cesarean (Z38.x1); prematurity by weeks "
         "and birth weight (P07.-)", pregnancy.newborn_details),
    Rule("weeks_of_gestation", "I.C.15.a", "the weeks of gestation Z3A.- beside a pregnancy's codes",
         pregnancy.weeks_of_gestation),
    Rule("delivery_outcome", "I.C.15.b.5", "the outcome of delivery Z37.- on the mother's record of the delivery stay",
         pregnancy.delivery_outcome),
    Rule("no_weeks_after_pregnancy", "I.C.15", "no Z3A beside the puerperium's codes alone",
         pregnancy.no_weeks_after_pregnancy),
    Rule("nash_cirrhosis", "I.B.2", "cirrhosis due to NASH: K75.81 with K74.69, not K74.60", combinations.nash_cirrhosis),
    Rule("transplanted_kidney", "I.C.14.a.2", "no end-stage kidney disease beside a kidney transplant unless on dialysis",
         combinations.transplanted_kidney),
    Rule("traumatic_or_not", "I.B.12", "an intracranial bleed: the injury code with a trauma, the nontraumatic code "
         "without", combinations.traumatic_or_not),
    Rule("sirs_with_organ_dysfunction", "I.C.18.g", "SIRS of non-infectious origin with an acute organ dysfunction: "
         "R65.11", combinations.sirs_with_organ_dysfunction),
    Rule("stroke_details", "I.C.18.j, I.C.21.c.3", "an acute ischemic stroke's NIHSS score (R29.7-) and tPA given at "
         "another facility (Z92.82)", combinations.stroke_details),
    Rule("stemi_site", "I.C.9.e.1", "a STEMI of unspecified site (I21.3) by the artery or wall its sentence names",
         combinations.stemi_site),
    Rule("pancreatitis_cause", "I.B.1", "acute pancreatitis of another named cause: K85.8-, not K85.9-",
         combinations.pancreatitis_cause),
    Rule("chemotherapy_pancytopenia", "I.C.3.a", "pancytopenia due to cancer chemotherapy: D61.810",
         combinations.chemotherapy_pancytopenia),
    Rule("neutropenic_fever", "I.C.3", "neutropenic fever: D70.- by cause with R50.81, not R50.9", combinations.neutropenic_fever),
    Rule("rheumatic_multiple_valves", "I.B.9", "rheumatic disease of two or three valves: one I08.- code",
         combinations.rheumatic_multiple_valves),
    Rule("ulcer_complications", "I.B.9", "a peptic ulcer with its hemorrhage / perforation / acuity in one K25-K28 code",
         combinations.ulcer_complications),
    Rule("crohn_site", "I.B.2", "Crohn's disease by the bowel it involves: K50.0- / K50.1- / K50.8-", combinations.crohn_site),
    Rule("pulmonary_embolism_kind", "I.B.12", "no 'other pulmonary embolism' beside the code naming its kind",
         combinations.pulmonary_embolism_kind),
    Rule("copd_with_emphysema", "I.B.12", "COPD with emphysema: the J43 code alone", combinations.copd_with_emphysema),
    Rule("covid_manifestations", "I.C.1.g.1.c", "COVID-19 with pneumonia J12.82, with bronchitis J20.8, with sepsis "
         "A41.89", combinations.covid_manifestations),
    Rule("obstruction_with_infection", "I.B.9", "hydronephrosis or obstruction with infection: N13.6, not N13.x "
         "beside a UTI code", combinations.obstruction_with_infection),
    Rule("unspecified_behaviour_beside_known", "I.C.2", "no D49 for a neoplasm whose sentence codes its behaviour",
         combinations.unspecified_behaviour_beside_known),
    Rule("secondary_neuroendocrine", "I.C.2", "metastases of a neuroendocrine tumour: C7B.- by site, not C77-C79",
         combinations.secondary_neuroendocrine),
    Rule("fever_a_condition_asks_for", "I.A.13", "a fever beside a condition that asks for R50.81 is R50.81, not R50.9",
         combinations.fever_a_condition_asks_for),
    Rule("arthritis_by_organism", "I.B.1", "a septic arthritis by its organism and joint (M00.0-/M00.1-/M00.2-)",
         combinations.arthritis_by_organism),
    Rule("ventilator_pneumonia", "I.C.10.d.1", "a ventilator-associated pneumonia: J95.851 with the organism's code, no "
         "J12-J18 code", combinations.ventilator_pneumonia),
    Rule("pneumonia_by_organism", "I.B.9", "a pneumonia and the organism its sentence names are one code (J13-J15)",
         combinations.pneumonia_by_organism),
    Rule("organism_in_combination", "I.C.1.e.1.a", "no organism code beside a code that names the organism",
         combinations.organism_in_combination),
    Rule("colonization", "I.C.1.e.2", "MRSA / MSSA the note says colonises the patient: Z22.322 / Z22.321",
         combinations.colonization),
    Rule("organism_of_a_site_infection", "I.C.1.e.1", "the organism of an infection coded by its site is B95-B96, "
         "not A49.- (infection, unspecified site)", combinations.organism_of_a_site_infection),
    Rule("hiv_status", "I.C.1.a.2", "B20 for HIV disease (AIDS, an HIV-related condition); Z21 for an HIV-positive "
         "patient with none", combinations.hiv_status),
    Rule("uncomplicated_beside_complication", "I.B.9", "no 'uncomplicated' code beside its category's code "
         "'with' a complication the note supports", specificity.uncomplicated_beside_complication),
    Rule("alternatives", "I.B.12", "one code per condition: a less sure code of the same category on the same words leaves",
         specificity.alternatives),
    Rule("use_disorder_twins", "I.C.5.b", "a substance code beside its twin at the use disorder's documented level "
         "leaves into it", combinations.use_disorder_twins),
    Rule("second_reading", "I.B.12", "one code per condition: a code reading in part the words another code reads "
         "exactly leaves, unless one asks for the other", specificity.second_reading),
    Rule("excluded_here", "I.A.12.a", "a code leaves for the code its Excludes1 note names on the same words",
         specificity.excluded_here),
    Rule("excluded_by_name", "I.A.12.a", "a code leaves for the code its Excludes1 note sends a condition the note "
         "names in the note's words", specificity.excluded_by_name),
    Rule("nos_beside_its_kind", "I.A.12.a", "a condition's NOS code leaves for the code whose Excludes1 note sends "
         "the NOS to it, on the same words", specificity.nos_beside_its_kind),
    Rule("kind_over_site_reading", "I.B.12", "one code per condition: a code of a condition's noun and its site leaves "
         "for the code of the kind the words name with that noun", specificity.kind_over_site_reading),
    Rule("congenital_unsaid", "I.C.17", "no congenital anomaly code on words read as an acquired condition unless the "
         "note says it is congenital", specificity.congenital_unsaid),
    Rule("unspecified_beside_specific", "I.B.2, I.B.18", "no unspecified code beside a specific one of its category",
         specificity.unspecified_beside_specific),
    Rule("device_placed_now", "I.C.21.c.3", "no status code for a device placed at this encounter", status.device_placed_now),
    Rule("replaced_valve", "IV.J", "no disease of a heart valve the note says was replaced (Z95.2)", status.replaced_valve),
    Rule("replaced_joint", "IV.J", "no arthritis of a joint the note says was replaced (Z96.6-, same side)",
         status.replaced_joint),
    Rule("opposite_states", "IV.J", "of two states that cannot coexist, the one only said of the past leaves",
         status.opposite_states),
    Rule("status_in_complication", "I.C.21.c.3", "no status code beside the complication code of its device or "
         "transplant", status.status_in_complication),
    # what is left to code
    Rule("integral_symptoms", "I.B.5", "signs and symptoms integral to a confirmed diagnosis are not coded",
         symptoms.integral_symptoms),
    Rule("poisoning", "I.C.19.e.5.b", "an overdose of a drug: its T36-T50 poisoning code with the intent (accidental "
         "unless the note says otherwise)", adverse_effects.poisonings),
    Rule("adverse_effects", "I.C.19.e.5.a", "the adverse effect of a drug taken as prescribed: T36-T50 with 5th/6th "
         "character 5, after the effect", adverse_effects.adverse_effects),
    Rule("underdosing", "I.C.19.e.5.c", "a drug taken in less than the prescribed amount: T36-T50 with 5th/6th "
         "character 6, with the reason's Z91.12- / Z91.13- code", adverse_effects.underdosing),
    Rule("loss_of_consciousness", "I.C.19", "an intracranial injury by its documented loss of consciousness (S06 6th "
         "character)", specificity.loss_of_consciousness),
    Rule("burn_degree", "I.C.19.d", "a burn of unspecified degree takes the degree its sentences give; no T30.0 "
         "beside a burn coded by site", specificity.burn_degree),
    Rule("burn_extent", "I.C.19.d.6", "a burn with the extent of body surface the note gives (T31.-)", specificity.burn_extent),
    Rule("external_cause", "I.C.20", "the external cause of a current injury, with its 7th character", specificity.external_cause),
    Rule("body_mass_index", "I.B.14", "an adult's BMI (Z68.-) beside the weight diagnosis the provider documents",
         body_mass.body_mass_index),
    Rule("encounter_reason", "I.C.21.c.5, I.C.21.c.8, I.C.21.c.13",
         "outpatient encounters for a general exam (Z00.00), a cancer screening (Z12.-) or cancer surveillance (Z08)",
         encounters.encounter_reason),
    Rule("immunization", "I.C.21.c.2", "a vaccine given at the encounter: Z23, not the disease it protects from",
         encounters.immunization),
    Rule("aftercare_of_an_injury", "I.C.21.c.7", "no aftercare Z code beside a healing injury's subsequent-encounter code",
         encounters.aftercare_of_an_injury),
    Rule("principal_diagnosis", "II, IV.A, I.C.1.d.4", "the principal / first-listed diagnosis", sequencing.principal_diagnosis),
)
RULE_NAMES: tuple[str, ...] = tuple(rule.name for rule in RULES)

_INPATIENT_WORDS = re.compile(
    r"\b(?:discharge summary|d/?c summary|hospital course|admission date|date of admission|admitted (?:to|for|with)|"
    r"discharge diagnos[ie]s|principal diagnosis|inpatient|hospital day)\b"
)
SETTINGS = {"inpatient": INPATIENT, "outpatient": OUTPATIENT, "emergency": OUTPATIENT, "ed": OUTPATIENT}
EMERGENCY = frozenset({"emergency", "ed"})


def infer_setting(text: str) -> str:
    """Inpatient when the note reads like a hospital stay (admission, hospital course, discharge
    diagnoses), else outpatient (office, clinic, emergency department: Section IV)."""
    return INPATIENT if _INPATIENT_WORDS.search(text.lower()) else OUTPATIENT


def _setting_key(setting: str | None) -> str | None:
    return setting.strip().lower() if setting is not None else None


def care_setting(setting: str | None, text: str) -> str:
    """The guidelines' setting (inpatient or outpatient) for a requested one; None: inferred."""
    if setting is None:
        return infer_setting(text)
    key = _setting_key(setting)
    if key not in SETTINGS:
        raise ValueError(f"unknown setting {setting!r} (expected one of {', '.join(SETTINGS)})")
    return SETTINGS[key]


def apply_guidelines(
    analysis: NoteAnalysis,
    lines: Iterable[CodeLine],
    catalog: Any,
    setting: str | None = None,
    disabled: Collection[str] = (),
) -> NoteCoding:
    """Run every rule not in ``disabled`` over one note's ranked codes (best first); return the
    note's coding, whose ``lines`` are the codes to suggest, the principal diagnosis first and the
    others by confidence. ``setting`` None: inferred from the note (:func:`infer_setting`)."""
    unknown = set(disabled) - set(RULE_NAMES)
    if unknown:
        raise ValueError(f"unknown guideline rule(s) {', '.join(sorted(unknown))} (known: {', '.join(RULE_NAMES)})")
    note = NoteCoding(analysis, lines, catalog, care_setting(setting, analysis.text), setting_inferred=setting is None,
                      emergency=_setting_key(setting) in EMERGENCY)
    for rule in RULES:
        if rule.name not in disabled:
            note.rule = rule
            rule.apply(note)
    note.rule = None
    note.lines.sort(key=lambda line: (not line.principal, -line.confidence))
    return note
