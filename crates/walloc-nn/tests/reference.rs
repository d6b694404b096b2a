//! The burn decoder against a random reference Codec2D
//! (scripts/make_nn_fixtures.py, PyPI walloc 1.2.1 + diffusers).

use burn::prelude::*;
use burn::tensor::TensorData;
use walloc_codec::bottleneck::Bottleneck;
use walloc_nn::kl_decoder::KlDecoder;
use walloc_nn::Weights;
use walloc_wavelet::{packet, FilterBank, Signal};

const FIXTURE: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../tests/fixtures/nn_codec2d.safetensors"
);

fn max_abs_diff(a: &[f32], b: &[f32]) -> f32 {
    assert_eq!(a.len(), b.len());
    a.iter().zip(b).map(|(x, y)| (x - y).abs()).fold(0.0, f32::max)
}

#[test]
fn kl_decoder_matches_reference_codec2d() {
    let bytes = std::fs::read(FIXTURE).unwrap();
    let device = Device::default();
    let io = Weights::new(&bytes, "io.").unwrap();
    // ToNormal of the reference's integer latent, through walloc-codec's bottleneck.
    let bottleneck = Bottleneck::new(8);
    let latent = io.values("latent", &[12, 8, 8]).unwrap();
    let zhat: Vec<f32> = latent
        .iter()
        .map(|&v| bottleneck.dequantize((v as i32 + 128) as u8))
        .collect();
    let decoder = KlDecoder::load(&Weights::new(&bytes, "model.decoder.1.").unwrap(), 12, 32, 48, &device).unwrap();
    let z = Tensor::<4>::from_data(TensorData::new(zhat, [1, 12, 8, 8]), &device);
    let coefficients: Vec<f32> = decoder.forward(z).into_data().try_to_vec().unwrap();
    let expected = io.values("decoded_coefficients", &[48, 8, 8]).unwrap();
    let scale = expected.iter().fold(1.0f32, |m, v| m.max(v.abs()));
    let err = max_abs_diff(&coefficients, &expected);
    assert!(err < 1e-4 * scale, "decoder output differs by {err} (scale {scale})");

    // Inverse packets (J = 2) and the reference's clamp give its output.
    let signal = Signal::new(coefficients, 48, vec![8, 8]).unwrap();
    let pixels = packet::inverse(&FilterBank::bior4_4(), signal, 2).unwrap();
    let output: Vec<f32> = pixels.data.iter().map(|v| v.clamp(-0.5, 0.5) + 0.5).collect();
    let err = max_abs_diff(&output, &io.values("output", &[3, 32, 32]).unwrap());
    assert!(err < 1e-4, "reconstruction differs by {err}");
}

#[test]
fn missing_or_misshapen_parameters_are_named() {
    let bytes = std::fs::read(FIXTURE).unwrap();
    let device = Device::default();
    let weights = Weights::new(&bytes, "model.decoder.1.").unwrap();
    let err = KlDecoder::load(&weights, 12, 64, 48, &device).unwrap_err();
    assert!(err.to_string().contains("conv_in.weight"), "{err}");
    let err = KlDecoder::load(&Weights::new(&bytes, "model.nothing.").unwrap(), 12, 32, 48, &device).unwrap_err();
    assert!(
        err.to_string()
            .contains("missing parameter model.nothing.conv_in.weight"),
        "{err}"
    );
}
