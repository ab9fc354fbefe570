"""The code systems: one declared entry each, read by every module that treats systems apart.

A :class:`SystemSpec` says all the rest of the package needs to know about a system: its name
and the other spellings users and datasets give it, the form of its codes, how its codes file
is read and which setting names that file, the care settings coded in it, the kind of mention
whose candidates it leads, whether a trained ranker calibrates it, and the default model's
review threshold. :data:`BUILT_IN` declares ICD-10-CM, ICD-10-PCS and CPT, in that order (the
order of :func:`system_specs`, of iterating :class:`CodeSystem`, and of the settings' files).

Adding a system is :func:`register` (or :func:`registered`, which unregisters on exit) with one
entry::

    toy = SystemSpec(name="TOY", title="Toy", aliases=("T",), pattern=re.compile(r"^T[0-9]{2}$"),
                     pattern_label="a toy code (T and two digits)", reader=read_codes_file,
                     setting="toy_file", care_settings=frozenset({"inpatient"}), mention_kind="procedure")
    with registered(toy):
        catalog = CodeCatalog.load(CodeSetSources({"TOY": path}))   # or CODESUGGEST_TOY_FILE, --codes-file TOY=PATH
        ...

A registration holds in its process and in the processes forked from it (the service's and
``batch``'s model workers); a Spark executor knows only the systems registered when it imports
the module that registers them.

What stays specific to one system is the coding knowledge that is not a table entry: the
ICD-10-CM hierarchy, inclusion terms and Official Guidelines, the ICD-10-PCS table prefixes
CodiEsp labels with (features, expansions, metrics), release comparison (CM and PCS only).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .files import LoadReport
    from .icd10cm import BlockNotes
    from .records import Code

CARE_SETTINGS = ("outpatient", "emergency", "inpatient")
MENTION_KINDS = ("diagnosis", "procedure")


class _Registered(type):
    """Iterating :class:`CodeSystem` gives the registered systems, in registration order (as an Enum did)."""

    def __iter__(cls) -> Iterator["CodeSystem"]:
        return iter(tuple(_SYSTEMS.values()))

    def __len__(cls) -> int:
        return len(_SYSTEMS)


class CodeSystem(str, metaclass=_Registered):
    """A registered code system, as its name: it compares and hashes as the string (``"ICD10CM"``),
    and there is one object per system, so ``code.system is CodeSystem.ICD10PCS`` holds.

    ``CodeSystem("ICD10PCS")`` is the registered system of that exact name (``ValueError``
    otherwise); :meth:`parse` also takes the aliases. The built-in systems are class attributes.
    """

    __slots__ = ()
    ICD10CM: "CodeSystem"
    ICD10PCS: "CodeSystem"
    CPT: "CodeSystem"

    def __new__(cls, value: object) -> "CodeSystem":
        found = _SYSTEMS.get(str(value))
        if found is None:
            raise ValueError(f"{value!r} is not a registered code system ({system_names()})")
        return found

    @classmethod
    def parse(cls, value: str) -> "CodeSystem":
        """Accept the usual spellings: ``icd10cm``, ``ICD-10-CM``, ``pcs``, ``D``/``P`` (CodiEsp)."""
        system = system_named(str(value))
        if system is None:
            raise ValueError(f"unknown code system {value!r} (expected {system_names()})")
        return system

    @property
    def value(self) -> str:
        return str.__str__(self)

    @property
    def name(self) -> str:
        return str.__str__(self)

    @property
    def spec(self) -> "SystemSpec":
        return _SPECS[self]

    def __repr__(self) -> str:
        return f"CodeSystem({str.__str__(self)!r})"

    def __reduce__(self) -> tuple[Any, tuple[str]]:
        return (CodeSystem, (str.__str__(self),))  # unpickled as the registered system of that name

    def __copy__(self) -> "CodeSystem":
        return self

    def __deepcopy__(self, memo: dict) -> "CodeSystem":
        return self


Reader = Callable[[Path, CodeSystem], "tuple[list[Code], LoadReport]"]


@dataclass(frozen=True)
class SystemSpec:
    """One code system, declared once.

    name           : canonical name, the ``system`` of its codes everywhere (``"ICD10PCS"``)
    title          : how people write it (``"ICD-10-PCS"``), for messages
    aliases        : other spellings :meth:`CodeSystem.parse` accepts (compared upper-case, without
                     punctuation: ``"PCS"`` also matches ``pcs``)
    pattern        : a code in compact form (upper-case, no dots, spaces or hyphens) fully matches it
    pattern_label  : what a code of the system is, for :class:`~.records.InvalidCode` messages
    reader         : reads its codes file: ``reader(path, system) -> (codes, LoadReport)``
    setting        : the setting naming its codes file: ``Settings.<setting>`` where declared, the
                     environment variable ``CODESUGGEST_<SETTING>``, the CLI's ``--codes-file NAME=PATH``
    care_settings  : the care settings coded in it (of :data:`CARE_SETTINGS`)
    mention_kind   : the kind (:data:`MENTION_KINDS`) of a mention whose best candidate is of this system
    calibrated     : a trained ranker fits a calibrator, a threshold and classifier column ranks for it
    review_threshold : the default (untrained) model's review threshold for its codes
    dot_after      : display form: a dot after this many characters of a longer code (ICD-10-CM: 3)
    packaged       : codes to load when no file is given (ICD-10-CM: the installed package's release);
                     ``packaged(cache_dir) -> (codes, version label, ICD-10-CM block notes or None)``;
                     ``None``: not loaded without a file
    missing_note   : logged as a warning when the system is loaded neither from a file nor a package
    """

    name: str
    title: str
    aliases: tuple[str, ...]
    pattern: re.Pattern[str]
    pattern_label: str
    reader: Reader
    setting: str
    care_settings: frozenset[str]
    mention_kind: str
    calibrated: bool = True
    review_threshold: float = 0.6
    dot_after: int | None = None
    packaged: Callable[[Path | None], "tuple[list[Code], str, BlockNotes | None]"] | None = None
    missing_note: str | None = None

    def __post_init__(self) -> None:
        if not re.fullmatch(r"[A-Z][A-Z0-9]*", self.name):
            raise ValueError(f"a code system's name is upper-case letters and digits, got {self.name!r}")
        unknown = set(self.care_settings) - set(CARE_SETTINGS)
        if unknown:
            raise ValueError(f"{self.name}: unknown care setting(s) {sorted(unknown)} (known: {', '.join(CARE_SETTINGS)})")
        if self.mention_kind not in MENTION_KINDS:
            raise ValueError(f"{self.name}: mention_kind must be one of {MENTION_KINDS}, got {self.mention_kind!r}")
        if not re.fullmatch(r"[a-z][a-z0-9_]*", self.setting):
            raise ValueError(f"{self.name}: setting must be a lower-case identifier, got {self.setting!r}")

    @property
    def system(self) -> CodeSystem:
        return CodeSystem(self.name)

    @property
    def env_var(self) -> str:
        return f"CODESUGGEST_{self.setting.upper()}"

    @property
    def option(self) -> str:
        """The command-line flag the CLI has for it (``--pcs-file``); any system also takes ``--codes-file NAME=PATH``."""
        return "--" + self.setting.replace("_", "-")


# -- the registry ----------------------------------------------------------------------------------

_SYSTEMS: dict[str, CodeSystem] = {}  # name -> the system object, in registration order
_SPECS: dict[str, SystemSpec] = {}
_ALIASES: dict[str, str] = {}  # compact spelling -> name


def _compact(name: str) -> str:
    return re.sub(r"[^A-Z0-9]", "", name.upper())


def system_names() -> str:
    """The registered systems' names for a message: ``ICD10CM, ICD10PCS or CPT``."""
    names = list(_SYSTEMS)
    return names[0] if len(names) == 1 else f"{', '.join(names[:-1])} or {names[-1]}"


def register(spec: SystemSpec) -> CodeSystem:
    """Add ``spec``; its name, aliases and setting must not be another system's."""
    spellings = {_compact(s) for s in (spec.name, *spec.aliases)}
    taken = sorted(s for s in spellings if s in _ALIASES)
    if spec.name in _SYSTEMS or taken:
        raise ValueError(f"code system {spec.name}: name or alias already registered ({', '.join(taken) or spec.name})")
    if any(other.setting == spec.setting for other in _SPECS.values()):
        raise ValueError(f"code system {spec.name}: setting {spec.setting!r} is another system's")
    system = str.__new__(CodeSystem, spec.name)
    _SYSTEMS[spec.name] = system
    _SPECS[spec.name] = spec
    _ALIASES.update(dict.fromkeys(spellings, spec.name))
    _forget()
    return system


def unregister(name: str) -> None:
    """Remove a system :func:`register` added (codes of it already loaded keep their name)."""
    spec = _SPECS.pop(str(name))
    del _SYSTEMS[spec.name]
    for alias in [a for a, n in _ALIASES.items() if n == spec.name]:
        del _ALIASES[alias]
    _forget()


@contextmanager
def registered(spec: SystemSpec) -> Iterator[CodeSystem]:
    """``spec`` registered for the ``with`` block (tests, a one-off script)."""
    system = register(spec)
    try:
        yield system
    finally:
        unregister(spec.name)


_ON_CHANGE: list[Callable[[], None]] = []  # caches of what the registry said (records: canonical codes)


def on_change(clear: Callable[[], None]) -> None:
    """Call ``clear`` whenever a system is registered or unregistered."""
    _ON_CHANGE.append(clear)


def _forget() -> None:
    system_named.cache_clear()
    for clear in _ON_CHANGE:
        clear()


@lru_cache(maxsize=256)
def system_named(name: str) -> CodeSystem | None:
    """The system ``name`` spells (its name or an alias), or ``None``. Cached: every code look-up
    by a system's name (``catalog.get("ICD10CM", ...)``) parses the name."""
    found = _ALIASES.get(_compact(name))
    return _SYSTEMS[found] if found is not None else None


def system_specs() -> tuple[SystemSpec, ...]:
    """Every registered system's entry, in registration order."""
    return tuple(_SPECS.values())


def spec_of(system: CodeSystem | str) -> SystemSpec:
    """The entry of a system given by name or alias (``ValueError`` when unknown)."""
    return _SPECS[CodeSystem.parse(system) if str(system) not in _SPECS else str(system)]


def all_systems() -> frozenset[str]:
    """The names of every registered system."""
    return frozenset(_SPECS)


def systems_in(care_setting: str | None) -> frozenset[str]:
    """The systems a care setting is coded in (``None``: all); ``ValueError`` for an unknown setting."""
    key = care_setting.strip().lower() if isinstance(care_setting, str) else care_setting
    if key is None:
        return all_systems()
    if key not in CARE_SETTINGS:
        raise ValueError(f"unknown setting {care_setting!r} (expected one of {', '.join(CARE_SETTINGS)}, or none)")
    return frozenset(name for name, spec in _SPECS.items() if key in spec.care_settings)


def mention_kind(system: str) -> str:
    """The kind of a mention whose best candidate is of ``system`` (unknown systems: ``procedure``)."""
    spec = _SPECS.get(system)
    return spec.mention_kind if spec is not None else "procedure"


def calibrated_systems() -> tuple[str, ...]:
    """The systems a trained ranker calibrates, in registration order."""
    return tuple(name for name, spec in _SPECS.items() if spec.calibrated)


def review_thresholds() -> dict[str, float]:
    """The default model's review threshold by system."""
    return {name: spec.review_threshold for name, spec in _SPECS.items()}


def spec_for_setting(setting: str) -> SystemSpec | None:
    """The system whose codes file the setting ``setting`` (``"pcs_file"``) names."""
    return next((spec for spec in _SPECS.values() if spec.setting == setting), None)


# -- the built-in systems --------------------------------------------------------------------------


def _codes_file(path: Path, system: CodeSystem) -> "tuple[list[Code], LoadReport]":
    from .files import read_codes_file  # files imports this module (CodeSystem): imported when called

    return read_codes_file(path, system)


def _cpt_csv(path: Path, system: CodeSystem) -> "tuple[list[Code], LoadReport]":
    from .files import read_cpt_csv

    return read_cpt_csv(path)


def _packaged_icd10cm(cache_dir: Path | None) -> "tuple[list[Code], str, BlockNotes]":
    from .icd10cm import load_icd10cm, package_version_label

    codes, block_notes = load_icd10cm(cache_dir)
    return codes, package_version_label(), block_notes


BUILT_IN = (
    SystemSpec(
        name="ICD10CM",
        title="ICD-10-CM",
        aliases=("CM", "D", "DIAGNOSIS"),
        pattern=re.compile(r"^[A-Z][0-9A-Z][0-9A-Z]{1,5}$"),  # FY2026 has letters second too (QA0)
        pattern_label="an ICD-10-CM code",
        reader=_codes_file,
        setting="cm_file",
        care_settings=frozenset(CARE_SETTINGS),
        mention_kind="diagnosis",
        dot_after=3,
        packaged=_packaged_icd10cm,
    ),
    SystemSpec(
        name="ICD10PCS",
        title="ICD-10-PCS",
        aliases=("PCS", "P", "PROCEDURE"),
        pattern=re.compile(r"^[0-9A-HJ-NP-Z]{1,7}$"),  # PCS never uses the letters I and O
        pattern_label="an ICD-10-PCS code (up to 7 characters, no I or O)",
        reader=_codes_file,
        setting="pcs_file",
        care_settings=frozenset({"inpatient"}),
        mention_kind="procedure",
        review_threshold=0.7,  # procedure wording matches PCS descriptions less precisely
        missing_note="procedures will not be coded in ICD-10-PCS. Download the CMS codes file to enable them.",
    ),
    SystemSpec(
        name="CPT",
        title="CPT",
        aliases=("CPT4",),
        pattern=re.compile(r"^[0-9]{4}[0-9FTMU]$"),
        pattern_label="a CPT code (five characters)",
        reader=_cpt_csv,
        setting="cpt_file",
        care_settings=frozenset({"outpatient", "emergency"}),  # emergency is an outpatient setting (Section IV)
        mention_kind="procedure",
    ),
)

for _spec in BUILT_IN:
    setattr(CodeSystem, _spec.name, register(_spec))
