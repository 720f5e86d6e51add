"""The variant of an experiment (the split and training settings that differ from the defaults, e.g.
'splits.n_test=100,splits.n_val=50': `store.variant`) as tables and figures show it: once, in a caption or a
column of its own, never glued to the method name.

When every experiment shares one variant it is said once in a sentence (`Variants.note`) and nothing else
changes; when they have several, each gets a short tag (`default`, `v1`, `v2`, ...) that tables print in a
`variant` column and figures append to the method in their legends (`naive [v1]`), so that two variants are
never pooled as seeds; the note says what each tag means. Pure: no matplotlib.
"""

from __future__ import annotations

import dataclasses
from typing import NamedTuple

from w2sg.result import ExperimentResult

DEFAULT_TAG = "default"


class Variants(NamedTuple):
    """variant text ('' for the default settings) -> its tag ('' when there is only one variant)."""

    tags: dict[str, str]

    @property
    def several(self) -> bool:
        """More than one variant: tables need a variant column and figures a tag beside the method."""
        return len(self.tags) > 1

    def tag(self, variant: str | None) -> str:
        return self.tags.get(variant or "", "")

    @property
    def note(self) -> str:
        """One sentence saying the variant(s) once ('' when every experiment ran with the default settings)."""
        texts = [t for t in self.tags if t]
        if not texts:
            return ""
        if not self.several:
            return f"Every experiment ran with these settings changed from the defaults (its variant): {texts[0]}."
        named = "; ".join(f"{self.tags[t]} = {t}" for t in texts)
        return (f"variant: the settings changed from the defaults: {named}"
                + (f"; {DEFAULT_TAG} = the default settings." if "" in self.tags else "."))


def variants_of(results: list[ExperimentResult]) -> Variants:
    """The variants of `results` with their tags (`v1`, `v2`, ... in sorted order; `default` for none)."""
    texts = sorted({r.variant or "" for r in results})
    if len(texts) <= 1:
        return Variants({t: "" for t in texts} or {"": ""})
    named = [t for t in texts if t]
    return Variants(({"": DEFAULT_TAG} if "" in texts else {}) | {t: f"v{i + 1}" for i, t in enumerate(named)})


def with_variant_tags(results: list[ExperimentResult]) -> list[ExperimentResult]:
    """Copies whose method carries the variant's tag (`naive [v1]`) when the results have several variants (for
    figures, which group by method); unchanged when they have one. Idempotent: a method that carries its tag
    already keeps it once."""
    v = variants_of(results)
    if not v.several:
        return list(results)
    return [r if str(r.method).endswith(f" [{v.tag(r.variant)}]")
            else dataclasses.replace(r, method=f"{r.method} [{v.tag(r.variant)}]") for r in results]
