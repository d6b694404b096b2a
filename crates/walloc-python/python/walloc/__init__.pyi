"""Type stubs of the walloc package (the compiled module walloc._walloc)."""

from os import PathLike
from typing import Any, Dict, List, Optional, Sequence, Tuple, Union

import numpy as np
import numpy.typing as npt

__version__: str

class CorruptFile(ValueError):
    """The bytes are not a valid walloc file: damaged, truncated, forged, or
    asking for more than the limits allow."""

class Model:
    """A walloc model: embedded (``Model.named``) or from a file (``Model.load``)."""

    @staticmethod
    def load(path: Union[str, "PathLike[str]"]) -> "Model":
        """Loads a model file (``.safetensors`` made by walloc)."""
    @staticmethod
    def named(name: str) -> "Model":
        """The embedded model called ``name`` (see ``walloc.models()``)."""
    @staticmethod
    def from_bytes(data: bytes) -> "Model":
        """A model from the bytes of a model file."""
    @property
    def name(self) -> str:
        """The model's name."""
    @property
    def id(self) -> str:
        """SHA-256 of the model file, in hex: what ``.wal`` files record."""
    @property
    def modality(self) -> str:
        """``"image"`` or ``"audio"``."""
    @property
    def architecture(self) -> str:
        """``"linear"``, ``"residual"``, ``"refine"``, ``"codec2d"`` or ``"codec1d"``."""
    @property
    def channels(self) -> int:
        """Signal channels the model codes at once."""
    @property
    def latent_dim(self) -> int:
        """Latent channels."""
    @property
    def levels(self) -> int:
        """Wavelet packet levels J."""
    @property
    def dimensionality_reduction(self) -> float:
        """Signal values per latent value."""
    @property
    def config(self) -> Dict[str, Any]:
        """The whole configuration, with provenance and measured figures."""
    def to_bytes(self) -> bytes:
        """The model file's bytes."""
    def __reduce__(self) -> Tuple[Any, Tuple[bytes]]:
        """Pickles as the model file's bytes."""

ModelLike = Union[Model, str, "PathLike[str]", None]
"""A ``Model``, an embedded model's name, a model file's path, or ``None``
for the default (``rgb-16x``/``gray-16x`` for uint8 and uint16 arrays,
``stereo-5x`` for audio)."""

def encode(
    array: npt.ArrayLike,
    model: ModelLike = None,
    *,
    sample_rate: Optional[int] = None,
    coder: str = "contextual",
    quality: Optional[float] = None,
    rdo: bool = False,
    rounding: str = "dead-zone",
    chunk_rows: int = 128,
) -> bytes:
    """Encodes an image ``(H, W[, C])`` uint8 (or uint16, coded from all 16
    bits) or audio ``(frames[, C])``
    (int16, int32, uint8, or float32 in [-1, 1]; ``sample_rate`` defaults to
    44100) into ``.wal`` bytes. ``coder``: ``"contextual"``, ``"predictive"``, ``"adaptive"``, ``"rans"``,
    ``"png"`` or ``"webp"`` (images). ``quality`` (images, audio and
    volumes): 0 (smallest file) to 100 (finest quantization); ``None`` or
    75 is the model's own step, and every 20 points halve or double it.
    ``rdo`` (an adaptive coder, 1×1 projection encoders): keep
    each latent value's rounded symbol or move it one towards zero, by its
    cost in bits and in error (smaller files, slower encoding).
    ``rounding``: ``"dead-zone"`` (values within 0.6 of
    zero become zero, and so do ±1s whose four neighbours are zero, and
    isolated pairs of ±1s: smaller files at the same speed) or ``"nearest"``
    (the reference's latents); files of either decode alike.
    ``chunk_rows`` (images): latent rows of each entropy-coded chunk, each
    of which decodes on its own (128; walloc 0.1 wrote 32, 0.2 64)."""

