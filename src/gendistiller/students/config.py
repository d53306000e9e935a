"""Typed configurations of the two students.

They are transformers configs (``PreTrainedConfig`` dataclasses), so a saved student is a
normal ``config.json`` + ``model.safetensors`` folder that ``AutoModel`` can load once
:mod:`gendistiller` is imported. Defaults are the paper sizes for a 768-d, 12-layer
teacher (WavLM Base+ / HuBERT Base); :func:`validate` checks a config up front and names
the offending key.
"""

from __future__ import annotations

from huggingface_hub.dataclasses import strict
from transformers import PreTrainedConfig

from gendistiller.encoders.geometry import FrameGeometry
from gendistiller.errors import ConfigError

#: Bumped when the saved layout changes incompatibly; checked by ``load_student``.
FORMAT_VERSION = 1

HISTORY_MODES = ("previous", "all")
#: How the teacher-forcing ratio moves over a run (gendistiller.students.teacher_forcing).
SCHEDULES = ("constant", "linear", "inverse_sigmoid")
#: ``conv``: the paper's waveform CNN; ``fbank``: log-mel filterbanks computed in the model
#: and a small frame-level convolution (docs/method.md, "Fast students").
FRONTENDS = ("conv", "fbank")


@strict(accept_kwargs=True)
class StudentConfig(PreTrainedConfig):
    """Fields shared by both students: the front-end and the transformer width."""

    gendistiller_format: int = FORMAT_VERSION
    # Which front-end turns the waveform into frames (FRONTENDS). The conv_* fields also
    # fix the frames every front-end must give: the teacher's (stride 320, 400 samples).
    frontend: str = "conv"
    # Waveform encoder (wav2vec 2.0 / HuBERT "group" mode), frontend "conv".
    conv_dim: list[int] | tuple[int, ...] = (512, 512, 512, 512, 512, 512, 512)
    conv_kernel: list[int] | tuple[int, ...] = (10, 3, 3, 3, 3, 2, 2)
    conv_stride: list[int] | tuple[int, ...] = (5, 2, 2, 2, 2, 2, 2)
    conv_bias: bool = False
    # DistilHuBERT has no LayerNorm on the CNN output (HuBERT does); kept as an option.
    feature_layer_norm: bool = False
    # Gradient flowing into the front-end is scaled by this (DistilHuBERT: 0.1).
    feature_grad_mult: float = 0.1
    # Log-mel front-end, frontend "fbank": num_mel_bins bands of a window of fbank_window
    # samples every fbank_hop; 320 / fbank_hop windows make one frame (window + 320 - hop
    # must be the conv stack's 400 samples), then one convolution per fbank_conv_dim entry
    # (the first over those windows, the others per frame), the last width feeding the
    # projection (the teacher's CNN width, so that its projection fits).
    num_mel_bins: int = 80
    fbank_window: int = 240
    fbank_hop: int = 160
    fbank_conv_dim: list[int] | tuple[int, ...] = (512, 512)
    hidden_size: int = 768
    num_attention_heads: int = 12
    intermediate_size: int = 3072
    hidden_act: str = "gelu"
    # Positional convolution taps (0: none) and groups.
    num_conv_pos_embeddings: int = 128
    num_conv_pos_embedding_groups: int = 16
    # Frames merged into one inside the transformer (1: 20 ms, the paper; 2: 40 ms); the
    # hidden states are upsampled back to one per 20 ms frame.
    transformer_stride: int = 1
    hidden_dropout: float = 0.1
    attention_dropout: float = 0.1
    activation_dropout: float = 0.1
    feat_proj_dropout: float = 0.0
    layer_norm_eps: float = 1e-5
    # Teacher layers the student learns to reproduce (transformers' indexing: k = output of block k).
    target_layers: list[int] | tuple[int, ...] = (4, 8, 12)

    def __post_init__(self, **kwargs):
        self.conv_dim = list(self.conv_dim)
        self.conv_kernel = list(self.conv_kernel)
        self.conv_stride = list(self.conv_stride)
        self.fbank_conv_dim = list(self.fbank_conv_dim)
        self.target_layers = list(self.target_layers)
        super().__post_init__(**kwargs)

    def validate_architecture(self) -> None:
        validate_common(self)


