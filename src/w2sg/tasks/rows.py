"""Row plumbing shared by task loaders: errors, line-numbered readers, labels, dedup, fingerprint."""

from __future__ import annotations

import csv
import gzip
import hashlib
import io
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any, TextIO

from w2sg.items import Comparison
from w2sg.tasks.checks import describe, float_label_hint
from w2sg.tasks.schema import Example, TaskData

# Long Reddit posts (ETHICS commonsense) can exceed csv's default 128 KiB field limit.
csv.field_size_limit(max(csv.field_size_limit(), 1 << 26))


class DataNotFoundError(FileNotFoundError):
    """A task's data is neither in the data directory nor reachable on the Hugging Face Hub."""


class MalformedRowError(ValueError):
    """A row of a data file cannot be turned into an Example; the message names the file and the line."""

    def __init__(self, path: str | Path, line: int | None, reason: str):
        self.path, self.line, self.reason = str(path), line, reason
        where = f"{path}, line {line}" if line is not None else f"{path}"
        super().__init__(f"malformed row in {where}: {reason}")


class NotUtf8Error(MalformedRowError):
    """A data file is not UTF-8 text; the message names the file, the line and the first bad byte's offset."""

    def __init__(self, path: str | Path, line: int | None, offset: int | None, byte: int | None):
        where = f"byte 0x{byte:02x} at byte offset {offset}" if offset is not None and byte is not None else "a byte"
        if offset is not None and str(path).endswith(".gz"):
            where += " of the decompressed data"
        reason = (f"not UTF-8 text: {where}{f' (line {line})' if line is not None else ''} cannot be decoded. "
                  "Data files must be UTF-8: convert the file, e.g. `iconv -f latin1 -t utf-8 FILE > NEW`, or "
                  "re-save it as UTF-8")
        super().__init__(path, line, reason)
        self.offset, self.byte = offset, byte
        self.args = (f"{path} is {reason}",)


def _first_bad_utf8(path: Path) -> tuple[int, int, int] | None:
    """(byte offset, line, byte) of the first byte of `path` (decompressed if .gz) that is not UTF-8, or None."""
    opener = gzip.open if path.suffix == ".gz" else open
    offset, line, pending = 0, 1, b""
    with opener(path, "rb") as f:
        while True:
            chunk = f.read(1 << 20)
            data = pending + chunk
            if not data:
                return None
            try:
                data.decode("utf-8")
                good = len(data)
            except UnicodeDecodeError as e:
                if chunk and e.end == len(data) and "end of data" in e.reason:  # a character cut by the chunk
                    good = e.start
                else:
                    return offset + e.start, line + data.count(b"\n", 0, e.start), data[e.start]
            line += data.count(b"\n", 0, good)
            offset += good
            pending = data[good:]


class _Utf8Text(io.TextIOWrapper):
    """UTF-8 text (a leading byte-order mark dropped) whose decoding errors name the file, line and byte offset."""

    def __init__(self, binary, path: Path):
        super().__init__(binary, encoding="utf-8-sig", newline="")
        self._path = path

    def _not_utf8(self) -> NotUtf8Error:
        try:
            found = _first_bad_utf8(self._path)
        except OSError:
            found = None
        offset, line, byte = found if found else (None, None, None)
        return NotUtf8Error(self._path, line, offset, byte)

    def read(self, size: int | None = -1) -> str:
        try:
            return super().read(size)
        except UnicodeDecodeError:
            raise self._not_utf8() from None

    def readline(self, size: int = -1) -> str:
        try:
            return super().readline(size)
        except UnicodeDecodeError:
            raise self._not_utf8() from None

    def __iter__(self):
        return self

    def __next__(self) -> str:
        try:
            return super().__next__()
        except UnicodeDecodeError:
            raise self._not_utf8() from None


