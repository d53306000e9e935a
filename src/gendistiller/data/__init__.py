"""Training audio: find it (:mod:`.sources`), order it (:mod:`.sampler`), crop it
(:mod:`.dataset`) and serve it to Lightning (:mod:`.module`, imported on demand)."""

from gendistiller.data.config import DataConfig
from gendistiller.data.dataset import CropDataset, collate
from gendistiller.data.sampler import CropRequest, ResumableBatchSampler
from gendistiller.data.sources import AudioEntry, ScanReport, read_audio_list, scan_source

__all__ = [
    "AudioEntry",
    "CropDataset",
    "CropRequest",
    "DataConfig",
    "ResumableBatchSampler",
    "ScanReport",
    "collate",
    "read_audio_list",
    "scan_source",
]
