"""Dataset loaders (CodiEsp, generic JSONL/CSV/Parquet), the spec registry, and predictions/gold TSVs."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pandas as pd
import pytest

from codesuggest.training import datasets
from codesuggest.training.datasets import (
    CodedNote,
    Dataset,
    DatasetError,
    load_codiesp,
    load_dataset,
    load_jsonl,
    load_table,
    register_loader,
    write_jsonl,
)
from codesuggest.training.predictions import read_gold, read_predictions, write_predictions

DATA = Path(__file__).parent / "data"
MINI_SOURCE = DATA / "codiesp_mini_src"  # hand-written notes; the CodiEsp layout is built per test run


@pytest.fixture(scope="module")
def mini(tmp_path_factory) -> Path:
    """A tiny corpus in the CodiEsp layout (``text_files_en/`` + ``*D.tsv`` / ``*P.tsv``)."""
    root = tmp_path_factory.mktemp("corpora") / "codiesp_mini"
    shutil.copytree(MINI_SOURCE, root)
    (root / "texts").rename(root / "text_files_en")
    return root


# --- CodiEsp layout ----------------------------------------------------------


def test_codiesp_mini_normalises_codes_and_reports_problems(mini):
    notes = load_codiesp(mini)
    assert isinstance(notes, list) and isinstance(notes, Dataset)
    by_id = {n.note_id: n for n in notes}
    assert sorted(by_id) == ["c1", "c2"]  # c3 is blank: skipped
    assert by_id["c1"].codes == (
        ("ICD10CM", "E11.22"),
        ("ICD10CM", "I10"),
        ("ICD10PCS", "BW03ZZZ"),
        ("ICD10PCS", "BW03"),  # the 4-character prefix stays a prefix
    )
    assert by_id["c2"].codes == (("ICD10CM", "N44.8"),)
    assert by_id["c1"].codes_of("pcs") == ("BW03ZZZ", "BW03")
    assert by_id["c1"].text.startswith("A 45-year-old man")
    assert by_id["c1"].source == "codiesp:codiesp_mini"

    report = notes.report
    assert report.notes == 2
    assert report.codes_per_system == {"ICD10CM": 3, "ICD10PCS": 2}
    assert report.skipped_codes == 2
    assert report.duplicate_codes == 1
    assert report.skipped_empty_notes == 1
    problems = "\n".join(report.problems)
    assert "miniD.tsv:5" in problems and "'1x.9'" in problems
    assert "miniP.tsv:3" in problems and "'0i0'" in problems
    assert "c3.txt" in problems and "empty" in problems
    assert "2 notes" in str(report)


def test_codiesp_code_row_without_text_file(tmp_path, mini):
    split = tmp_path / "split"
    shutil.copytree(mini, split)
    with (split / "miniD.tsv").open("a") as out:
        out.write("c9\tr10.9\n")
    with pytest.raises(DatasetError, match=r"miniD\.tsv:7: no text file for case 'c9'.*c9\.txt"):
        load_codiesp(split)


def test_codiesp_non_utf8_text_names_the_file(tmp_path, mini):
    split = tmp_path / "split"
    shutil.copytree(mini, split)
    (split / "text_files_en" / "c2.txt").write_bytes(b"first line\nfi\xe8vre\n")
    with pytest.raises(DatasetError, match=r"c2\.txt:2: not UTF-8"):
        load_codiesp(split)


def test_codiesp_malformed_line_and_wrong_folder(tmp_path, mini):
    split = tmp_path / "split"
    shutil.copytree(mini, split)
    with (split / "miniP.tsv").open("a") as out:
        out.write("c1 bw03zzz\n")
    with pytest.raises(DatasetError, match=r"miniP\.tsv:4: expected 'case_id<TAB>code'"):
        load_codiesp(split)
    (tmp_path / "root" / "train").mkdir(parents=True)
    with pytest.raises(DatasetError, match="no text_files_en folder.*give a split folder"):
        load_codiesp(tmp_path / "root")


def test_codiesp_real_train_and_dev(codiesp_dir):
    train = load_dataset(f"codiesp:{codiesp_dir / 'train'}")
    dev = load_dataset(f"codiesp:{codiesp_dir / 'dev'}")
    assert len(train) == 500 and len(dev) == 250
    # README: every case has D codes, about one in eight has no P code; the TSVs have no invalid or repeated rows
    assert train.report.codes_per_system == {"ICD10CM": 5639, "ICD10PCS": 1550}
    assert dev.report.codes_per_system == {"ICD10CM": 2677, "ICD10PCS": 817}
    for split, with_p in ((train, 435), (dev, 222)):
        assert split.report.skipped_codes == split.report.skipped_empty_notes == split.report.duplicate_codes == 0
        assert all(n.codes_of("ICD10CM") for n in split)
        assert sum(bool(n.codes_of("ICD10PCS")) for n in split) == with_p
    pcs = [c for n in train for s, c in n.codes if s == "ICD10PCS"]
    assert sum(len(c) == 4 for c in pcs) == 804 and sum(len(c) == 7 for c in pcs) == 746
    assert not {n.note_id for n in train} & {n.note_id for n in dev}
    assert all(code == code.upper() for n in dev for _, code in n.codes)


# --- generic format ------------------------------------------------------------


def test_jsonl_merges_same_note_skips_bad_codes_and_empty_notes():
    notes = load_jsonl(DATA / "notes.jsonl")
    by_id = {n.note_id: n for n in notes}
    assert sorted(by_id) == ["7", "n1", "n2"]
    assert by_id["n1"].codes == (("ICD10CM", "E11.22"), ("ICD10PCS", "BW03ZZZ"), ("CPT", "99213"))
    assert by_id["n2"].codes == (("ICD10CM", "I10"),)
    assert by_id["n2"].source == "feedback" and by_id["n1"].source == "jsonl:notes.jsonl"
    assert by_id["7"].codes == ()
    report = notes.report
    assert (report.merged_notes, report.skipped_codes, report.skipped_empty_notes, report.notes_without_codes) == (1, 1, 1, 1)
    assert any("notes.jsonl:3:" in p and "not a code" in p for p in report.problems)
    assert any("notes.jsonl:4:" in p and "'n3' is empty" in p for p in report.problems)


@pytest.mark.parametrize(
    "line, message",
    [
        ('{"note_id": "n1", "text": "other text", "codes": []}', r"notes\.jsonl:2: note_id 'n1' already seen at .*:1 with a different text"),
        ('{"note_id": "n2", "text": "x", "codes": [{"code": "I10"}]', r"notes\.jsonl:2: not JSON"),
        ('{"note_id": "", "text": "x"}', r"notes\.jsonl:2: 'note_id' must be a non-empty string"),
        ('{"note_id": "n2", "text": "x", "codes": ["I10"]}', r"notes\.jsonl:2: each code must be an object"),
        ('["n2", "x"]', r"notes\.jsonl:2: expected a JSON object"),
    ],
)
def test_jsonl_errors_name_file_and_line(tmp_path, line, message):
    path = tmp_path / "notes.jsonl"
    path.write_text('{"note_id": "n1", "text": "some text", "codes": []}\n' + line + "\n", encoding="utf-8")
    with pytest.raises(DatasetError, match=message):
        load_jsonl(path)


def test_jsonl_non_utf8(tmp_path):
    path = tmp_path / "latin1.jsonl"
    path.write_bytes('{"note_id": "n1", "text": "fièvre"}\n'.encode("latin-1"))
    with pytest.raises(DatasetError, match=r"latin1\.jsonl:1: not UTF-8"):
        load_jsonl(path)


def test_csv_codes_column():
    notes = load_table(DATA / "notes.csv")
    by_id = {n.note_id: n for n in notes}
    assert by_id["n1"].text == "Type 2 diabetes\nwith diabetic CKD."
    assert by_id["n1"].codes == (("ICD10CM", "E11.22"), ("ICD10PCS", "BW03ZZZ"))
    assert by_id["n2"].codes == (("ICD10CM", "I10"),)
    assert by_id["n3"].codes == ()
    assert notes.report.skipped_codes == 1
    assert any("row 2" in p and "'XX'" in p for p in notes.report.problems)


def test_csv_missing_column_and_non_utf8(tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text("note_id,text\nn1,hello\n", encoding="utf-8")
    with pytest.raises(DatasetError, match=r"bad\.csv: missing column\(s\) codes"):
        load_table(bad)
    latin = tmp_path / "latin.csv"
    latin.write_bytes("note_id,text,codes\nn1,fièvre,\n".encode("latin-1"))
    with pytest.raises(DatasetError, match=r"latin\.csv: not UTF-8"):
        load_table(latin)


def test_parquet_round_trip_and_write_jsonl(tmp_path):
    frame = pd.DataFrame(
        {"note_id": ["a", "b"], "text": ["Chest pain.", "Hydrocele."], "codes": ["ICD10CM:R07.9", "cm:n43.3;pcs:bv40zzz"]}
    )
    frame.to_parquet(tmp_path / "notes.parquet")
    notes = load_dataset(f"parquet:{tmp_path / 'notes.parquet'}")
    assert [n.codes for n in notes] == [(("ICD10CM", "R07.9"),), (("ICD10CM", "N43.3"), ("ICD10PCS", "BV40ZZZ"))]

    nested = pd.DataFrame({"note_id": [7], "text": ["Hydrocele."], "codes": [[{"system": "ICD10CM", "code": "n43.3"}]]})
    nested.to_parquet(tmp_path / "nested.parquet")
    assert [(n.note_id, n.codes) for n in load_table(tmp_path / "nested.parquet")] == [("7", (("ICD10CM", "N43.3"),))]

    out = tmp_path / "export.jsonl"
    assert write_jsonl(notes, out) == 2
    first = json.loads(out.read_text(encoding="utf-8").splitlines()[0])
    assert first == {"note_id": "a", "text": "Chest pain.", "codes": [{"system": "ICD10CM", "code": "R07.9"}], "source": "parquet:notes.parquet"}
    again = load_jsonl(out)
    assert list(again) == list(notes)


# --- specs and registry ------------------------------------------------------------


def test_load_dataset_specs_and_guessing(mini):
    assert len(load_dataset(f"codiesp:{mini}")) == 2
    assert len(load_dataset(str(mini))) == 2  # a folder: CodiEsp
    assert len(load_dataset(f"jsonl:{DATA / 'notes.jsonl'}")) == 3
    assert len(load_dataset(str(DATA / "notes.csv"))) == 3
    with pytest.raises(DatasetError, match="cannot tell how to load 'foo:bar'"):
        load_dataset("foo:bar")
    with pytest.raises(DatasetError, match="no such file"):
        load_dataset("jsonl:/nonexistent/notes.jsonl")


def test_register_loader(monkeypatch):
    monkeypatch.setattr(datasets, "_LOADERS", dict(datasets._LOADERS))
    seen = []

    def feedback(target: str) -> Dataset:
        seen.append(target)
        return Dataset([CodedNote("f1", "text", (("ICD10CM", "I10"),), "feedback")])

    register_loader("feedback", feedback)
    notes = load_dataset("feedback:postgresql://db/codesuggest")
    assert seen == ["postgresql://db/codesuggest"] and notes[0].note_id == "f1"
    with pytest.raises(ValueError, match="already registered"):
        register_loader("feedback", feedback)
    assert "feedback" in datasets.registered_schemes()


# --- predictions and gold TSVs --------------------------------------------------------


def test_write_and_read_predictions(tmp_path):
    path = tmp_path / "preds.tsv"
    rows = [("n2", "I10", "ICD10CM", 0.2), ("n1", "E11.22", "ICD10CM", 0.4), ("n2", "R60.9", "ICD10CM", 0.9),
            ("n1", "BW03ZZZ", "ICD10PCS", 0.4), ("n1", "N44.8", "ICD10CM", 0.1 + 0.2)]
    assert write_predictions(rows, path) == 5
    lines = path.read_text().splitlines()
    assert lines[0] == "note_id\tcode\tsystem\tscore"
    # notes in first-seen order, each by descending score, ties in given order, scores round-trip exactly
    assert [line.split("\t")[:2] for line in lines[1:]] == [
        ["n2", "R60.9"], ["n2", "I10"], ["n1", "E11.22"], ["n1", "BW03ZZZ"], ["n1", "N44.8"]]
    frame = read_predictions(path)
    assert list(frame.columns) == ["note_id", "code", "system", "score", "rank"]
    assert frame.loc[4, "score"] == 0.1 + 0.2
    assert frame["rank"].tolist() == [1, 2, 1, 1, 2]  # ranks per note and system

    headerless = tmp_path / "headerless.tsv"
    headerless.write_text("n1\tn44.8\tcm\t0.5\n\nn1\te1122\tICD-10-CM\t0.7\n")
    frame = read_predictions(headerless)
    assert frame[["code", "system", "rank"]].values.tolist() == [["N44.8", "ICD10CM", 2], ["E11.22", "ICD10CM", 1]]


@pytest.mark.parametrize(
    "content, message",
    [
        ("n1\tI10\tICD10CM\n", r"bad\.tsv:1: expected note_id<TAB>code<TAB>system<TAB>score, got 3"),
        ("n1\tI10\tICD10CM\t0.5\nn1\tI10\tICD10CM\thigh\n", r"bad\.tsv:2: score 'high' is not a number"),
        ("n1\tI10\tICD10CM\t0.5\n\nn1\tQQ\tICD10CM\t0.5\n", r"bad\.tsv:3: 'QQ' is not an ICD-10-CM code"),
        ("n1\tI10\tICD9\t0.5\n", r"bad\.tsv:1: unknown code system 'ICD9'"),
    ],
)
def test_read_predictions_errors(tmp_path, content, message):
    path = tmp_path / "bad.tsv"
    path.write_text(content)
    with pytest.raises(DatasetError, match=message):
        read_predictions(path)


def test_read_gold_codiesp_and_three_columns(tmp_path):
    gold = read_gold([DATA / "eval" / "goldD.tsv", DATA / "eval" / "goldP.tsv"])
    assert gold.values.tolist() == [
        ["gold_1", "R60.9", "ICD10CM"], ["gold_1", "N44.8", "ICD10CM"], ["gold_2", "I10", "ICD10CM"], ["gold_1", "BW03", "ICD10PCS"]]
    three = tmp_path / "gold.tsv"
    three.write_text("note_id\tcode\tsystem\nx\tbw03zzz\tpcs\nx\tBW03ZZZ\tICD10PCS\nx\t99213\tCPT\n")
    assert read_gold(three).values.tolist() == [["x", "BW03ZZZ", "ICD10PCS"], ["x", "99213", "CPT"]]  # repeat kept once
    unnamed = tmp_path / "gold.tsv"
    unnamed.write_text("x\ti10\n")
    with pytest.raises(DatasetError, match=r"gold\.tsv:1: a 2-column gold file needs a name ending in an upper-case D or P"):
        read_gold(unnamed)
    with pytest.raises(DatasetError, match="no such file"):
        read_gold(tmp_path / "missing.tsv")


def test_read_notes_reads_a_text_folder_and_every_notes_file_format(tmp_path):
    from codesuggest.training.datasets import DatasetError, read_notes

    folder = tmp_path / "notes"
    folder.mkdir()
    (folder / "b.txt").write_text("Pneumonia.", encoding="utf-8")
    (folder / "a.txt").write_text("Hypertension.", encoding="utf-8")
    assert read_notes(folder) == [("a", "Hypertension."), ("b", "Pneumonia.")]
    records = [{"note_id": "a", "text": "Hypertension.", "codes": [{"system": "ICD10CM", "code": "I10"}]}]
    for name in ("n.jsonl", "n.ndjson", "n.json"):
        (tmp_path / name).write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
        assert read_notes(tmp_path / name) == [("a", "Hypertension.")]
    pd.DataFrame([("a", "Hypertension.")], columns=["note_id", "text"]).to_parquet(tmp_path / "n.pq")
    assert read_notes(tmp_path / "n.pq") == [("a", "Hypertension.")]
    (folder / "c.txt").write_bytes(b"caf\xe9")
    with pytest.raises(DatasetError, match="not UTF-8"):
        read_notes(folder)
    (tmp_path / "empty").mkdir()
    with pytest.raises(DatasetError, match="no .txt notes"):
        read_notes(tmp_path / "empty")
    with pytest.raises(DatasetError, match="unknown notes format"):
        read_notes(tmp_path / "notes.txt")


def test_datasets_and_notes_share_one_suffix_map(tmp_path):
    from codesuggest.training.datasets import load_dataset

    path = tmp_path / "train.json"
    path.write_text(json.dumps({"note_id": "a", "text": "Hypertension.", "codes": []}) + "\n", encoding="utf-8")
    assert [note.note_id for note in load_dataset(str(path))] == ["a"]