def validate_common(cfg: StudentConfig) -> None:
    n = len(cfg.conv_dim)
    if n == 0 or len(cfg.conv_kernel) != n or len(cfg.conv_stride) != n:
        raise ConfigError(
            f"conv_dim, conv_kernel and conv_stride must have one equal, non-zero length; got "
            f"{len(cfg.conv_dim)}, {len(cfg.conv_kernel)}, {len(cfg.conv_stride)}"
        )
    _positive(cfg, "hidden_size", "num_attention_heads", "intermediate_size", "transformer_stride")
    if cfg.frontend not in FRONTENDS:
        raise ConfigError(f"frontend must be one of {FRONTENDS}, got {cfg.frontend!r}")
    if cfg.frontend == "fbank":
        validate_fbank(cfg)
    pos = cfg.num_conv_pos_embeddings
    if isinstance(pos, bool) or not isinstance(pos, int) or pos < 0:
        raise ConfigError(f"num_conv_pos_embeddings must be an integer >= 0 (0: none), got {pos}")
    if cfg.hidden_size % cfg.num_attention_heads:
        raise ConfigError(
            f"hidden_size ({cfg.hidden_size}) must be divisible by num_attention_heads ({cfg.num_attention_heads})"
        )
    if pos and cfg.hidden_size % cfg.num_conv_pos_embedding_groups:
        raise ConfigError(
            f"hidden_size ({cfg.hidden_size}) must be divisible by num_conv_pos_embedding_groups "
            f"({cfg.num_conv_pos_embedding_groups})"
        )
    for key in ("hidden_dropout", "attention_dropout", "activation_dropout", "feat_proj_dropout"):
        if not 0.0 <= getattr(cfg, key) < 1.0:
            raise ConfigError(f"{key} must be in [0, 1), got {getattr(cfg, key)}")
    layers = list(cfg.target_layers)
    if (
        not layers
        or any(not isinstance(layer, int) or layer < 1 for layer in layers)
        or layers != sorted(set(layers))
    ):
        raise ConfigError(
            f"target_layers must be strictly increasing teacher layer numbers >= 1, got {layers}"
        )
    if cfg.hidden_act not in ("gelu", "relu", "gelu_new"):
        raise ConfigError(f"hidden_act must be gelu, relu or gelu_new, got {cfg.hidden_act!r}")


def validate_fbank(cfg: StudentConfig) -> None:
    """The log-mel front-end must frame the waveform exactly like the conv stack does, so
    that student frames stay aligned with the teacher's (the loss compares frame t to t)."""
    _positive(cfg, "num_mel_bins", "fbank_window", "fbank_hop")
    dims = list(cfg.fbank_conv_dim)
    if not dims or any(isinstance(d, bool) or not isinstance(d, int) or d < 1 for d in dims):
        raise ConfigError(f"fbank_conv_dim must be a non-empty list of positive widths, got {dims}")
    conv = FrameGeometry(tuple(cfg.conv_kernel), tuple(cfg.conv_stride))
    if conv.stride % cfg.fbank_hop:
        raise ConfigError(
            f"fbank_hop ({cfg.fbank_hop}) must divide the frame stride ({conv.stride} samples)"
        )
    field = FrameGeometry.from_config(cfg).receptive_field
    if field != conv.receptive_field:
        raise ConfigError(
            f"fbank_window ({cfg.fbank_window}) with fbank_hop ({cfg.fbank_hop}) gives frames of "
            f"{field} samples, the teacher's are {conv.receptive_field}: fbank_window must be "
            f"{conv.receptive_field - conv.stride + cfg.fbank_hop}"
        )


