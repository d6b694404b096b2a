"""The walloc Python package: round trips, the CLI's bytes, hostile bytes,
batches, latents. Run with pytest after `pip install ./crates/walloc-python`."""

import os
import random
import struct
import subprocess
from pathlib import Path

import numpy as np
import pytest

import walloc

ROOT = Path(__file__).resolve().parents[3]
RELEASE = ROOT / "tests" / "fixtures" / "release-0.1"


def png(path):
    from PIL import Image

    image = Image.open(path)
    return np.asarray(image.convert("RGB" if image.mode not in ("L", "I;16") else "L"))


def wav(path):
    """16-bit PCM WAV (plain or WAVE_FORMAT_EXTENSIBLE, which the stdlib
    `wave` refuses) as (frames, channels) int16 and the sample rate."""
    data = Path(path).read_bytes()
    assert data[:4] == b"RIFF" and data[8:12] == b"WAVE"
    at, chunks = 12, {}
    while at + 8 <= len(data):
        name, size = data[at:at + 4], struct.unpack_from("<I", data, at + 4)[0]
        chunks[name] = data[at + 8:at + 8 + size]
        at += 8 + size + (size & 1)
    _, channels, rate, _, _, bits = struct.unpack_from("<HHIIHH", chunks[b"fmt "])
    assert bits == 16
    return np.frombuffer(chunks[b"data"], dtype="<i2").reshape(-1, channels).astype(np.int16), rate


def psnr(a, b, peak=255.0):
    error = np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2)
    return 10 * np.log10(peak**2 / error)


def smooth_image(height, width, channels=3, seed=0):
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:height, 0:width]
    planes = [
        128 + 60 * np.sin(x / (7 + 3 * c)) * np.cos(y / (5 + 2 * c)) + rng.normal(0, 4, (height, width))
        for c in range(channels)
    ]
    image = np.clip(np.stack(planes, axis=-1), 0, 255).astype(np.uint8)
    return image if channels > 1 else image[..., 0]


def test_models_lists_the_embedded_models_with_figures():
    models = {m["name"]: m for m in walloc.models()}
    assert {"rgb-16x", "gray-16x", "stereo-5x"} <= set(models)
    rgb = models["rgb-16x"]
    curve = rgb["curve"]
    assert len(curve) >= 6 and curve[0]["quality"] == 100
    assert all(a["rate"] > b["rate"] and a["psnr_db"] > b["psnr_db"] for a, b in zip(curve, curve[1:]))
    assert curve[0]["unit"] == "bpp" and curve[0]["ms_ssim"] > 0.9
    stereo = models["stereo-20x"]["curve"]
    assert len(stereo) >= 6 and stereo[0]["unit"] == "kbit/s" and stereo[0]["ssim"] is None
    assert models["volume-16x"]["curve"][0]["unit"] == "b/vox"
    assert (rgb["modality"], rgb["architecture"], rgb["latent_dim"]) == ("image", "linear", 12)
    assert rgb["dimensionality_reduction"] == pytest.approx(16.0)
    assert rgb["figures"]["psnr_db"] > 20
    model = walloc.Model.named("rgb-16x")
    assert model.id == rgb["id"] and len(model.id) == 64
    assert model.config["name"] == "rgb-16x"
    with pytest.raises(LookupError, match="rgb-16x"):
        walloc.Model.named("no-such-model")


def test_an_rgb_photo_round_trips():
    image = png(RELEASE / "rgb.png")
    assert image.shape == (53, 77, 3)
    data = walloc.encode(image)
    back = walloc.decode(data)
    assert back.shape == image.shape and back.dtype == np.uint8
    assert psnr(image, back) > 22
    info = walloc.info(data)
    assert info["model_name"] == "rgb-16x"
    assert info["shape"] == [53, 77] and info["channels"] == 3
    assert info["latent_shape"] == [7, 10]
    assert info["compression_ratio"] == pytest.approx(image.size / len(data))


