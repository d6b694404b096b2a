//! LiVeAction checkpoints through the `walloc` binary: `walloc import` of
//! livecodec's `.pth` with its JSON config, then images, audio and volumes
//! coded with the imported models (scripts/make_liveaction_fixtures.py).

use std::path::Path;

use assert_cmd::Command;
use safetensors::SafeTensors;

const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../tests/fixtures");

fn walloc() -> Command {
    Command::cargo_bin("walloc").unwrap()
}

fn import(case: &str, output: &Path) {
    walloc()
        .arg("import")
        .arg("--config")
        .arg(format!("{FIXTURES}/liveaction_{case}.json"))
        .arg("--checkpoint")
        .arg(format!("{FIXTURES}/liveaction_{case}.pth"))
        .arg("-o")
        .arg(output)
        .assert()
        .success();
}

fn floats(st: &SafeTensors, name: &str) -> Vec<f32> {
    st.tensor(name)
        .unwrap()
        .data()
        .chunks_exact(4)
        .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        .collect()
}

fn code(input: &Path, model: &Path, wal: &Path, output: &Path) {
    walloc()
        .args(["encode", "-m"])
        .arg(model)
        .arg(input)
        .arg("-o")
        .arg(wal)
        .assert()
        .success();
    walloc()
        .args(["decode", "-m"])
        .arg(model)
        .arg(wal)
        .arg("-o")
        .arg(output)
        .assert()
        .success();
}

/// An imported 2-D model codes a PNG to the reference's reconstruction of
/// the same pixels, within one level.
#[test]
fn an_imported_image_model_reconstructs_as_the_reference() {
    let io_bytes = std::fs::read(format!("{FIXTURES}/liveaction_io.safetensors")).unwrap();
    let io = SafeTensors::deserialize(&io_bytes).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let model = dir.path().join("la.safetensors");
    import("2d", &model);
    // The reference's image is planar [3, 24, 40]; the PNG interleaves it.
    let planar = floats(&io, "2d_u8/image");
    let pixels: Vec<u8> = (0..24 * 40 * 3).map(|i| planar[(i % 3) * 960 + i / 3] as u8).collect();
    let input = dir.path().join("in.png");
    image::RgbImage::from_raw(40, 24, pixels).unwrap().save(&input).unwrap();
    let (wal, out) = (dir.path().join("x.wal"), dir.path().join("out.png"));
    code(&input, &model, &wal, &out);
    let decoded = image::open(&out).unwrap().into_rgb8();
    let reference = floats(&io, "2d_u8/decoded");
    let worst = decoded
        .as_raw()
        .iter()
        .enumerate()
        .map(|(i, &p)| {
            let r = ((reference[(i % 3) * 960 + i / 3] + 1.0) * 127.5).clamp(0.0, 255.0);
            (f32::from(p) - r).abs()
        })
        .fold(0.0f32, f32::max);
    assert!(worst <= 0.5 + 1e-3, "pixels differ from the reference by up to {worst}");
    let info = String::from_utf8(walloc().arg("info").arg(&wal).output().unwrap().stdout).unwrap();
    assert!(info.contains("12×6×10"), "{info}");
}

/// Imported 1-D and 3-D models code WAV and `.npy` files end to end.
#[test]
fn imported_audio_and_volume_models_code_their_files() {
    let dir = tempfile::tempdir().unwrap();
    let (audio, volume) = (dir.path().join("a.safetensors"), dir.path().join("v.safetensors"));
    import("1d", &audio);
    import("3d", &volume);
    let (wal, wav) = (dir.path().join("s.wal"), dir.path().join("s.wav"));
    code(Path::new(&format!("{FIXTURES}/stereo.wav")), &audio, &wal, &wav);
    let spec = hound::WavReader::open(&wav).unwrap().spec();
    assert_eq!((spec.channels, spec.sample_rate), (2, 22050));
    assert_eq!(hound::WavReader::open(&wav).unwrap().duration(), 3000);

    let npy = dir.path().join("v.npy");
    let values: Vec<i16> = (0..24 * 24 * 24).map(|i| ((i * 37) % 1000) as i16).collect();
    let mut bytes = b"\x93NUMPY\x01\x00".to_vec();
    let header = "{'descr': '<i2', 'fortran_order': False, 'shape': (24, 24, 24), }";
    let padded = format!("{header:<117}\n");
    bytes.extend_from_slice(&(padded.len() as u16).to_le_bytes());
    bytes.extend_from_slice(padded.as_bytes());
    values.iter().for_each(|v| bytes.extend_from_slice(&v.to_le_bytes()));
    std::fs::write(&npy, bytes).unwrap();
    let (wal, back) = (dir.path().join("v.wal"), dir.path().join("back.npy"));
    code(&npy, &volume, &wal, &back);
    assert_eq!(std::fs::read(&back).unwrap().len(), std::fs::read(&npy).unwrap().len());
}
