"""gendistiller: distil self-supervised speech models into small students.

Three lines from a saved student to hidden states::

    import gendistiller
    student = gendistiller.load_student("runs/demo/student")
    out = student(waveforms, lengths)        # out.hidden_states: list of [B, T, D]

Any model, by one spec grammar (docs/encoders.md): ``gendistiller.load_encoder(spec)``
takes a hub id, a folder, a run folder, a preset, ``embedded``, ``random:TYPE`` or ``.onnx``.

Importing the package registers the students with transformers' ``AutoConfig`` and
``AutoModel``, so ``AutoModel.from_pretrained(folder)`` loads them too.
"""

from gendistiller.encoders import Encoder, EncoderOutput, FrameGeometry, load_encoder
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
    "Encoder",
    "EncoderOutput",
    "FrameGeometry",
    "GenDistillerConfig",
    "GenDistillerModel",
    "LossOutput",
    "StudentOutput",
    "Teacher",
    "TeacherOutput",
    "build_student",
    "extract",
    "get_preset",
    "load_encoder",
    "load_student",
    "load_teacher",
]
