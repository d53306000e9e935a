"""The students ``gendistiller reproduce`` trains (:data:`VARIANTS`): the paper's
comparison, its ablations, the fast students and our variants beyond the paper.

Every variant is one preset plus a few student (and, for a loss or stage switch, loss or
front-end stage) settings; everything else (teacher, data, optimiser) is the same for
all, so differences come from the variant alone. A variant's ``budget`` sets its steps
and seeds at a scale (:mod:`gendistiller.reproduce.plan`): ``full`` (the headline pair,
GenDistiller and the DistilHuBERT baseline, and the variants compared with them) trains
``Scale.steps`` with every seed, ``short`` (the ablations) ``Scale.ablation_steps`` with
``Scale.ablation_seeds``, and ``brief`` (the task check's briefly distilled student)
``Scale.brief_steps`` with the first seed. Both presets are scaled to the teacher by one
rule (``student.scale_to_teacher``: the teacher's width, heads, FFN and conv encoder;
targets at 1/3, 2/3, 3/3 of its depth), which keeps the paper's proportions
(GenDistiller ~0.6x the baseline with its heads).
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import ConfigDict

from gendistiller.config import ConfigModel, Field
from gendistiller.training.config import StudentSection

BASELINE = "distilhubert"
DEFAULT = "gendistiller"


FULL, SHORT, BRIEF_BUDGET = "full", "short", "brief"
PAPER, FAST_GROUP, BEYOND = "paper", "fast", "beyond"
BRIEF = "gendistiller-brief"
FAST = "gendistiller-fast"
FAST_STAGED = "gendistiller-fast-staged"
# the headline pair again at the ablations' budget: what each ablation is compared with
SHORT_DEFAULT, SHORT_BASELINE = "gendistiller-short", "distilhubert-short"
# beyond the paper: the ideas that helped, combined, at the headline budget
PLUS = "gendistiller-plus"
# what the students expose downstream (docs/method.md, "Hidden states exposed downstream")
EXPOSED, BASELINE_HEADS = "gendistiller-exposed", "distilhubert-heads"


class Variant(ConfigModel):
    model_config = ConfigDict(frozen=True)

    name: str
    preset: str
    description: str
    student: dict[str, Any] = Field(default_factory=dict, description="student config overrides")
    loss: dict[str, Any] = Field(default_factory=dict, description="loss config overrides")
    frontend_stage: dict[str, Any] = Field(
        default_factory=dict, description="frontend_stage config overrides (off by default)"
    )
    init_from_teacher: bool = True
    budget: Literal["full", "short", "brief"] = SHORT
    group: Literal["paper", "fast", "beyond"] = PAPER  # the question it answers (GROUPS)

    def section(self) -> StudentSection:
        """This variant's ``student`` section, scaled to the teacher."""
        return StudentSection(preset=self.preset, overrides=dict(self.student),
                              init_from_teacher=self.init_from_teacher, scale_to_teacher=True)  # fmt: skip


_GEN = "gendistiller-base"
_TF = {"teacher_forcing_ratio": 0.5}  # the GenDistiller recipes' setting (method.md §5)
_SCHEDULED = {"teacher_forcing_schedule": "linear", "teacher_forcing_final_ratio": 0.0}
# rank D/8 at the embedded teacher's D = 256: +2.9% parameters (64 would be +5.8%)
_ADAPTERS = {"output_adapter_rank": 32}

