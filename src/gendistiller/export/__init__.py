"""Ship the student: transformers checkpoints (:mod:`.transformers`), ONNX (:mod:`.onnx`),
int8 (:mod:`.quantize`) and long-audio feature extraction (:mod:`.extract`,
:mod:`.features`). onnx and onnxruntime are imported only when an ONNX function runs."""

from gendistiller.export.extract import ChunkedStates, extract
from gendistiller.export.models import load_feature_model
from gendistiller.export.onnx import OnnxModel, export_onnx
from gendistiller.export.quantize import quantize_onnx
from gendistiller.export.transformers import export_transformers, to_hubert

__all__ = [
    "ChunkedStates",
    "OnnxModel",
    "export_onnx",
    "export_transformers",
    "extract",
    "load_feature_model",
    "quantize_onnx",
    "to_hubert",
]
