"""Students: GenDistiller and the DistilHuBERT baseline, their configs and presets."""

from transformers import AutoConfig, AutoModel

from gendistiller.students.base import StudentModel, StudentOutput
from gendistiller.students.config import DistilHuBERTConfig, GenDistillerConfig, StudentConfig
from gendistiller.students.distilhubert import DistilHuBERTModel
from gendistiller.students.gendistiller import GenDistillerModel
from gendistiller.students.io import build_student, load_student, read_config
from gendistiller.students.presets import PRESETS, get_preset, make_config

# Registered so that transformers' AutoModel.from_pretrained(folder) loads a saved student
# once gendistiller is imported.
for _config, _model in (
    (GenDistillerConfig, GenDistillerModel),
    (DistilHuBERTConfig, DistilHuBERTModel),
):
    AutoConfig.register(_config.model_type, _config, exist_ok=True)
    AutoModel.register(_config, _model, exist_ok=True)

__all__ = [
    "DistilHuBERTConfig",
    "DistilHuBERTModel",
    "GenDistillerConfig",
    "GenDistillerModel",
    "PRESETS",
    "StudentConfig",
    "StudentModel",
    "StudentOutput",
    "build_student",
    "get_preset",
    "load_student",
    "make_config",
    "read_config",
]