def open_text(path: Path) -> TextIO:
    """Open a (possibly gzipped) UTF-8 text file with universal newlines off, as csv wants. A UTF-8 byte-order
    mark (as Excel writes) is dropped; bytes that are not UTF-8 raise NotUtf8Error naming the file and offset."""
    path = Path(path)
    return _Utf8Text(gzip.open(path, "rb") if path.suffix == ".gz" else open(path, "rb"), path)


def iter_csv(
    path: Path, delimiter: str = ",", header: bool = True, quoting: int = csv.QUOTE_MINIMAL,
    ncols: int | None = None,
) -> Iterator[tuple[int, Any]]:
    """Yield (1-based start line, row); a dict keyed by the header when `header`, else a list of `ncols`."""
    with open_text(path) as f:
        reader = csv.reader(f, delimiter=delimiter, quoting=quoting)
        names: list[str] | None = None
        start = 1
        try:
            for row in reader:
                line, start = start, reader.line_num + 1
                if not row:
                    continue
                if header and names is None:
                    names = row
                    continue
                want = len(names) if names is not None else ncols
                if want is not None and len(row) != want:
                    raise MalformedRowError(path, line, f"expected {want} columns, got {len(row)}")
                yield line, (dict(zip(names, row, strict=True)) if names is not None else row)
        except csv.Error as e:
            raise MalformedRowError(path, start, f"CSV error: {e}") from e


def iter_jsonl(path: Path) -> Iterator[tuple[int, dict]]:
    """Yield (1-based line, object) for each non-blank line of a JSON-lines file."""
    with open_text(path) as f:
        for i, raw in enumerate(f, start=1):
            if not raw.strip():
                continue
            try:
                obj = json.loads(raw)
            except json.JSONDecodeError as e:
                raise MalformedRowError(path, i, f"bad JSON: {e.msg}") from e
            if not isinstance(obj, dict):
                raise MalformedRowError(path, i, f"expected a JSON object, got {type(obj).__name__}")
            yield i, obj


def iter_json_array(path: Path) -> Iterator[tuple[int, dict]]:
    """Yield (1-based line where the element starts, object) for each element of a top-level JSON list."""
    with open_text(path) as f:
        s = f.read()
    dec = json.JSONDecoder()
    mark = [0, 1]  # (position, line at that position): count newlines incrementally, not from 0 each time

    def line_of(pos: int) -> int:
        if pos < mark[0]:
            return s.count("\n", 0, pos) + 1
        mark[1] += s.count("\n", mark[0], pos)
        mark[0] = pos
        return mark[1]

    def skip_ws(pos: int) -> int:
        while pos < len(s) and s[pos] in " \t\r\n":
            pos += 1
        return pos

    pos = skip_ws(0)
    if pos >= len(s) or s[pos] != "[":
        raise MalformedRowError(path, line_of(pos), "expected a JSON list of objects")
    pos = skip_ws(pos + 1)
    while pos < len(s) and s[pos] != "]":
        line = line_of(pos)
        try:
            obj, pos = dec.raw_decode(s, pos)
        except json.JSONDecodeError as e:
            raise MalformedRowError(path, e.lineno, f"bad JSON: {e.msg}") from e
        if not isinstance(obj, dict):
            raise MalformedRowError(path, line, f"expected a JSON object, got {type(obj).__name__}")
        yield line, obj
        pos = skip_ws(pos)
        if pos < len(s) and s[pos] == ",":
            pos = skip_ws(pos + 1)
        elif pos < len(s) and s[pos] != "]":
            raise MalformedRowError(path, line_of(pos), "bad JSON: expected ',' or ']' between elements")
    if pos >= len(s):
        raise MalformedRowError(path, line_of(pos), "bad JSON: unterminated list")