def test_the_dead_zone_is_the_default_rounding():
    image = png(RELEASE / "rgb.png")
    dead, nearest = walloc.encode(image), walloc.encode(image, rounding="nearest")
    assert walloc.encode(image, rounding="dead-zone") == dead
    assert len(dead) < len(nearest)
    # Both are ordinary files, decoded alike; the dead zone trades a little
    # quality for its bytes (1.0 dB here for 180 bytes against 216, on a
    # picture of 53 × 77 pixels).
    dead_psnr, nearest_psnr = psnr(image, walloc.decode(dead)), psnr(image, walloc.decode(nearest))
    assert nearest_psnr - 1.5 < dead_psnr < nearest_psnr


def test_gray_images_are_two_dimensional():
    image = smooth_image(40, 56, channels=1)
    data = walloc.encode(image)
    assert walloc.info(data)["model_name"] == "gray-16x"
    back = walloc.decode(data)
    assert back.shape == (40, 56) and psnr(image, back) > 25
    # A trailing channel axis of one is the same image.
    assert walloc.encode(image[..., None]) == data


@pytest.mark.parametrize(
    "stem, source, model, coder",
    [
        ("rgb-16x", "rgb.png", "rgb-16x", "rans"),
        ("rgb-16x-png", "rgb.png", "rgb-16x", "png"),
        ("gray-16x", "gray.png", "gray-16x", "rans"),
        ("rgb-4x-neural", "rgb.png", "rgb-4x-neural", "rans"),
        ("stereo-5x", "stereo.wav", "stereo-5x", "rans"),
        ("stereo-20x-neural", "stereo.wav", "stereo-20x-neural", "rans"),
        ("three-stereo-5x", "three.wav", "stereo-5x", "rans"),
    ],
)
def test_the_same_bytes_and_samples_as_the_cli(stem, source, model, coder):
    """tests/fixtures/release-0.1 holds what the CLI wrote for these inputs."""
    if source.endswith(".png"):
        signal, rate = png(RELEASE / source), None
        expected = png(RELEASE / f"{stem}.decoded.png")
    else:
        signal, rate = wav(RELEASE / source)
        expected, _ = wav(RELEASE / f"{stem}.decoded.wav")
        expected = expected[:, 0] if expected.shape[1] == 1 else expected
    if model.endswith("neural") and not walloc.has_neural():
        pytest.skip("a sensor build has no neural decoders")
    # 0.1 rounded to the nearest integer and wrote chunks of 32 latent rows;
    # the defaults are now the dead zone and 64.
    data = walloc.encode(signal, model, sample_rate=rate, coder=coder, rounding="nearest", chunk_rows=32)
    assert data == (RELEASE / f"{stem}.wal").read_bytes()
    np.testing.assert_array_equal(walloc.decode(data), expected)


def cli():
    """The walloc binary: $WALLOC_CLI, or the workspace's build."""
    for candidate in [os.environ.get("WALLOC_CLI"), ROOT / "target/release/walloc", ROOT / "target/debug/walloc"]:
        if candidate and Path(candidate).is_file():
            return str(candidate)
    return None


@pytest.mark.skipif(cli() is None, reason="no walloc binary built (set WALLOC_CLI)")
def test_a_fresh_image_gives_the_cli_bytes(tmp_path):
    from PIL import Image

    image = smooth_image(70, 90, seed=3)
    Image.fromarray(image).save(tmp_path / "in.png")
    for model in ["rgb-16x", "rgb-4x"]:
        subprocess.run([cli(), "encode", str(tmp_path / "in.png"), "-o", str(tmp_path / "out.wal"), "--model", model],
                       check=True, capture_output=True)
        assert walloc.encode(image, model) == (tmp_path / "out.wal").read_bytes()


def test_sixteen_bit_images_come_back_at_sixteen_bits():
    y, x = np.mgrid[0:40, 0:56]
    image = (20000 + 300 * x + 170 * y + 41 * ((3 * x + y) % 7)).astype(np.uint16)
    data = walloc.encode(image)
    info = walloc.info(data)
    assert (info["model_name"], info["sample_bits"], info["shape"]) == ("gray-16x", 16, [40, 56])
    back = walloc.decode(data)
    assert back.dtype == np.uint16 and back.shape == image.shape
    assert psnr(image, back, peak=65535.0) > 29
    assert np.count_nonzero(back % 257) > back.size // 2, "8-bit levels scaled up"
    # The latent is the 8-bit picture's, to within rounding.
    eight = np.round(image / 257.0).astype(np.uint8)
    moved = np.count_nonzero(walloc.analyze(image) != walloc.analyze(eight))
    assert moved * 50 < walloc.analyze(image).size


