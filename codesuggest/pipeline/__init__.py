"""Clinical text -> mentions with their section, assertion and candidate codes (spaCy components)."""
