//! The burn LiVeAction decoder against livecodec 0.0.1
//! (scripts/make_liveaction_fixtures.py): random `AutoCodecND` models in
//! 1-D, 2-D and 3-D decode the reference's integer latents to the
//! reference's reconstructions within 1e-4.

mod common;

use burn::prelude::*;
use common::max_abs_diff;
use walloc_codec::liveaction::LiveActionConfig;
use walloc_nn::liveaction::{decode_values, LiveActionDecoder};
use walloc_nn::Weights;

const ROOT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../tests/fixtures/");

fn read(name: &str) -> Vec<u8> {
    std::fs::read(format!("{ROOT}{name}")).unwrap()
}

fn check_case(case: &str, latent_shape: &[usize], output_shape: &[usize]) {
    let device = Device::default();
    let config =
        LiveActionConfig::from_json(&String::from_utf8(read(&format!("liveaction_{case}.json"))).unwrap()).unwrap();
    let weights = read(&format!("liveaction_{case}.safetensors"));
    let decoder = LiveActionDecoder::load(&config, &Weights::new(&weights, "").unwrap(), &device).unwrap();
    let io_bytes = read("liveaction_io.safetensors");
    let io = Weights::new(&io_bytes, &format!("{case}/")).unwrap();
    let latent = io.values("latent", latent_shape).unwrap();
    let grid = (latent_shape[0], &latent_shape[1..]);
    let decoded = decode_values(&decoder, config.levels as u32, latent, grid, &device).unwrap();
    assert_eq!(decoded.channels, output_shape[0]);
    assert_eq!(decoded.shape, output_shape[1..]);
    let expected = io.values("decoded", output_shape).unwrap();
    // The reconstructions reach ±13 to ±38 (random weights); we hold them
    // to 1e-4 absolute.
    let err = max_abs_diff(&decoded.data, &expected);
    assert!(err < 1e-4, "{case}: reconstruction differs by {err}");
}

#[test]
fn one_dimensional_reconstructions_are_the_references() {
    check_case("1d", &[8, 16], &[2, 256]);
}

#[test]
fn two_dimensional_reconstructions_are_the_references() {
    check_case("2d", &[12, 6, 10], &[3, 24, 40]);
}

#[test]
fn three_dimensional_reconstructions_are_the_references() {
    check_case("3d", &[8, 6, 6, 6], &[1, 24, 24, 24]);
}

/// The cases beyond the default `AutoCodecND` above: an EfficientViT
/// encoder with a factorized decoder of kernel 5; a two-channel volume
/// with factorized blocks on both sides; five levels of a mono line with
/// three encoder blocks of kernel 5; EfficientViT on both sides.
const OTHER_CASES: [(&str, &[usize], &[usize]); 4] = [
    ("2d_swapped", &[12, 4, 6], &[3, 16, 24]),
    ("3d_two_channels", &[4, 8, 8, 8], &[2, 16, 16, 16]),
    ("1d_deep", &[16, 16], &[1, 512]),
    ("2d_efficientvit", &[6, 6, 6], &[3, 24, 24]),
];

#[test]
fn the_other_cases_reconstruct_as_the_reference() {
    for (case, latent, output) in OTHER_CASES {
        check_case(case, latent, output);
    }
}

