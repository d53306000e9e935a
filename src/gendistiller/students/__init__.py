"""Students: GenDistiller and the DistilHuBERT baseline, their configs and presets."""

from gendistiller.students.base import StudentModel, StudentOutput
from gendistiller.students.config import DistilHuBERTConfig, GenDistillerConfig, StudentConfig
from gendistiller.students.distilhubert import DistilHuBERTModel
from gendistiller.students.gendistiller import GenDistillerModel
from gendistiller.students.io import build_student, load_student, read_config
from gendistiller.students.presets import PRESETS, get_preset, make_config
from gendistiller.students.registry import STUDENT_KINDS

__all__ = [
    "DistilHuBERTConfig",
    "DistilHuBERTModel",
    "GenDistillerConfig",
    "GenDistillerModel",
    "PRESETS",
    "STUDENT_KINDS",
    "StudentConfig",
    "StudentModel",
    "StudentOutput",
    "build_student",
    "get_preset",
    "load_student",
    "make_config",
    "read_config",
]
