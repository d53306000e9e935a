"""Named student configurations and the one factory that builds a config from a name.

``*-base`` presets are the paper sizes for a 768-d, 12-layer teacher (WavLM Base+,
HuBERT Base); ``*-tiny`` presets pair with the tiny random teachers used by the tests
and the ``tiny`` recipe.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from huggingface_hub.errors import StrictDataclassError

from gendistiller.errors import ConfigError
from gendistiller.students.config import DistilHuBERTConfig, GenDistillerConfig, StudentConfig

# The tiny front-end shared with the tiny random teachers (see gendistiller.teachers).
TINY = dict(
    conv_dim=(32,) * 7,
    hidden_size=32,
    num_attention_heads=2,
    intermediate_size=64,
    num_conv_pos_embeddings=16,
    num_conv_pos_embedding_groups=2,
    target_layers=(1, 2),
)

PRESETS: dict[str, tuple[type[StudentConfig], dict[str, Any]]] = {
    "gendistiller-base": (GenDistillerConfig, {}),
    "distilhubert-base": (DistilHuBERTConfig, {}),
    "gendistiller-tiny": (GenDistillerConfig, TINY),
    "distilhubert-tiny": (DistilHuBERTConfig, TINY),
}

CONFIG_TYPES: dict[str, type[StudentConfig]] = {
    GenDistillerConfig.model_type: GenDistillerConfig,
    DistilHuBERTConfig.model_type: DistilHuBERTConfig,
}


def field_names(cls: type[StudentConfig]) -> set[str]:
    """The keys a user may set on a student config of this type."""
    base = {f.name for f in dataclasses.fields(StudentConfig.__mro__[1])}
    return {f.name for f in dataclasses.fields(cls)} - base


def make_config(cls: type[StudentConfig], **values: Any) -> StudentConfig:
    """Build and validate a config; unknown keys and bad values raise :class:`ConfigError`."""
    unknown = sorted(set(values) - field_names(cls))
    if unknown:
        raise ConfigError(
            f"unknown {cls.__name__} key {unknown[0]!r}; known keys: {', '.join(sorted(field_names(cls)))}"
        )
    try:
        return cls(**values)
    except StrictDataclassError as err:
        raise ConfigError(_root_message(err)) from None
    except (TypeError, ValueError) as err:
        raise ConfigError(str(err)) from None


def get_preset(name: str, **overrides: Any) -> StudentConfig:
    """The config of preset ``name`` with ``overrides`` applied (validated)."""
    if name not in PRESETS:
        raise ConfigError(f"unknown student preset {name!r}; choose one of {', '.join(PRESETS)}")
    cls, values = PRESETS[name]
    return make_config(cls, **{**values, **overrides})


def _root_message(err: BaseException) -> str:
    # huggingface_hub wraps the validator's exception; report the innermost one, on one line.
    while err.__cause__ is not None or err.__context__ is not None:
        err = err.__cause__ or err.__context__  # type: ignore[assignment]
    text = " ".join(str(err).split())
    return text.split("Class validation error for validator")[0].strip() or text
