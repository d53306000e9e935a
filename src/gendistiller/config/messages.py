"""Pydantic validation errors as one-line :class:`ConfigError` s naming the dotted key."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ValidationError

from gendistiller.errors import ConfigError


class FieldError(ValueError):
    """Raised by a validator about one of its model's keys (``key`` relative to the model),
    so that the reported key is ``section.key`` rather than just ``section``."""

    def __init__(self, key: str, problem: str):
        super().__init__(f"{key}: {problem}")
        self.key, self.problem = key, problem


def config_error(err: ValidationError, cls: type, prefix: str = "", flags: bool = False):
    """The first problem of ``err`` as ``key: problem (got value)``."""
    first = err.errors()[0]
    loc = first["loc"]
    if first["type"] == "missing" and loc and isinstance(loc[-1], int):
        key, _ = _key(cls, loc[:-1], prefix, flags)  # a fixed-length tuple given too few items
        return ConfigError(f"{key}: expected more values (got {loc[-1]})")
    key, owner = _key(cls, loc, prefix, flags)
    kind, ctx, got = first["type"], first.get("ctx") or {}, first.get("input")
    if kind in ("value_error", "assertion_error") and isinstance(ctx.get("error"), FieldError):
        sub = ctx["error"]
        sub_key = flag_name(sub.key) if flags and not key else sub.key
        return ConfigError(f"{join_key(key, sub_key)}: {sub.problem}")
    if kind in ("value_error", "assertion_error"):
        problem = str(ctx.get("error", first["msg"]))
    elif kind == "extra_forbidden":
        valid = ", ".join(sorted(owner.model_fields)) if owner else ""
        problem = f"unknown option (valid: {valid})" if valid else "unknown option"
    elif kind == "missing":
        problem = "required"
    elif kind in _BOUNDS:
        bound = next(ctx[k] for k in ("gt", "ge", "lt", "le") if k in ctx)
        bound = int(bound) if isinstance(bound, float) and bound.is_integer() else bound
        problem = f"must be {_BOUNDS[kind]} {bound} (got {show(got)})"
    elif kind == "literal_error":
        problem = f"{show(got)} is not one of {ctx.get('expected', '')}"
    else:
        problem = f"{_PROBLEMS.get(kind) or _lower(first['msg'])} (got {show(got)})"
    return ConfigError(f"{key or 'config'}: {problem}")


_BOUNDS = {"greater_than": ">", "greater_than_equal": ">=", "less_than": "<", "less_than_equal": "<="}  # fmt: skip
_PROBLEMS = {
    **dict.fromkeys(("int_parsing", "int_type", "int_from_float"), "expected an integer"),
    **dict.fromkeys(("float_parsing", "float_type"), "expected a number"),
    **dict.fromkeys(("bool_parsing", "bool_type"), "expected true or false"),
    **dict.fromkeys(("model_type", "dict_type", "model_attributes_type"), "expected a mapping"),
    **dict.fromkeys(("list_type", "tuple_type"), "expected a list"),
    "string_type": "expected a string",
}


def _key(cls: type, loc: tuple, prefix: str, flags: bool) -> tuple[str, type | None]:
    """Dotted key of a pydantic error location (list items as ``[i]``, union member tags
    dropped) and the model that owns its last part (for listing the valid keys)."""
    key, owner = prefix, cls
    for i, part in enumerate(loc):
        fields = getattr(owner, "model_fields", None) if owner else None
        if isinstance(part, int):
            key += f"[{part}]"
            owner = None
        elif fields is not None and part in fields:
            name = flag_name(part) if flags and i == 0 else part
            key = join_key(key, name)
            sub = fields[part].annotation
            owner = sub if isinstance(sub, type) and issubclass(sub, BaseModel) else None
        elif fields is not None and i == len(loc) - 1:
            return join_key(key, str(part)), owner  # an unknown key: its owner lists the valid
        elif owner is None and not _is_tag(part):
            key = join_key(key, str(part))  # a key of a free-form mapping
    return key, owner


def _is_tag(part: str) -> bool:
    return "[" in part or part in ("int", "float", "str", "bool", "none", "list", "dict", "tuple")


def flag_name(name: str) -> str:
    return "--" + name.replace("_", "-")


def join_key(prefix: str, name: str) -> str:
    return f"{prefix}.{name}" if prefix else name


def _lower(text: str) -> str:
    return text[:1].lower() + text[1:]


def show(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."
