"""codesuggest: NLP-assisted medical coding suggestions."""
__version__ = "0.1.0"
