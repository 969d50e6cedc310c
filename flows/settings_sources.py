"""Where a declared setting's value comes from: its CLI flag, its environment variable, its default.

A settings model (``flows/settings.py``) declares each field once, with its type, default and
help text (pydantic), plus a :class:`Source` naming its flag and environment variable. This
module turns that one declaration into the command line's flags, the environment lookup, the
validation errors users see (naming the flag or variable they set), and the README's table,
so none of them can drift from the model.

Precedence is flag > environment > default. An explicit value is honoured even when it is
``0`` or empty (an empty environment variable means "none" for an optional setting and is an
error for any other); values are validated by the model, never with ``x or default``.
"""

from __future__ import annotations

import argparse
import os
import typing
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError
from pydantic.fields import FieldInfo

M = TypeVar("M", bound=BaseModel)


@dataclass(frozen=True, slots=True)
class Source:
    """How a user sets one field: a flag (or a positional argument) and an environment variable."""

    flag: str | None
    env: str
    metavar: str | None = None
    positional: bool = False
    # For a flag that takes no value (``--no-auth``): the value it stands for.
    const: str | None = None


class SettingsError(ValueError):
    """A value a user gave is not valid; the message names the flag or variable."""


def source_of(field: FieldInfo) -> Source:
    for item in field.metadata:
        if isinstance(item, Source):
            return item
    raise TypeError(f"settings field without a Source: {field!r}")


def _origin(name: str, field: FieldInfo) -> str:
    source = source_of(field)
    if source.positional:
        return (source.metavar or name).upper()
    return source.flag or source.env


def resolve(
    model: type[M],
    flags: Mapping[str, Any] | None = None,
    environ: Mapping[str, str] | None = None,
) -> M:
    """The model's values from ``flags`` (field name → raw value, None = not given), then the
    environment, then the defaults; a bad value raises :class:`SettingsError` naming where it
    came from."""
    flags = flags or {}
    environ = os.environ if environ is None else environ
    values: dict[str, Any] = {}
    origins: dict[str, str] = {}
    for name, field in model.model_fields.items():
        source = source_of(field)
        raw = flags.get(name)
        if raw is not None:
            values[name], origins[name] = raw, _origin(name, field)
        elif source.env in environ:
            raw = environ[source.env]
            values[name], origins[name] = (raw if raw != "" else None), source.env
    try:
        return model.model_validate(values)
    except ValidationError as exc:
        error = exc.errors(include_url=False)[0]
        name = str(error["loc"][0]) if error["loc"] else "?"
        if error["type"] == "missing" and name in model.model_fields:
            source = source_of(model.model_fields[name])
            raise SettingsError(
                f"{_origin(name, model.model_fields[name])} (or {source.env}) is required"
            ) from None
        where = origins.get(name, name)
        given = values.get(name)
        raise SettingsError(f"{where}={'' if given is None else given!s}: {error['msg']}") from None


def _type_name(annotation: Any) -> str:
    args = [a for a in typing.get_args(annotation) if a is not type(None)]
    if typing.get_origin(annotation) is dict:
        return "mapping"
    if typing.get_origin(annotation) is typing.Literal:
        return " \\| ".join(str(a) for a in typing.get_args(annotation))
    if args and typing.get_origin(annotation) is not None:
        return _type_name(args[0])
    return getattr(annotation, "__name__", str(annotation))


def default_text(field: FieldInfo) -> str:
    """How the docs and ``--help`` show a default: a declared ``default_help`` wins (for
    defaults that depend on another setting or on the machine)."""
    extra = field.json_schema_extra if isinstance(field.json_schema_extra, dict) else {}
    if "default_help" in extra:
        return str(extra["default_help"])
    return "none" if field.default is None else str(field.default)


def add_arguments(
    parser: argparse.ArgumentParser, model: type[BaseModel], only: Iterable[str] | None = None,
    skip: tuple[str, ...] = (),
) -> None:
    """One argument per field (or per field named in ``only``; never those in ``skip``), help
    text from the declaration. Values stay strings (or None when not given): the model validates
    them, so flags and variables get the same checks."""
    for name, field in model.model_fields.items():
        if (only is not None and name not in only) or name in skip:
            continue
        source = source_of(field)
        help_text = f"{field.description} (default: {default_text(field)}; env {source.env})"
        help_text = help_text.replace("%", "%%")
        if source.positional:
            parser.add_argument(name, nargs="?", metavar=source.metavar or name.upper(), help=help_text)
        elif source.const is not None:
            parser.add_argument(source.flag, dest=name, action="store_const", const=source.const, help=help_text)
        elif source.flag is not None:
            parser.add_argument(source.flag, dest=name, metavar=source.metavar, help=help_text)


def as_flags(settings: BaseModel, skip: tuple[str, ...] = ()) -> list[str]:
    """The command-line flags that give ``settings`` again (those not at their default): for a
    command line written for later (a scrontab line), independent of this shell's environment."""
    flags: list[str] = []
    for name, field in type(settings).model_fields.items():
        source = source_of(field)
        value = getattr(settings, name)
        if name in skip or source.flag is None or source.const is not None or value == field.default:
            continue
        flags += [source.flag, str(value)]
    return flags


def flag_values(args: argparse.Namespace, model: type[BaseModel]) -> dict[str, Any]:
    """The values argparse collected for the model's fields (None where not given)."""
    return {name: getattr(args, name, None) for name in model.model_fields}


def key_table(model: type[BaseModel]) -> str:
    """The docs' table of a model with no flags (a file's keys: cluster profiles), generated."""
    lines = ["| key | type | default | what |", "|---|---|---|---|"]
    for name, field in model.model_fields.items():
        default = default_text(field) if field.default_factory is None else str(field.default_factory())
        lines.append(f"| `{name}` | {_type_name(field.annotation)} | {default} | {field.description} |")
    return "\n".join(lines) + "\n"


def markdown_table(model: type[BaseModel]) -> str:
    """The README's table of the model's settings, generated (a test keeps the README equal)."""
    lines = [
        "| setting | flag | environment | type | default | what |",
        "|---|---|---|---|---|---|",
    ]
    for name, field in model.model_fields.items():
        source = source_of(field)
        flag = (source.metavar or name.upper()) if source.positional else (source.flag or "")
        lines.append(
            f"| `{name}` | `{flag}` | `{source.env}` | {_type_name(field.annotation)} | "
            f"{default_text(field)} | {field.description} |"
        )
    return "\n".join(lines) + "\n"
