"""The base of every config section and the functions that validate data into one."""

from __future__ import annotations

import contextvars
import os
from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, ValidationError, model_validator

from gendistiller.config.messages import config_error, show
from gendistiller.config.sources import apply_overrides
from gendistiller.errors import ConfigError


def _comma_list(value: Any) -> Any:
    if isinstance(value, str):  # data.subsets=a,b on the command line
        return [v.strip() for v in value.split(",") if v.strip()]
    return value


def _number_as_text(value: Any) -> Any:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return str(value)  # precision=32 arrives from YAML as an int
    return value


CommaList = BeforeValidator(_comma_list)  # Annotated[list[str], CommaList]
NumberAsText = BeforeValidator(_number_as_text)  # Annotated[Literal["32", ...], NumberAsText]


# Sections are validated inside their parent (pydantic calls their __init__): only the
# outermost model turns a ValidationError into a ConfigError, so the key stays dotted.
VALIDATING: contextvars.ContextVar[bool] = contextvars.ContextVar("validating", default=False)


class ConfigModel(BaseModel):
    """Base of every config section: unknown keys refused, assignments validated, and
    validation problems raised as one-line :class:`ConfigError` s naming the key."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True, coerce_numbers_to_str=True)

    def __init__(self, **data: Any) -> None:
        if VALIDATING.get():  # a section inside an outer model: let the outer one report
            super().__init__(**data)
            return
        token = VALIDATING.set(True)
        try:
            super().__init__(**data)
        except ValidationError as err:
            raise config_error(err, type(self)) from None
        finally:
            VALIDATING.reset(token)

    def __setattr__(self, name: str, value: Any) -> None:
        token = VALIDATING.set(True)
        try:
            super().__setattr__(name, value)
        except ValidationError as err:
            raise config_error(err, type(self)) from None
        finally:
            VALIDATING.reset(token)

    @model_validator(mode="before")
    @classmethod
    def _paths_as_text(cls, data: Any) -> Any:
        if isinstance(data, dict):  # Python callers pass Path objects for path options
            return {k: os.fspath(v) if isinstance(v, os.PathLike) else v for k, v in data.items()}
        return data

    def to_dict(self) -> dict[str, Any]:
        """Plain YAML/JSON-able data (tuples become lists): what is saved with a run."""
        return self.model_dump(mode="json")

    def merged(self, changes: Mapping[str, Any] | None = None, /, **sections: Any):
        """A new, validated config with ``changes`` merged over this one (a mapping merges
        into its section; a config object replaces the section); this one is unchanged."""
        updates = {**(changes or {}), **sections}
        return build(type(self), _deep_merge(self.to_dict(), updates))


def to_dict(config: ConfigModel) -> dict[str, Any]:
    """``config.to_dict()``: the resolved config as saved with every run and checkpoint."""
    return config.to_dict()


def build(cls: type[ConfigModel], data: Mapping[str, Any] | None, prefix: str = ""):
    """Validate nested ``data`` into ``cls``; problems raise :class:`ConfigError`."""
    data = {} if data is None else data
    if not isinstance(data, Mapping):
        raise ConfigError(f"{prefix or 'config'}: expected a mapping, got {show(data)}")
    return validate(cls, dict(data), prefix)


def validate(cls: type[ConfigModel], data: dict[str, Any], prefix: str = "", flags=False):
    token = VALIDATING.set(True)
    try:
        return cls.model_validate(data)
    except ValidationError as err:
        raise config_error(err, cls, prefix, flags) from None
    finally:
        VALIDATING.reset(token)


def resolve(cls: type[ConfigModel], data: Mapping[str, Any] | None, overrides=()):
    """``data`` (a recipe's mapping) with dotted ``overrides`` applied, validated."""
    return build(cls, apply_overrides(dict(data or {}), list(overrides)))


def _deep_merge(base: dict[str, Any], changes: Mapping[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in changes.items():
        if isinstance(value, Mapping) and isinstance(out.get(key), dict):
            out[key] = _deep_merge(out[key], value)
        else:
            out[key] = plain(value)
    return out


def plain(value: Any) -> Any:
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json")
    if isinstance(value, Mapping):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    return str(value) if hasattr(value, "__fspath__") else value
