//! The LiVeAction encoder against livecodec 0.0.1
//! (scripts/make_liveaction_fixtures.py): random `AutoCodecND` models in
//! 1-D, 2-D and 3-D must give the reference's integer latents.

use safetensors::SafeTensors;
use walloc_codec::liveaction::{FeatureMap, LiveActionConfig, LiveActionEncoder, TensorSource};

const ROOT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../..");

fn read(name: &str) -> Vec<u8> {
    std::fs::read(format!("{ROOT}/tests/fixtures/{name}")).unwrap()
}

/// The reference's encoder output for case `case`: the input, the
/// companded values before rounding and the integer latent.
fn check_case(case: &str) {
    let config =
        LiveActionConfig::from_json(&String::from_utf8(read(&format!("liveaction_{case}.json"))).unwrap()).unwrap();
    let weights = read(&format!("liveaction_{case}.safetensors"));
    let encoder = LiveActionEncoder::load(&config, &SafeTensors::deserialize(&weights).unwrap()).unwrap();
    let io_bytes = read("liveaction_io.safetensors");
    let io = SafeTensors::deserialize(&io_bytes).unwrap();
    let (input, shape) = TensorSource::tensor(&io, &format!("{case}/input")).unwrap();
    let signal = FeatureMap::new(input, shape[0], shape[1..].to_vec()).unwrap();
    let (companded, latent_shape) = TensorSource::tensor(&io, &format!("{case}/companded")).unwrap();
    let (latent, _) = TensorSource::tensor(&io, &format!("{case}/latent")).unwrap();

    let ours = encoder.companded(signal.clone()).unwrap();
    assert_eq!(ours.channels, latent_shape[0], "{case}");
    assert_eq!(ours.shape, latent_shape[1..], "{case}");
    let worst = ours
        .data
        .iter()
        .zip(&companded)
        .map(|(a, b)| (a - b).abs())
        .fold(0.0f32, f32::max);
    assert!(worst < 2e-3, "{case}: companded latents differ by up to {worst}");

    let integers = encoder.encode(signal).unwrap();
    assert_same_integers(case, &integers.values, &latent, &companded);
    assert!(
        latent.iter().any(|&v| v.abs() > 50.0),
        "{case}: the fixture spans the range"
    );
}

/// Our integers are the reference's, except where the reference's value
/// before rounding lies within 1e-3 of a tie (float summation order may
/// round those either way): there one step apart is accepted, and such
/// values must be rare.
fn assert_same_integers(case: &str, ours: &[i8], reference: &[f32], companded: &[f32]) {
    let mut ties = 0;
    for ((&got, &want), &before) in ours.iter().zip(reference).zip(companded) {
        let near_tie = (before - before.floor() - 0.5).abs() < 1e-3;
        if near_tie {
            ties += 1;
            assert!(
                (f32::from(got) - want).abs() <= 1.0,
                "{case}: {got} vs {want} ({before})"
            );
        } else {
            assert_eq!(f32::from(got), want, "{case}: latent {before}");
        }
    }
    assert!(ties * 100 <= ours.len(), "{case}: {ties} values near a tie");
    assert_eq!(ours.len(), reference.len());
}

#[test]
fn one_dimensional_latents_are_the_references() {
    check_case("1d");
    // Five levels of one channel, three encoder blocks of kernel 5.
    check_case("1d_deep");
}

#[test]
fn two_dimensional_latents_are_the_references() {
    check_case("2d");
}

#[test]
fn three_dimensional_latents_are_the_references() {
    check_case("3d");
    // Two channels (tft's 3-D channel order), a 1×1 kernel.
    check_case("3d_two_channels");
}

#[test]
fn an_efficientvit_encoder_is_left_to_walloc_nn() {
    let config = LiveActionConfig::from_json(&String::from_utf8(read("liveaction_2d_swapped.json")).unwrap()).unwrap();
    let weights = read("liveaction_2d_swapped.safetensors");
    let error = LiveActionEncoder::load(&config, &SafeTensors::deserialize(&weights).unwrap()).unwrap_err();
    assert!(error.to_string().contains("no pure-Rust encoder"), "{error}");
}