/// `walloc import` of the livecodec checkpoint (.pth + JSON), then the
/// registry's encoder and decoder on walloc's range (`±0.5`, half the
/// reference's): the reference's symbols and reconstruction.
fn check_imported(case: &str, latent_shape: &[usize], output_shape: &[usize]) {
    use walloc_codec::Step;
    use walloc_nn::checkpoint::Checkpoint;
    use walloc_nn::checkpoint::LIVEACTION_KEY;
    use walloc_nn::import_liveaction::{import_liveaction, is_liveaction};
    use walloc_wavelet::Signal;

    let config =
        LiveActionConfig::from_json(&String::from_utf8(read(&format!("liveaction_{case}.json"))).unwrap()).unwrap();
    let path = format!("{ROOT}liveaction_{case}.pth");
    let checkpoint = Checkpoint::open(std::path::Path::new(&path), LIVEACTION_KEY).unwrap();
    assert!(is_liveaction(&checkpoint));
    let model = import_liveaction(case, &config, &checkpoint, "fixture").unwrap();
    let registry = walloc_nn::registry();

    let io_bytes = read("liveaction_io.safetensors");
    let io = Weights::new(&io_bytes, &format!("{case}/")).unwrap();
    let input: Vec<f32> = io
        .values("input", output_shape)
        .unwrap()
        .iter()
        .map(|v| v / 2.0)
        .collect();
    let signal = Signal::new(input, output_shape[0], output_shape[1..].to_vec()).unwrap();
    let latent = registry.encoder(&model).unwrap().analyze(signal).unwrap();
    // As the reference's integers, but where its value before rounding is
    // within 1e-3 of a tie (either rounding is right there).
    let want = io.values("latent", latent_shape).unwrap();
    let before = io.values("companded", latent_shape).unwrap();
    for ((&symbol, &v), &c) in latent.symbols.iter().zip(&want).zip(&before) {
        let slack = if (c - c.floor() - 0.5).abs() < 1e-3 { 1.0 } else { 0.0 };
        assert!(
            (f32::from(symbol) - 128.0 - v).abs() <= slack,
            "{case}: symbol {symbol} for {v} ({c})"
        );
    }
    assert_eq!(latent.symbols.len(), want.len());
    assert_eq!(latent.step, Step::NATIVE);

    let decoded = registry
        .decoder(&model, &Default::default())
        .unwrap()
        .synthesize(&latent)
        .unwrap();
    let expected: Vec<f32> = io
        .values("decoded", output_shape)
        .unwrap()
        .iter()
        .map(|v| v / 2.0)
        .collect();
    let err = max_abs_diff(&decoded.data, &expected);
    assert!(err < 1e-4, "{case}: imported model's reconstruction differs by {err}");
}

#[test]
fn imported_checkpoints_code_as_the_reference_in_every_dimension() {
    check_imported("1d", &[8, 16], &[2, 256]);
    check_imported("2d", &[12, 6, 10], &[3, 24, 40]);
    check_imported("3d", &[8, 6, 6, 6], &[1, 24, 24, 24]);
    for (case, latent, output) in OTHER_CASES {
        check_imported(case, latent, output);
    }
}

#[test]
fn a_coarser_step_codes_fewer_levels() {
    use walloc_codec::Step;
    use walloc_nn::checkpoint::Checkpoint;
    use walloc_nn::checkpoint::LIVEACTION_KEY;
    use walloc_nn::import_liveaction::import_liveaction;
    use walloc_wavelet::Signal;

    let config = LiveActionConfig::from_json(&String::from_utf8(read("liveaction_2d.json")).unwrap()).unwrap();
    let path = format!("{ROOT}liveaction_2d.pth");
    let checkpoint = Checkpoint::open(std::path::Path::new(&path), LIVEACTION_KEY).unwrap();
    let model = import_liveaction("2d", &config, &checkpoint, "fixture").unwrap();
    let io_bytes = read("liveaction_io.safetensors");
    let io = Weights::new(&io_bytes, "2d/").unwrap();
    let input: Vec<f32> = io
        .values("input", &[3, 24, 40])
        .unwrap()
        .iter()
        .map(|v| v / 2.0)
        .collect();
    let signal = Signal::new(input, 3, vec![24, 40]).unwrap();
    let coarse = Step::from_quality(35.0).unwrap();
    let latent = walloc_nn::registry()
        .encoder_at(&model, coarse)
        .unwrap()
        .analyze(signal)
        .unwrap();
    let native = io.values("latent", &[12, 6, 10]).unwrap();
    let delta = coarse.factor() as f32;
    assert!(delta > 3.0);
    for (&s, &v) in latent.symbols.iter().zip(&native) {
        // Each symbol is the reference's value over Δ, to within rounding.
        let value = f32::from(s) - 128.0;
        assert!((value - v / delta).abs() <= 0.5 + 1e-3, "{value} vs {v}/{delta}");
    }
}

