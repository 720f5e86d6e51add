"""What users name (task paths, descriptions, method and model names) shown as typed: literal text in figures
(no math text, no TeX) and in Markdown (no raw HTML, no math, no links or emphasis made from a name)."""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from typing import TypeVar

F = TypeVar("F", bound=Callable)

# A backslash, a `$` (math on GitHub), a backtick, `*`, a `_` not inside a word, `<` opening a tag or autolink,
# and the `(`/`[` after `]` that would make a link or an image of a name.
_MD_SPECIAL = re.compile(r"[\\$`*]|(?<![A-Za-z0-9])_|_(?![A-Za-z0-9])|<(?=[A-Za-z/!?])|(?<=\])[(\[]")


def md_text(text: object) -> str:
    """`text` as one line of Markdown that renders as itself: `|` and the characters that would make HTML, math,
    code, emphasis or a link are backslash-escaped; newlines become spaces."""
    s = str(text).replace("\r", " ").replace("\n", " ")
    return _MD_SPECIAL.sub(lambda m: "\\" + m.group(0), s).replace("|", "\\|")


def plain_text(draw: F) -> F:
    """Run a drawing function with matplotlib's math text and TeX off, so that a `$...$`, `_`, `^` or `\\` in a
    task path or method name is drawn as typed instead of being parsed (and failing: "Unknown symbol")."""

    @functools.wraps(draw)
    def drawn(*args, **kwargs):
        import matplotlib

        with matplotlib.rc_context({"text.parse_math": False, "text.usetex": False}):
            return draw(*args, **kwargs)

    return drawn  # type: ignore[return-value]
