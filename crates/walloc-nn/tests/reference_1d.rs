//! The burn audio decoder against a random reference Codec1D
//! (scripts/make_nn1d_fixtures.py, PyPI walloc 1.2.1 + diffusers).

use burn::nn::conv::Conv1dConfig;
use burn::nn::PaddingConfig1d;
mod common;

use burn::prelude::*;
use burn::tensor::TensorData;
use common::max_abs_diff;
use walloc_codec::bottleneck::Bottleneck;
use walloc_nn::encoder::Bottleneck as NnBottleneck;
use walloc_nn::oobleck::{post_filter, OobleckDecoder};
use walloc_nn::Weights;
use walloc_wavelet::{packet, FilterBank, Signal};

const FIXTURE: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../tests/fixtures/nn_codec1d.safetensors"
);

fn values(t: Tensor<3>) -> Vec<f32> {
    t.into_data().try_to_vec().unwrap()
}

#[test]
fn codec1d_matches_reference() {
    let bytes = std::fs::read(FIXTURE).unwrap();
    let device = Device::default();
    let io = Weights::new(&bytes, "io.").unwrap();
    let model = Weights::new(&bytes, "model.").unwrap();
    let bank = FilterBank::bior4_4();

    // Encoder: 1D packets (J = 3), the 1×1 conv with the reference's padding=1, the bottleneck.
    let input = io.values("input", &[2, 128]).unwrap();
    let coefficients = packet::forward(&bank, Signal::new(input, 2, vec![128]).unwrap(), 3).unwrap();
    assert_eq!((coefficients.channels, coefficients.shape[0]), (16, 16));
    let mut encoder = Conv1dConfig::new(16, 6, 1)
        .with_padding(PaddingConfig1d::Explicit(1, 1))
        .init(&device);
    encoder.weight = model.param("encoder.0.weight", [6, 16, 1], &device).unwrap();
    encoder.bias = Some(model.param("encoder.0.bias", [6], &device).unwrap());
    let x = Tensor::<3>::from_data(TensorData::new(coefficients.data, [1, 16, 16]), &device);
    let bottleneck = NnBottleneck::new(8);
    let latent = values(bottleneck.quantize(bottleneck.to_uniform(encoder.forward(x)), false));
    assert_eq!(
        latent,
        io.values("latent", &[6, 18]).unwrap(),
        "integer latent (length 16 + 2)"
    );

    // Decoder: ToNormal, Oobleck (two samples shorter), inverse packets, post filter.
    let table = Bottleneck::new(8);
    let zhat: Vec<f32> = latent
        .iter()
        .map(|&v| table.dequantize((v as i32 + 128) as u8))
        .collect();
    let decoder = OobleckDecoder::load(&model.child("decoder.1"), 6, 24, 16, &device).unwrap();
    let decoded = values(decoder.forward(Tensor::from_data(TensorData::new(zhat, [1, 6, 18]), &device)));
    let expected = io.values("decoded_coefficients", &[16, 16]).unwrap();
    let scale = expected.iter().fold(1.0f32, |m, v| m.max(v.abs()));
    let err = max_abs_diff(&decoded, &expected);
    assert!(err < 1e-4 * scale, "decoder output differs by {err} (scale {scale})");

    let audio = packet::inverse(&bank, Signal::new(decoded, 16, vec![16]).unwrap(), 3).unwrap();
    let post = post_filter(&model.child("post"), 2, &device).unwrap();
    let output = values(post.forward(Tensor::from_data(TensorData::new(audio.data, [1, 2, 128]), &device)));
    let err = max_abs_diff(&output, &io.values("output", &[2, 128]).unwrap());
    assert!(err < 1e-4, "post-filtered reconstruction differs by {err}");
}

/// A reference checkpoint (`torch.save`, weights under `model_state_dict`)
/// reads back to the same parameters, and the decoder loads from its
/// safetensors conversion.
#[test]
fn reference_checkpoint_imports() {
    use walloc_nn::checkpoint::Checkpoint;

    let pth = concat!(env!("CARGO_MANIFEST_DIR"), "/../../tests/fixtures/nn_codec1d.pth");
    let checkpoint = Checkpoint::open(std::path::Path::new(pth), "model_state_dict").unwrap();
    let bytes = std::fs::read(FIXTURE).unwrap();
    let reference = Weights::new(&bytes, "model.").unwrap();
    let names: Vec<&str> = checkpoint.names().collect();
    let in_fixture = safetensors::SafeTensors::deserialize(&bytes)
        .unwrap()
        .names()
        .iter()
        .filter(|n| n.starts_with("model."))
        .count();
    assert_eq!(names.len(), in_fixture, "{names:?}");
    for name in names {
        let (shape, values) = checkpoint.get(name).unwrap();
        assert_eq!(values, reference.values(name, shape).unwrap().as_slice(), "{name}");
    }
    let converted = checkpoint.to_safetensors(Default::default()).unwrap();
    let device = Device::default();
    let weights = Weights::new(&converted, "decoder.1.").unwrap();
    assert!(OobleckDecoder::load(&weights, 6, 24, 16, &device).is_ok());

    let err = Checkpoint::open(std::path::Path::new(pth), "state_dict").unwrap_err();
    assert!(err.to_string().contains("nn_codec1d.pth"), "{err}");
    assert!(Checkpoint::open(std::path::Path::new("/nonexistent.pth"), "").is_err());
}
