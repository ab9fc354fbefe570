"""The fast paths of billable replacement and code look-up answer what the plain ways answered:
the sorted index of supported codes, the catalogue's look-up of a canonical code, the caches."""

from types import SimpleNamespace

import pytest

from codesuggest.codesets import CodeCatalog, CodeSystem, InvalidCode, normalize_code
from codesuggest.codesets.records import Code
from codesuggest.models.billable import _Support, candidate_scores

PCS_KEYS = [("ICD10PCS", c) for c in ("BW20", "BW20ZZZ", "BW201ZZ", "BW2", "BW30ZZZ", "0DTJ4ZZ", "bw20zzz")]
CM_KEYS = [("ICD10CM", c) for c in ("R51", "R51.9", "R51.0", "R519", "R5", "S72.001A")]
KEYS = PCS_KEYS + CM_KEYS


@pytest.mark.parametrize("key", KEYS + [("ICD10CM", "BW20"), ("CPT", "R51"), ("ICD10PCS", "")])
def test_the_codes_below_a_code_are_those_a_scan_of_every_supported_code_finds(key):
    rank_of = {k: i for i, k in enumerate(KEYS[::2])}
    candidates = {k: 0.5 for k in KEYS[1::2]}
    scan = [k for k in {**rank_of, **candidates} if k[0] == key[0] and k[1].startswith(key[1]) and k != key]
    assert sorted(_Support(rank_of, candidates, dict.fromkeys(rank_of, 1.0)).below(key)) == sorted(scan)


def test_candidate_scores_keep_every_code_with_its_best_match():
    def mention(*cands):
        return SimpleNamespace(candidates=[SimpleNamespace(system="ICD10CM", code=c, similarity=s) for c, s in cands])

    analysis = SimpleNamespace(mentions=[mention(("R51.9", 0.3), ("R51", -0.1)), mention(("R51.9", 0.7), ("G44", 0))])
    scores = candidate_scores(analysis)
    assert list(scores.items()) == [(("ICD10CM", "R51.9"), 0.7), (("ICD10CM", "R51"), 0.0), (("ICD10CM", "G44"), 0.0)]
    assert all(type(score) is float for score in scores.values())  # max(0.0, 0) is the float


@pytest.fixture
def catalog():
    codes = [Code(CodeSystem.ICD10CM, "R51.9", "Headache"), Code(CodeSystem.ICD10PCS, "BW20ZZZ", "CT of chest")]
    return CodeCatalog(codes, {"ICD10CM": "test", "ICD10PCS": "test"})


@pytest.mark.parametrize(
    "system, code, found",
    [
        ("ICD10CM", "R51.9", "R51.9"),
        (CodeSystem.ICD10CM, "R51.9", "R51.9"),
        ("icd-10-cm", "r519", "R51.9"),
        ("D", " R51.9 ", "R51.9"),
        ("ICD10PCS", "bw20zzz", "BW20ZZZ"),
        ("ICD10CM", "R51", None),
        ("ICD10CM", "not a code", None),
        ("ICD10PCS", "R51.9", None),
        ("ICD10CM", 519, None),
    ],
)
def test_get_finds_a_code_however_it_is_spelled(catalog, system, code, found):
    for _ in range(2):  # the second time from the caches
        record = catalog.get(system, code)
        assert (record.code if record else None) == found


def test_get_still_refuses_an_unknown_system(catalog):
    for _ in range(2):
        with pytest.raises(ValueError, match="unknown code system 'SNOMED'"):
            catalog.get("SNOMED", "R51.9")


@pytest.mark.parametrize(
    "system, raw, message",
    [
        ("ICD10CM", "1234", "'1234' is not an ICD-10-CM code"),
        (CodeSystem.ICD10PCS, "0DTI", "'0DTI' is not an ICD-10-PCS code (up to 7 characters, no I or O)"),
        ("cpt", 123, "123 is not a CPT code (five characters)"),
    ],
)
def test_an_invalid_code_is_named_as_it_was_given(system, raw, message):
    for _ in range(2):
        with pytest.raises(InvalidCode) as refused:
            normalize_code(system, raw)
        assert str(refused.value) == message
