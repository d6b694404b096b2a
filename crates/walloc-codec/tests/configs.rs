//! Which architectures a model configuration may name, and the linear audio
//! models that `fit_linear_audio` makes.

use walloc_codec::audio::{self, Level};
use walloc_codec::fit::{fit_linear_audio, fit_planar_step_decoders, FitOptions};
use walloc_codec::registry::{DecoderOptions, Registry};
use walloc_codec::{Architecture, EncodeOptions, LatentCoder, Modality, Model, Step};

fn options(levels: u32, latent_dim: u32) -> FitOptions {
    FitOptions {
        name: "stereo-test".into(),
        description: "test".into(),
        channels: 2,
        levels,
        latent_dim,
        latent_bits: 8,
        wavelet: "bior4.4".into(),
        step_scale: 1.0,
        step_decoders: Vec::new(),
        step_decoder_neighbours: false,
        provenance: serde_json::json!({}),
    }
}

/// Normalized stereo segments: tones of a few pitches, planar.
fn segments(count: usize, length: usize) -> Vec<Vec<f32>> {
    (0..count)
        .map(|s| {
            let mut planar: Vec<f32> = (0..2 * length)
                .map(|i| {
                    let (c, t) = (i / length, (i % length) as f32);
                    let f = 0.01 + 0.003 * s as f32 + 0.002 * c as f32;
                    (t * f).sin() + 0.3 * (t * 3.1 * f).sin()
                })
                .collect();
            Level::normalize(&mut planar);
            planar
        })
        .collect()
}

#[test]
fn linear_audio_models_fit_and_code_a_block() {
    let model = fit_linear_audio(&segments(6, 1024), &options(4, 6)).unwrap();
    let config = model.config();
    assert_eq!(
        (config.modality, config.architecture),
        (Modality::Audio, Architecture::Linear)
    );
    assert_eq!(config.decoder_weight_shape(), vec![32, 6, 1]);

    // One block through the encoder, the container's payload and the linear
    // decoder: the level comes back and the tones survive.
    let frames = 3000u32;
    let block = segments(1, frames as usize).pop().unwrap();
    let original: Vec<f32> = block.iter().map(|v| v * 0.25 + 0.1).collect();
    let mut sizes = Vec::new();
    // rANS and adaptive at the model's step, and adaptive at quality 40:
    // coarser steps cost SNR and save bytes.
    for (coder, quality, min_snr) in [
        (LatentCoder::Rans, 75.0, 20.0),
        (LatentCoder::Adaptive, 75.0, 20.0),
        (LatentCoder::Adaptive, 40.0, 10.0),
    ] {
        let options = EncodeOptions::default()
            .with_coder(coder)
            .with_step(Step::from_quality(quality).unwrap());
        let (payload, decoded) = round_trip(&model, &model, &original, frames, options);
        let snr = snr(&original, &decoded, 0.1);
        assert!(snr > min_snr, "{coder:?} at quality {quality}: SNR {snr:.1} dB");
        sizes.push((payload.len(), snr));
    }
    assert!(sizes[2].0 < sizes[1].0 && sizes[2].1 < sizes[1].1, "{sizes:?}");
}

/// SNR in dB of `decoded` against `original` around its mean `level`.
fn snr(original: &[f32], decoded: &[f32], level: f32) -> f32 {
    let power: f32 = original.iter().map(|a| (a - level).powi(2)).sum();
    let noise: f32 = original.iter().zip(decoded).map(|(a, b)| (a - b).powi(2)).sum();
    10.0 * (power / noise).log10()
}

/// One block of `original` coded with `model` as `options` ask and
/// decoded with `decoding` (the same encoder): the payload and the samples.
fn round_trip(
    model: &Model,
    decoding: &Model,
    original: &[f32],
    frames: u32,
    options: EncodeOptions,
) -> (Vec<u8>, Vec<f32>) {
    let registry = Registry::core();
    let encoder = registry.encoder_at(model, options.step).unwrap();
    let band = model.band_coder(options.coder, options.step).unwrap();
    let payload = audio::encode_block(encoder.as_ref(), &band, model, original.to_vec(), frames).unwrap();
    let header = audio::header_for(
        decoding,
        2,
        audio::SampleFormat::Float,
        frames,
        8000,
        audio::PAD_MULTIPLE,
        &options,
    )
    .unwrap();
    let decoder = registry.decoder(decoding, &DecoderOptions::default()).unwrap();
    let decoded = audio::decode_groups(decoder.as_ref(), decoding, &header, &[&payload], frames).unwrap();
    (payload, decoded)
}

