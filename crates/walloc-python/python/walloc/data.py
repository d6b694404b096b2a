"""Datasets of walloc latents, as ``walloc dataset`` writes them.

A dataset folder holds ``manifest.json`` and Parquet shards
``SPLIT/part-NNNNN.parquet`` with one row per item: ``name``, ``label``,
``class``, ``shape`` (the signal's), ``latent_shape`` and ``latent`` (int8,
nested fixed-size lists ``int8[K][h][w]`` when every latent has one shape,
else a flat list) or ``wal``
(the ``.wal`` bytes of a ``--coded`` dataset). Any Parquet reader opens
them; :class:`LatentDataset` gives them to numpy and torch.

>>> from walloc.data import LatentDataset
>>> train = LatentDataset("fmnist-latents", split="train")
>>> latent, label = train[0]             # (4, 7, 7) int8, 3
>>> train.latents.shape                  # every latent at once, no copy
(60000, 4, 7, 7)

Needs ``pyarrow`` (``pip install pyarrow``). With torch installed,
``LatentDataset`` is a ``torch.utils.data.Dataset``; torch is not needed
otherwise.

:func:`build` writes such a dataset from Python, the same shards as
``walloc dataset``; its ``map`` runs the shards anywhere, for example on a
Dask cluster whose workers see the source and output folders:

>>> from dask.distributed import Client
>>> client = Client("scheduler:8786")
>>> manifest = build("photos", "rgb-16x", "photos-latents", split="train=0.9,test=0.1",
...                  map=lambda run, jobs: client.gather(client.map(run, jobs)))
"""

from __future__ import annotations

import functools
import json
import os
from typing import Any, Callable, Iterable, List, Optional, Tuple

import numpy as np

from ._walloc import Conversion, Model

try:  # torch is optional: a map-style Dataset when it is there.
    from torch.utils.data import Dataset as _Base
except ImportError:  # pragma: no cover - depends on the environment
    _Base = object


def _pyarrow():
    try:
        import pyarrow.parquet as pq
    except ImportError as error:  # pragma: no cover - depends on the environment
        raise ImportError("walloc.data reads Parquet shards with pyarrow: pip install pyarrow") from error
    return pq


def _model(spec: Any) -> Any:
    """A ``walloc.Model`` for a model, an embedded model's name or a model
    file's path (a ``Model`` pickles, so it travels to workers)."""
    if isinstance(spec, Model):
        return spec
    try:
        return Model.named(os.fspath(spec))
    except LookupError:
        return Model.load(spec)


def _run(job: Any, model: Any, out: str) -> bool:
    return job.run(model, out)


def build(source: "os.PathLike[str] | str", model: Any, out: "os.PathLike[str] | str", *,
          labels: "os.PathLike[str] | str | None" = None, split: Optional[str] = None, coded: bool = False,
          shard_size: int = 4096, strict: bool = False,
          map: Callable[[Callable[[Any], bool], List[Any]], Iterable[bool]] = map) -> dict:
    """Builds the dataset of the files under ``source`` in ``out``, as
    ``walloc dataset`` does, and returns its manifest.

    ``labels`` is a CSV/JSONL of ``path,label`` (default: each file's
    folder is its class); ``split`` is ``"folders"`` or ratios like
    ``"train=0.9,test=0.1"``; ``coded`` stores ``.wal`` bytes. ``map(run,
    jobs)`` runs every shard job and returns what each run returned
    (``True`` for a shard written, ``False`` for one found finished): the
    builtin ``map`` runs them here one after another (each in parallel over
    its items), an engine's map runs them on its workers. Finished shards
    are kept: a rerun after an interruption converts only the rest.
    """
    model = _model(model)
    out = os.fspath(out)
    conversion = Conversion(source, model, out, labels=labels, split=split, coded=coded,
                            shard_size=shard_size, strict=strict)
    written = sum(bool(w) for w in map(functools.partial(_run, model=model, out=out), conversion.shards()))
    return json.loads(conversion.finish(written))


