//! The burn LiVeAction decoder against livecodec 0.0.1
//! (scripts/make_liveaction_fixtures.py): random `AutoCodecND` models in
//! 1-D, 2-D and 3-D decode the reference's integer latents to the
//! reference's reconstructions within 1e-4.

mod common;

use burn::prelude::*;
use common::max_abs_diff;
use walloc_codec::liveaction::{LiveActionConfig, LiveLatent};
use walloc_nn::liveaction::{decode_latent, LiveActionDecoder};
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
    let latent = LiveLatent {
        values: io
            .values("latent", latent_shape)
            .unwrap()
            .iter()
            .map(|&v| v as i8)
            .collect(),
        channels: latent_shape[0],
        shape: latent_shape[1..].to_vec(),
    };
    let decoded = decode_latent(&decoder, config.levels as u32, &latent, &device).unwrap();
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
