"""The command line from a model's fields: the ``--help`` reference of every key
(:func:`describe`) and, for flat models, generated ``--flags`` (:func:`add_flags`)."""

from __future__ import annotations

import argparse
import types
import typing
from collections.abc import Iterator
from typing import Annotated, Any

import yaml
from pydantic import BaseModel

from gendistiller.config.messages import flag_name, join_key
from gendistiller.config.model import ConfigModel, plain, validate
from gendistiller.config.sources import parse_scalar
from gendistiller.errors import ConfigError


def describe(cls: type[ConfigModel], prefix: str = "", flags: bool = False) -> Iterator[str]:
    """One entry per option, from the model's fields: ``key = default`` then its
    description and constraints (``flags``: named as command-line flags)."""
    for name, info in cls.model_fields.items():
        key = join_key(prefix, name)
        tp = info.annotation
        if isinstance(tp, type) and issubclass(tp, BaseModel):
            yield from describe(tp, key)
            continue
        shown = flag_name(name) if flags else key
        yield f"  {shown} = {_default_text(info)}\n      {info.description or ''}{_limits(info)}"


def _default_text(info) -> str:
    if info.is_required():
        return "(required)"
    default = info.get_default(call_default_factory=True)
    if isinstance(default, BaseModel):
        default = default.model_dump(mode="json")
    text = yaml.safe_dump(plain(default), default_flow_style=True, width=1000).strip()
    return text.removesuffix("\n...").removesuffix("...").strip()


def _limits(info) -> str:
    extra = []
    choices = _choices(info.annotation)
    if choices:
        extra.append("one of " + "|".join(str(c) for c in choices))
    for item in info.metadata:
        for op, sym in (("ge", ">="), ("gt", ">"), ("le", "<="), ("lt", "<")):
            if getattr(item, op, None) is not None:
                extra.append(f"{sym} {getattr(item, op)}")
    return f" [{'; '.join(extra)}]" if extra else ""


def _choices(tp: Any) -> tuple[Any, ...]:
    if typing.get_origin(tp) is Annotated:
        return _choices(typing.get_args(tp)[0])
    return typing.get_args(tp) if typing.get_origin(tp) is typing.Literal else ()


class HelpFormatter(argparse.ArgumentDefaultsHelpFormatter, argparse.RawDescriptionHelpFormatter):
    """Every command's help: defaults shown, except the empty ones ("(default: None)" says
    nothing), and descriptions kept as written."""

    def _get_help_string(self, action: argparse.Action) -> str | None:
        if action.default is None or action.default is False or action.default is argparse.SUPPRESS:
            return action.help
        return super()._get_help_string(action)


_DEST = "config:"  # namespace keys of generated flags, apart from the parser's own (command)


def add_flags(parser: argparse.ArgumentParser, cls: type[ConfigModel], exclude=()) -> None:
    """One ``--flag`` per field of ``cls`` (``--no-x`` / ``--x`` for booleans, ``KEY=VALUE``
    repeated for mappings), help and default taken from the field; a field's
    ``json_schema_extra`` may name the ``flag`` and its ``metavar``. Flags not given stay
    out of the namespace, so the model's own defaults apply (:func:`from_flags`)."""
    for name, info in cls.model_fields.items():
        if name in exclude:
            continue
        help_text = (info.description or "") + _flag_default(info)
        extra = info.json_schema_extra if isinstance(info.json_schema_extra, dict) else {}
        default = info.get_default(call_default_factory=True)
        common = {"dest": _DEST + name, "default": argparse.SUPPRESS}
        if info.annotation is bool:
            flag = extra.get("flag") or flag_name(name).replace("--", "--no-" if default else "--")
            text = f"don't {info.description}" if default else info.description
            parser.add_argument(flag, action="store_const", const=not default, help=text, **common)
        elif _origin(info.annotation) is dict:
            metavar = extra.get("metavar", "KEY=VALUE")
            parser.add_argument(flag_name(name), action="append", metavar=metavar, help=help_text,
                                **common)  # fmt: skip
        else:
            choices = _choices(info.annotation)
            metavar = "{" + ",".join(map(str, choices)) + "}" if choices else name.upper()
            parser.add_argument(flag_name(name), metavar=extra.get("metavar", metavar),
                                help=help_text, **common)  # fmt: skip


def _flag_default(info) -> str:
    if info.is_required():
        return ""
    default = info.get_default(call_default_factory=True)
    if default in ("", None, {}, [], ()):
        return ""  # the description says what "not given" means
    if isinstance(default, (list, tuple)):
        return f" (default: {','.join(map(str, default))})"  # as typed on the command line
    return f" (default: {default})"


def from_flags(cls: type[ConfigModel], args: argparse.Namespace, **values: Any):
    """The model from the flags :func:`add_flags` made (plus ``values``); problems name
    the flag (``--tasks: ...``)."""
    data = dict(values)
    for name, info in cls.model_fields.items():
        if _DEST + name in vars(args) and name not in data:
            data[name] = getattr(args, _DEST + name)
            if _origin(info.annotation) is dict:
                data[name] = _pairs(name, data[name])
    return validate(cls, data, flags=True)


def _pairs(name: str, items: list[str]) -> dict[str, Any]:
    out = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key.strip() or not value.strip():
            raise ConfigError(f"{flag_name(name)}: expected KEY=VALUE, got {item!r}")
        out[key.strip()] = parse_scalar(key.strip(), value.strip())
    return out


def _origin(tp: Any) -> Any:
    if typing.get_origin(tp) is Annotated:
        tp = typing.get_args(tp)[0]
    if typing.get_origin(tp) in (typing.Union, types.UnionType):
        return None
    return typing.get_origin(tp) or tp
