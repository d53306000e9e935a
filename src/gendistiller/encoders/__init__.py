"""The one encoder interface (:class:`Encoder`, :class:`EncoderOutput`,
:class:`FrameGeometry`) and the one resolver :func:`load_encoder`; see docs/encoders.md."""

from gendistiller.encoders.base import Encoder, EncoderOutput, fingerprint
from gendistiller.encoders.geometry import STANDARD, FrameGeometry, lengths_to_mask
from gendistiller.encoders.resolve import load_encoder
from gendistiller.encoders.spec import EMBEDDED

__all__ = [
    "EMBEDDED",
    "STANDARD",
    "Encoder",
    "EncoderOutput",
    "FrameGeometry",
    "fingerprint",
    "lengths_to_mask",
    "load_encoder",
]
