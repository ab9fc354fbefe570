"""Code sets: ICD-10-CM (package or CDC file), ICD-10-PCS (CMS file), CPT (a user's licensed CSV)."""

from .catalog import CodeCatalog, CodeSetSources
from .files import CodeFileError, LoadReport, read_codes_file, read_cpt_csv
from .records import Code, CodeSystem, InvalidCode, normalize_code

__all__ = [
    "Code", "CodeCatalog", "CodeFileError", "CodeSetSources", "CodeSystem", "InvalidCode",
    "LoadReport", "normalize_code", "read_codes_file", "read_cpt_csv",
]