@pytest.mark.skipif(cli() is None, reason="no walloc binary built (set WALLOC_CLI)")
def test_a_sixteen_bit_png_gives_the_cli_bytes_and_samples(tmp_path):
    from PIL import Image

    y, x = np.mgrid[0:36, 0:50]
    image = (1000 + 900 * x + 400 * y).astype(np.uint16)
    Image.fromarray(image).save(tmp_path / "in.png")
    assert np.array_equal(np.asarray(Image.open(tmp_path / "in.png")), image)
    subprocess.run([cli(), "encode", str(tmp_path / "in.png"), "-o", str(tmp_path / "out.wal")],
                   check=True, capture_output=True)
    data = (tmp_path / "out.wal").read_bytes()
    assert walloc.encode(image) == data
    subprocess.run([cli(), "decode", str(tmp_path / "out.wal"), "-o", str(tmp_path / "back.png")],
                   check=True, capture_output=True)
    back = np.asarray(Image.open(tmp_path / "back.png")).astype(np.uint16)
    np.testing.assert_array_equal(back, walloc.decode(data))


def test_audio_round_trips_in_its_sample_type():
    samples, rate = wav(RELEASE / "stereo.wav")
    data = walloc.encode(samples, "stereo-5x", sample_rate=rate)
    info = walloc.info(data)
    assert (info["modality"], info["sample_rate"], info["channels"], info["shape"]) == (
        "audio", rate, 2, [samples.shape[0]])
    back = walloc.decode(data)
    assert back.dtype == np.int16 and back.shape == samples.shape
    signal = samples.astype(np.float64)
    snr = 10 * np.log10(np.sum(signal**2) / np.sum((signal - back) ** 2))
    assert snr > 10

    mono = np.sin(np.arange(30_000, dtype=np.float32) * 0.05) * 0.5
    back = walloc.decode(walloc.encode(mono, sample_rate=16_000))
    assert back.dtype == np.float32 and back.shape == mono.shape
    assert walloc.info(walloc.encode(mono, sample_rate=16_000))["sample_rate"] == 16_000
    assert np.max(np.abs(back - mono)) < 0.2


def test_the_latent_is_small_and_synthesizes_what_decode_gives():
    image = smooth_image(64, 48)
    latent = walloc.analyze(image, "rgb-16x")
    assert latent.shape == (12, 8, 6) and latent.dtype == np.int8
    assert latent.size * 16 == image.size
    assert np.abs(latent).max() > 0
    back = walloc.synthesize(latent, "rgb-16x", (64, 48))
    # analyze gives the reference's latent: nearest rounding.
    np.testing.assert_array_equal(back, walloc.decode(walloc.encode(image, "rgb-16x", rounding="nearest")))
    # Any integer dtype with values in range is taken.
    np.testing.assert_array_equal(walloc.synthesize(latent.astype(np.int64), "rgb-16x", (64, 48)), back)
    with pytest.raises(ValueError, match="outside"):
        walloc.synthesize(latent.astype(np.int32) * 300, "rgb-16x", (64, 48))
    with pytest.raises(ValueError, match="shape"):
        walloc.synthesize(latent[:4], "rgb-16x", (64, 48))

    samples, rate = wav(RELEASE / "stereo.wav")
    audio = walloc.analyze(samples, "stereo-5x", sample_rate=rate)
    assert audio.dtype == np.int8 and audio.shape[0] == 108
    assert walloc.synthesize(audio, "stereo-5x", (samples.shape[0],)).shape == samples.shape


