"""WaLLoC (wavelet learned lossy compression) for images and audio.

numpy arrays in, ``.wal`` bytes out, and back; the small integer latent of
an image or a recording, to train models on compressed data.

>>> import numpy as np, walloc
>>> image = np.zeros((48, 64, 3), np.uint8)
>>> data = walloc.encode(image)                 # rgb-16x
>>> walloc.decode(data).shape
(48, 64, 3)
>>> walloc.analyze(image, "rgb-16x").shape      # 16x fewer values
(12, 6, 8)

Errors: ``ValueError`` for arrays or arguments that do not fit a model,
``walloc.CorruptFile`` (a ``ValueError``) for damaged or forged bytes,
``LookupError`` for an unknown model, ``OSError`` for unreadable files.
"""

from ._walloc import (
    Conversion,
    CorruptFile,
    Model,
    ShardJob,
    __version__,
    analyze,
    analyze_batch,
    decode,
    decode_batch,
    encode,
    encode_batch,
    has_neural,
    info,
    models,
    synthesize,
)

__all__ = [
    "Conversion",
    "CorruptFile",
    "Model",
    "ShardJob",
    "__version__",
    "analyze",
    "analyze_batch",
    "decode",
    "decode_batch",
    "encode",
    "encode_batch",
    "has_neural",
    "info",
    "models",
    "synthesize",
]
