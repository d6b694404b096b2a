"""Datasets of latents: `walloc dataset` shards read by pyarrow alone and by
walloc.data.LatentDataset, resumption, broken files, coded datasets."""

import json
import os
import subprocess
from pathlib import Path

import numpy as np
import pytest

import walloc
import walloc.data

pq = pytest.importorskip("pyarrow.parquet")
CLI = os.environ.get("WALLOC_CLI")
needs_cli = pytest.mark.skipif(not CLI, reason="WALLOC_CLI names the walloc binary")


def save_png(path, array):
    from PIL import Image

    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(array).save(path)


def card(height, width, seed):
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:height, 0:width]
    planes = [96 + 50 * np.sin(x / (4 + c + seed)) + 30 * np.cos(y / (3 + c)) + rng.normal(0, 3, (height, width))
              for c in range(3)]
    return np.clip(np.stack(planes, -1), 0, 255).astype(np.uint8)


@pytest.fixture()
def collection(tmp_path):
    """Three classes of four 32×48 photos each, and a broken file."""
    images = {}
    for c, name in enumerate(["ant", "bee", "cow"]):
        for i in range(4):
            image = card(32, 48, c * 4 + i)
            save_png(tmp_path / "src" / name / f"{i}.png", image)
            images[f"{name}/{i}.png"] = image
    (tmp_path / "src" / "bee" / "broken.png").write_bytes(b"\x89PNG but broken")
    return tmp_path, images


def dataset(src, out, *extra):
    return subprocess.run([CLI, "dataset", "--data", str(src), "--model", "rgb-16x", "-o", str(out), *extra],
                          capture_output=True, text=True)


@needs_cli
def test_shards_read_by_pyarrow_alone_hold_the_latents_of_analyze(collection):
    root, images = collection
    run = dataset(root / "src", root / "out", "--split", "train=0.7,test=0.3", "--shard-size", "3")
    assert run.returncode == 0, run.stderr
    assert "1 skipped" in run.stdout and "bee/broken.png" in run.stderr
    manifest = json.loads((root / "out" / "manifest.json").read_text())
    assert manifest["classes"] == ["ant", "bee", "cow"]
    assert manifest["layout"] == {"fixed": [12, 4, 6]}
    assert manifest["model"]["name"] == "rgb-16x"
    seen = 0
    for split in manifest["splits"]:
        for shard in split["shards"]:
            table = pq.read_table(root / "out" / shard)
            latents = table.column("latent").combine_chunks()
            assert str(latents.type) == "fixed_size_list<item: fixed_size_list<item: fixed_size_list<item: int8>[6]>[4]>[12]"
            array = latents.flatten().flatten().flatten().to_numpy().reshape(-1, 12, 4, 6)
            for name, label, latent in zip(table.column("name").to_pylist(), table.column("label").to_pylist(), array):
                assert latent.dtype == np.int8 and latent.shape == (12, 4, 6)
                np.testing.assert_array_equal(latent, walloc.analyze(images[name], "rgb-16x"))
                assert manifest["classes"][label] == name.split("/")[0]
                seen += 1
    assert seen == 12


@needs_cli
def test_hugging_face_datasets_reads_the_shards_as_arrays(collection):
    datasets = pytest.importorskip("datasets")
    root, images = collection
    assert dataset(root / "src", root / "out", "--shard-size", "5").returncode == 0
    files = sorted(str(p) for p in (root / "out" / "train").glob("*.parquet"))
    loaded = datasets.load_dataset("parquet", data_files={"train": files}, split="train",
                                   cache_dir=str(root / "hf-cache"))
    assert len(loaded) == 12
    rows = loaded.with_format("numpy")[:]
    assert rows["latent"].shape == (12, 12, 4, 6)
    for name, latent in zip(rows["name"], rows["latent"]):
        np.testing.assert_array_equal(latent, walloc.analyze(images[str(name)], "rgb-16x"))


@needs_cli
def test_latent_dataset_gives_numpy_and_decodes(collection):
    from walloc.data import LatentDataset

    root, images = collection
    assert dataset(root / "src", root / "out").returncode == 0
    train = LatentDataset(root / "out")
    assert len(train) == 12 and train.classes == ["ant", "bee", "cow"]
    assert train.latents.shape == (12, 12, 4, 6)
    latent, label = train[5]
    name = train.names[5]
    np.testing.assert_array_equal(latent, walloc.analyze(images[name], "rgb-16x"))
    assert train.classes[label] == name.split("/")[0]
    decoded, _ = LatentDataset(root / "out", decode=True)[5]
    # A dataset holds the reference's latents: nearest rounding.
    expected = walloc.decode(walloc.encode(images[name], "rgb-16x", rounding="nearest"))
    np.testing.assert_array_equal(decoded, expected)
    with pytest.raises(ValueError, match="no split 'test'"):
        LatentDataset(root / "out", split="test")
    with pytest.raises(IndexError):
        train[12]


