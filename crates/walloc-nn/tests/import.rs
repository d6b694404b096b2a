//! `walloc import` end to end, through the library functions the CLI
//! calls: reference checkpoints (scripts/make_import_fixtures.py, PyPI
//! walloc 1.2.1) give the reference's integer latents.

use std::path::Path;

use walloc_codec::audio;
use walloc_codec::codec::analyze_with;
use walloc_codec::{Architecture, EncodeOptions, Image8, Modality};
use walloc_nn::checkpoint::Checkpoint;
use walloc_nn::import::{import, ReferenceConfig};
use walloc_nn::Weights;

fn fixture(name: &str) -> String {
    format!("{}/../../tests/fixtures/{name}", env!("CARGO_MANIFEST_DIR"))
}

fn imported(stem: &str) -> walloc_codec::Model {
    let config: ReferenceConfig =
        serde_json::from_str(&std::fs::read_to_string(fixture(&format!("{stem}.json"))).unwrap()).unwrap();
    let checkpoint = Checkpoint::open(Path::new(&fixture(&format!("{stem}.pth"))), "model_state_dict").unwrap();
    import(stem, &config, &checkpoint, "fixture").unwrap()
}

fn reference_latent(io: &[u8], shape: &[usize]) -> Vec<i32> {
    let view = safetensors::SafeTensors::deserialize(io).unwrap();
    let latent = view.tensor("latent").unwrap();
    assert_eq!(latent.shape(), shape);
    latent.data().iter().map(|&b| i32::from(b as i8)).collect()
}

#[test]
fn full_encoder_codec2d_gives_the_reference_latent() {
    let model = imported("import_full2d");
    let config = model.config();
    assert_eq!(
        (config.architecture, config.encoder_hidden),
        (Architecture::Codec2d, Some(32))
    );
    assert!(model.encoder().is_none(), "a full encoder is not the 1×1 projection");
    let io = std::fs::read(fixture("import_full2d_io.safetensors")).unwrap();
    let view = safetensors::SafeTensors::deserialize(&io).unwrap();
    let image = Image8::new(32, 32, 3, view.tensor("image").unwrap().data().to_vec()).unwrap();
    let latent = analyze_with(&walloc_nn::registry(), &model, &image).unwrap();
    let ours: Vec<i32> = latent.symbols.iter().map(|&s| i32::from(s) - 128).collect();
    assert_eq!(ours, reference_latent(&io, &[12, 8, 8]));
}

#[test]
fn codec1d_gives_the_reference_latent_and_reconstruction() {
    let model = imported("nn_codec1d");
    let config = model.config();
    assert_eq!(
        (config.modality, config.dim, config.post_filter),
        (Modality::Audio, 1, true)
    );
    let wav = std::fs::read(fixture("stereo.wav")).unwrap();
    // 16-bit stereo PCM after a 44-byte header.
    let pcm: Vec<f32> = wav[44..]
        .chunks_exact(2)
        .map(|b| f32::from(i16::from_le_bytes([b[0], b[1]])) / 32768.0)
        .collect();
    let frames = pcm.len() / 2;
    let planar: Vec<f32> = (0..2).flat_map(|c| pcm.iter().skip(c).step_by(2).copied()).collect();
    let registry = walloc_nn::registry();
    let encoder = registry.encoder(&model).unwrap();
    let (level, latent) = audio::analyze_block(encoder.as_ref(), &model, planar.clone(), frames as u32).unwrap();
    let io = std::fs::read(fixture("codec1d_io.safetensors")).unwrap();
    let ours: Vec<i32> = latent.symbols.iter().map(|&s| i32::from(s) - 128).collect();
    assert_eq!(ours, reference_latent(&io, &[6, (1 << 16) / 8 + 2]));

    let decoder = registry.decoder(&model, &Default::default()).unwrap();
    let samples = audio::synthesize_block(decoder.as_ref(), &model, &latent, frames, level).unwrap();
    let expected = Weights::new(&io, "").unwrap().values("output", &[2, frames]).unwrap();
    let worst = samples
        .iter()
        .zip(&expected)
        .fold(0.0f32, |m, (a, b)| m.max((a - b).abs()));
    assert!(worst < 1e-4, "reconstruction differs by {worst}");
}

/// Long recordings are coded in blocks, each at its own level: a recording
/// of three blocks keeps its length and its level.
#[test]
fn audio_blocks_keep_length_and_level() {
    let model = imported("nn_codec1d");
    let frames = 150_000u32;
    let signal: Vec<f32> = (0..2 * frames)
        .map(|i| 0.3 + 0.2 * ((i % frames) as f32 * 0.01 + (i / frames) as f32).sin())
        .collect();
    let header = audio::header_for(
        &model,
        model.config().channels as u8,
        audio::SampleFormat::Float,
        frames,
        8000,
        1 << 16,
        &EncodeOptions::default(),
    )
    .unwrap();
    assert_eq!(header.chunk_count, 3);
    let band = model.band_coder(header.coder, header.step).unwrap();
    let registry = walloc_nn::registry();
    let (encoder, decoder) = (
        registry.encoder(&model).unwrap(),
        registry.decoder(&model, &Default::default()).unwrap(),
    );
    let mut decoded = vec![Vec::new(); 2];
    for (start, length) in header.blocks() {
        let block: Vec<f32> = (0..2)
            .flat_map(|c| signal[(c * frames + start) as usize..(c * frames + start + length) as usize].to_vec())
            .collect();
        let payload = audio::encode_block(encoder.as_ref(), &band, &model, block, length).unwrap();
        let samples = audio::decode_groups(decoder.as_ref(), &model, &header, &[&payload], length).unwrap();
        assert_eq!(samples.len(), 2 * length as usize);
        for c in 0..2 {
            decoded[c].extend_from_slice(&samples[c * length as usize..(c + 1) * length as usize]);
        }
    }
    for (c, channel) in decoded.iter().enumerate() {
        assert_eq!(channel.len(), frames as usize);
        let original = &signal[c * frames as usize..(c + 1) * frames as usize];
        let mean = |x: &[f32]| x.iter().sum::<f32>() / x.len() as f32;
        // A random model reconstructs poorly, but the restored level (the
        // stored mean and range) is the original's.
        assert!((mean(channel) - mean(original)).abs() < 0.2, "channel {c}");
        let peak = channel.iter().fold(0.0f32, |m, v| m.max(v.abs()));
        assert!(peak <= 0.5 + 1e-5, "within the original range: {peak}");
    }
}

