//! Volumes through the `walloc` binary: fitting a model on a folder,
//! coding NIfTI, `.npy` and raw files, decoding to each, with the shape,
//! sample type and geometry kept; spectral cubes (multi-band TIFF) with
//! their bands as depth or as channels, their georeferencing kept.

use std::path::Path;

use assert_cmd::Command;
use walloc::volume::{FileTag, Geometry, TagValue};
use walloc::{SampleType, Samples};
use walloc_io::cube::{encode_cube, read_cube, Cube};
use walloc_io::volume::{VolumeFormat, VolumeReader, VolumeWriter};

fn walloc() -> Command {
    Command::cargo_bin("walloc").unwrap()
}

/// A smooth, asymmetric CT-like field in HU: ripples, a blob, a gradient
/// and fine texture (a decoder that flips or shifts it is far off).
fn phantom(shape: [usize; 3], seed: f64) -> Vec<f32> {
    let [d, h, w] = shape;
    (0..d * h * w)
        .map(|i| {
            let (z, y, x) = ((i / (h * w)) as f64, (i / w % h) as f64, (i % w) as f64);
            let blob = (x - 0.3 * w as f64).powi(2) + (y - 0.6 * h as f64).powi(2) + (z - 0.4 * d as f64).powi(2);
            let v =
                300.0 * (0.21 * x + 0.13 * y + seed).sin() * (0.17 * z).cos() + 600.0 * (-blob / 72.0).exp() + 8.0 * x
                    - 5.0 * y
                    + 30.0 * (0.9 * x).sin() * (0.7 * z).sin();
            v as f32
        })
        .collect()
}

fn write(path: &Path, shape: [u32; 3], samples: &Samples, geometry: &Geometry) {
    let format = VolumeFormat::of(path).unwrap();
    let file = std::fs::File::create(path).unwrap();
    let mut writer = VolumeWriter::new(file, format, shape, 1, samples.sample_type(), geometry).unwrap();
    writer.write_samples(samples).unwrap();
    writer.finish().unwrap();
}

fn read(path: &Path) -> VolumeReader {
    VolumeReader::open(path, None).unwrap()
}

fn psnr(a: &Samples, b: &Samples, peak: f64) -> f64 {
    let mse = (0..a.len()).map(|i| (a.get(i) - b.get(i)).powi(2)).sum::<f64>() / a.len() as f64;
    10.0 * (peak * peak / mse).log10()
}