/// The burn encoder (the one training runs) against the reference's
/// companded latents, and its parameters exported under the reference's
/// names and shapes.
fn check_training_encoder(case: &str, latent_shape: &[usize], input_shape: &[usize]) {
    use burn::tensor::TensorData;
    use walloc_nn::liveaction::layers::Params;
    use walloc_nn::liveaction::LiveActionEncoderNet;
    use walloc_wavelet::{packet, FilterBank, Signal};

    let device = Device::default();
    let config =
        LiveActionConfig::from_json(&String::from_utf8(read(&format!("liveaction_{case}.json"))).unwrap()).unwrap();
    let weights = read(&format!("liveaction_{case}.safetensors"));
    let params = Params::from(Weights::new(&weights, "").unwrap());
    let encoder = LiveActionEncoderNet::build(&config, &params, &device).unwrap();
    let io_bytes = read("liveaction_io.safetensors");
    let io = Weights::new(&io_bytes, &format!("{case}/")).unwrap();
    let input = io.values("input", input_shape).unwrap();
    let packets = packet::forward(
        &FilterBank::bior4_4(),
        Signal::new(input, input_shape[0], input_shape[1..].to_vec()).unwrap(),
        config.levels as u32,
    )
    .unwrap();
    let positions = packets.plane_len();
    let x = Tensor::<3>::from_data(TensorData::new(packets.data, [1, packets.channels, positions]), &device);
    let companded: Vec<f32> = encoder
        .laplace(encoder.forward(x, &packets.shape))
        .into_data()
        .try_to_vec()
        .unwrap();
    let expected = io.values("companded", latent_shape).unwrap();
    let err = max_abs_diff(&companded, &expected);
    assert!(err < 2e-3, "{case}: companded latents differ by {err}");

    let mut exported = Vec::new();
    encoder.export(&mut exported).unwrap();
    let reference = safetensors::SafeTensors::deserialize(&weights).unwrap();
    let wanted = reference
        .names()
        .into_iter()
        .filter(|n| n.starts_with("encoder_blocks") || n.starts_with("conv_down") || n.starts_with("quantize"))
        .count();
    assert_eq!(exported.len(), wanted, "{case}: exported tensors");
    for tensor in &exported {
        let view = reference.tensor(&tensor.name).unwrap();
        assert_eq!(view.shape(), tensor.shape.as_slice(), "{}", tensor.name);
        assert_eq!(view.data(), tensor.data.as_slice(), "{}", tensor.name);
    }
}

#[test]
fn the_training_encoder_is_the_references_and_exports_its_names() {
    check_training_encoder("1d", &[8, 16], &[2, 256]);
    check_training_encoder("2d", &[12, 6, 10], &[3, 24, 40]);
    check_training_encoder("3d", &[8, 6, 6, 6], &[1, 24, 24, 24]);
    for (case, latent, input) in OTHER_CASES {
        check_training_encoder(case, latent, input);
    }
}

#[test]
fn the_decoder_exports_the_names_it_loads() {
    use walloc_nn::liveaction::layers::Params;
    let device = Device::default();
    let config = LiveActionConfig::from_json(&String::from_utf8(read("liveaction_2d.json")).unwrap()).unwrap();
    let weights = read("liveaction_2d.safetensors");
    let decoder =
        LiveActionDecoder::build(&config, &Params::from(Weights::new(&weights, "").unwrap()), &device).unwrap();
    let mut exported = Vec::new();
    decoder.export(&mut exported).unwrap();
    let reference = safetensors::SafeTensors::deserialize(&weights).unwrap();
    let wanted = reference
        .names()
        .into_iter()
        .filter(|n| n.starts_with("conv_up") || n.starts_with("decoder_blocks"))
        .count();
    assert_eq!(exported.len(), wanted);
    for tensor in &exported {
        let view = reference.tensor(&tensor.name).unwrap();
        assert_eq!(view.shape(), tensor.shape.as_slice(), "{}", tensor.name);
        assert_eq!(view.data(), tensor.data.as_slice(), "{}", tensor.name);
    }
}