class LatentDataset(_Base):
    """The items of one split of a latent dataset.

    ``dataset[i]`` is ``(latent, label)``: the int8 latent as an array of
    its ``latent_shape`` and the class index (``-1`` when unlabelled). With
    ``decode=True`` it is ``(signal, label)`` instead, the latent decoded
    by the model that made it (an embedded model, or ``model=``), or for a
    ``--coded`` dataset the decoded ``.wal`` bytes.
    """

    def __init__(self, path: "os.PathLike[str] | str", split: str = "train", decode: bool = False,
                 model: Any = None) -> None:
        self.path = os.fspath(path)
        with open(os.path.join(self.path, "manifest.json"), encoding="utf-8") as f:
            self.manifest = json.load(f)
        if self.manifest.get("files", "parquet") != "parquet":
            raise ValueError(f"{self.path} holds latent images ({self.manifest['files']}), not Parquet shards: "
                             "read them with an image-folder loader")
        splits = {s["name"]: s for s in self.manifest["splits"]}
        if split not in splits:
            raise ValueError(f"no split {split!r} in {self.path} (it has {', '.join(splits) or 'none'})")
        self.split = split
        self.classes: List[str] = list(self.manifest["classes"])
        self.decode = decode
        self._model = model
        pq = _pyarrow()
        import pyarrow as pa

        tables = [pq.read_table(os.path.join(self.path, shard), memory_map=True)
                  for shard in splits[split]["shards"]]
        table = pa.concat_tables(tables) if tables else None
        self._table = table
        self.names: List[str] = table.column("name").to_pylist() if table is not None else []
        labels = table.column("label") if table is not None else pa.chunked_array([], pa.int32())
        self.labels = labels.fill_null(-1).to_numpy().astype(np.int64)
        self.shapes = table.column("shape").to_pylist() if table is not None else []
        self.latent_shapes = [tuple(s) for s in table.column("latent_shape").to_pylist()] if table is not None else []
        self.coded = self.manifest["content"] == "coded"
        self._latents: Optional[np.ndarray] = None
        self._flat: Optional[Tuple[np.ndarray, np.ndarray]] = None
        if not self.coded and table is not None:
            column = table.column("latent").combine_chunks()
            layout = self.manifest["layout"]
            if isinstance(layout, dict) and "fixed" in layout:
                shape = tuple(layout["fixed"])
                for _ in shape:
                    column = column.flatten()
                self._latents = column.to_numpy(zero_copy_only=False).reshape((len(self),) + shape)
            else:
                self._flat = (column.flatten().to_numpy(zero_copy_only=False),
                              column.offsets.to_numpy())

    @property
    def latents(self) -> np.ndarray:
        """Every latent as one ``(N, *latent_shape)`` int8 array (datasets
        of one latent shape only)."""
        if self._latents is None:
            raise ValueError("latents differ in shape (or the dataset is coded): index items one by one")
        return self._latents

    def __len__(self) -> int:
        return len(self.names)

    def latent(self, index: int) -> np.ndarray:
        """The int8 latent of item ``index``."""
        if self._latents is not None:
            return self._latents[index]
        if self.coded:
            raise ValueError("a coded dataset stores .wal bytes: use decode=True or wal()")
        values, offsets = self._flat
        return values[offsets[index]:offsets[index + 1]].reshape(self.latent_shapes[index])

    def wal(self, index: int) -> bytes:
        """The ``.wal`` bytes of item ``index`` (coded datasets)."""
        if not self.coded:
            raise ValueError("this dataset stores latents, not .wal bytes")
        return self._table.column("wal")[index].as_py()

    def _decoded(self, index: int) -> np.ndarray:
        from . import Model, decode, synthesize

        if self.coded:
            return decode(self.wal(index)) if self._model is None else decode(self.wal(index), self._model)
        model = self._model if self._model is not None else Model.named(self.manifest["model"]["name"])
        signal_shape = self.shapes[index][:-1]
        return synthesize(self.latent(index), model, signal_shape)

    def __getitem__(self, index: int) -> Tuple[np.ndarray, int]:
        if index < 0:
            index += len(self)
        if not 0 <= index < len(self):
            raise IndexError(f"item {index} of {len(self)}")
        item = self._decoded(index) if self.decode else self.latent(index)
        return item, int(self.labels[index])

    def __repr__(self) -> str:
        return (f"LatentDataset({self.path!r}, split={self.split!r}: {len(self)} items, "
                f"{len(self.classes)} classes, model {self.manifest['model']['name']})")
