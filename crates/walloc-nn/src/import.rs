//! `walloc import`: a reference checkpoint and its JSON config become a
//! walloc model file: the reference tensors under their own names, the
//! config in walloc's metadata, and a clearly marked flat default for the
//! entropy tables (the CLI counts real ones on data).

use burn::prelude::Device;
use serde::Deserialize;
use walloc_codec::config::{Architecture, Modality, ModelConfig, MODEL_FORMAT_VERSION};
use walloc_codec::entropy::PROBABILITY_BITS;
use walloc_codec::liveaction::LiveActionConfig;
use walloc_codec::model::TensorBytes;
use walloc_codec::Model;

use crate::checkpoint::Checkpoint;
use crate::error::NnError;
use crate::import_liveaction::{import_liveaction, is_liveaction};
use crate::networks::{load_audio_decoder, load_image_decoder, load_image_encoder};

/// The reference's JSON config (`walloc.load_config`) for `Codec2D`,
/// `Codec1D`, `LinearCodec2D` or `ResidualCodec2D` (these two have no `Nd`).
#[derive(Debug, Deserialize)]
#[serde(rename_all = "snake_case")]
pub struct ReferenceConfig {
    /// Signal channels.
    pub channels: u32,
    /// Packet levels.
    #[serde(rename = "J")]
    pub levels: u32,
    /// Width of the full encoder (`null` for the lightweight one).
    #[serde(rename = "Ne", default)]
    pub encoder_width: Option<u32>,
    /// Decoder width (neural models).
    #[serde(rename = "Nd", default)]
    pub decoder_width: Option<u32>,
    /// Latent channels.
    pub latent_dim: u32,
    /// Bits per latent value.
    pub latent_bits: u8,
    /// Whether the encoder is the single 1×1 convolution.
    #[serde(default = "lightweight_by_default")]
    pub lightweight_encode: bool,
    /// Whether a `Codec1D` ends with the post filter.
    #[serde(default)]
    pub post_filter: Option<bool>,
    /// Stages of a `ResidualCodec2D` (each of `latent_dim` channels).
    #[serde(default)]
    pub num_stages: Option<u32>,
}

fn lightweight_by_default() -> bool {
    true
}

/// Which reference class a checkpoint holds, told by its parameter names.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReferenceKind {
    /// `Codec2D` (KL decoder).
    Codec2D,
    /// `Codec1D` (Oobleck decoder).
    Codec1D,
    /// `LinearCodec2D` (1×1 decoder).
    LinearCodec2D,
    /// `ResidualCodec2D` (stages of 1×1 codecs).
    ResidualCodec2D,
}

impl ReferenceKind {
    /// The kind of a checkpoint, from the decoder's first parameter.
    pub fn of(checkpoint: &Checkpoint) -> Result<Self, NnError> {
        let has = |name: &str| checkpoint.get(name).is_some();
        if has("decoder.1.conv_in.weight") {
            Ok(ReferenceKind::Codec2D)
        } else if has("decoder.1.conv1.weight_v") {
            Ok(ReferenceKind::Codec1D)
        } else if has("decoder.1.weight") {
            Ok(ReferenceKind::LinearCodec2D)
        } else if has("decoders.0.weight") {
            Ok(ReferenceKind::ResidualCodec2D)
        } else {
            Err(invalid(
                "not a WaLLoC checkpoint: no decoder.1.conv_in (Codec2D), decoder.1.conv1 (Codec1D), \
                 decoder.1.weight (LinearCodec2D) or decoders.0.weight (ResidualCodec2D)",
            ))
        }
    }
}

fn invalid(msg: impl Into<String>) -> NnError {
    NnError::Config(msg.into())
}

/// Uniform tables: every symbol equally likely, one context per channel.
pub fn flat_probabilities(latent_dim: usize, bits: u8) -> Vec<u32> {
    let symbols = 1usize << bits;
    vec![(1u32 << PROBABILITY_BITS) / symbols as u32; latent_dim * symbols]
}