@strict(accept_kwargs=True)
class GenDistillerConfig(StudentConfig):
    """GenDistiller: one decoder block generating the target layers one after another.

    ``history``: ``"previous"`` (v2: each layer generated from the previous generated
    layer) or ``"all"`` (v1: from every earlier layer through a block-causal layer x time
    attention). ``teacher_forcing_ratio`` is the probability, per utterance and step, of
    feeding the teacher's previous target layer instead of the student's own during
    training; inference always runs free.

    The fields after it are our switches beyond the paper, each off by default (the
    paper's model, bit for bit; docs/method.md, "Beyond the paper").
    """

    model_type = "gendistiller"

    history: str = "previous"
    shared_weights: bool = True
    skip_connection: bool = True
    output_projection: bool = True
    teacher_forcing_ratio: float = 0.0
    # A learned vector per step (zero at init) added to the shared block's input.
    step_embedding: bool = False
    # One output projection per step, the block still shared.
    per_step_output_projection: bool = False
    # SCHEDULES: the ratio goes from teacher_forcing_ratio to teacher_forcing_final_ratio.
    teacher_forcing_schedule: str = "constant"
    teacher_forcing_final_ratio: float = 0.0
    # Gaussian noise on the teacher-forced history, std relative to each frame's RMS.
    teacher_forcing_noise: float = 0.0
    # Rank r of a low-rank correction per step to the shared output projection (0: none):
    # step k projects with OutProj(h) + B_k(A_k(h)), B_k zero at init.
    output_adapter_rank: int = 0
    # Also expose each step's block output (before OutProj and the skip) downstream, the
    # place of DistilHuBERT's last layer, which its heads read: [x0, b1, h1, ..., bK, hK].
    expose_block_outputs: bool = False

    def validate_architecture(self) -> None:
        validate_common(self)
        if self.history not in HISTORY_MODES:
            raise ConfigError(f"history must be one of {HISTORY_MODES}, got {self.history!r}")
        for key in _SWITCHES:
            if not isinstance(getattr(self, key), bool):
                raise ConfigError(f"{key} must be true or false, got {getattr(self, key)!r}")
        for key in (
            "teacher_forcing_ratio",
            "teacher_forcing_final_ratio",
            "teacher_forcing_noise",
        ):
            value = getattr(self, key)
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise ConfigError(f"{key} must be a number, got {value!r}")
        for key in ("teacher_forcing_ratio", "teacher_forcing_final_ratio"):
            if not 0.0 <= getattr(self, key) <= 1.0:
                raise ConfigError(f"{key} must be in [0, 1], got {getattr(self, key)}")
        if self.teacher_forcing_schedule not in SCHEDULES:
            raise ConfigError(
                f"teacher_forcing_schedule must be one of {SCHEDULES}, got"
                f" {self.teacher_forcing_schedule!r}"
            )
        if self.per_step_output_projection and not self.output_projection:
            raise ConfigError("per_step_output_projection needs output_projection: true")
        rank = self.output_adapter_rank
        if isinstance(rank, bool) or not isinstance(rank, int) or rank < 0:
            raise ConfigError(
                f"output_adapter_rank must be an integer >= 0 (0: none), got {rank!r}"
            )
        if rank and not self.output_projection:
            raise ConfigError("output_adapter_rank needs output_projection: true")
        if rank and self.per_step_output_projection:
            raise ConfigError(
                "output_adapter_rank corrects one shared output projection: it cannot be combined"
                " with per_step_output_projection"
            )
        if not self.teacher_forcing_noise >= 0.0:  # NaN fails too
            raise ConfigError(
                f"teacher_forcing_noise must be >= 0, got {self.teacher_forcing_noise}"
            )
        if self.teacher_forcing_noise and not self.forces_teacher:
            raise ConfigError(
                "teacher_forcing_noise needs teacher forcing (teacher_forcing_ratio > 0, or a"
                " schedule to teacher_forcing_final_ratio > 0)"
            )

    @property
    def forces_teacher(self) -> bool:
        """Whether training ever feeds the teacher's layers (at any step of the schedule)."""
        final = (
            self.teacher_forcing_final_ratio if self.teacher_forcing_schedule != "constant" else 0.0
        )
        return max(self.teacher_forcing_ratio, final) > 0.0

    @property
    def num_steps(self) -> int:
        return len(self.target_layers)


#: GenDistiller's on/off fields (the strict dataclass does not check their type).
_SWITCHES = (
    "shared_weights",
    "skip_connection",
    "output_projection",
    "step_embedding",
    "per_step_output_projection",
    "expose_block_outputs",
)


@strict(accept_kwargs=True)
class DistilHuBERTConfig(StudentConfig):
    """DistilHuBERT (Chang et al., 2022): a few transformer layers and training-only
    "expand-last" heads, one per target layer, on top of the last layer."""

    model_type = "gendistiller_distilhubert"

    num_hidden_layers: int = 2
    # Also expose the heads' predictions downstream, after the layers, as s3prl's
    # distiller upstream does by default: [x0, layer 1, ..., layer L, head 1, ..., head N].
    expose_prediction_heads: bool = False

    def validate_architecture(self) -> None:
        validate_common(self)
        _positive(self, "num_hidden_layers")
        if not isinstance(self.expose_prediction_heads, bool):
            raise ConfigError(
                f"expose_prediction_heads must be true or false, got {self.expose_prediction_heads!r}"
            )


def _positive(cfg: StudentConfig, *keys: str) -> None:
    for key in keys:
        value = getattr(cfg, key)
        if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
            raise ConfigError(f"{key} must be a positive integer, got {getattr(cfg, key)}")
