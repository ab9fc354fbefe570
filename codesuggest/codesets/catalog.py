"""The loaded code sets: look-up, hierarchy, type-ahead search and versions."""

from __future__ import annotations

import bisect
import logging
import re
from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

from .files import LoadReport, file_fingerprint
from .icd10cm import BlockNotes, load_icd10cm
from .records import Code, CodeSystem, InvalidCode, display_form, normalize_code
from .systems import spec_for_setting, system_specs

log = logging.getLogger(__name__)
_WORD_RE = re.compile(r"[a-z0-9]+")


@dataclass(frozen=True, init=False)
class CodeSetSources:
    """Where each system's codes come from: a codes file by system name; a system without one is
    not loaded, or loaded from its package (ICD-10-CM, :attr:`~.systems.SystemSpec.packaged`).

    ``CodeSetSources({"ICD10PCS": path})`` or, by the systems' settings,
    ``CodeSetSources(pcs_file=path)``; a ``None`` path is no file.
    """

    files: tuple[tuple[str, Path], ...]  # (system name, path), in registration order: hashable

    def __init__(self, files: Mapping[str, Path | str | None] | None = None, **by_setting: Path | str | None):
        named: dict[str, Path] = {}
        for system, path in (files or {}).items():
            if path is not None:
                named[CodeSystem.parse(system).value] = Path(path)
        for setting, path in by_setting.items():
            spec = spec_for_setting(setting)
            if spec is None:
                raise TypeError(f"CodeSetSources: no code system has the setting {setting!r}")
            if path is not None:
                named[spec.name] = Path(path)
        order = [s.name for s in system_specs()]
        object.__setattr__(self, "files", tuple(sorted(named.items(), key=lambda kv: order.index(kv[0]))))

    def file_of(self, system: CodeSystem | str) -> Path | None:
        return dict(self.files).get(str(system))