def test_batches_equal_single_calls():
    images = [smooth_image(40 + 8 * i, 50, seed=i) for i in range(5)]
    files = walloc.encode_batch(images, "rgb-16x")
    assert files == [walloc.encode(image, "rgb-16x") for image in images]
    decoded = walloc.decode_batch(files)
    for one, file in zip(decoded, files):
        np.testing.assert_array_equal(one, walloc.decode(file))
    latents = walloc.analyze_batch(images, "rgb-16x")
    for latent, image in zip(latents, images):
        np.testing.assert_array_equal(latent, walloc.analyze(image, "rgb-16x"))
    assert walloc.encode_batch([]) == []
    with pytest.raises(walloc.CorruptFile, match="item 1"):
        walloc.decode_batch([files[0], b"WALC" + bytes(100)])
    with pytest.raises(ValueError, match="item 2"):
        walloc.encode_batch([images[0], images[1], images[2][..., :2]], "rgb-16x")


def test_hostile_bytes_raise_corrupt_file():
    data = walloc.encode(smooth_image(40, 40))
    rng = random.Random(7)
    bad = [b"", b"WALC", b"not a walloc file at all", bytes(200), data[:-1], data[:50], data + b"\0"]
    for _ in range(60):
        damaged = bytearray(data)
        damaged[rng.randrange(len(damaged))] ^= 1 << rng.randrange(8)
        bad.append(bytes(damaged))
    bad += [bytes(rng.randrange(256) for _ in range(rng.randrange(1, 400))) for _ in range(40)]
    for item in bad:
        with pytest.raises(walloc.CorruptFile):
            walloc.decode(item)
        with pytest.raises(walloc.CorruptFile):
            walloc.info(item)
    assert issubclass(walloc.CorruptFile, ValueError)


def test_arrays_that_do_not_fit_raise_value_error():
    image = smooth_image(32, 32)
    cases = [
        (image.astype(np.float64), "float64"),
        (image[..., :2], "3-channel"),
        (image[None], "shape"),
        (np.zeros((0, 5, 3), np.uint8), "length 0"),
        (np.zeros((4, 4, 70), np.uint8), "channels"),
    ]
    for array, message in cases:
        with pytest.raises(ValueError, match=message):
            walloc.encode(array, "rgb-16x")
    with pytest.raises(ValueError, match="8- or 16-bit images"):
        walloc.encode(image.astype(np.int16), "rgb-16x")
    with pytest.raises(ValueError, match="sample rate"):
        walloc.encode(np.zeros(100, np.float32), "stereo-5x", sample_rate=0)
    with pytest.raises(ValueError, match="coder"):
        walloc.encode(image, coder="zip")
    with pytest.raises(ValueError, match="chunk_rows"):
        walloc.encode(image, chunk_rows=0)
    with pytest.raises(ValueError, match="rounding"):
        walloc.encode(image, rounding="floor")
    with pytest.raises(LookupError):
        walloc.encode(image, "no-such-model")
    # Non-contiguous views are read in logical order.
    strided = np.ascontiguousarray(np.concatenate([image, image], axis=1))[:, ::2]
    assert walloc.encode(strided) == walloc.encode(np.ascontiguousarray(strided))


def test_model_files_load_and_the_wrong_model_is_named(tmp_path):
    path = ROOT / "models" / "rgb-16x.safetensors"
    model = walloc.Model.load(path)
    assert model.name == "rgb-16x" and model.modality == "image"
    image = smooth_image(24, 40)
    data = walloc.encode(image, model)
    np.testing.assert_array_equal(walloc.decode(data, model), walloc.decode(data))
    with pytest.raises(ValueError, match="needs model"):
        walloc.decode(data, walloc.Model.named("rgb-4x"))
    (tmp_path / "broken.safetensors").write_bytes(path.read_bytes()[:1000])
    with pytest.raises(ValueError, match="model"):
        walloc.Model.load(tmp_path / "broken.safetensors")
    with pytest.raises(OSError):
        walloc.Model.load(tmp_path / "missing.safetensors")


def ct_phantom(depth, height, width, seed=0.0):
    """A smooth, asymmetric CT-like field in HU (a flipped decode is far off)."""
    z, y, x = np.mgrid[0:depth, 0:height, 0:width].astype(np.float64)
    blob = (x - 0.3 * width) ** 2 + (y - 0.6 * height) ** 2 + (z - 0.4 * depth) ** 2
    field = (300 * np.sin(0.21 * x + 0.13 * y + seed) * np.cos(0.17 * z) + 600 * np.exp(-blob / 72)
             + 8 * x - 5 * y + 30 * np.sin(0.9 * x) * np.sin(0.7 * z))
    return field.astype(np.int16)


