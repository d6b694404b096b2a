//! `walloc import` of LiVeAction checkpoints (livecodec 0.0.1): the
//! `state_dict` of a `torch.load` dict becomes a `liveaction` model file
//! under the reference's parameter names, with the model's shape from the
//! JSON written beside the `.pth` (livecodec pickles its config as a
//! `SimpleNamespace`, which `pytorch-reader` does not read; the JSON holds
//! the same `AutoCodecND` arguments).

use burn::prelude::Device;
use walloc_codec::config::{Architecture, Modality, ModelConfig, MODEL_FORMAT_VERSION};
use walloc_codec::liveaction::{LiveActionConfig, LiveActionEncoder};
use walloc_codec::model::TensorBytes;
use walloc_codec::Model;

use crate::checkpoint::Checkpoint;
use crate::error::NnError;
use crate::import::flat_probabilities;
use crate::liveaction::layers::Params;
use crate::liveaction::{LiveActionDecoder, LiveActionEncoderNet};
use crate::weights::Weights;

/// Whether a checkpoint is a LiVeAction `AutoCodecND` (it has `conv_down`).
pub fn is_liveaction(checkpoint: &Checkpoint) -> bool {
    checkpoint.get("conv_down.conv1.weight").is_some()
}

/// A walloc `liveaction` model file from tensors under the reference's
/// names, with flat entropy tables (count real ones on data).
pub fn liveaction_model(
    name: &str,
    description: String,
    shape: &LiveActionConfig,
    mut tensors: Vec<TensorBytes>,
    provenance: serde_json::Value,
) -> Result<Model, NnError> {
    shape.validate()?;
    let modality = Modality::ALL
        .into_iter()
        .find(|m| m.axes() as usize == shape.dim)
        .ok_or_else(|| NnError::Config(format!("LiVeAction dim {} (1, 2 or 3)", shape.dim)))?;
    let config = ModelConfig {
        format_version: MODEL_FORMAT_VERSION,
        name: name.to_string(),
        description,
        modality,
        architecture: Architecture::Liveaction,
        hidden: None,
        encoder_hidden: None,
        stages: None,
        blocks: None,
        post_filter: false,
        step_conditioned: false,
        step_decoders: Vec::new(),
        step_decoder_neighbours: false,
        extends: None,
        finest_step: None,
        liveaction: Some(shape.clone()),
        channels: shape.input_channels as u32,
        sample_bits: None,
        dim: shape.dim as u32,
        levels: shape.levels as u32,
        latent_dim: shape.latent_dim as u32,
        latent_bits: 8,
        wavelet: "bior4.4".into(),
        provenance,
        figures: None,
    };
    tensors.push(TensorBytes::probabilities(
        &config,
        &flat_probabilities(shape.latent_dim, 8),
        1,
    ));
    Ok(Model::from_tensors(&config, &tensors)?)
}

/// Builds a walloc `liveaction` model from a livecodec checkpoint and its
/// shape, with flat entropy tables, and checks that its encoder (when
/// lightweight) and decoder load.
pub fn import_liveaction(
    name: &str,
    shape: &LiveActionConfig,
    checkpoint: &Checkpoint,
    source: &str,
) -> Result<Model, NnError> {
    // The wavelet filter buffers are the transform's, which walloc has.
    let filters = ["wt.", "wpt.", "iwt.", "iwpt."];
    let tensors: Vec<TensorBytes> = checkpoint
        .names()
        .filter(|n| !filters.iter().any(|f| n.starts_with(f)))
        .map(|n| {
            let (dims, values) = checkpoint.get(n).expect("listed");
            TensorBytes::f32(n, dims.to_vec(), values)
        })
        .collect();
    let provenance = serde_json::json!({
        "checkpoint": source,
        "entropy_tables": "flat default (uniform): refit for real rates",
    });
    let description = format!("LiVeAction AutoCodecND imported from {source}");
    let model = liveaction_model(name, description, shape, tensors, provenance)?;
    let weights = safetensors::SafeTensors::deserialize(model.to_bytes()).map_err(|e| NnError::File(e.to_string()))?;
    let device = Device::default();
    let params = Params::from(Weights::new(model.to_bytes(), "")?);
    if shape.lightweight_encode {
        LiveActionEncoder::load(shape, &weights)?;
    } else {
        LiveActionEncoderNet::build(shape, &params, &device)?;
    }
    LiveActionDecoder::build(shape, &params, &device)?;
    Ok(model)
}