@needs_cli
def test_an_interrupted_conversion_resumes_and_strict_stops(collection):
    root, _ = collection
    out = root / "out"
    assert dataset(root / "src", out, "--shard-size", "4").returncode == 0
    before = pq.read_table(out / "train" / "part-00001.parquet")
    (out / "train" / "part-00001.parquet").unlink()
    run = dataset(root / "src", out, "--shard-size", "4")
    assert run.returncode == 0, run.stderr
    assert "4 files (1 written, 3 reused)" in run.stdout
    assert pq.read_table(out / "train" / "part-00001.parquet").equals(before)
    strict = dataset(root / "src", root / "strict", "--strict")
    assert strict.returncode != 0 and "bee/broken.png" in strict.stderr


@needs_cli
def test_a_coded_dataset_stores_the_files_of_encode(collection):
    from walloc.data import LatentDataset

    root, images = collection
    assert dataset(root / "src", root / "coded", "--coded").returncode == 0
    coded = LatentDataset(root / "coded", decode=True)
    name = coded.names[0]
    assert coded.wal(0) == walloc.encode(images[name], "rgb-16x")
    np.testing.assert_array_equal(coded[0][0], walloc.decode(walloc.encode(images[name], "rgb-16x")))


def shard_files(root):
    return sorted(p.relative_to(root).as_posix() for p in Path(root).rglob("*.parquet"))


def same_dataset(cli_out, python_out):
    """The same shards, byte for byte, and the same manifest."""
    assert shard_files(cli_out) == shard_files(python_out)
    for name in shard_files(cli_out):
        assert (cli_out / name).read_bytes() == (python_out / name).read_bytes(), name
    cli, python = (json.loads((d / "manifest.json").read_text()) for d in (cli_out, python_out))
    assert cli == python


@needs_cli
def test_build_in_python_writes_the_shards_of_the_cli(collection):
    root, _ = collection
    run = dataset(root / "src", root / "cli", "--split", "train=0.7,test=0.3", "--shard-size", "3")
    assert run.returncode == 0, run.stderr
    manifest = walloc.data.build(root / "src", "rgb-16x", root / "py", split="train=0.7,test=0.3", shard_size=3)
    assert [s["path"] for s in manifest["skipped"]] == ["bee/broken.png"]
    assert sum(s["rows"] for s in manifest["splits"]) == 12
    same_dataset(root / "cli", root / "py")
    # A rerun finds every shard finished and writes none.
    written = []
    walloc.data.build(root / "src", "rgb-16x", root / "py", split="train=0.7,test=0.3", shard_size=3,
                      map=lambda run, jobs: [written.append(run(job)) or written[-1] for job in jobs])
    assert written and not any(written)
    same_dataset(root / "cli", root / "py")


def test_shard_jobs_and_models_pickle(collection):
    import pickle

    root, _ = collection
    model = walloc.Model.named("rgb-16x")
    again = pickle.loads(pickle.dumps(model))
    assert again.id == model.id and again.name == "rgb-16x"
    jobs = walloc.Conversion(root / "src", model, root / "out", shard_size=5).shards()
    assert [job.file for job in jobs] == ["train/part-00000.parquet", "train/part-00001.parquet",
                                          "train/part-00002.parquet"]
    assert [len(job) for job in jobs] == [5, 5, 3]
    copy = pickle.loads(pickle.dumps(jobs[2]))
    assert copy.to_json() == jobs[2].to_json()
    with pytest.raises(ValueError, match="not a shard job"):
        walloc.ShardJob.from_json('{"file": 3}')
    with pytest.raises(ValueError, match="is for model"):
        copy.run(walloc.Model.named("gray-16x"), root / "out")
    with pytest.raises(ValueError, match="not written yet"):
        walloc.Conversion(root / "src", model, root / "out", shard_size=5).finish()
    with pytest.raises(ValueError, match="another model, source or options"):
        walloc.Conversion(root / "src", model, root / "out", shard_size=4)


@needs_cli
def test_build_on_a_dask_cluster_of_two_workers_writes_the_shards_of_the_cli(collection):
    distributed = pytest.importorskip("dask.distributed")
    root, _ = collection
    run = dataset(root / "src", root / "cli", "--split", "train=0.7,test=0.3", "--shard-size", "2")
    assert run.returncode == 0, run.stderr
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=None) as cluster, distributed.Client(cluster) as client:
        ran_on = set()

        def on_cluster(run, jobs):
            def run_and_say_where(job):
                return run(job), distributed.get_worker().address

            results = client.gather(client.map(run_and_say_where, jobs))
            ran_on.update(where for _, where in results)
            return [written for written, _ in results]

        manifest = walloc.data.build(root / "src", "rgb-16x", root / "dask", split="train=0.7,test=0.3",
                                     shard_size=2, map=on_cluster)
    assert len(ran_on) == 2, f"shards ran on {ran_on}"
    assert sum(s["rows"] for s in manifest["splits"]) == 12
    same_dataset(root / "cli", root / "dask")