def encode_batch(
    arrays: Sequence[npt.ArrayLike],
    model: ModelLike = None,
    *,
    sample_rate: Optional[int] = None,
    coder: str = "contextual",
    quality: Optional[float] = None,
    rdo: bool = False,
    rounding: str = "dead-zone",
    chunk_rows: int = 128,
) -> List[bytes]:
    """``encode`` on every array, in parallel with the GIL released."""

def decode(data: bytes, model: ModelLike = None, *, tile: int = 320) -> np.ndarray:
    """Decodes ``.wal`` bytes: images ``(H, W[, C])`` uint8 (uint16 for
    16-bit images), audio
    ``(frames[, C])`` in the recording's sample type. The model is found by
    the id in the file among the embedded ones, or is ``model``. Raises
    ``CorruptFile`` for damaged bytes."""

def decode_batch(data: Sequence[bytes], model: ModelLike = None, *, tile: int = 320) -> List[np.ndarray]:
    """``decode`` on every item, in parallel with the GIL released."""

def analyze(array: npt.ArrayLike, model: ModelLike = None, *, sample_rate: Optional[int] = None) -> np.ndarray:
    """The integer latent (int8): ``(latent_dim, H/2^J, W/2^J)`` for an image,
    ``(latent_dim, positions)`` for audio (one block with the model's
    channels)."""

def analyze_batch(
    arrays: Sequence[npt.ArrayLike], model: ModelLike = None, *, sample_rate: Optional[int] = None
) -> List[np.ndarray]:
    """``analyze`` on every array, in parallel with the GIL released."""

def synthesize(latent: npt.ArrayLike, model: ModelLike, shape: Tuple[int, ...]) -> np.ndarray:
    """Decodes an integer latent (as ``analyze`` returns it) into a signal of
    ``shape``: ``(H, W)`` for images (uint8), ``(frames,)`` for audio
    (float32 at the normalized level, peak ±1)."""

def info(data: bytes) -> Dict[str, Any]:
    """What a ``.wal`` file holds, from its header: modality, model id and
    name, shape, channels, sample bits (8 or 16 for images), latent shape,
    coder, bytes, compression ratio, dimensionality reduction, bits per
    pixel or kbit/s."""

def models() -> List[Dict[str, Any]]:
    """The embedded models with their measured figures, the sample bits
    they serve (``sample_bits``: ``[8, 16]`` for image models) and their
    ``curve``: at each ``quality``, the ``rate`` in its ``unit`` (bpp,
    kbit/s or b/vox), ``psnr_db``, and for images ``ssim`` and ``ms_ssim``
    (else None); means on held-out data."""

def has_neural() -> bool:
    """Whether this build runs neural decoders."""


class Conversion:
    """A dataset being built in a folder (``walloc dataset``): planned, the
    folder claimed, the latent layout settled. Run each of ``shards()``,
    then ``finish()``; ``walloc.data.build`` does both."""

    def __init__(
        self,
        source: Union[str, "PathLike[str]"],
        model: Union[Model, str, "PathLike[str]"],
        out: Union[str, "PathLike[str]"],
        *,
        labels: Optional[Union[str, "PathLike[str]"]] = None,
        split: Optional[str] = None,
        coded: bool = False,
        shard_size: int = 4096,
        strict: bool = False,
    ) -> None: ...
    def shards(self) -> List["ShardJob"]:
        """The shard jobs, in order."""
    def finish(self, written: int = 0) -> str:
        """Writes ``manifest.json`` once every shard is written; the manifest as JSON."""

class ShardJob:
    """One Parquet shard to write; pickles, for distributed engines."""

    @staticmethod
    def from_json(text: str) -> "ShardJob": ...
    def to_json(self) -> str: ...
    @property
    def file(self) -> str:
        """``SPLIT/part-NNNNN.parquet``."""
    def __len__(self) -> int: ...
    def run(self, model: Union[Model, str, "PathLike[str]"], out: Union[str, "PathLike[str]"]) -> bool:
        """Writes the shard in ``out`` unless a finished one is there; ``True`` when written."""
