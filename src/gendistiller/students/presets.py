"""Named student configurations and the one factory that builds a config from a name.

``*-base`` presets are the paper sizes for a 768-d, 12-layer teacher (WavLM Base+,
HuBERT Base); ``*-fast`` presets are the same bodies on the light front-end (log-mels,
a 32-tap positional convolution, 40 ms frames inside the transformer: docs/method.md,
"Fast students"), one for each student so that the comparison stays fair; ``*-tiny``
presets pair with the tiny random teachers used by the tests and the ``tiny`` recipe.
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

# The light front-end and its cheaper body (docs/method.md gives each switch's cost). The
# front-end starts from random weights, so its gradient is not scaled down.
FAST = dict(
    frontend="fbank",
    feature_grad_mult=1.0,
    num_conv_pos_embeddings=32,
    transformer_stride=2,
)
# The same at the tiny teachers' width (a 32-d CNN output, 16 positional taps / 4).
FAST_TINY = {**TINY, **FAST, "fbank_conv_dim": (32, 32), "num_conv_pos_embeddings": 4}

PRESETS: dict[str, tuple[type[StudentConfig], dict[str, Any]]] = {
    "gendistiller-base": (GenDistillerConfig, {}),
    "distilhubert-base": (DistilHuBERTConfig, {}),
    "gendistiller-fast": (GenDistillerConfig, FAST),
    "distilhubert-fast": (DistilHuBERTConfig, FAST),
    "gendistiller-tiny": (GenDistillerConfig, TINY),
    "distilhubert-tiny": (DistilHuBERTConfig, TINY),
    "gendistiller-fast-tiny": (GenDistillerConfig, FAST_TINY),
    "distilhubert-fast-tiny": (DistilHuBERTConfig, FAST_TINY),
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


#: Teacher config keys a scaled student copies, so that it can be initialised from the teacher.
_SHAPE_KEYS = (
    "hidden_size",
    "num_attention_heads",
    "intermediate_size",
    "conv_dim",
    "conv_kernel",
    "conv_stride",
    "conv_bias",
    "num_conv_pos_embeddings",
    "num_conv_pos_embedding_groups",
    "layer_norm_eps",
)


#: Design choices of a preset that scaling keeps (at most the teacher's value).
_KEPT = ("num_conv_pos_embeddings",)


def thirds(num_layers: int) -> list[int]:
    """The paper's target layers, 4, 8, 12 of 12, as the same fractions of any depth."""
    layers = sorted({max(1, round(num_layers * k / 3)) for k in (1, 2, 3)})
    return layers


def scaled_to_teacher(name: str, teacher_config: Any, **overrides: Any) -> StudentConfig:
    """Preset ``name`` resized to a teacher by one rule that keeps the paper's proportions.

    The student takes the teacher's width, heads, feed-forward size, conv encoder and
    positional convolution (so it can be initialised from the teacher); it targets the
    teacher layers at one, two and three thirds of its depth (4, 8, 12 of 12); GenDistiller
    keeps one shared block, DistilHuBERT two layers and three heads. For a 768-d, 12-layer
    teacher this gives exactly the ``*-base`` and ``*-fast`` presets. A preset that sets
    its own positional kernel keeps it unless the teacher's is shorter (the teacher's
    centre taps initialise it), and a
    log-mel front-end's widths become the teacher's CNN width (so that the teacher's
    projection fits it).
    """
    own = PRESETS[name][1] if name in PRESETS else {}
    shape = {
        key: getattr(teacher_config, key) for key in _SHAPE_KEYS if hasattr(teacher_config, key)
    }
    for key in _KEPT:
        if key in own and key in shape:
            shape[key] = min(own[key], shape[key])
    shape["target_layers"] = thirds(int(teacher_config.num_hidden_layers))
    unscaled = get_preset(name, **overrides)
    if unscaled.frontend == "fbank" and hasattr(teacher_config, "conv_dim"):
        width = int(list(teacher_config.conv_dim)[-1])
        shape["fbank_conv_dim"] = [width] * len(unscaled.fbank_conv_dim)
    return get_preset(name, **{**shape, **overrides})
