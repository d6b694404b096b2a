//! `walloc import`: a reference checkpoint and its JSON config become a
//! walloc model file: the reference tensors under their own names, the
//! config in walloc's metadata, and entropy tables (a clearly marked flat
//! default, or tables counted from images).

use std::collections::HashMap;

use safetensors::tensor::{Dtype, TensorView};
use serde::Deserialize;
use walloc_codec::config::{ModelConfig, ARCHITECTURE_CODEC2D, CONFIG_KEY, MODEL_FORMAT_VERSION};
use walloc_codec::entropy::PROBABILITY_BITS;
use walloc_codec::model::PROBABILITIES;
use walloc_codec::Model;

use crate::checkpoint::Checkpoint;
use crate::kl_decoder::KlDecoder;
use crate::weights::{NnError, Weights};

/// The reference's JSON config (`walloc.load_config`), for `Codec2D`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "snake_case")]
pub struct ReferenceConfig {
    /// Image channels.
    pub channels: u32,
    /// Packet levels.
    #[serde(rename = "J")]
    pub levels: u32,
    /// Width of the full encoder (`null` for the lightweight one).
    #[serde(rename = "Ne")]
    pub encoder_width: Option<u32>,
    /// Decoder width.
    #[serde(rename = "Nd")]
    pub decoder_width: u32,
    /// Latent channels.
    pub latent_dim: u32,
    /// Bits per latent value.
    pub latent_bits: u8,
    /// Whether the encoder is the single 1×1 convolution.
    pub lightweight_encode: bool,
}

fn invalid(msg: impl Into<String>) -> NnError {
    NnError::File(msg.into())
}

/// Uniform tables: every symbol equally likely, one context per channel.
pub fn flat_probabilities(latent_dim: usize, bits: u8) -> Vec<u32> {
    let symbols = 1usize << bits;
    vec![(1u32 << PROBABILITY_BITS) / symbols as u32; latent_dim * symbols]
}

/// Builds a `codec2d` walloc model from a reference `Codec2D` checkpoint and
/// checks that it loads (encoder and tables in walloc-codec, decoder here).
/// `probabilities` are `[latent_dim, contexts, 2^bits]` rows; `None` stores
/// [`flat_probabilities`] and says so in the provenance.
pub fn import_codec2d(
    name: &str,
    config: &ReferenceConfig,
    checkpoint: &Checkpoint,
    source: &str,
    probabilities: Option<(Vec<u32>, usize)>,
) -> Result<Model, NnError> {
    if !config.lightweight_encode || config.encoder_width.is_some() {
        return Err(invalid(
            "only the lightweight (1×1) encoder is supported so far; this config has a full encoder",
        ));
    }
    let entropy = if probabilities.is_some() {
        "counted from images"
    } else {
        "flat default (uniform): refit for real rates"
    };
    let walloc_config = ModelConfig {
        format_version: MODEL_FORMAT_VERSION,
        name: name.to_string(),
        description: format!("reference Codec2D imported from {source}"),
        modality: "image".into(),
        architecture: ARCHITECTURE_CODEC2D.into(),
        hidden: Some(config.decoder_width),
        channels: config.channels,
        dim: 2,
        levels: config.levels,
        latent_dim: config.latent_dim,
        latent_bits: config.latent_bits,
        wavelet: "bior4.4".into(),
        provenance: serde_json::json!({ "checkpoint": source, "entropy_tables": entropy }),
        figures: None,
    };
    // Sizes are checked before anything is allocated from them.
    walloc_config
        .validate()
        .map_err(|e| invalid(format!("config out of range: {e}")))?;
    let (k, symbols) = (config.latent_dim as usize, 1usize << config.latent_bits);
    let (probabilities, contexts) = probabilities.unwrap_or_else(|| (flat_probabilities(k, config.latent_bits), 1));
    let mut buffers: Vec<(String, Dtype, Vec<usize>, Vec<u8>)> = checkpoint
        .names()
        .filter(|n| !n.starts_with("wt.") && !n.starts_with("iwt."))
        .map(|n| {
            let (shape, values) = checkpoint.get(n).expect("listed");
            (
                n.to_string(),
                Dtype::F32,
                shape.to_vec(),
                values.iter().flat_map(|v| v.to_le_bytes()).collect(),
            )
        })
        .collect();
    buffers.push((
        PROBABILITIES.to_string(),
        Dtype::U32,
        vec![k, contexts, symbols],
        probabilities.iter().flat_map(|v| v.to_le_bytes()).collect(),
    ));
    let views = buffers
        .iter()
        .map(|(n, dtype, shape, data)| {
            TensorView::new(*dtype, shape.clone(), data)
                .map(|v| (n.as_str(), v))
                .map_err(|e| invalid(format!("{n}: {e}")))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let json = serde_json::to_string(&walloc_config).map_err(|e| invalid(e.to_string()))?;
    let bytes = safetensors::serialize(views, Some(HashMap::from([(CONFIG_KEY.to_string(), json)])))
        .map_err(|e| invalid(e.to_string()))?;
    let model = Model::from_bytes(bytes).map_err(|e| invalid(e.to_string()))?;
    load_decoder(&model, &burn::prelude::Device::default())?;
    Ok(model)
}

/// The KL decoder of a `codec2d` model file.
pub fn load_decoder(model: &Model, device: &burn::prelude::Device) -> Result<KlDecoder, NnError> {
    let config = model.config();
    let hidden = config
        .hidden
        .ok_or_else(|| invalid(format!("model {} has no decoder width", config.name)))?;
    let weights = Weights::new(model.to_bytes(), "decoder.1.")?;
    KlDecoder::load(
        &weights,
        config.latent_dim as usize,
        hidden as usize,
        config.coefficient_dim(),
        device,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hostile_configs_are_refused_before_allocating() {
        let pth = concat!(env!("CARGO_MANIFEST_DIR"), "/../../tests/fixtures/nn_codec1d.pth");
        let checkpoint = Checkpoint::open(std::path::Path::new(pth), "model_state_dict").unwrap();
        let config = |latent_dim, levels, width| ReferenceConfig {
            channels: 3,
            levels,
            encoder_width: None,
            decoder_width: width,
            latent_dim,
            latent_bits: 8,
            lightweight_encode: true,
        };
        for bad in [
            config(4_000_000_000, 3, 32),
            config(12, 40, 32),
            config(12, 3, 33),
            config(0, 3, 32),
        ] {
            let err = import_codec2d("x", &bad, &checkpoint, "x.pth", None).unwrap_err();
            assert!(err.to_string().contains("config out of range"), "{err}");
        }
        // In range, but the checkpoint is a Codec1D: the missing tensor is named.
        let err = import_codec2d("x", &config(12, 3, 32), &checkpoint, "x.pth", None).unwrap_err();
        assert!(err.to_string().contains("encoder.0.weight"), "{err}");
    }
}