def span(volume):
    return float(volume.max()) - float(volume.min())


def test_volumes_round_trip_in_their_type():
    model = walloc.Model.named("volume-16x")
    volume = ct_phantom(21, 30, 34)
    data = walloc.encode(volume, model)
    info = walloc.info(data)
    assert (info["modality"], info["shape"], info["sample_bits"]) == ("volume", [21, 30, 34], 16)
    back = walloc.decode(data)
    assert back.dtype == np.int16 and back.shape == volume.shape
    assert psnr(volume, back, peak=span(volume)) > 28
    latent = walloc.analyze(volume, model)
    assert latent.dtype == np.int8 and latent.shape == (4, 6, 8, 9)
    again = walloc.synthesize(latent, model, volume.shape)
    assert again.dtype == np.float32 and again.shape == volume.shape
    # Float volumes and a channel axis of one are volumes too; a 2-D array is not.
    floats = walloc.decode(walloc.encode(volume.astype(np.float32) / 1000, model))
    assert floats.dtype == np.float32
    with pytest.raises(ValueError, match="a volume is"):
        walloc.encode(volume[0], model)


@pytest.mark.skipif(cli() is None, reason="no walloc binary built (set WALLOC_CLI)")
def test_a_nifti_scan_lines_up_after_the_cli(tmp_path):
    nib = pytest.importorskip("nibabel")
    volume = ct_phantom(20, 26, 31, seed=2.0)
    affine = np.array([[-0.8, 0, 0, 90.5], [0, 0.8, 0, -120.0], [0, 0, 1.5, -60.25], [0, 0, 0, 1]])
    image = nib.Nifti1Image(volume.transpose(2, 1, 0), affine)  # x fastest: (W, H, D)
    image.header.set_xyzt_units("mm", "sec")
    nib.save(image, tmp_path / "scan.nii.gz")
    subprocess.run([cli(), "encode", str(tmp_path / "scan.nii.gz"), "-o", str(tmp_path / "scan.wal")],
                   check=True, capture_output=True)
    subprocess.run([cli(), "decode", str(tmp_path / "scan.wal"), "-o", str(tmp_path / "back.nii.gz")],
                   check=True, capture_output=True)
    back = nib.load(tmp_path / "back.nii.gz")
    assert back.shape == image.shape and back.get_data_dtype() == np.int16
    np.testing.assert_allclose(back.affine, image.affine, atol=1e-5)
    assert back.header.get_zooms() == image.header.get_zooms()
    assert back.header.get_xyzt_units() == ("mm", "sec")
    decoded = np.asarray(back.dataobj).transpose(2, 1, 0)
    assert psnr(volume, decoded, peak=span(volume)) > 28
    # The Python API decodes the same samples.
    np.testing.assert_array_equal(walloc.decode((tmp_path / "scan.wal").read_bytes()), decoded)


def spectral_scene(height, width, bands, seed=0.0):
    """A generated cube (no packaged cube has many bands): fields and a
    river under smooth spectra, (height, width, bands) int16."""
    y, x, b = np.meshgrid(np.arange(height), np.arange(width), np.arange(bands), indexing="ij")
    field = (np.sin(x / 9.0 + seed) * np.cos(y / 7.0) + 1.0) * 900.0
    river = np.exp(-((y - 0.4 * x - 10.0) ** 2) / 20.0) * 1500.0
    spectrum = 1.0 + 0.6 * np.sin(b / 11.0) + 0.02 * b
    return (300.0 + field * spectrum + river * (1.5 - b / bands)).round().astype(np.int16)


