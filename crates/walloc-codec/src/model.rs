//! Model files: one safetensors file holding the encoder, the decoder, the
//! entropy tables and the configuration.
//!
//! Tensor names mirror the reference `LinearCodec2D` state_dict
//! (`encoder.0.*`, `decoder.1.*`), so that a linear model here is a
//! reference model and the other way round.

use std::collections::HashMap;
use std::fmt;

use safetensors::tensor::{Dtype, TensorView};
use safetensors::SafeTensors;
use sha2::{Digest, Sha256};
use walloc_wavelet::FilterBank;

use crate::bottleneck::Bottleneck;
use crate::config::{ModelConfig, ARCHITECTURE_CODEC2D, ARCHITECTURE_LINEAR, CONFIG_KEY, MODEL_FORMAT_VERSION};
use crate::encoder::LinearEncoder;
use crate::entropy::{EntropyTables, PROBABILITY_BITS};
use crate::error::{CodecError, Result};

/// Encoder projection weight, `[latent_dim, coefficient_dim, 1, 1]`.
pub const ENCODER_WEIGHT: &str = "encoder.0.weight";
/// Encoder projection bias, `[latent_dim]`.
pub const ENCODER_BIAS: &str = "encoder.0.bias";
/// Decoder projection weight, `[coefficient_dim, latent_dim, 1, 1]`.
pub const DECODER_WEIGHT: &str = "decoder.1.weight";
/// Decoder projection bias, `[coefficient_dim]`.
pub const DECODER_BIAS: &str = "decoder.1.bias";
/// Symbol probabilities, u32 `[latent_dim, contexts, 2^latent_bits]` (or
/// `[latent_dim, 2^latent_bits]` for one context), rows summing to `2^24`.
pub const PROBABILITIES: &str = "entropy.probabilities";

/// Largest channel count a model may declare.
pub const MAX_CHANNELS: u32 = 64;
/// Largest number of packet levels a model may declare.
pub const MAX_LEVELS: u32 = 6;

/// A model's identity: the SHA-256 of its file bytes.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct ModelId(pub [u8; 32]);

impl ModelId {
    /// Hash of a model file.
    pub fn of_bytes(bytes: &[u8]) -> Self {
        ModelId(Sha256::digest(bytes).into())
    }

    /// The first 12 hex digits, enough to tell models apart in messages.
    pub fn short(&self) -> String {
        self.to_string()[..12].to_string()
    }
}

impl fmt::Display for ModelId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.iter().try_for_each(|b| write!(f, "{b:02x}"))
    }
}

impl fmt::Debug for ModelId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ModelId({self})")
    }
}

/// The learned parts of a linear WaLLoC model.
#[derive(Clone, Debug, PartialEq)]
pub struct LinearWeights {
    /// `[latent_dim × coefficient_dim]`, row-major.
    pub encoder_weight: Vec<f32>,
    /// `[latent_dim]`.
    pub encoder_bias: Vec<f32>,
    /// `[coefficient_dim × latent_dim]`, row-major.
    pub decoder_weight: Vec<f32>,
    /// `[coefficient_dim]`.
    pub decoder_bias: Vec<f32>,
    /// `[latent_dim × contexts × 2^latent_bits]`, rows summing to `2^24`,
    /// all nonzero (see [`crate::entropy::context`]).
    pub probabilities: Vec<u32>,
    /// Entropy-coding contexts per latent channel.
    pub contexts: usize,
}

/// A loaded model, ready to encode and decode.
#[derive(Debug)]
pub struct Model {
    config: ModelConfig,
    weights: LinearWeights,
    bank: FilterBank,
    bottleneck: Bottleneck,
    tables: EntropyTables,
    encoder: LinearEncoder,
    id: ModelId,
    bytes: Vec<u8>,
}

fn bad(msg: impl Into<String>) -> CodecError {
    CodecError::InvalidModel(msg.into())
}

/// Reads a tensor of 4-byte little-endian values, checking dtype and shape.
fn read_words<T>(
    st: &SafeTensors,
    name: &str,
    dtype: Dtype,
    shape: &[usize],
    from_le: fn([u8; 4]) -> T,
) -> Result<Vec<T>> {
    let view = st.tensor(name).map_err(|_| bad(format!("missing tensor {name}")))?;
    check_view(&view, name, dtype, shape)?;
    Ok(view
        .data()
        .chunks_exact(4)
        .map(|b| from_le([b[0], b[1], b[2], b[3]]))
        .collect())
}