/// `LinearCodec2D` and `ResidualCodec2D` checkpoints: the pure-Rust encoder
/// and decoder and the burn `LinearCodec` give the reference's latents,
/// coefficients and pixels.
#[test]
fn linear_and_residual_checkpoints_match_the_reference() {
    use burn::prelude::*;
    use burn::tensor::TensorData;
    use walloc_codec::codec;
    use walloc_nn::linear::LinearCodec;
    use walloc_wavelet::{packet, FilterBank, Signal};

    let io = std::fs::read(fixture("import_linear_io.safetensors")).unwrap();
    let view = safetensors::SafeTensors::deserialize(&io).unwrap();
    let full = std::fs::read(fixture("import_full2d_io.safetensors")).unwrap();
    let pixels = safetensors::SafeTensors::deserialize(&full)
        .unwrap()
        .tensor("image")
        .unwrap()
        .data()
        .to_vec();
    let image = Image8::new(32, 32, 3, pixels).unwrap();
    let device = Device::default();
    for (stem, architecture) in [("linear", Architecture::Linear), ("residual", Architecture::Residual)] {
        let model = imported(&format!("import_{stem}"));
        assert_eq!(model.config().architecture, architecture);
        assert_eq!(
            model.config().latent_dim,
            12,
            "{stem}: every latent channel in the file"
        );
        let expected: Vec<i32> = view
            .tensor(&format!("{stem}.latent"))
            .unwrap()
            .data()
            .iter()
            .map(|&b| i32::from(b as i8))
            .collect();
        let latent = codec::analyze(&model, &image).unwrap();
        let ours: Vec<i32> = latent.symbols.iter().map(|&s| i32::from(s) - 128).collect();
        assert_eq!(ours, expected, "{stem}: pure-Rust latent");
        let decoded: walloc_codec::Image8 = codec::synthesize(&model, &latent, 32, 32).unwrap();
        let reference = view.tensor(&format!("{stem}.output")).unwrap().data();
        let worst = decoded
            .pixels
            .iter()
            .zip(reference)
            .map(|(&a, &b)| a.abs_diff(b))
            .max()
            .unwrap();
        assert!(worst <= 1, "{stem}: pixels differ by {worst}");

        let signal: Vec<f32> = (0..3 * 1024)
            .map(|i| f32::from(image.pixels[(i % 1024) * 3 + i / 1024]) / 255.0 - 0.5)
            .collect();
        let coefficients =
            packet::forward(&FilterBank::bior4_4(), Signal::new(signal, 3, vec![32, 32]).unwrap(), 2).unwrap();
        let x = Tensor::<4>::from_data(TensorData::new(coefficients.data, [1, 48, 8, 8]), &device);
        let out = LinearCodec::load(&model, &device).unwrap().forward(x, false);
        let burn_latent: Vec<f32> = out.latent.into_data().try_to_vec().unwrap();
        assert_eq!(
            burn_latent.iter().map(|&v| v as i32).collect::<Vec<_>>(),
            expected,
            "{stem}: burn latent"
        );
        let burn_coefficients: Vec<f32> = out.coefficients.into_data().try_to_vec().unwrap();
        let want = Weights::new(&io, "")
            .unwrap()
            .values(&format!("{stem}.coefficients"), &[48, 8, 8])
            .unwrap();
        let err = burn_coefficients
            .iter()
            .zip(&want)
            .map(|(a, b)| (a - b).abs())
            .fold(0.0f32, f32::max);
        assert!(err < 1e-4, "{stem}: burn coefficients differ by {err}");
    }
}

/// burn's `ToNormal` (through the erfinv approximation) matches the
/// sensor path's dequantization table for every symbol.
#[test]
fn burn_to_normal_matches_the_table() {
    use burn::prelude::*;
    use burn::tensor::TensorData;

    let device = Device::default();
    let table = walloc_codec::bottleneck::Bottleneck::new(8);
    let values: Vec<f32> = (-128..128).map(|v| v as f32).collect();
    let u = Tensor::<1>::from_data(TensorData::new(values, [256]), &device);
    let z: Vec<f32> = walloc_nn::encoder::Bottleneck::new(8)
        .to_normal(u)
        .into_data()
        .try_to_vec()
        .unwrap();
    for (symbol, &ours) in z.iter().enumerate() {
        let want = table.dequantize(symbol as u8);
        assert!(
            (ours - want).abs() <= 1e-5 * want.abs().max(1.0),
            "symbol {symbol}: {ours} vs {want}"
        );
    }
}