#[test]
fn fit_encode_and_decode_volumes_in_every_format() {
    let dir = tempfile::tempdir().unwrap();
    let train = dir.path().join("train");
    std::fs::create_dir(&train).unwrap();
    for (i, name) in ["a.nii.gz", "b.npy"].iter().enumerate() {
        let values = phantom([40, 40, 40], i as f64);
        let samples = Samples::from_f32(SampleType::I16, values.into_iter());
        write(&train.join(name), [40, 40, 40], &samples, &Geometry::default());
    }
    let model = dir.path().join("ct.safetensors");
    walloc()
        .args([
            "fit-linear-volume",
            "--levels",
            "2",
            "--latent-dim",
            "6",
            "--brick",
            "20",
        ])
        .args(["--bricks-per-volume", "40", "--data"])
        .arg(&train)
        .arg("-o")
        .arg(&model)
        .assert()
        .success();
    // Its step decoders refitted on bricks of the same scans: the model
    // keeps its id (the files below decode with either).
    let refitted = dir.path().join("refitted.safetensors");
    walloc()
        .args([
            "fit-decoders",
            "--brick",
            "20",
            "--bricks-per-volume",
            "40",
            "--seed",
            "3",
            "--model",
        ])
        .arg(&model)
        .arg("--data")
        .arg(&train)
        .arg("-o")
        .arg(&refitted)
        .assert()
        .success();
    let header = safetensors::SafeTensors::read_metadata(&std::fs::read(&refitted).unwrap())
        .unwrap()
        .1;
    let stored = &header.metadata().as_ref().unwrap()["walloc.config"];
    assert!(
        stored.contains("\"step_decoders\":{\"brick_side\":20,\"bricks\":80") && stored.contains("\"extends\":\""),
        "{stored}"
    );
    let refused = dir.path().join("refused.safetensors");
    let assert = walloc()
        .args(["fit-decoders", "--neighbours", "--model"])
        .arg(&model)
        .arg("--data")
        .arg(&train)
        .arg("-o")
        .arg(&refused)
        .assert()
        .failure();
    assert!(String::from_utf8_lossy(&assert.get_output().stderr).contains("--neighbours is for image models"));

    // A held-out scan of another size, with an orientation.
    let shape = [29u32, 35, 44];
    let values = phantom([29, 35, 44], 7.0);
    let samples = Samples::from_f32(SampleType::I16, values.into_iter());
    let geometry = Geometry {
        pixdim: [1.0, 0.5, 0.5, 1.5, 0.0, 0.0, 0.0, 0.0],
        quatern: [0.0, 0.0, 0.0, -11.0, 12.5, -70.0],
        srow: [[0.5, 0.0, 0.0, -11.0], [0.0, 0.5, 0.0, 12.5], [0.0, 0.0, 1.5, -70.0]],
        scaling: [1.0, 0.0],
        qform_code: 1,
        sform_code: 1,
        xyzt_units: 10,
    };
    let scan = dir.path().join("scan.nii.gz");
    write(&scan, shape, &samples, &geometry);
    let wal = dir.path().join("scan.wal");
    walloc()
        .arg("encode")
        .arg(&scan)
        .arg("--model")
        .arg(&model)
        .args(["--slab", "16", "-o"])
        .arg(&wal)
        .assert()
        .success();
    let info = walloc().arg("info").arg(&wal).assert().success();
    let info = String::from_utf8_lossy(&info.get_output().stdout).into_owned();
    let (min, max) = (0..samples.len()).fold((f64::MAX, f64::MIN), |(a, b), i| {
        let v = samples.get(i);
        (a.min(v), b.max(v))
    });
    let described = format!("29×35×44 (depth×height×width), 1 channel, 16-bit integer, values {min}..{max}");
    assert!(info.contains(&described), "{info}");
    assert!(info.contains("voxel spacing:            0.5 × 0.5 × 1.5"), "{info}");
    assert!(info.contains("2 slabs of up to 16 slices"), "{info}");
    let bits = std::fs::metadata(&wal).unwrap().len() as f64 * 8.0 / samples.len() as f64;
    assert!(bits < 1.5, "{bits} bits per voxel");

    let mut decoded = Vec::new();
    for name in ["back.nii.gz", "back.nii", "back.npy", "back.raw"] {
        let out = dir.path().join(name);
        walloc()
            .arg("decode")
            .arg(&wal)
            .arg("--model")
            .arg(&model)
            .arg("-o")
            .arg(&out)
            .assert()
            .success();
        if name.ends_with(".raw") {
            assert_eq!(std::fs::read(&out).unwrap().len(), samples.len() * 2);
            continue;
        }
        let mut back = read(&out);
        assert_eq!((back.shape, back.sample_type), (shape, SampleType::I16), "{name}");
        if name.contains(".nii") {
            assert_eq!(back.geometry, geometry, "{name}");
        }
        decoded.push(back.read_slices(shape[0]).unwrap());
    }
    assert!(
        decoded.windows(2).all(|pair| pair[0] == pair[1]),
        "every format holds the same samples"
    );
    let quality = psnr(&samples, &decoded[0], max - min);
    assert!(quality > 25.0, "{quality:.2} dB over the range");

    // The quality knob and a rate in bits per voxel reach volumes.
    let coarse = dir.path().join("coarse.wal");
    let rated = dir.path().join("rated.wal");
    let encode = |out: &Path, rate: [&str; 2]| {
        walloc()
            .arg("encode")
            .arg(&scan)
            .arg("--model")
            .arg(&model)
            .args(rate)
            .arg("-o")
            .arg(out)
            .assert()
            .success()
    };
    encode(&coarse, ["--quality", "30"]);
    let size = |path: &Path| std::fs::metadata(path).unwrap().len();
    assert!(size(&coarse) < size(&wal), "{} vs {}", size(&coarse), size(&wal));
    let info = walloc().arg("info").arg(&coarse).assert().success();
    assert!(String::from_utf8_lossy(&info.get_output().stdout).contains("quality 30 "));
    let assert = encode(&rated, ["--bpp", "0.4"]);
    let bits = size(&rated) as f64 * 8.0 / samples.len() as f64;
    assert!(bits <= 0.4 && bits > 0.2, "{bits} bits per voxel");
    assert!(String::from_utf8_lossy(&assert.get_output().stderr).contains("bits per voxel"));

    // The same scan as a raw file and as .npy codes to the same bytes,
    // less the geometry: only the metadata chunk differs.
    let raw = dir.path().join("scan.bin");
    let little: Vec<u8> = (0..samples.len())
        .flat_map(|i| (samples.get(i) as i16).to_le_bytes())
        .collect();
    std::fs::write(&raw, little).unwrap();
    let raw_wal = dir.path().join("raw.wal");
    walloc()
        .arg("encode")
        .arg(&raw)
        .args(["--shape", "29,35,44", "--dtype", "int16", "--slab", "16", "--model"])
        .arg(&model)
        .arg("-o")
        .arg(&raw_wal)
        .assert()
        .success();
    let (a, b) = (std::fs::read(&wal).unwrap(), std::fs::read(&raw_wal).unwrap());
    assert_eq!(a.len(), b.len());
    let differing = a.iter().zip(&b).filter(|(x, y)| x != y).count();
    assert!(differing > 0 && differing < 100, "{differing} bytes differ");

    // Wrong inputs are named.
    let failure = |cmd: &mut Command| String::from_utf8_lossy(&cmd.assert().failure().get_output().stderr).into_owned();
    for (shape, problem) in [
        ("29,35,45", "bytes, but [29, 35, 45] int16 samples take"),
        ("29,35", "DEPTH,HEIGHT,WIDTH"),
    ] {
        let error = failure(
            walloc()
                .arg("encode")
                .arg(&raw)
                .args(["--shape", shape, "--dtype", "int16", "-o"])
                .arg(&raw_wal),
        );
        assert!(error.contains(problem), "{error}");
    }
    let error = failure(
        walloc()
            .arg("decode")
            .arg(&wal)
            .arg("--model")
            .arg(&model)
            .arg("-o")
            .arg(dir.path().join("x.png")),
    );
    assert!(error.contains(".nii, .nii.gz, .npy, .raw or .tif"), "{error}");
    let error = failure(
        walloc()
            .arg("encode")
            .arg(&scan)
            .args(["--model", "rgb-16x", "-o"])
            .arg(&raw_wal),
    );
    assert!(error.contains("not volumes"), "{error}");
    let mut damaged = a.clone();
    let middle = damaged.len() / 2;
    damaged[middle] ^= 1;
    std::fs::write(&raw_wal, damaged).unwrap();
    let error = failure(
        walloc()
            .arg("decode")
            .arg(&raw_wal)
            .arg("--model")
            .arg(&model)
            .arg("-o")
            .arg(dir.path().join("y.npy")),
    );
    assert!(error.contains("checksum") || error.contains("CRC"), "{error}");
    assert!(!dir.path().join("y.npy").exists(), "no partial output");
}