fn read_f32(st: &SafeTensors, name: &str, shape: &[usize]) -> Result<Vec<f32>> {
    read_words(st, name, Dtype::F32, shape, f32::from_le_bytes)
}

fn read_u32(st: &SafeTensors, name: &str, shape: &[usize]) -> Result<Vec<u32>> {
    read_words(st, name, Dtype::U32, shape, u32::from_le_bytes)
}

fn check_view(view: &TensorView<'_>, name: &str, dtype: Dtype, shape: &[usize]) -> Result<()> {
    if view.dtype() != dtype || view.shape() != shape {
        return Err(bad(format!(
            "tensor {name} is {:?} {:?}, expected {dtype:?} {shape:?}",
            view.dtype(),
            view.shape()
        )));
    }
    Ok(())
}

impl ModelConfig {
    /// Checks every field against what this build supports, so that nothing
    /// is ever allocated from an out-of-range config; returns the filter bank.
    pub fn validate(&self) -> Result<FilterBank> {
        if self.format_version != MODEL_FORMAT_VERSION {
            return Err(bad(format!(
                "model format version {} (this build reads {MODEL_FORMAT_VERSION})",
                self.format_version
            )));
        }
        if self.modality != "image" || self.dim != 2 {
            return Err(bad(format!(
                "{}-D {} models are not supported by this build (2-D images only)",
                self.dim, self.modality
            )));
        }
        match (self.architecture.as_str(), self.hidden) {
            (ARCHITECTURE_LINEAR, _) => {}
            (ARCHITECTURE_CODEC2D, Some(hidden)) if hidden > 0 && hidden.is_multiple_of(32) && hidden <= 4096 => {}
            (ARCHITECTURE_CODEC2D, hidden) => {
                return Err(bad(format!(
                    "codec2d decoder width {hidden:?} (a multiple of 32, at most 4096)"
                )))
            }
            (other, _) => return Err(bad(format!("unknown architecture {other:?}"))),
        }
        if !(1..=MAX_CHANNELS).contains(&self.channels) {
            return Err(bad(format!("{} channels (1..={MAX_CHANNELS})", self.channels)));
        }
        if !(1..=MAX_LEVELS).contains(&self.levels) {
            return Err(bad(format!("{} levels (1..={MAX_LEVELS})", self.levels)));
        }
        if self.latent_dim == 0 || self.latent_dim as usize > self.coefficient_dim() {
            return Err(bad(format!(
                "latent_dim {} (1..={})",
                self.latent_dim,
                self.coefficient_dim()
            )));
        }
        if !(2..=8).contains(&self.latent_bits) {
            return Err(bad(format!("latent_bits {} (2..=8)", self.latent_bits)));
        }
        FilterBank::by_name(&self.wavelet).ok_or_else(|| bad(format!("unknown wavelet {:?}", self.wavelet)))
    }
}

impl Model {
    /// Builds a model from its parts and serializes it; the id is the hash of
    /// the serialized bytes.
    pub fn new(config: ModelConfig, weights: LinearWeights) -> Result<Self> {
        let (k, d) = (config.latent_dim as usize, config.coefficient_dim());
        let symbols = 1usize << config.latent_bits;
        let to_bytes = |v: &[f32]| v.iter().flat_map(|x| x.to_le_bytes()).collect::<Vec<u8>>();
        let buffers = [
            (
                ENCODER_WEIGHT,
                Dtype::F32,
                vec![k, d, 1, 1],
                to_bytes(&weights.encoder_weight),
            ),
            (ENCODER_BIAS, Dtype::F32, vec![k], to_bytes(&weights.encoder_bias)),
            (
                DECODER_WEIGHT,
                Dtype::F32,
                vec![d, k, 1, 1],
                to_bytes(&weights.decoder_weight),
            ),
            (DECODER_BIAS, Dtype::F32, vec![d], to_bytes(&weights.decoder_bias)),
            (
                PROBABILITIES,
                Dtype::U32,
                vec![k, weights.contexts, symbols],
                weights.probabilities.iter().flat_map(|x| x.to_le_bytes()).collect(),
            ),
        ];
        let mut views = Vec::new();
        for (name, dtype, shape, data) in &buffers {
            let view = TensorView::new(*dtype, shape.clone(), data).map_err(|e| bad(format!("tensor {name}: {e}")))?;
            views.push((*name, view));
        }
        let json = serde_json::to_string(&config).map_err(|e| bad(e.to_string()))?;
        let metadata = HashMap::from([(CONFIG_KEY.to_string(), json)]);
        let bytes = safetensors::serialize(views, Some(metadata)).map_err(|e| bad(e.to_string()))?;
        Self::from_bytes(bytes)
    }