def iter_records(
    path: Path, *, header: bool = True, columns: list[str] | None = None, quoting: int = csv.QUOTE_MINIMAL,
    delimiter: str | None = None,
) -> Iterator[tuple[int, dict]]:
    """Dispatch on the extension (.json, .jsonl, .csv, .tsv, optionally .gz) and yield (line, dict).

    CSV/TSV only: `header=False` reads headerless rows named by `columns`; `quoting`, `delimiter` as in csv.
    """
    suffixes = [s.lower() for s in path.suffixes if s.lower() != ".gz"]
    ext = suffixes[-1] if suffixes else ""
    if ext == ".jsonl":
        return iter_jsonl(path)
    if ext == ".json":
        return iter_json_array(path)
    if ext in (".csv", ".tsv"):
        delim = delimiter if delimiter is not None else ("\t" if ext == ".tsv" else ",")
        if header:
            return iter_csv(path, delimiter=delim, quoting=quoting)
        if not columns:
            raise ValueError(f"{path}: a headerless file needs its column names")
        return ((line, dict(zip(columns, row, strict=True)))
                for line, row in iter_csv(path, delimiter=delim, header=False, quoting=quoting, ncols=len(columns)))
    raise ValueError(f"{path}: unsupported file type '{ext}' (use .json, .jsonl, .csv or .tsv)")


def field(row: dict, key: str, path: Path | str, line: int | None) -> Any:
    """row[key], or a MalformedRowError naming the file, line and missing field (never the row's own keys: a
    header row is data)."""
    try:
        value = row[key]
    except KeyError:
        raise MalformedRowError(path, line, f"missing field '{key}' (the row has {len(row)} fields; check "
                                            "the spec's field names against the file's header or keys)") from None
    if value is None:
        raise MalformedRowError(path, line, f"field '{key}' is empty (null)")
    return value


_TRUE = {"1", "true", "yes", "y", "on"}
_FALSE = {"0", "false", "no", "n", "off"}


def parse_label(
    value: Any, path: Path | str, line: int | None, label_map: dict[str, int | None] | None = None,
    name: str = "label",
) -> int | None:
    """A 0/1 label from 0/1, true/false (or yes/no), or through `label_map` (keys compared as strings).

    None when `label_map` maps the value to None: the row is to be dropped (e.g. a neutral class). Errors name
    the field (`name`), not the value (a float 0.0/1.0 excepted: the error gives the label_map that reads it).
    """
    if label_map is not None:
        key = str(value).strip().lower()
        if key in label_map:
            return label_map[key]
        hint = float_label_hint(value, name)
        raise MalformedRowError(path, line, hint or f"the value of field '{name}' ({describe(value)}) is not a key "
                                                    f"of label_map {sorted(label_map)}")
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int) and value in (0, 1):
        return value
    if isinstance(value, str):
        v = value.strip().lower()
        if v in _TRUE:
            return 1
        if v in _FALSE:
            return 0
    hint = float_label_hint(value, name)
    raise MalformedRowError(path, line, hint or f"bad label in field '{name}': {describe(value)}, expected 0/1 or "
                                                "true/false (map other values with label_map)")


def parse_index(value: Any, n: int, path: Path | str, line: int | None) -> int:
    """An answer index in [0, n) from an int or a digit string."""
    try:
        if isinstance(value, bool):
            raise ValueError
        idx = int(str(value).strip())
    except ValueError:
        raise MalformedRowError(path, line, f"bad answer index: {describe(value)}, expected 0..{n - 1}") from None
    if not 0 <= idx < n:
        raise MalformedRowError(path, line, f"answer index {idx} out of range 0..{n - 1}")
    return idx


def _norm(text: str) -> str:
    return " ".join(text.split())


def pair_example(id: str, group: str, prompt: str, chosen: str, rejected: str) -> Example:
    """A pairwise row; whether `chosen` is shown as a (label 1) or b (label 0) follows a hash of `id`.

    The order is a pure function of the id, so it is the same on every load and about half the rows have each
    label. `text` renders the comparison ("prompt\n[A] a\n[B] b") for de-duplication and display.
    """
    first = hashlib.sha256(id.encode()).digest()[0] & 1 == 0
    a, b = (chosen, rejected) if first else (rejected, chosen)
    text = (prompt.strip() + "\n" if prompt.strip() else "") + f"[A] {a.strip()}\n[B] {b.strip()}"
    return Example(id=id, group=group, text=text, label=int(first), pair=Comparison(prompt, a, b))


