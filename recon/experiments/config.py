"""Experiment configs: find them, read the YAML, apply ``--set`` overrides, validate, write back.

An experiment is one YAML file checked against
:data:`recon.experiments.experiment_schema.EXPERIMENT_SCHEMA`. The shipped ones
live in ``recon/configs`` and are found by name (``ct-tv``); any other file by
its path. Overrides are dotted ``KEY=VALUE`` strings whose value is read as
YAML, so ``solver.max_iter=300`` is a number and ``input.angles_deg=[0,360]`` a
list. The resolved config (every key, defaults filled in) is what a result file
stores; :func:`load_experiment_text` reads it back, so a result can be rerun.

Every problem is a one-line :class:`~recon.experiments.schema.ConfigError`
naming the file (or the override) and the key.

>>> config = load_experiment("ct-tv", ["solver.max_iter=300"])
>>> config["prior"]["kind"], config["solver"]["max_iter"]
('tv', 300)
>>> load_experiment_text(config_to_yaml(config), "result.h5") == config
True
"""

from __future__ import annotations

import copy
import re
from pathlib import Path
from typing import Any, Iterable

import yaml

from recon.experiments.experiment_schema import EXPERIMENT_SCHEMA
from recon.experiments.schema import ConfigError, Field, Section, validate

CONFIG_DIR = Path(__file__).resolve().parent.parent / "configs"

# YAML 1.1 (PyYAML) reads 1e-5 as a string, which would make `tol: 1e-5` a type error;
# YAML 1.2 and every user read it as a number. Loader and dumper share the rule so a
# string that looks like a number is quoted when written and read back as a string.
_EXPONENT_FLOAT = re.compile(r"^[-+]?(?:[0-9][0-9_]*(?:\.[0-9_]*)?|\.[0-9_]+)[eE][-+]?[0-9]+$")


class _Loader(yaml.SafeLoader):
    """``yaml.SafeLoader`` that reads ``1e-5`` as a float and rejects a key given twice."""

    def construct_mapping(self, node, deep=False):
        seen = set()
        for key_node, _ in node.value:
            # A repeated key silently keeps the last value in PyYAML; in a config it is always a mistake.
            if isinstance(key_node, yaml.ScalarNode) and key_node.tag != "tag:yaml.org,2002:merge":
                if key_node.value in seen:
                    raise yaml.constructor.ConstructorError(
                        None, None, f"duplicate key {key_node.value!r}", key_node.start_mark)
                seen.add(key_node.value)
        return super().construct_mapping(node, deep=deep)


class _Dumper(yaml.SafeDumper):
    """``yaml.SafeDumper`` writing pairs as ``[a, b]`` and quoting strings the loader would read as floats."""


for _cls in (_Loader, _Dumper):
    _cls.add_implicit_resolver("tag:yaml.org,2002:float", _EXPONENT_FLOAT, list("-+0123456789."))
_Dumper.add_representer(
    list, lambda dumper, value: dumper.represent_sequence("tag:yaml.org,2002:seq", value, flow_style=True))


def shipped_configs(config_dir: Path | None = None) -> dict[str, Path]:
    """Every shipped config, ``{name: path}`` sorted by name; the name is the file stem.

    >>> sorted(shipped_configs())[:2]
    ['ct-fbp', 'ct-sirt']
    """
    return {path.stem: path for path in sorted(Path(config_dir or CONFIG_DIR).glob("*.yaml"))}


def describe_configs() -> list[tuple[str, str]]:
    """``(name, description)`` of every shipped config, for ``recon run --list`` and the docs.

    >>> dict(describe_configs())["ct-fbp"].startswith("Filtered back-projection")
    True
    """
    return [(name, load_experiment(name)["description"]) for name in shipped_configs()]


def load_experiment(name_or_path: str, overrides: Iterable[str] = (), *, schema: Section = EXPERIMENT_SCHEMA,
                    config_dir: Path | None = None) -> dict:
    """The resolved config of a shipped config name or a YAML file, with ``overrides`` applied.

    A file at ``name_or_path`` wins over a shipped config of that name; a
    shipped name may be written with or without ``.yaml``. ``schema`` and ``config_dir``
    serve other kinds of config (training configs live in ``configs/train``).

    >>> load_experiment("ct-fbp", ["solver.filter=hann"])["solver"]["filter"]
    'hann'
    >>> load_experiment("no-such-config")
    Traceback (most recent call last):
        ...
    recon.experiments.schema.ConfigError: no-such-config: no such config file, and no shipped config of that name (shipped: ct-fbp, ct-sirt, ct-tv, ct-wtv)
    """
    path, source = _find_config(str(name_or_path), config_dir)
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise ConfigError(f"{source}: not a text (UTF-8) file") from None
    except OSError as error:
        raise ConfigError(f"{source}: cannot read it ({error.strerror or error})") from None
    return load_experiment_text(text, source, overrides, schema=schema)


