"""The placeholders a YAML task's templates may hold (tasks/spec.py): plain field names, nothing else."""

from __future__ import annotations

import string

__all__ = ["check_template", "template_fields"]


def check_template(template: str) -> None:
    """ValueError unless every placeholder of `template` is a plain field name: `{body}`, not `{0}`, `{}`,
    `{body.attr}`, `{body[0]}`, `{body:>9}` or `{body!r}` (lookups, widths and conversions read or write more
    than a field's text)."""
    try:
        parts = list(string.Formatter().parse(template))
    except ValueError as e:
        raise ValueError(f"bad template {template!r}: {e}") from e
    for _, name, spec, conversion in parts:
        if name is None:
            continue
        bad = ("a positional placeholder" if not name.strip() or name.strip().isdigit()
               else "an attribute or index lookup" if any(c in name for c in ".[]")
               else "a format spec" if spec else "a conversion" if conversion else None)
        if bad is not None:
            shown = "{" + name + (f"!{conversion}" if conversion else "") + (f":{spec}" if spec else "") + "}"
            raise ValueError(f"bad template {template!r}: {shown} is {bad}; a placeholder is a plain field name "
                             "such as {body}")


def template_fields(template: str) -> list[str]:
    return [f.split(".")[0].split("[")[0] for _, f, _, _ in string.Formatter().parse(template) if f]
