//! The burn decoder against a random reference Codec2D
//! (scripts/make_nn_fixtures.py, PyPI walloc 1.2.1 + diffusers).

mod common;

use burn::prelude::*;
use burn::tensor::TensorData;
use common::max_abs_diff;
use walloc_codec::bottleneck::Bottleneck;
use walloc_nn::kl::KlDecoder;
use walloc_nn::Weights;
use walloc_wavelet::{packet, FilterBank, Signal};

const FIXTURE: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../tests/fixtures/nn_codec2d.safetensors"
);

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

/// One encoder, two paths: the pure-Rust sensor encoder (walloc-codec) and
/// the burn encoder give the reference's integer latent.
#[test]
fn both_encoders_give_the_reference_latent() {
    use walloc_codec::{Image8, LinearEncoder};
    use walloc_nn::encoder::{Bottleneck as NnBottleneck, LightweightEncoder};

    let bytes = std::fs::read(FIXTURE).unwrap();
    let device = Device::default();
    let io = Weights::new(&bytes, "io.").unwrap();
    let model = Weights::new(&bytes, "model.encoder.0.").unwrap();
    let expected: Vec<i32> = io
        .values("latent", &[12, 8, 8])
        .unwrap()
        .iter()
        .map(|&v| v as i32)
        .collect();
    let view = safetensors::SafeTensors::deserialize(&bytes).unwrap();
    let image = Image8::new(32, 32, 3, view.tensor("io.image").unwrap().data().to_vec()).unwrap();

    let config: walloc_codec::ModelConfig = serde_json::from_value(serde_json::json!({
        "format_version": 1, "name": "fixture", "modality": "image", "architecture": "linear",
        "channels": 3, "dim": 2, "levels": 2, "latent_dim": 12, "latent_bits": 8, "wavelet": "bior4.4"
    }))
    .unwrap();
    let encoder = LinearEncoder::new(
        &config,
        FilterBank::bior4_4(),
        model.values("weight", &[12, 48, 1, 1]).unwrap(),
        model.values("bias", &[12]).unwrap(),
    )
    .unwrap();
    let latent = encoder.analyze(&image).unwrap();
    let sensor: Vec<i32> = latent.symbols.iter().map(|&s| i32::from(s) - 128).collect();
    assert_eq!(sensor, expected, "pure-Rust encoder");

    let pixels: Vec<f32> = (0..3 * 32 * 32)
        .map(|i| f32::from(image.pixels[(i % 1024) * 3 + i / 1024]) / 255.0 - 0.5)
        .collect();
    let coefficients =
        packet::forward(&FilterBank::bior4_4(), Signal::new(pixels, 3, vec![32, 32]).unwrap(), 2).unwrap();
    let x = Tensor::<4>::from_data(TensorData::new(coefficients.data, [1, 48, 8, 8]), &device);
    let burn_encoder = LightweightEncoder::load(&model, 48, 12, &device).unwrap();
    let bottleneck = NnBottleneck::new(8);
    let u = bottleneck.to_uniform(burn_encoder.forward(x));
    let rounded: Vec<f32> = bottleneck.quantize(u.clone(), false).into_data().try_to_vec().unwrap();
    let burn: Vec<i32> = rounded.iter().map(|&v| v as i32).collect();
    assert_eq!(burn, expected, "burn encoder");
    // Training noise stays within half a step of the companded value.
    let noisy: Vec<f32> = bottleneck.quantize(u.clone(), true).into_data().try_to_vec().unwrap();
    let clean: Vec<f32> = u.into_data().try_to_vec().unwrap();
    assert!(noisy.iter().zip(&clean).all(|(n, c)| (n - c).abs() <= 0.5));
    assert!(noisy.iter().zip(&clean).any(|(n, c)| (n - c).abs() > 0.01));
}

/// Attention in query blocks (bounded memory) equals attention in one block.
#[test]
fn blocked_attention_is_exact() {
    let bytes = std::fs::read(FIXTURE).unwrap();
    let device = Device::default();
    let decoder = KlDecoder::load(&Weights::new(&bytes, "model.decoder.1.").unwrap(), 12, 32, 48, &device).unwrap();
    let values: Vec<f32> = (0..32 * 9 * 11).map(|i| ((i * 37) % 101) as f32 / 50.0 - 1.0).collect();
    let x = Tensor::<4>::from_data(TensorData::new(values, [1, 32, 9, 11]), &device);
    let whole: Vec<f32> = decoder
        .attention()
        .forward_blocked(x.clone(), 99)
        .into_data()
        .try_to_vec()
        .unwrap();
    for block in [1, 7, 50] {
        let parts: Vec<f32> = decoder
            .attention()
            .forward_blocked(x.clone(), block)
            .into_data()
            .try_to_vec()
            .unwrap();
        assert!(max_abs_diff(&whole, &parts) < 1e-5, "block {block}");
    }
}

/// Tiled decoding covers every position once; with an overlap as wide as
/// the latent it is whole decoding, and small overlaps stay close to it.
#[test]
fn tiled_decoding_matches_whole_decoding() {
    use walloc_nn::decode::{decode_coefficients, Tiling};

    let bytes = std::fs::read(FIXTURE).unwrap();
    let device = Device::default();
    let decoder = KlDecoder::load(&Weights::new(&bytes, "model.decoder.1.").unwrap(), 12, 32, 48, &device).unwrap();
    let (h, w) = (20, 27);
    let zhat: Vec<f32> = (0..12 * h * w).map(|i| ((i * 53) % 97) as f32 / 40.0 - 1.2).collect();
    let decode = |tile, overlap| {
        decode_coefficients(
            |z| decoder.forward(z),
            &zhat,
            [12, h, w],
            48,
            Tiling { tile, overlap },
            &device,
        )
    };
    let whole = decode(0, 0).unwrap();
    assert!(Tiling { tile: 8, overlap: 2 }.is_whole(12, 12) && !Tiling { tile: 8, overlap: 2 }.is_whole(13, 12));
    // Every window spans the whole latent: identical to whole decoding.
    let spanning = decode(8, 30).unwrap();
    assert!(max_abs_diff(&whole, &spanning) < 1e-4);
    let scale = whole.iter().fold(0.0f32, |m, v| m.max(v.abs()));
    let tiled = decode(8, 4).unwrap();
    let err = max_abs_diff(&whole, &tiled);
    assert!(err > 0.0 && err < 0.5 * scale, "tiles differ by {err} (scale {scale})");
}