VARIANTS: tuple[Variant, ...] = (
    Variant(name=BASELINE, preset="distilhubert-base", description="DistilHuBERT baseline: 2 layers + parallel heads", budget=FULL),
    Variant(name=DEFAULT, preset=_GEN, description="GenDistiller v2: previous layer as history", student=_TF, budget=FULL),
    Variant(name=SHORT_DEFAULT, preset=_GEN, description="GenDistiller at the ablations' budget: what its ablations are compared with", student=_TF),
    Variant(name=SHORT_BASELINE, preset="distilhubert-base", description="the baseline at the ablations' budget: what its ablation is compared with"),
    Variant(name="gendistiller-v1", preset=_GEN, description="v1: all earlier layers as history", student={**_TF, "history": "all"}),
    Variant(name="no-skip", preset=_GEN, description="GenDistiller without the skip connection", student={**_TF, "skip_connection": False}),
    Variant(name="no-outproj", preset=_GEN, description="GenDistiller without the output projection", student={**_TF, "output_projection": False}),
    Variant(name="teacher-forced", preset=_GEN, description="trained with teacher forcing only (ratio 1)", student={"teacher_forcing_ratio": 1.0}),
    Variant(name="free-running", preset=_GEN, description="trained free running only (ratio 0)", student={"teacher_forcing_ratio": 0.0}),
    Variant(name="per-step-weights", preset=_GEN, description="one block per generation step instead of one shared", student={**_TF, "shared_weights": False}),
    Variant(name="gendistiller-random-init", preset=_GEN, description="GenDistiller from random weights", student=_TF, init_from_teacher=False),
    Variant(name="distilhubert-random-init", preset="distilhubert-base", description="DistilHuBERT from random weights", init_from_teacher=False),
    Variant(name=FAST, preset="gendistiller-fast", description="GenDistiller on the light log-mel front-end (docs/method.md, fast students)", student=_TF, budget=FULL, group=FAST_GROUP),
    Variant(name="distilhubert-fast", preset="distilhubert-fast", description="DistilHuBERT on the same light front-end", budget=FULL, group=FAST_GROUP),
    Variant(name=FAST_STAGED, preset="gendistiller-fast", description="the fast GenDistiller after a front-end stage (300 steps: its front-end learns the teacher's layer 0)", student=_TF, frontend_stage={"steps": 300}, budget=FULL, group=FAST_GROUP),
    # beyond the paper (docs/method.md): each switch alone on the default, against it
    Variant(name="step-conditioned", preset=_GEN, description="a learned step embedding tells the shared block which layer it generates", student={**_TF, "step_embedding": True}, group=BEYOND),
    Variant(name="per-step-outproj", preset=_GEN, description="one output projection per step, the block shared", student={**_TF, "per_step_output_projection": True}, group=BEYOND),
    Variant(name="scheduled-sampling", preset=_GEN, description="teacher forcing decays linearly from 0.5 to 0 over the run", student={**_TF, **_SCHEDULED}, group=BEYOND),
    Variant(name="depth-weighted", preset=_GEN, description="later target layers weigh more in the loss (proportional to depth)", student=_TF, loss={"depth_weight_exponent": 1.0}, group=BEYOND),
    Variant(name="noisy-teacher-forcing", preset=_GEN, description="noise (0.3 x RMS) on the teacher-forced history", student={**_TF, "teacher_forcing_noise": 0.3}, group=BEYOND),
    Variant(name="output-adapters", preset=_GEN, description="a low-rank (32) correction per step to the shared output projection", student={**_TF, **_ADAPTERS}, group=BEYOND),
    # the ideas that helped, combined, trained like the headline pair and judged against it
    Variant(name=PLUS, preset=_GEN, description="GenDistiller+: scheduled sampling (0.5 to 0) and output adapters (rank 32)", student={**_TF, **_SCHEDULED, **_ADAPTERS}, budget=FULL, group=BEYOND),
    # the same training as the headline pair, other states exposed downstream
    Variant(name=EXPOSED, preset=_GEN, description="GenDistiller exposing each step's block output (before OutProj and the skip) too", student={**_TF, "expose_block_outputs": True}, budget=FULL, group=BEYOND),
    Variant(name=BASELINE_HEADS, preset="distilhubert-base", description="the baseline exposing its heads' predictions too, as s3prl's distiller upstream does", student={"expose_prediction_heads": True}, budget=FULL, group=BEYOND),
    Variant(name=BRIEF, preset=_GEN, description="GenDistiller distilled briefly: what a task gives a student near its initialisation", student=_TF, budget=BRIEF_BUDGET),
)  # fmt: skip
VARIANT_NAMES = tuple(v.name for v in VARIANTS)

# ``--variants`` also takes a group: its variants and the ones they are compared with, so
# that a group alone decides its own claims (the fast students against the paper's pair;
# the switches against gendistiller-short, gendistiller-plus against the pair)
_COMPARED_WITH = {PAPER: (), FAST_GROUP: (BASELINE, DEFAULT),
                  BEYOND: (BASELINE, DEFAULT, SHORT_DEFAULT)}  # fmt: skip
GROUPS: dict[str, tuple[str, ...]] = {
    g: tuple(v.name for v in VARIANTS if v.group == g or v.name in needs)
    for g, needs in _COMPARED_WITH.items()
}
