"""Specs as YAML files: read a mapping, load a spec (errors name the file), dump a spec."""

from __future__ import annotations

from pathlib import Path

import yaml
from pydantic import ValidationError

from w2sg.config import Spec


def read_yaml_mapping(path: str | Path) -> dict:
    """A config file's YAML mapping (empty file: {}); errors name the file."""
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"config file '{path}' does not exist")
    try:
        data = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as e:
        raise ValueError(f"config file '{path}' is not valid YAML: {e}") from e
    if not isinstance(data, dict):
        raise ValueError(f"config file '{path}' must hold a mapping of spec fields")
    return data


def load_yaml_spec(path: str | Path, cls: type[Spec]) -> Spec:
    """Read a YAML file into a spec; errors name the file and the offending field."""
    data = read_yaml_mapping(path)
    try:
        return cls.model_validate(data)
    except ValidationError as e:  # one line per bad field, named by the file and its key; no pydantic dump
        lines = [f"{path}: {'.'.join(map(str, err['loc'])) or '(top level)'}: {err['msg']}" for err in e.errors()]
        raise ValueError("\n".join(lines)) from None


def dump_yaml_spec(spec: Spec) -> str:
    return yaml.safe_dump(spec.model_dump(mode="json"), sort_keys=False)