/// A generated spectral scene (no packaged cube has many bands): fields,
/// a river and smooth spectra, `bands` of them, pixel by pixel.
fn scene(height: u32, width: u32, bands: u32, seed: f32) -> Samples {
    Samples::from_f32(
        SampleType::U16,
        (0..height * width * bands).map(|i| {
            let (b, x, y) = (
                (i % bands) as f32,
                (i / bands % width) as f32,
                (i / bands / width) as f32,
            );
            let field = ((x / 9.0 + seed).sin() * (y / 7.0).cos() + 1.0) * 900.0;
            let river = (-(y - 0.4 * x - 10.0).powi(2) / 20.0).exp() * 1500.0;
            let spectrum = 1.0 + 0.6 * (b / 11.0).sin() + 0.02 * b;
            300.0 + field * spectrum + river * (1.5 - b / bands as f32)
        }),
    )
}

fn geo_tags() -> Vec<FileTag> {
    vec![
        FileTag {
            code: 33550,
            value: TagValue::Doubles(vec![28.5, 28.5, 0.0]),
        },
        FileTag {
            code: 33922,
            value: TagValue::Doubles(vec![0.0, 0.0, 0.0, 288776.25, 9120760.75, 0.0]),
        },
    ]
}

#[test]
fn cubes_code_their_bands_as_depth_or_as_channels_and_keep_their_georeferencing() {
    let dir = tempfile::tempdir().unwrap();
    let (height, width) = (45u32, 38u32);
    let cube = |bands: u32, seed: f32| Cube {
        height,
        width,
        bands,
        samples: scene(height, width, bands, seed),
        tags: geo_tags(),
    };
    // 40 bands as depth: by default each band on its own (cube-16x, 2-D
    // packets), or with a 3-D model (volume-16x) that also transforms
    // across bands.
    let many = cube(40, 0.0);
    let input = dir.path().join("many.tif");
    std::fs::write(&input, encode_cube(&many).unwrap()).unwrap();
    for model in [None, Some("volume-16x")] {
        let wal = dir.path().join("many.wal");
        let mut encode = walloc();
        encode.args(["encode"]).arg(&input).arg("-o").arg(&wal);
        if let Some(model) = model {
            encode.args(["--model", model]);
        }
        encode.assert().success();
        let info = walloc().arg("info").arg(&wal).assert().success();
        let text = String::from_utf8_lossy(&info.get_output().stdout).to_string();
        let name = model.unwrap_or("cube-16x");
        assert!(text.contains(name) && text.contains("40×45×38"), "{text}");
        assert!(text.contains("source tags:              2"), "{text}");
        let back = dir.path().join("many-back.tif");
        walloc()
            .args(["decode"])
            .arg(&wal)
            .arg("-o")
            .arg(&back)
            .assert()
            .success();
        let decoded = read_cube(&back).unwrap();
        assert_eq!((decoded.height, decoded.width, decoded.bands), (height, width, 40));
        assert_eq!(decoded.samples.sample_type(), SampleType::U16);
        assert_eq!(decoded.tags, many.tags);
        let depth_psnr = psnr(&many.samples, &decoded.samples, 4000.0);
        assert!(depth_psnr > 28.0, "{name}: {depth_psnr:.2} dB");
    }
    let peak = 4000.0;

    // 8 bands as channels: fit a 2-D model on two scenes, code a third.
    let train = dir.path().join("train");
    std::fs::create_dir(&train).unwrap();
    for seed in [1.0, 2.0] {
        std::fs::write(train.join(format!("s{seed}.tif")), encode_cube(&cube(8, seed)).unwrap()).unwrap();
    }
    let model = dir.path().join("cube8.safetensors");
    walloc()
        .args([
            "fit-linear-volume",
            "--dims",
            "2",
            "--levels",
            "2",
            "--latent-dim",
            "16",
            "--brick",
            "24",
        ])
        .arg("--data")
        .arg(&train)
        .arg("-o")
        .arg(&model)
        .assert()
        .success();
    let eight = cube(8, 3.0);
    let input = dir.path().join("eight.tif");
    std::fs::write(&input, encode_cube(&eight).unwrap()).unwrap();
    let wal = dir.path().join("eight.wal");
    walloc()
        .args(["encode"])
        .arg(&input)
        .arg("-o")
        .arg(&wal)
        .arg("--model")
        .arg(&model)
        .assert()
        .success();
    let back = dir.path().join("eight-back.tif");
    walloc()
        .args(["decode"])
        .arg(&wal)
        .arg("-o")
        .arg(&back)
        .arg("--model")
        .arg(&model)
        .assert()
        .success();
    let decoded = read_cube(&back).unwrap();
    assert_eq!((decoded.bands, decoded.tags.clone()), (8, eight.tags.clone()));
    let channels_psnr = psnr(&eight.samples, &decoded.samples, peak);
    assert!(channels_psnr > 30.0, "{channels_psnr:.2} dB");

    // The 8-band model refuses a cube of 40 bands as channels, naming what
    // to do; a 2-D volume of several slices cannot be written as a TIFF.
    let refused = walloc()
        .args(["encode", "--bands", "channels"])
        .arg(dir.path().join("many.tif"))
        .arg("-o")
        .arg(dir.path().join("x.wal"))
        .arg("--model")
        .arg(&model)
        .assert()
        .failure();
    let message = String::from_utf8_lossy(&refused.get_output().stderr).to_string();
    assert!(
        message.contains("40 bands as channels") && message.contains("--dims 2"),
        "{message}"
    );
    assert!(!dir.path().join("x.wal").exists());
}

