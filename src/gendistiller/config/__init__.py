"""The one config system: pydantic models filled from YAML recipes and ``a.b=c`` overrides.

Every command's settings are a :class:`ConfigModel` (sections are nested models). Fields
carry their default, a one-line ``description`` and their constraints (``ge``/``gt``/...,
``Literal`` choices), so that validation, the ``--help`` reference (:func:`describe`), the
generated command-line flags (:func:`add_flags`) and the saved config (``to_dict``) all
come from one declaration and cannot drift. Problems become one-line
:class:`~gendistiller.errors.ConfigError` s naming the dotted key, before any heavy work.
See docs/config.md.
"""

from __future__ import annotations

from pydantic import Field

from gendistiller.config.flags import HelpFormatter, add_flags, describe, from_flags
from gendistiller.config.messages import FieldError, config_error
from gendistiller.config.model import CommaList, ConfigModel, NumberAsText, build, resolve, to_dict
from gendistiller.config.sources import apply_overrides, load_yaml
from gendistiller.errors import ConfigError

__all__ = [
    "CommaList",
    "ConfigError",
    "ConfigModel",
    "Field",
    "FieldError",
    "HelpFormatter",
    "NumberAsText",
    "add_flags",
    "apply_overrides",
    "build",
    "config_error",
    "describe",
    "from_flags",
    "load_yaml",
    "resolve",
    "to_dict",
]