#[test]
fn a_signal_of_the_wrong_shape_is_refused() {
    let config = LiveActionConfig::from_json(&String::from_utf8(read("liveaction_2d.json")).unwrap()).unwrap();
    let weights = read("liveaction_2d.safetensors");
    let encoder = LiveActionEncoder::load(&config, &SafeTensors::deserialize(&weights).unwrap()).unwrap();
    // 3 channels of 24×42: 42 is not a multiple of 2^J = 4.
    let signal = FeatureMap::new(vec![0.0; 3 * 24 * 42], 3, vec![24, 42]).unwrap();
    let error = encoder.encode(signal).unwrap_err().to_string();
    assert!(error.contains("multiples of 4"), "{error}");
    let gray = FeatureMap::new(vec![0.0; 24 * 40], 1, vec![24, 40]).unwrap();
    assert!(encoder.encode(gray).is_err());
}

#[test]
fn a_missing_tensor_is_named() {
    let config = LiveActionConfig::from_json(&String::from_utf8(read("liveaction_1d.json")).unwrap()).unwrap();
    let weights = read("liveaction_2d.safetensors");
    let error = LiveActionEncoder::load(&config, &SafeTensors::deserialize(&weights).unwrap()).unwrap_err();
    assert!(
        error.to_string().contains("encoder_blocks.0.conv1.conv1.weight"),
        "{error}"
    );
}

/// The 2-D fixture as a walloc `liveaction` model file (flat tables).
fn model_2d() -> walloc_codec::Model {
    use walloc_codec::model::TensorBytes;
    let shape = String::from_utf8(read("liveaction_2d.json")).unwrap();
    let config: walloc_codec::ModelConfig = serde_json::from_str(&format!(
        r#"{{"format_version": 1, "name": "la2d", "modality": "image", "architecture": "liveaction",
            "channels": 3, "dim": 2, "levels": 2, "latent_dim": 12, "latent_bits": 8,
            "wavelet": "bior4.4", "liveaction": {shape}}}"#
    ))
    .unwrap();
    let weights = read("liveaction_2d.safetensors");
    let st = SafeTensors::deserialize(&weights).unwrap();
    let mut tensors: Vec<TensorBytes> = st
        .names()
        .into_iter()
        .filter(|n| !n.contains("wt."))
        .map(|n| {
            let (values, dims) = TensorSource::tensor(&st, n).unwrap();
            TensorBytes::f32(n, dims, &values)
        })
        .collect();
    tensors.push(TensorBytes::probabilities(&config, &vec![1 << 16; 12 * 256], 1));
    walloc_codec::Model::from_tensors(&config, &tensors).unwrap()
}

#[test]
fn a_liveaction_model_encodes_whole_images_not_stripes() {
    use walloc_codec::registry::Registry;
    use walloc_codec::stripes::StripeEncoder;
    use walloc_codec::{EncoderKind, Image8};

    let model = model_2d();
    assert_eq!(model.config().encoder_kind(), EncoderKind::Factorized);
    let error = StripeEncoder::<u8>::new(&Registry::core(), &model, 64, 64, 3)
        .err()
        .expect("stripes refused")
        .to_string();
    assert!(error.contains("whole image"), "{error}");

    // The file's latent is the encoder's on the whole image, at ±1.
    let pixels: Vec<u8> = (0..40 * 24 * 3).map(|i| (i * 7 % 251) as u8).collect();
    let image = Image8::new(40, 24, 3, pixels.clone()).unwrap();
    let latent = walloc_codec::codec::analyze(&model, &image).unwrap();
    let planar: Vec<f32> = (0..3)
        .flat_map(|c| (0..40 * 24).map(move |i| (c, i)))
        .map(|(c, i)| 2.0 * (f32::from(pixels[i * 3 + c]) / 255.0 - 0.5))
        .collect();
    let config = LiveActionConfig::from_json(&String::from_utf8(read("liveaction_2d.json")).unwrap()).unwrap();
    let weights = read("liveaction_2d.safetensors");
    let encoder = LiveActionEncoder::load(&config, &SafeTensors::deserialize(&weights).unwrap()).unwrap();
    let direct = encoder
        .encode(FeatureMap::new(planar, 3, vec![24, 40]).unwrap())
        .unwrap();
    let symbols: Vec<u8> = direct.values.iter().map(|&v| (i16::from(v) + 128) as u8).collect();
    assert_eq!((latent.channels, latent.height, latent.width), (12, 6, 10));
    assert_eq!(latent.symbols, symbols);
}