#[test]
fn eval_measures_volumes_and_cubes_against_jpeg2000() {
    let dir = tempfile::tempdir().unwrap();
    let scans = dir.path().join("scans");
    std::fs::create_dir(&scans).unwrap();
    for (i, name) in ["a.npy", "b.nii.gz"].iter().enumerate() {
        let values = phantom([24, 40, 36], i as f64);
        let samples = Samples::from_f32(SampleType::I16, values.into_iter());
        write(&scans.join(name), [24, 40, 36], &samples, &Geometry::default());
    }
    let out = dir.path().join("out");
    let run = walloc()
        .args(["eval", "--model", "volume-16x", "--data"])
        .arg(&scans)
        .arg("--out")
        .arg(&out)
        .assert()
        .success();
    let summary = String::from_utf8_lossy(&run.get_output().stdout).to_string();
    assert!(
        summary.contains("RMSE") && summary.contains("BD-rate walloc volume-16x vs jpeg2000"),
        "{summary}"
    );
    assert!(summary.contains("BD-rate walloc volume-16x vs zfp"), "{summary}");
    let results: serde_json::Value = serde_json::from_slice(&std::fs::read(out.join("results.json")).unwrap()).unwrap();
    assert_eq!(results["modality"], "volume");
    let means = results["means"].as_array().unwrap();
    // volume-16x at the 7 qualities of the sweep, 8 JPEG 2000 rates and 8
    // zfp tolerances, each over both scans.
    assert_eq!(means.len(), 23);
    let ours: Vec<f64> = means
        .iter()
        .filter(|m| m["codec"] == "walloc volume-16x")
        .map(|m| m["psnr"].as_f64().unwrap())
        .collect();
    assert!(ours.len() == 7 && ours.windows(2).all(|w| w[0] > w[1]), "{ours:?}");
    // zfp's tightest tolerances can round back to the very integers.
    assert!(means
        .iter()
        .all(|m| m["files"] == 2 && m["rmse"].as_f64().unwrap() >= 0.0));
    assert!(means
        .iter()
        .filter(|m| m["codec"] != "zfp")
        .all(|m| m["rmse"].as_f64().unwrap() > 0.0));
    let jpeg2000: Vec<f64> = means
        .iter()
        .filter(|m| m["codec"] == "jpeg2000")
        .map(|m| m["psnr"].as_f64().unwrap())
        .collect();
    // On slices this small the lowest targets cannot undercut the
    // codestream's headers and give the same file; more rate never hurts.
    assert!(jpeg2000.windows(2).all(|w| w[1] >= w[0]), "{jpeg2000:?}");
    assert!(jpeg2000[7] > jpeg2000[0] + 10.0, "{jpeg2000:?}");
    assert!(out.join("rd_psnr.svg").exists() && !out.join("bands.csv").exists());

    // A 6-band cube with its bands as channels: the Landsat models, the
    // bands' PSNR and the spectral angle.
    let cubes = dir.path().join("cubes");
    std::fs::create_dir(&cubes).unwrap();
    let cube = Cube {
        height: 40,
        width: 44,
        bands: 6,
        samples: scene(40, 44, 6, 0.5),
        tags: vec![],
    };
    std::fs::write(cubes.join("scene.tif"), encode_cube(&cube).unwrap()).unwrap();
    let out = dir.path().join("cube-out");
    walloc()
        .args(["eval", "--bands", "channels", "--against", "jpeg2000", "--data"])
        .arg(&cubes)
        .arg("--out")
        .arg(&out)
        .assert()
        .success();
    let results: serde_json::Value = serde_json::from_slice(&std::fs::read(out.join("results.json")).unwrap()).unwrap();
    let codecs: Vec<&str> = results["means"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["codec"].as_str().unwrap())
        .collect();
    assert!(
        codecs.contains(&"walloc landsat-16x") && codecs.contains(&"walloc landsat-8x"),
        "{codecs:?}"
    );
    assert!(results["means"][0]["spectral_angle"].as_f64().unwrap() > 0.0);
    let bands = std::fs::read_to_string(out.join("bands.csv")).unwrap();
    // 6 bands × (2 models at 7 qualities + 8 rates), and a header.
    assert_eq!(bands.lines().count(), 1 + 6 * (2 * 7 + 8));
}