def load_experiment_text(text: str, source: str, overrides: Iterable[str] = (), *,
                         schema: Section = EXPERIMENT_SCHEMA) -> dict:
    """As :func:`load_experiment`, from YAML text; ``source`` names it in error messages.

    >>> load_experiment_text("solver:\\n  kind: sirt\\n", "my.yaml")["solver"]["kind"]
    'sirt'
    >>> load_experiment_text("solver:\\n  kind: [sirt\\n", "my.yaml")
    Traceback (most recent call last):
        ...
    recon.experiments.schema.ConfigError: my.yaml: line 3, column 1: invalid YAML (expected ',' or ']', but got '<stream end>')
    """
    raw = _parse_yaml(text, source)
    if raw is None:
        raise ConfigError(f"{source}: the file is empty (expected a mapping of sections)", key="")
    if not isinstance(raw, dict):
        validate(raw, schema, source)  # raises the top-level "expected a mapping" error
    raw, set_by = apply_overrides(raw, overrides, schema=schema)
    try:
        return validate(raw, schema, source)
    except ConfigError as error:
        override = _override_behind(error.key, set_by)
        if override is None:
            raise
        # The bad value came from the command line, not the file: say so, or the user searches the file for it.
        raise ConfigError(f"--set {override}: {str(error)[len(source) + 2:]}", key=error.key) from None


def apply_overrides(raw: dict, overrides: Iterable[str], *, schema: Section = EXPERIMENT_SCHEMA
                    ) -> tuple[dict, dict[str, str]]:
    """A copy of ``raw`` with every ``KEY=VALUE`` override set, and ``{dotted key: override text}``.

    The key must exist in the schema (not only in the file). The value is read
    as YAML (a value that is not valid YAML stays a string); for a string
    setting any text is kept as written, so ``name=2024`` is the name ``"2024"``.
    Values are checked later, with the rest of the config.

    >>> apply_overrides({}, ["input.angles_deg=[0, 360]", "input.path=null"])[0]
    {'input': {'angles_deg': [0, 360], 'path': None}}
    >>> apply_overrides({}, ["solver.maxiter=3"])
    Traceback (most recent call last):
        ...
    recon.experiments.schema.ConfigError: --set solver.maxiter=3: unknown key solver.maxiter (known in solver: kind, filter, max_iter, tol, residual_tol, time_limit, preconditioning, constraint)
    """
    raw = copy.deepcopy(raw)
    set_by = {}
    for text in overrides:
        keys, value = _parse_override(text, schema)
        target = raw
        for key in keys[:-1]:
            if target.get(key) is None:
                target[key] = {}
            target = target[key]
            if not isinstance(target, dict):
                break  # the file's own section is not a mapping; validation names it
        else:
            target[keys[-1]] = value
        set_by.pop(".".join(keys), None)  # re-inserted at the end: the latest override is found first
        set_by[".".join(keys)] = text
    return raw, set_by


def config_to_yaml(config: dict) -> str:
    """The resolved ``config`` as YAML text in schema order, readable by :func:`load_experiment_text`.

    >>> print(config_to_yaml(load_experiment("ct-fbp")).splitlines()[3])
    input:
    """
    resolved = validate(config, EXPERIMENT_SCHEMA, "config_to_yaml")
    return yaml.dump(resolved, Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=100)


def _find_config(name_or_path: str, config_dir: Path | None = None) -> tuple[Path, str]:
    path = Path(name_or_path).expanduser()
    if path.is_file():
        return path, name_or_path
    if path.is_dir():
        raise ConfigError(f"{name_or_path}: is a folder, not a config file")
    shipped = shipped_configs(config_dir)
    name = re.sub(r"\.ya?ml$", "", name_or_path) if path.name == name_or_path else name_or_path
    if name in shipped:
        return shipped[name], shipped[name].name
    raise ConfigError(f"{name_or_path}: no such config file, and no shipped config of that name "
                      f"(shipped: {', '.join(shipped) or 'none'})")


def _parse_yaml(text: str, source: str) -> Any:
    try:
        return yaml.load(text, Loader=_Loader)
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark is not None else ""
        problem = " ".join(str(error.problem or error.context or "").split())
        if problem.startswith("duplicate key"):
            raise ConfigError(f"{source}: {where}{problem}") from None
        raise ConfigError(f"{source}: {where}invalid YAML ({problem})") from None
    except yaml.YAMLError as error:
        raise ConfigError(f"{source}: invalid YAML ({' '.join(str(error).split())})") from None


def _parse_override(text: str, schema: Section = EXPERIMENT_SCHEMA) -> tuple[list[str], Any]:
    key, equals, value_text = str(text).partition("=")
    key = key.strip()
    if not equals or not key:
        raise ConfigError(f"--set {text}: expected KEY=VALUE, e.g. solver.max_iter=300")
    keys = key.split(".")
    entry: Section | Field = schema
    for depth, part in enumerate(keys):
        parent = ".".join(keys[:depth])
        if isinstance(entry, Field):
            raise ConfigError(f"--set {text}: unknown key {key} ({parent} is a setting, not a section)", key=key)
        if part not in entry.entries:
            where = f"in {parent}" if parent else "at the top level"
            raise ConfigError(f"--set {text}: unknown key {key} (known {where}: {', '.join(entry.names())})",
                              key=key)
        entry = entry.entries[part]
    return keys, _parse_value(value_text.strip(), entry)


def _parse_value(value_text: str, entry: Section | Field) -> Any:
    try:
        value = yaml.load(value_text, Loader=_Loader)
    except yaml.YAMLError:
        return value_text
    if isinstance(entry, Field) and entry.members == ("str",) and not isinstance(value, str):
        # A name or a path is text whatever it looks like; only null keeps its meaning where allowed.
        return None if value is None and entry.nullable else value_text
    return value


def _override_behind(key: str | None, set_by: dict[str, str]) -> str | None:
    """The override that set ``key`` or a section above it (the last one wins, as when applied)."""
    if key is None:
        return None
    for dotted in reversed(list(set_by)):
        if key == dotted or key.startswith(dotted + "."):
            return set_by[dotted]
    return None