def _key(r: Example) -> tuple[str, str]:
    """(what makes two rows the same item, what the row says about it): the text and the label for text rows;
    for a comparison, its prompt and unordered responses, and which response is preferred (either order)."""
    if r.pair is None:
        return _norm(r.text), str(r.label)
    p = r.pair
    a, b = _norm(p.a), _norm(p.b)
    return "\x1f".join([_norm(p.prompt), *sorted((a, b))]), (a if r.label == 1 else b)


def _dedup(rows: list[Example], what: str, notes: list[str]) -> list[Example]:
    """Keep the first row of each (whitespace-normalised) text; drop all copies that disagree on label.

    Comparisons count as the same whichever response is shown first; they disagree when the preferred
    response differs.
    """
    verdicts: dict[str, set[str]] = {}
    for r in rows:
        key, verdict = _key(r)
        verdicts.setdefault(key, set()).add(verdict)
    seen: set[str] = set()
    out, n_dup, n_conflict = [], 0, 0
    for r in rows:
        key = _key(r)[0]
        if len(verdicts[key]) > 1:
            n_conflict += 1
        elif key in seen:
            n_dup += 1
        else:
            seen.add(key)
            out.append(r)
    if n_dup:
        notes.append(f"{what}: dropped {n_dup} rows repeating an earlier row's text")
    if n_conflict:
        notes.append(f"{what}: dropped {n_conflict} rows whose text occurs with both labels")
    return out


def fingerprint(pool: list[Example], test: list[Example] | None) -> str:
    """sha256 (16 hex chars) over every row's (id, group, text, label) in pool and test.

    A pairwise row also hashes its comparison (prompt, a, b), a row with `meta` its (name, value) pairs and a
    row with a `question` key that key; rows without them hash exactly as they always have. A row's `passage`
    is not hashed: the text already holds what the task shows, so declaring a task's `context:` changes no
    fingerprint and no cached result (a protocol that quotes passages keys them in its own cache key).
    """
    h = hashlib.sha256()
    for part, rows in (("pool", pool), ("test", test or [])):
        h.update(f"\x1e{part}:{len(rows)}".encode())
        for r in rows:
            row = [r.id, r.group, r.text, r.label]
            if r.pair is not None:
                row += [r.pair.prompt, r.pair.a, r.pair.b]
            if r.meta is not None:
                row += [{"meta": [list(kv) for kv in r.meta]}]
            if r.question is not None:
                row += [{"question": r.question}]
            h.update(json.dumps(row, ensure_ascii=False).encode())
            h.update(b"\n")
    return h.hexdigest()[:16]


def finalize(
    name: str, pool: list[Example], test: list[Example] | None, source: str, notes: list[str] | None = None
) -> TaskData:
    """Dedup each pool, remove from the main pool every text (and group) that the test pool holds, hash."""
    notes = list(notes or [])
    pool = _dedup(pool, "pool", notes)
    if test is not None:
        test = _dedup(test, "test", notes)
        test_keys = {_key(r)[0] for r in test}
        test_groups = {r.group for r in test}
        kept = [r for r in pool if _key(r)[0] not in test_keys and r.group not in test_groups]
        if len(kept) < len(pool):
            n = len(pool) - len(kept)
            notes.append(f"pool: dropped {n} rows whose text or group also occurs in test")
        pool = kept
    if not pool:
        raise ValueError(f"task '{name}': no rows left in the pool (source: {source})")
    return TaskData(name=name, pool=pool, test=test, fingerprint=fingerprint(pool, test), source=source,
                    notes=notes)
