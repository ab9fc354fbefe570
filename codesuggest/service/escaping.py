"""What the service writes about a request's input, escaped and bounded.

- :func:`for_log`: a value going into a log line or an access-log row: control characters (a newline forges a
  log line, a NUL breaks PostgreSQL text), lone surrogates and backslashes escaped, cut to ``limit`` characters.
- :func:`quoted`: a value echoed in an error message: quoted and cut to a few dozen characters, with its length.
"""

from __future__ import annotations

import re

# C0 controls, DEL, C1 controls, line/paragraph separators, lone surrogates, and the backslash itself (so an
# escaped value cannot be told apart from one that was sent escaped)
_UNSAFE = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029\ud800-\udfff\\]")
ECHO_CHARS = 40


def _escape(match: re.Match[str]) -> str:
    char = match.group()
    if char == "\\":
        return "\\\\"
    code = ord(char)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def for_log(value: object, limit: int = 500) -> str:
    """``value`` as one printable line of at most ``limit`` characters (``...`` marks a cut)."""
    text = _UNSAFE.sub(_escape, str(value))
    return text if len(text) <= limit else text[: max(0, limit - 3)] + "..."


def quoted(value: object, limit: int = ECHO_CHARS) -> str:
    """``value`` quoted for an error message, at most ``limit`` characters of it and its length when cut."""
    text = str(value)
    if len(text) <= limit:
        return repr(for_log(text, limit * 4))
    return f"{for_log(text[:limit], limit * 4)!r}... ({len(text):,} characters)"


def has_lone_surrogate(text: str) -> bool:
    """True when ``text`` cannot be encoded as UTF-8 (a JSON ``\\ud800`` escape without its pair)."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False