/// The walloc configuration of a reference checkpoint of `kind`.
fn walloc_config(
    name: &str,
    kind: ReferenceKind,
    config: &ReferenceConfig,
    source: &str,
) -> Result<ModelConfig, NnError> {
    let need_width = |width: Option<u32>, what: &str| {
        width.ok_or_else(|| invalid(format!("the config has no {what}, which a {kind:?} needs")))
    };
    let (modality, dim, architecture, hidden, encoder_hidden) = match kind {
        ReferenceKind::Codec2D => (
            Modality::Image,
            2,
            Architecture::Codec2d,
            Some(need_width(config.decoder_width, "Nd")?),
            if config.lightweight_encode {
                None
            } else {
                Some(need_width(config.encoder_width, "Ne")?)
            },
        ),
        ReferenceKind::Codec1D if config.lightweight_encode => (
            Modality::Audio,
            1,
            Architecture::Codec1d,
            Some(need_width(config.decoder_width, "Nd")?),
            None,
        ),
        ReferenceKind::Codec1D => return Err(invalid("Codec1D with the full (Oobleck) encoder is not supported")),
        ReferenceKind::LinearCodec2D => (Modality::Image, 2, Architecture::Linear, None, None),
        ReferenceKind::ResidualCodec2D => (Modality::Image, 2, Architecture::Residual, None, None),
    };
    let stages = match kind {
        ReferenceKind::ResidualCodec2D => Some(
            config
                .num_stages
                .ok_or_else(|| invalid("the config has no num_stages, which a ResidualCodec2D needs"))?,
        ),
        _ => None,
    };
    // The reference's latent_dim is per stage; walloc's counts every channel in the file.
    let latent_dim = config
        .latent_dim
        .checked_mul(stages.unwrap_or(1))
        .ok_or_else(|| invalid("config out of range: latent_dim × num_stages overflows"))?;
    Ok(ModelConfig {
        format_version: MODEL_FORMAT_VERSION,
        name: name.to_string(),
        description: format!("reference {kind:?} imported from {source}"),
        modality,
        architecture,
        hidden,
        encoder_hidden,
        stages,
        blocks: None,
        post_filter: kind == ReferenceKind::Codec1D && config.post_filter.unwrap_or(false),
        step_conditioned: false,
        step_decoders: Vec::new(),
        step_decoder_neighbours: false,
        extends: None,
        finest_step: None,
        liveaction: None,
        channels: config.channels,
        sample_bits: None,
        dim,
        levels: config.levels,
        latent_dim,
        latent_bits: config.latent_bits,
        wavelet: "bior4.4".into(),
        provenance: serde_json::json!({
            "checkpoint": source,
            "entropy_tables": "flat default (uniform): refit for real rates",
        }),
        figures: None,
    })
}

/// A reference checkpoint made into a walloc model.
#[derive(Debug)]
pub struct Imported {
    /// The model, with flat entropy tables.
    pub model: Model,
    /// Fields of the config that are not the model's and were ignored
    /// (the training settings of LiVeAction's notebooks).
    pub ignored: Vec<String>,
}

/// Builds a walloc model from any reference checkpoint and the text of its
/// JSON config: a LiVeAction `AutoCodecND` (told by its `conv_down`, its
/// config read by [`LiveActionConfig::from_reference_json`]) or a WaLLoC
/// codec ([`import`], its config a [`ReferenceConfig`]).
pub fn import_checkpoint(
    name: &str,
    config_json: &str,
    checkpoint: &Checkpoint,
    source: &str,
) -> Result<Imported, NnError> {
    if is_liveaction(checkpoint) {
        let (shape, ignored) = LiveActionConfig::from_reference_json(config_json)?;
        let model = import_liveaction(name, &shape, checkpoint, source)?;
        return Ok(Imported { model, ignored });
    }
    let config: ReferenceConfig =
        serde_json::from_str(config_json).map_err(|e| invalid(format!("not a WaLLoC config: {e}")))?;
    let model = import(name, &config, checkpoint, source)?;
    Ok(Imported {
        model,
        ignored: Vec::new(),
    })
}