#[test]
fn audio_step_decoders_keep_the_files_and_fit_their_steps() {
    let native_only = fit_linear_audio(&segments(8, 1024), &options(4, 6)).unwrap();
    let mut heard = Vec::new();
    let fitted = fit_planar_step_decoders(
        &native_only,
        &segments(8, 1024),
        &[1024],
        &[50, 70, 80],
        None,
        &mut |done, steps| heard.push((done, steps)),
    )
    .unwrap();
    assert_eq!(heard, [(1, 3), (2, 3), (3, 3)], "one report a step");
    assert_eq!(fitted.config().step_decoders, vec![50, 70, 80]);
    assert_eq!(fitted.id(), native_only.id(), "step decoders keep the id");

    // A piece the decoders were fitted on: least squares on it cannot lose.
    let frames = 1024u32;
    let original = segments(8, 1024).swap_remove(3);
    for code in [0i8, 50, 70, 80] {
        let options = EncodeOptions::default().with_step(Step::from_code(code).unwrap());
        let (payload, ours) = round_trip(&fitted, &fitted, &original, frames, options);
        let (same, native) = round_trip(&native_only, &native_only, &original, frames, options);
        assert_eq!(payload, same, "step code {code}: the same file");
        let (ours, native) = (snr(&original, &ours, 0.0), snr(&original, &native, 0.0));
        if code == 0 {
            assert_eq!(ours, native, "the model's own step keeps its decoder");
        } else {
            // In-sample the gain is small on tones (0.04 to 0.1 dB) but
            // never negative; on music it is 0.01 to 0.04 dB, on Landsat
            // bands up to 1.1 dB (docs/BENCHMARKS.md).
            assert!(
                ours > native + 0.03,
                "step code {code}: SNR {ours:.2} dB against {native:.2}"
            );
        }
    }

    // Pieces of another shape, image models and neighbour decoders are refused.
    let error = fit_planar_step_decoders(&native_only, &segments(2, 1024), &[1000], &[50], None, &mut |_, _| {})
        .unwrap_err()
        .to_string();
    assert!(error.contains("each axis a multiple of 2^4"), "{error}");
    let image_model = Model::from_bytes(
        std::fs::read(concat!(env!("CARGO_MANIFEST_DIR"), "/../../models/rgb-16x.safetensors")).unwrap(),
    )
    .unwrap();
    let error = fit_planar_step_decoders(&image_model, &segments(2, 1024), &[1024], &[50], None, &mut |_, _| {})
        .unwrap_err()
        .to_string();
    assert!(error.contains("fitted on image crops"), "{error}");
}

#[test]
fn fit_linear_audio_refuses_ragged_segments() {
    let mut ragged = segments(2, 1024);
    ragged[1].truncate(1000);
    let error = fit_linear_audio(&ragged, &options(4, 6)).unwrap_err().to_string();
    assert!(error.contains("each axis a multiple of 2^4"), "{error}");
    let error = fit_linear_audio(&segments(2, 1000), &options(4, 6))
        .unwrap_err()
        .to_string();
    assert!(error.contains("a multiple of 2^4"), "{error}");
}

#[test]
fn only_refine_models_have_blocks_and_they_need_them() {
    let model = fit_linear_audio(&segments(4, 1024), &options(4, 6)).unwrap();
    let mut config = model.config().clone();
    config.blocks = Some(2);
    let error = config.validate().unwrap_err().to_string();
    assert!(error.contains("only refine models have blocks"), "{error}");
    config.blocks = None;
    config.architecture = Architecture::Refine;
    config.hidden = Some(16);
    let error = config.validate().unwrap_err().to_string();
    assert!(
        error.contains("refine width Some(16)") && error.contains("blocks None"),
        "{error}"
    );
    config.blocks = Some(3);
    assert!(config.validate().is_ok(), "audio refine models are valid");
    config.modality = Modality::Image;
    config.dim = 2;
    config.levels = 2;
    assert!(config.validate().is_ok());
    config.stages = Some(1);
    let error = config.validate().unwrap_err().to_string();
    assert!(error.contains("architecture \"refine\" for image"), "{error}");
}