    /// Loads and validates a model file.
    pub fn from_bytes(bytes: Vec<u8>) -> Result<Self> {
        let (_, meta) = SafeTensors::read_metadata(&bytes).map_err(|e| bad(e.to_string()))?;
        let json = meta
            .metadata()
            .as_ref()
            .and_then(|m| m.get(CONFIG_KEY))
            .ok_or_else(|| bad(format!("no {CONFIG_KEY} in the metadata")))?;
        let config: ModelConfig = serde_json::from_str(json).map_err(|e| bad(format!("config: {e}")))?;
        let bank = config.validate()?;
        let st = SafeTensors::deserialize(&bytes).map_err(|e| bad(e.to_string()))?;
        let (k, d) = (config.latent_dim as usize, config.coefficient_dim());
        let symbols = 1usize << config.latent_bits;
        let weights = LinearWeights {
            encoder_weight: read_f32(&st, ENCODER_WEIGHT, &[k, d, 1, 1])?,
            encoder_bias: read_f32(&st, ENCODER_BIAS, &[k])?,
            // Neural decoders are read by walloc-nn from the same file.
            decoder_weight: if config.architecture == ARCHITECTURE_LINEAR {
                read_f32(&st, DECODER_WEIGHT, &[d, k, 1, 1])?
            } else {
                Vec::new()
            },
            decoder_bias: if config.architecture == ARCHITECTURE_LINEAR {
                read_f32(&st, DECODER_BIAS, &[d])?
            } else {
                Vec::new()
            },
            probabilities: Vec::new(),
            contexts: 1,
        };
        let mut weights = weights;
        let shape = st
            .tensor(PROBABILITIES)
            .map_err(|_| bad(format!("missing tensor {PROBABILITIES}")))?
            .shape()
            .to_vec();
        weights.contexts = match shape.as_slice() {
            [_, contexts, _] if (1..=crate::entropy::CONTEXTS).contains(contexts) => *contexts,
            [_, _] => 1,
            _ => return Err(bad(format!("tensor {PROBABILITIES} has shape {shape:?}"))),
        };
        weights.probabilities = if shape.len() == 3 {
            read_u32(&st, PROBABILITIES, &[k, weights.contexts, symbols])?
        } else {
            read_u32(&st, PROBABILITIES, &[k, symbols])?
        };
        let all_weights = [
            &weights.encoder_weight,
            &weights.encoder_bias,
            &weights.decoder_weight,
            &weights.decoder_bias,
        ];
        if all_weights.iter().any(|w| w.iter().any(|x| !x.is_finite())) {
            return Err(bad("weights contain NaN or infinity"));
        }
        let tables = EntropyTables::new(&weights.probabilities, symbols, weights.contexts).map_err(|row| {
            bad(format!(
                "entropy row {row} is not {PROBABILITY_BITS}-bit fixed point with no zero"
            ))
        })?;
        let encoder = LinearEncoder::new(
            config.channels,
            config.levels,
            config.latent_bits,
            bank.clone(),
            weights.encoder_weight.clone(),
            weights.encoder_bias.clone(),
        )?;
        Ok(Model {
            encoder,
            bottleneck: Bottleneck::new(config.latent_bits),
            id: ModelId::of_bytes(&bytes),
            config,
            weights,
            bank,
            tables,
            bytes,
        })
    }

    /// The configuration.
    pub fn config(&self) -> &ModelConfig {
        &self.config
    }

    /// The weights.
    pub fn weights(&self) -> &LinearWeights {
        &self.weights
    }

    /// The wavelet filter bank.
    pub fn bank(&self) -> &FilterBank {
        &self.bank
    }

    /// The bottleneck for this model's latent bits.
    pub fn bottleneck(&self) -> &Bottleneck {
        &self.bottleneck
    }

    /// Entropy-coding tables.
    pub fn tables(&self) -> &EntropyTables {
        &self.tables
    }

    /// Whether the decoder is the linear one of this crate (else a neural
    /// decoder for `walloc-nn`).
    pub fn is_linear(&self) -> bool {
        self.config.architecture == ARCHITECTURE_LINEAR
    }

    /// The encoder.
    pub fn encoder(&self) -> &LinearEncoder {
        &self.encoder
    }

    /// SHA-256 of the model file.
    pub fn id(&self) -> ModelId {
        self.id
    }

    /// The model file's bytes.
    pub fn to_bytes(&self) -> &[u8] {
        &self.bytes
    }
}
