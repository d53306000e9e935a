"""gendistiller: distil self-supervised speech models into small students.

Three lines from a saved student to hidden states::

    import gendistiller
    student = gendistiller.load_student("runs/demo/student")
    out = student(waveforms, lengths)        # out.hidden_states: list of [B, T, D]

Importing the package registers the students with transformers' ``AutoConfig`` and
``AutoModel``, so ``AutoModel.from_pretrained(folder)`` loads them too.
"""

from gendistiller.export.extract import extract
from gendistiller.loss import DistillationLoss, LossOutput
from gendistiller.students import (
    DistilHuBERTConfig,
    DistilHuBERTModel,
    GenDistillerConfig,
    GenDistillerModel,
    StudentOutput,
    build_student,
    get_preset,
    load_student,
)
from gendistiller.teachers import Teacher, TeacherOutput, load_teacher

__version__ = "0.1.0"

__all__ = [
    "DistilHuBERTConfig",
    "DistilHuBERTModel",
    "DistillationLoss",
    "GenDistillerConfig",
    "GenDistillerModel",
    "LossOutput",
    "StudentOutput",
    "Teacher",
    "TeacherOutput",
    "build_student",
    "extract",
    "get_preset",
    "load_student",
    "load_teacher",
]