@pytest.mark.skipif(cli() is None, reason="no walloc binary built (set WALLOC_CLI)")
def test_a_planar_geotiff_cube_round_trips_through_the_cli(tmp_path):
    tifffile = pytest.importorskip("tifffile")
    cube = spectral_scene(41, 37, 30, seed=1.0)
    geo = [(33550, "d", 3, (30.0, 30.0, 0.0), False),
           (33922, "d", 6, (0.0, 0.0, 0.0, 500000.0, 4100000.0, 0.0), False),
           (34735, "H", 16, (1, 1, 0, 3, 1024, 0, 1, 1, 1025, 0, 1, 1, 3072, 0, 1, 32633), False)]
    # Band-sequential (planar), as many hyperspectral writers store cubes.
    tifffile.imwrite(tmp_path / "cube.tif", cube.transpose(2, 0, 1), photometric="minisblack",
                     planarconfig="separate", extratags=geo)
    subprocess.run([cli(), "encode", str(tmp_path / "cube.tif"), "-o", str(tmp_path / "cube.wal")],
                   check=True, capture_output=True)
    info = subprocess.run([cli(), "info", str(tmp_path / "cube.wal")], check=True, capture_output=True, text=True)
    assert "30×41×37" in info.stdout  # 30 bands as depth
    subprocess.run([cli(), "decode", str(tmp_path / "cube.wal"), "-o", str(tmp_path / "back.tif")],
                   check=True, capture_output=True)
    with tifffile.TiffFile(tmp_path / "back.tif") as back:
        page = back.pages[0]
        decoded = page.asarray()
        assert decoded.shape == (41, 37, 30) and decoded.dtype == np.int16
        assert page.geotiff_tags["ModelPixelScale"] == [30.0, 30.0, 0.0]
        assert page.geotiff_tags["ModelTiepoint"] == [0.0, 0.0, 0.0, 500000.0, 4100000.0, 0.0]
        assert page.geotiff_tags["ProjectedCSTypeGeoKey"] == 32633
    quality = psnr(cube, decoded, peak=float(cube.max() - cube.min()))
    assert quality > 29
    # Band order kept: reversed bands would be far off.
    assert psnr(cube, decoded[:, :, ::-1], peak=float(cube.max() - cube.min())) < quality - 6


@pytest.mark.skipif(cli() is None, reason="no walloc binary built (set WALLOC_CLI)")
def test_a_six_band_cube_codes_with_its_bands_as_channels_as_the_cli_does(tmp_path):
    tifffile = pytest.importorskip("tifffile")
    cube = spectral_scene(48, 40, 6).astype(np.uint16)
    tifffile.imwrite(tmp_path / "scene.tif", cube, photometric="minisblack", planarconfig="contig")
    subprocess.run([cli(), "encode", str(tmp_path / "scene.tif"), "-o", str(tmp_path / "scene.wal")],
                   check=True, capture_output=True)
    # One slice of six channels: what the CLI makes of a 6-band TIFF with
    # the shipped landsat-16x (no tags here, so the same bytes).
    volume = cube[None]
    data = walloc.encode(volume, "landsat-16x")
    assert data == (tmp_path / "scene.wal").read_bytes()
    back = walloc.decode(data)
    assert back.shape == volume.shape and back.dtype == np.uint16
    # A generated scene, not a Landsat one: the model's band basis fits it
    # less well (about 23 dB).
    assert psnr(volume, back, peak=float(cube.max() - cube.min())) > 20
    # The latent: 6 channels of one slice at a quarter of the sides.
    assert walloc.analyze(volume, "landsat-16x").shape == (6, 1, 12, 10)


def test_quality_trades_bytes_for_detail():
    image = smooth_image(96, 128)
    files = [walloc.encode(image, "rgb-16x", quality=q) for q in (20, 75, 95)]
    sizes = [len(f) for f in files]
    assert sizes[0] < sizes[1] < sizes[2], sizes
    errors = [psnr(image, walloc.decode(f)) for f in files]
    assert errors[0] < errors[1] < errors[2], errors
    assert [walloc.info(f)["quality"] for f in files] == [20.0, 75.0, 95.0]
    assert walloc.info(files[1])["coder"] == "contextual"
    # The default is the model's own step; the batch API takes the knob too.
    assert walloc.encode(image, "rgb-16x") == files[1]
    assert walloc.encode_batch([image], "rgb-16x", quality=20) == [files[0]]
    with pytest.raises(ValueError, match="quality"):
        walloc.encode(image, "rgb-16x", quality=150)


