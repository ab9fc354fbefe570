"""Code sets: ICD-10-CM (package or CDC file), ICD-10-PCS (CMS file), CPT (a user's licensed CSV),
and any system registered with one entry in :mod:`.systems`."""

from .catalog import CodeCatalog, CodeSetSources
from .files import CodeFileError, LoadReport, read_codes_file, read_cpt_csv
from .records import Code, CodeSystem, InvalidCode, normalize_code
from .systems import SystemSpec, register, registered, spec_of, system_specs, unregister

__all__ = [
    "Code", "CodeCatalog", "CodeFileError", "CodeSetSources", "CodeSystem", "InvalidCode",
    "LoadReport", "SystemSpec", "normalize_code", "read_codes_file", "read_cpt_csv", "register",
    "registered", "spec_of", "system_specs", "unregister",
]