/// Builds a walloc model from a reference checkpoint (`Codec2D` with
/// either encoder, `Codec1D`, `LinearCodec2D` or `ResidualCodec2D`, told by
/// its parameter names) with flat entropy tables, and checks that every network loads.
/// Count real tables with [`walloc_codec::entropy::fit_tables`] and
/// [`Model::with_tables`].
pub fn import(name: &str, config: &ReferenceConfig, checkpoint: &Checkpoint, source: &str) -> Result<Model, NnError> {
    let kind = ReferenceKind::of(checkpoint)?;
    let walloc_config = walloc_config(name, kind, config, source)?;
    // Sizes are checked before anything is allocated from them.
    walloc_config
        .validate()
        .map_err(|e| invalid(format!("config out of range: {e}")))?;
    let has_post = checkpoint.get("post.weight").is_some();
    if kind == ReferenceKind::Codec1D && has_post != walloc_config.post_filter {
        return Err(invalid(format!(
            "the config says post_filter = {}, the checkpoint {} post.weight",
            walloc_config.post_filter,
            if has_post { "has" } else { "has no" }
        )));
    }
    let mut tensors: Vec<TensorBytes> = checkpoint
        .names()
        .filter(|n| !n.starts_with("wt.") && !n.starts_with("iwt."))
        .map(|n| {
            let (shape, values) = checkpoint.get(n).expect("listed");
            TensorBytes::f32(n, shape.to_vec(), values)
        })
        .collect();
    tensors.push(TensorBytes::probabilities(
        &walloc_config,
        &flat_probabilities(walloc_config.latent_dim as usize, config.latent_bits),
        1,
    ));
    let model = Model::from_tensors(&walloc_config, &tensors).map_err(|e| invalid(e.to_string()))?;
    let device = Device::default();
    match kind {
        ReferenceKind::Codec2D => {
            load_image_decoder(&model, &device)?;
            if !config.lightweight_encode {
                load_image_encoder(&model, &device)?;
            }
        }
        ReferenceKind::Codec1D => {
            load_audio_decoder(&model, &device)?;
        }
        ReferenceKind::LinearCodec2D | ReferenceKind::ResidualCodec2D => {}
    }
    Ok(model)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hostile_configs_are_refused_before_allocating() {
        let pth = concat!(env!("CARGO_MANIFEST_DIR"), "/../../tests/fixtures/nn_codec1d.pth");
        let checkpoint = Checkpoint::open(std::path::Path::new(pth), "model_state_dict").unwrap();
        let config = |latent_dim, levels, width| ReferenceConfig {
            channels: 2,
            levels,
            encoder_width: None,
            decoder_width: Some(width),
            latent_dim,
            latent_bits: 8,
            lightweight_encode: true,
            post_filter: Some(true),
            num_stages: None,
        };
        for bad in [
            config(4_000_000_000, 3, 32),
            config(6, 40, 32),
            config(6, 3, 5000),
            config(0, 3, 32),
        ] {
            let err = import("x", &bad, &checkpoint, "x.pth").unwrap_err();
            assert!(err.to_string().contains("config out of range"), "{err}");
        }
        // In range, but not this checkpoint's shapes: the tensor is named.
        let err = import("x", &config(6, 4, 24), &checkpoint, "x.pth").unwrap_err();
        assert!(err.to_string().contains("encoder.0.weight"), "{err}");
        let mut no_post = config(6, 3, 24);
        no_post.post_filter = None;
        let err = import("x", &no_post, &checkpoint, "x.pth").unwrap_err();
        assert!(err.to_string().contains("post_filter"), "{err}");
        assert!(import("x", &config(6, 3, 24), &checkpoint, "x.pth").is_ok());
    }
}