def test_quality_reaches_audio_and_volumes():
    samples, rate = wav(RELEASE / "stereo.wav")
    files = [walloc.encode(samples, "stereo-5x", sample_rate=rate, quality=q) for q in (0, 30, 75)]
    assert [walloc.info(f)["quality"] for f in files] == [0.0, 30.0, 75.0]
    assert len(files[0]) < len(files[1]) < len(files[2])
    signal = samples.astype(np.float64)
    snrs = [10 * np.log10(np.sum(signal**2) / np.sum((signal - walloc.decode(f)) ** 2)) for f in files]
    assert snrs[0] < snrs[1] < snrs[2], snrs
    # rANS at the model's step writes the files of earlier releases.
    assert walloc.info(walloc.encode(samples, "stereo-5x", sample_rate=rate, coder="rans"))["coder"] == "rans"

    cube = spectral_scene(48, 40, 6).astype(np.uint16)[None]
    peak = float(cube.max() - cube.min())
    files = [walloc.encode(cube, "landsat-16x", quality=q) for q in (30, 75, 95)]
    assert len(files[0]) < len(files[1]) < len(files[2])
    errors = [psnr(cube, walloc.decode(f), peak=peak) for f in files]
    assert errors[0] < errors[1] < errors[2], errors
    with pytest.raises(ValueError, match="latent images"):
        walloc.encode(cube, "landsat-16x", coder="png")


def test_rate_distortion_optimized_quantization_makes_smaller_files():
    image = smooth_image(96, 128)
    for rounding in ("nearest", "dead-zone"):
        plain = walloc.encode(image, "rgb-16x", quality=45, rounding=rounding)
        optimized = walloc.encode(image, "rgb-16x", quality=45, rounding=rounding, rdo=True)
        # RDO starts from the rounding's latent; the dead zone has already
        # zeroed much of what it would, so it may save nothing more there.
        if rounding == "nearest":
            assert len(optimized) < len(plain)
        else:
            assert len(optimized) <= len(plain)
        assert psnr(image, walloc.decode(optimized)) > psnr(image, walloc.decode(plain)) - 0.5, rounding
    default = walloc.encode(image, "rgb-16x", quality=45, rdo=True)
    assert default == optimized, "RDO starts from the dead zone by default"
    assert walloc.encode_batch([image], "rgb-16x", quality=45, rdo=True) == [default]
    with pytest.raises(ValueError, match="adaptive"):
        walloc.encode(image, "rgb-16x", coder="rans", rdo=True)


def float_tensors(path):
    """The float32 tensors of a safetensors file: an 8-byte header length,
    a JSON header of names, shapes and byte ranges, then the data."""
    import json

    raw = Path(path).read_bytes()
    length = struct.unpack_from("<Q", raw)[0]
    header = json.loads(raw[8:8 + length])
    data = raw[8 + length:]
    return {name: np.frombuffer(data[t["data_offsets"][0]:t["data_offsets"][1]], dtype="<f4").reshape(t["shape"])
            for name, t in header.items() if name != "__metadata__" and t["dtype"] == "F32"}


@pytest.mark.skipif(cli() is None, reason="no walloc binary built (set WALLOC_CLI)")
def test_an_imported_liveaction_model_gives_the_reference_latents(tmp_path):
    """A livecodec checkpoint imported by the CLI codes an 8-bit image in
    Python to the reference's integers and pixels
    (scripts/make_liveaction_fixtures.py)."""
    fixtures = ROOT / "tests" / "fixtures"
    model = tmp_path / "liveaction.safetensors"
    subprocess.run([cli(), "import", "--config", str(fixtures / "liveaction_2d.json"),
                    "--checkpoint", str(fixtures / "liveaction_2d.pth"), "-o", str(model)],
                   check=True, capture_output=True)
    io = float_tensors(fixtures / "liveaction_io.safetensors")
    image = np.ascontiguousarray(io["2d_u8/image"].transpose(1, 2, 0)).astype(np.uint8)
    latent = walloc.analyze(image, str(model))
    np.testing.assert_array_equal(latent.astype(np.float32), io["2d_u8/latent"])
    back = walloc.decode(walloc.encode(image, str(model)), str(model))
    reference = np.clip((io["2d_u8/decoded"].transpose(1, 2, 0) + 1) * 127.5, 0, 255)
    assert back.shape == image.shape
    assert np.abs(back.astype(np.float32) - reference).max() <= 0.5 + 1e-3