class CodeCatalog:
    """All codes of the loaded systems, keyed by (system, normalised code)."""

    def __init__(self, codes: Iterable[Code], versions: dict[str, str], block_notes: BlockNotes | None = None):
        self.block_notes = block_notes or BlockNotes()  # ICD-10-CM blocks' and chapters' notes
        self._codes: dict[tuple[str, str], Code] = {}
        for code in codes:
            self._codes[code.key] = code
        self.versions = dict(versions)
        self._sorted_keys: dict[str, list[str]] = defaultdict(list)
        for system, code in sorted(self._codes):
            self._sorted_keys[system].append(code)
        self._systems = tuple(CodeSystem(s) for s in self._sorted_keys)
        self._word_index: dict[str, list[tuple[str, str]]] | None = None
        self._sorted_words: list[str] = []

    # -- loading -----------------------------------------------------------------
    @classmethod
    def load(cls, sources: CodeSetSources = CodeSetSources(), cache_dir: Path | None = None) -> "CodeCatalog":
        """The code sets of ``sources``; with ``cache_dir``, the packaged ICD-10-CM is read from
        (and on first use written to) a cache there instead of being parsed from the package."""
        codes: list[Code] = []
        versions: dict[str, str] = {}
        block_notes: BlockNotes | None = None
        for spec in system_specs():
            system = spec.system
            path = sources.file_of(system)
            if path is not None:
                loaded, report = spec.reader(path, system)
                codes.extend(loaded)
                versions[system.value] = f"{system.value} file {file_fingerprint(path)}"
                _log_report(report)
            elif spec.packaged is not None:
                loaded, versions[system.value], notes = spec.packaged(cache_dir)
                codes.extend(loaded)
                block_notes = block_notes or notes
            elif spec.missing_note:
                log.warning(
                    "No %s codes file given (%s or %s): %s", spec.title, spec.option, spec.env_var, spec.missing_note
                )
        if block_notes is None:  # a CDC file has no block notes: the package's apply
            block_notes = load_icd10cm(cache_dir)[1]
        return cls(codes, versions, block_notes)

    @property
    def release_label(self) -> str:
        """The loaded releases in one line (what stored suggestions and decisions record)."""
        return "; ".join(self.versions[s] for s in sorted(self.versions))

    # -- look-up -----------------------------------------------------------------
    @property
    def systems(self) -> list[CodeSystem]:
        return list(self._systems)

    def __len__(self) -> int:
        return len(self._codes)

    def __iter__(self) -> Iterator[Code]:
        return iter(self._codes.values())

    def codes_of(self, system: CodeSystem) -> Iterator[Code]:
        for code in self._sorted_keys.get(system.value, []):
            yield self._codes[(system.value, code)]

    def get(self, system: CodeSystem | str, code: str) -> Code | None:
        """The code, or ``None`` when it is not in the loaded version (or not a valid code at all)."""
        if isinstance(system, str) and isinstance(code, str):  # a CodeSystem is a str too
            # the usual call names the system and code canonically: the keys are canonical, so a
            # hit is what normalising would find, and a miss is normalised below
            found = self._codes.get((system, code))
            if found is not None:
                return found
        system = CodeSystem.parse(system) if not isinstance(system, CodeSystem) else system
        try:
            return self._codes.get((system.value, normalize_code(system, code)))
        except InvalidCode:
            return None

    def __contains__(self, key: tuple[CodeSystem | str, str]) -> bool:
        return self.get(*key) is not None

    def with_prefix(self, system: CodeSystem, prefix: str) -> list[str]:
        """Codes of ``system`` that start with ``prefix`` (normalised), in code order."""
        keys = self._sorted_keys.get(system.value, [])
        start = bisect.bisect_left(keys, prefix)
        end = bisect.bisect_left(keys, prefix + "\uffff")
        return keys[start:end]

    def ancestors(self, code: Code) -> list[Code]:
        """Parent, grandparent, ... (ICD-10-CM); PCS and CPT codes have none."""
        chain = []
        parent = code.parent
        while parent:
            found = self._codes.get((code.system.value, parent))
            if found is None:
                break
            chain.append(found)
            parent = found.parent
        return chain

    # -- type-ahead ----------------------------------------------------------------
    def search(self, query: str, system: CodeSystem | None = None, limit: int = 20) -> list[Code]:
        """Codes whose code starts with ``query`` or whose description has every query word
        (each word as a prefix, for type-ahead). Billable codes first, then shorter codes."""
        query = query.strip()
        if not query:
            return []
        systems = [system] if system else self.systems
        hits: list[Code] = []
        compact = re.sub(r"[\s.]", "", query).upper()
        if re.fullmatch(r"[A-Z0-9]{1,7}", compact) and any(ch.isdigit() for ch in compact):
            for sys_ in systems:
                display = normalize_display_prefix(sys_, compact)
                hits += [self._codes[(sys_.value, c)] for c in self.with_prefix(sys_, display)[: limit * 5]]
        if len(hits) < limit:
            hits += [c for c in self._word_search(query, systems, limit * 5) if c not in hits]
        hits.sort(key=lambda c: (not c.billable, len(c.code), c.code))
        return hits[:limit]

    def _word_search(self, query: str, systems: list[CodeSystem], cap: int) -> list[Code]:
        words = _WORD_RE.findall(query.lower())
        if not words:
            return []
        index = self._words()
        wanted = {s.value for s in systems}
        result: set[tuple[str, str]] | None = None
        for word in sorted(set(words), key=len, reverse=True):
            keys: set[tuple[str, str]] = set()
            start = bisect.bisect_left(self._sorted_words, word)
            for w in self._sorted_words[start:]:
                if not w.startswith(word):
                    break
                keys.update(index[w])
            result = keys if result is None else result & keys
            if not result:
                return []
        assert result is not None
        return [self._codes[k] for k in sorted(result) if k[0] in wanted][:cap]

    def _words(self) -> dict[str, list[tuple[str, str]]]:
        if self._word_index is None:
            index: dict[str, list[tuple[str, str]]] = defaultdict(list)
            for key, code in self._codes.items():
                for word in set(_WORD_RE.findall(code.description.lower())):
                    index[word].append(key)
            self._word_index = dict(index)
            self._sorted_words = sorted(index)
        return self._word_index


def normalize_display_prefix(system: CodeSystem, compact: str) -> str:
    """A typed code prefix in the catalogue's display form (``E112`` -> ``E11.2``)."""
    return display_form(system.spec, compact)


def _log_report(report: LoadReport) -> None:
    log.info("%s: %d codes loaded, %d lines skipped", report.path, report.loaded, len(report.skipped))
