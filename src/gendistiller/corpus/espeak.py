"""eSpeak NG through ctypes, from the bundled library of the ``espeakng-loader`` wheel.

The library keeps its state in process globals, and some of that state is never reset
between utterances (the wave generator's phase and pitch-flutter position carry on from
one utterance to the next). So a waveform depends on everything the process synthesised
before it. The corpus builder therefore synthesises each speaker in a fresh process (see
:mod:`gendistiller.corpus.synth`): the same speaker plan then gives the same samples, in
any order and with any number of workers. :func:`engine` is the one engine of a process.
"""

from __future__ import annotations

import ctypes
import functools
from dataclasses import dataclass

import numpy as np

from gendistiller.errors import DataError

_SYNCHRONOUS = 2  # AUDIO_OUTPUT_SYNCHRONOUS: espeak_Synth returns when all audio is delivered
_DONT_EXIT = 0x8000  # espeakINITIALIZE_DONT_EXIT: report errors instead of calling exit()
_CHARS_UTF8 = 1
_PHONEMES_IPA = 0x02
_PHONE_SEPARATOR = "_"
# espeak_PARAMETER values
_RATE, _VOLUME, _PITCH, _RANGE = 1, 2, 3, 4

_Callback = ctypes.CFUNCTYPE(
    ctypes.c_int, ctypes.POINTER(ctypes.c_short), ctypes.c_int, ctypes.c_void_p
)


@dataclass(frozen=True)
class VoiceSettings:
    """What eSpeak is told for one utterance. ``name`` is e.g. ``"en-us+f2"``.

    rate: words per minute (80-450); pitch and pitch_range: 0-100 (eSpeak's 50 is the
    voice's own); volume: 0-200 (100 is eSpeak's default, which can reach full scale).
    """

    name: str
    rate: int = 175
    pitch: int = 50
    pitch_range: int = 50
    volume: int = 100


class Espeak:
    """The process's eSpeak NG engine. Use :func:`engine` rather than constructing it."""

    def __init__(self) -> None:
        try:
            import espeakng_loader
        except ImportError as err:
            raise DataError(
                "eSpeak NG is not available: install the Python package espeakng-loader"
            ) from err
        lib_path = espeakng_loader.get_library_path()
        try:
            lib = ctypes.CDLL(lib_path)
        except OSError as err:
            raise DataError(f"{lib_path}: cannot load the eSpeak NG library ({err})") from None
        self._lib = lib
        self._declare(lib)
        data = espeakng_loader.get_data_path().encode()
        self.sample_rate = int(lib.espeak_Initialize(_SYNCHRONOUS, 0, data, _DONT_EXIT))
        if self.sample_rate <= 0:
            raise DataError(f"{data.decode()}: eSpeak NG failed to initialise")
        self.version = (lib.espeak_Info(None) or b"?").decode()
        self._chunks: list[np.ndarray] = []
        # Keep a reference: ctypes callbacks are freed with their Python object.
        self._callback = _Callback(self._collect)
        lib.espeak_SetSynthCallback(self._callback)

    @staticmethod
    def _declare(lib: ctypes.CDLL) -> None:
        lib.espeak_Initialize.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_char_p, ctypes.c_int]
        lib.espeak_Initialize.restype = ctypes.c_int
        lib.espeak_Info.argtypes = [ctypes.c_void_p]
        lib.espeak_Info.restype = ctypes.c_char_p
        lib.espeak_SetSynthCallback.argtypes = [_Callback]
        lib.espeak_SetVoiceByName.argtypes = [ctypes.c_char_p]
        lib.espeak_SetVoiceByName.restype = ctypes.c_int
        lib.espeak_SetParameter.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_int]
        lib.espeak_SetParameter.restype = ctypes.c_int
        lib.espeak_ng_SetRandSeed.argtypes = [ctypes.c_long]
        lib.espeak_Synth.argtypes = [
            ctypes.c_char_p,
            ctypes.c_size_t,
            ctypes.c_uint,
            ctypes.c_int,
            ctypes.c_uint,
            ctypes.c_uint,
            ctypes.c_void_p,
            ctypes.c_void_p,
        ]
        lib.espeak_Synth.restype = ctypes.c_int
        lib.espeak_TextToPhonemes.argtypes = [
            ctypes.POINTER(ctypes.c_char_p),
            ctypes.c_int,
            ctypes.c_int,
        ]
        lib.espeak_TextToPhonemes.restype = ctypes.c_char_p

    def _collect(self, wav, num_samples, _events) -> int:
        if num_samples > 0:
            self._chunks.append(np.ctypeslib.as_array(wav, shape=(num_samples,)).copy())
        return 0  # 0 = carry on

    def set_voice(self, voice: VoiceSettings) -> None:
        """Select a voice and its parameters (they persist until the next call)."""
        if self._lib.espeak_SetVoiceByName(voice.name.encode()) != 0:
            raise DataError(f"eSpeak NG has no voice {voice.name!r}")
        for param, value in (
            (_RATE, voice.rate),
            (_PITCH, voice.pitch),
            (_RANGE, voice.pitch_range),
            (_VOLUME, voice.volume),
        ):
            self._lib.espeak_SetParameter(param, int(value), 0)

    def synthesize(self, text: str, seed: int = 0) -> np.ndarray:
        """int16 samples at :attr:`sample_rate` for ``text`` in the current voice."""
        self._chunks = []
        # Seeds eSpeak's own noise generator (breathy and Klatt voices use it).
        self._lib.espeak_ng_SetRandSeed(int(seed) & 0x7FFFFFFF)
        data = text.encode()
        status = self._lib.espeak_Synth(data, len(data) + 1, 0, 0, 0, _CHARS_UTF8, None, None)
        if status != 0:
            raise DataError(f"eSpeak NG failed to synthesise {text!r} (status {status})")
        if not self._chunks:
            return np.zeros(0, dtype=np.int16)
        return np.concatenate(self._chunks).astype(np.int16, copy=False)

    def phonemize(self, text: str) -> list[str]:
        """eSpeak's IPA phonemes of ``text`` in the current voice, one token per phoneme.

        Tokens keep eSpeak's stress marks and length marks (``"ˈaɪ"``, ``"ɑː"``); word
        boundaries are dropped (eSpeak joins unstressed words anyway).
        """
        mode = _PHONEMES_IPA | (ord(_PHONE_SEPARATOR) << 8)
        pointer = ctypes.c_char_p(text.encode())
        tokens: list[str] = []
        # Each call phonemises one clause and advances the pointer (NULL at the end).
        while pointer.value:
            out = self._lib.espeak_TextToPhonemes(ctypes.byref(pointer), _CHARS_UTF8, mode)
            if out:
                for word in out.decode().split():
                    tokens.extend(t for t in word.split(_PHONE_SEPARATOR) if t)
        return tokens


@functools.cache
def engine() -> Espeak:
    """The eSpeak NG engine of this process, initialised on first use."""
    return Espeak()


def engine_started() -> bool:
    """Whether this process has initialised eSpeak (a forked child would inherit its state)."""
    return engine.cache_info().currsize > 0
