"""The one registry of student kinds: ``model_type`` -> (config class, model class).

Loading (:mod:`.io`), presets and transformers' ``AutoConfig``/``AutoModel`` all read it;
a new kind is added here, once.
"""

from __future__ import annotations

from transformers import AutoConfig, AutoModel

from gendistiller.students.base import StudentModel
from gendistiller.students.config import DistilHuBERTConfig, GenDistillerConfig, StudentConfig
from gendistiller.students.distilhubert import DistilHuBERTModel
from gendistiller.students.gendistiller import GenDistillerModel

STUDENT_KINDS: dict[str, tuple[type[StudentConfig], type[StudentModel]]] = {}


def register(config_cls: type[StudentConfig], model_cls: type[StudentModel]) -> None:
    """Add a student kind, also to transformers' auto classes, so that
    ``AutoModel.from_pretrained(folder)`` loads it once gendistiller is imported."""
    STUDENT_KINDS[config_cls.model_type] = (config_cls, model_cls)
    AutoConfig.register(config_cls.model_type, config_cls, exist_ok=True)
    AutoModel.register(config_cls, model_cls, exist_ok=True)


def model_class(config: StudentConfig) -> type[StudentModel]:
    return STUDENT_KINDS[config.model_type][1]


register(GenDistillerConfig, GenDistillerModel)
register(DistilHuBERTConfig, DistilHuBERTModel)
