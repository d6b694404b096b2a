//! Model files: one safetensors file holding the encoder, the decoder, the
//! entropy tables and the configuration.
//!
//! Tensor names mirror the reference `LinearCodec2D` state_dict
//! (`encoder.0.*`, `decoder.1.*`), so that a linear model here is a
//! reference model and the other way round.

use std::borrow::Cow;
use std::collections::HashMap;
use std::fmt;

use safetensors::tensor::{Dtype, TensorView};
use safetensors::SafeTensors;
use sha2::{Digest, Sha256};
use walloc_wavelet::FilterBank;

use crate::adaptive::AdaptiveCoder;
use crate::bottleneck::Bottleneck;
use crate::config::{Architecture, EncoderKind, Figures, Modality, ModelConfig, CONFIG_KEY, MODEL_FORMAT_VERSION};
use crate::container::LatentCoder;
use crate::dequantize::Dequantizer;
use crate::encoder::LinearEncoder;
use crate::entropy::{BandCoder, EntropyTables, PROBABILITY_BITS};
use crate::error::{CodecError, Result};
use crate::step::Step;
use crate::step_decoders::{self, Decoder, StepDecoders};

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
/// Largest number of packet levels an image model may declare.
pub const MAX_LEVELS: u32 = 6;
/// Largest number of packet levels an audio model may declare.
pub const MAX_LEVELS_1D: u32 = 12;
/// Largest number of packet levels a volume model may declare (8^3 = 512
/// packets per channel).
pub const MAX_LEVELS_3D: u32 = 3;
/// Largest width of a neural encoder or decoder.
pub const MAX_HIDDEN: u32 = 4096;

/// Most residual blocks of a `refine` model.
pub const MAX_BLOCKS: u32 = 64;

/// A model's identity, which files name: the SHA-256 of its file bytes,
/// or the id of the model it extends with step decoders
/// ([`ModelConfig::extends`]).
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct ModelId(pub [u8; 32]);

impl ModelId {
    /// Hash of a model file.
    pub fn of_bytes(bytes: &[u8]) -> Self {
        ModelId(Sha256::digest(bytes).into())
    }

    /// The id of the model a file holds, from its bytes without reading its
    /// tensors: the id of the model its config extends, else the hash of
    /// the bytes (as [`Model::from_bytes`] gives it).
    pub fn of_model_file(bytes: &[u8]) -> Result<Self> {
        Self::of_file_with(bytes, &config_of(bytes)?)
    }

    /// The id of a model file of `bytes` whose config is `config`.
    fn of_file_with(bytes: &[u8], config: &ModelConfig) -> Result<Self> {
        match &config.extends {
            Some(hex) => ModelId::from_hex(hex),
            None => Ok(ModelId::of_bytes(bytes)),
        }
    }

    /// The id written as 64 hex digits ([`ModelId`]'s `Display`).
    pub fn from_hex(hex: &str) -> Result<Self> {
        let digits = hex.as_bytes();
        if digits.len() != 64 {
            return Err(bad(format!("model id {hex:?}: 64 hex digits")));
        }
        let mut id = [0u8; 32];
        for (byte, pair) in id.iter_mut().zip(digits.chunks_exact(2)) {
            let text = std::str::from_utf8(pair).map_err(|_| bad(format!("model id {hex:?}: hex digits")))?;
            *byte = u8::from_str_radix(text, 16).map_err(|_| bad(format!("model id {hex:?}: hex digits")))?;
        }
        Ok(ModelId(id))
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

/// Written as its 64 hex digits (its `Display`).
impl serde::Serialize for ModelId {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> std::result::Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

/// Read from 64 hex digits ([`ModelId::from_hex`]); anything else is an
/// error naming what was read.
impl<'de> serde::Deserialize<'de> for ModelId {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> std::result::Result<Self, D::Error> {
        let hex = String::deserialize(deserializer)?;
        ModelId::from_hex(&hex).map_err(serde::de::Error::custom)
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
#[derive(Clone, Debug)]
pub struct Model {
    config: ModelConfig,
    weights: LinearWeights,
    bank: FilterBank,
    bottleneck: Bottleneck,
    tables: EntropyTables,
    encoder: Option<LinearEncoder>,
    /// Decoders fitted at other steps than the model's own, if any.
    step_decoders: Option<StepDecoders>,
    id: ModelId,
    bytes: Vec<u8>,
}

fn bad(msg: impl Into<String>) -> CodecError {
    CodecError::InvalidModel(msg.into())
}

/// The config a model file's metadata holds (not yet validated).
fn config_of(bytes: &[u8]) -> Result<ModelConfig> {
    let (_, meta) = SafeTensors::read_metadata(bytes).map_err(|e| bad(e.to_string()))?;
    let json = meta
        .metadata()
        .as_ref()
        .and_then(|m| m.get(CONFIG_KEY))
        .ok_or_else(|| bad(format!("no {CONFIG_KEY} in the metadata")))?;
    serde_json::from_str(json).map_err(|e| bad(format!("config: {e}")))
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
        let max_levels = match (self.modality, self.dim) {
            (Modality::Image, 2) => MAX_LEVELS,
            (Modality::Audio, 1) => MAX_LEVELS_1D,
            (Modality::Volume, 3) => MAX_LEVELS_3D,
            (Modality::Volume, 2) => MAX_LEVELS,
            (modality, dim) => {
                return Err(bad(format!(
                    "{dim}-D {modality} models are not supported (2-D images, 1-D audio, 2-D or 3-D volumes)"
                )))
            }
        };
        let width_ok = |width: Option<u32>| matches!(width, Some(w) if w > 0 && w <= MAX_HIDDEN);
        let groups_ok = |width: Option<u32>| width_ok(width) && width.is_some_and(|w| w.is_multiple_of(32));
        let projection = self.encoder_kind() == EncoderKind::Projection;
        match (self.architecture, self.modality) {
            (Architecture::Linear, _) if projection && self.stages.is_none() => {}
            (Architecture::Residual, Modality::Image) if projection => {
                if !matches!(self.stages, Some(s) if (1..=64).contains(&s) && self.latent_dim.is_multiple_of(s)) {
                    return Err(bad(format!(
                        "residual stages {:?} (1..=64, dividing latent_dim {})",
                        self.stages, self.latent_dim
                    )));
                }
            }
            (Architecture::Refine, Modality::Image | Modality::Audio) if projection && self.stages.is_none() => {
                if !width_ok(self.hidden) || !matches!(self.blocks, Some(b) if (1..=MAX_BLOCKS).contains(&b)) {
                    return Err(bad(format!(
                        "refine width {:?} (1..={MAX_HIDDEN}) and blocks {:?} (1..={MAX_BLOCKS})",
                        self.hidden, self.blocks
                    )));
                }
            }
            (Architecture::Codec2d, Modality::Image) => {
                if !groups_ok(self.hidden) {
                    return Err(bad(format!(
                        "codec2d decoder width {:?} (a multiple of 32, at most {MAX_HIDDEN})",
                        self.hidden
                    )));
                }
                if self.encoder_hidden.is_some() && !groups_ok(self.encoder_hidden) {
                    return Err(bad(format!(
                        "codec2d encoder width {:?} (a multiple of 32, at most {MAX_HIDDEN})",
                        self.encoder_hidden
                    )));
                }
            }
            (Architecture::Codec1d, Modality::Audio) => {
                if !width_ok(self.hidden) || self.hidden < Some(self.latent_dim) {
                    return Err(bad(format!(
                        "codec1d decoder width {:?} (at least latent_dim {}, at most {MAX_HIDDEN})",
                        self.hidden, self.latent_dim
                    )));
                }
                if self.encoder_hidden.is_some() {
                    return Err(bad("codec1d with a full (Oobleck) encoder is not supported"));
                }
            }
            (Architecture::Liveaction, modality) => self.validate_liveaction(modality)?,
            (architecture, modality) => {
                return Err(bad(format!(
                    "architecture \"{architecture}\" for {modality} (linear, residual, refine or codec2d for images, \
                     linear, refine or codec1d for audio, linear for volumes, liveaction for each; only neural models have an encoder \
                     width, only residual ones stages)"
                )))
            }
        }
        if self.liveaction.is_some() && self.architecture != Architecture::Liveaction {
            return Err(bad("only liveaction models have a liveaction shape"));
        }
        if self.blocks.is_some() && self.architecture != Architecture::Refine {
            return Err(bad("only refine models have blocks"));
        }
        if self.step_conditioned && self.architecture != Architecture::Refine {
            return Err(bad("only refine models have a step-conditioned refiner"));
        }
        if !self.step_decoders.is_empty() {
            crate::step_decoders::check_codes(&self.step_decoders, self.architecture)?;
        }
        if self.step_decoder_neighbours && (self.step_decoders.is_empty() || self.modality != Modality::Image) {
            return Err(bad(
                "only the step decoders of an image model read neighbouring latents",
            ));
        }
        if let Some(code) = self.finest_step {
            if !(Step::MIN_CODE..=0).contains(&code) {
                return Err(bad(format!(
                    "finest_step {code} ({}..=0: the model's own step must be codable)",
                    Step::MIN_CODE
                )));
            }
        }
        if let Some(id) = &self.extends {
            if self.step_decoders.is_empty() && self.architecture != Architecture::Refine {
                return Err(bad("only a model with step decoders or a refine model extends another"));
            }
            ModelId::from_hex(id)?;
        }
        if self.post_filter && self.architecture != Architecture::Codec1d {
            return Err(bad("only codec1d models have a post filter"));
        }
        if !(1..=MAX_CHANNELS).contains(&self.channels) {
            return Err(bad(format!("{} channels (1..={MAX_CHANNELS})", self.channels)));
        }
        if !(1..=max_levels).contains(&self.levels) {
            return Err(bad(format!("{} levels (1..={max_levels})", self.levels)));
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

    /// Checks a `liveaction` model's shape against the rest of its config.
    fn validate_liveaction(&self, modality: Modality) -> Result<()> {
        let shape = self
            .liveaction
            .as_ref()
            .ok_or_else(|| bad("a liveaction model without its \"liveaction\" shape"))?;
        shape.validate()?;
        let agrees = shape.dim == modality.axes() as usize
            && shape.dim == self.dim as usize
            && shape.input_channels == self.channels as usize
            && shape.levels == self.levels as usize
            && shape.latent_dim == self.latent_dim as usize;
        if !agrees {
            return Err(bad(format!(
                "liveaction shape {shape:?} disagrees with the {modality} model's dim {}, channels {}, levels {} or latent_dim {}",
                self.dim, self.channels, self.levels, self.latent_dim
            )));
        }
        if self.latent_bits != 8 || self.hidden.is_some() || self.encoder_hidden.is_some() || self.stages.is_some() {
            return Err(bad(
                "liveaction models have 8-bit latents and no hidden, encoder_hidden or stages fields",
            ));
        }
        Ok(())
    }

    /// Shape of the encoder's 1×1 convolution weight: `[K, D, 1, 1]` for
    /// images, `[K, D, 1]` for audio.
    pub fn encoder_weight_shape(&self) -> Vec<usize> {
        let mut shape = vec![self.latent_dim as usize, self.coefficient_dim()];
        shape.extend(std::iter::repeat_n(1, self.dim as usize));
        shape
    }

    /// Shape of the linear decoder's 1×1 convolution weight: `[D, K, 1, 1]`
    /// for images, `[D, K, 1]` for audio.
    pub fn decoder_weight_shape(&self) -> Vec<usize> {
        let mut shape = vec![self.coefficient_dim(), self.latent_dim as usize];
        shape.extend(std::iter::repeat_n(1, self.dim as usize));
        shape
    }
}

/// One tensor of a model file, ready to serialize.
#[derive(Clone, Debug, PartialEq)]
pub struct TensorBytes {
    /// Tensor name (the reference state_dict's, for weights).
    pub name: String,
    /// Element type.
    pub dtype: Dtype,
    /// Shape.
    pub shape: Vec<usize>,
    /// Little-endian element bytes.
    pub data: Vec<u8>,
}

impl TensorBytes {
    /// An f32 tensor.
    pub fn f32(name: &str, shape: Vec<usize>, values: &[f32]) -> Self {
        TensorBytes {
            name: name.to_string(),
            dtype: Dtype::F32,
            shape,
            data: values.iter().flat_map(|v| v.to_le_bytes()).collect(),
        }
    }

    /// The entropy tables, `[latent_dim, contexts, 2^bits]` u32.
    pub fn probabilities(config: &ModelConfig, probabilities: &[u32], contexts: usize) -> Self {
        TensorBytes {
            name: PROBABILITIES.to_string(),
            dtype: Dtype::U32,
            shape: vec![config.latent_dim as usize, contexts, 1 << config.latent_bits],
            data: probabilities.iter().flat_map(|v| v.to_le_bytes()).collect(),
        }
    }
}

/// Reads the stages of a `residual` model: fills `weights` with the
/// stacked encoders and the equivalent single decoder (the stages'
/// decoders side by side, their biases summed), and returns the stages'
/// own decoders (`[stages × D × K/stages]`, `[stages × D]`) for the encoder.
fn read_stages(st: &SafeTensors, config: &ModelConfig, weights: &mut LinearWeights) -> Result<(Vec<f32>, Vec<f32>)> {
    let stages = config.stages.unwrap_or(1) as usize;
    let (k, d) = (config.latent_dim as usize, config.coefficient_dim());
    let kk = k / stages;
    let (mut decoders, mut decoder_biases) = (Vec::with_capacity(d * k), Vec::with_capacity(stages * d));
    for i in 0..stages {
        weights
            .encoder_weight
            .extend(read_f32(st, &format!("encoders.{i}.weight"), &[kk, d, 1, 1])?);
        weights
            .encoder_bias
            .extend(read_f32(st, &format!("encoders.{i}.bias"), &[kk])?);
        decoders.extend(read_f32(st, &format!("decoders.{i}.weight"), &[d, kk, 1, 1])?);
        decoder_biases.extend(read_f32(st, &format!("decoders.{i}.bias"), &[d])?);
    }
    weights.decoder_weight = (0..d)
        .flat_map(|j| (0..stages).flat_map(move |i| (0..kk).map(move |c| (i, j, c))))
        .map(|(i, j, c)| decoders[(i * d + j) * kk + c])
        .collect();
    weights.decoder_bias = (0..d)
        .map(|j| (0..stages).map(|i| decoder_biases[i * d + j]).sum())
        .collect();
    Ok((decoders, decoder_biases))
}

/// A linear or refine model's decoders at other steps (config
/// `step_decoders`), its own decoder at code 0 unless one of them stands
/// there; `None` when the config lists no steps.
fn read_step_decoders(st: &SafeTensors, config: &ModelConfig, weights: &LinearWeights) -> Result<Option<StepDecoders>> {
    let codes = &config.step_decoders;
    if codes.is_empty() {
        return Ok(None);
    }
    let (k, d) = (config.latent_dim as usize, config.coefficient_dim());
    let weight = read_f32(st, step_decoders::WEIGHT, &[codes.len(), d, k])?;
    let bias = read_f32(st, step_decoders::BIAS, &[codes.len(), d])?;
    let taps = step_decoders::NEIGHBOURS.len();
    let neighbour_weight = if config.step_decoder_neighbours {
        read_f32(st, step_decoders::NEIGHBOUR_WEIGHT, &[codes.len(), taps, d, k])?
    } else {
        Vec::new()
    };
    let refine = config.architecture == Architecture::Refine;
    let refiner_gain = if refine {
        read_f32(st, step_decoders::REFINER_GAIN, &[codes.len(), d])?
    } else {
        Vec::new()
    };
    if weight
        .iter()
        .chain(&bias)
        .chain(&neighbour_weight)
        .chain(&refiner_gain)
        .any(|x| !x.is_finite())
    {
        return Err(bad("step decoders contain NaN or infinity"));
    }
    let decoders = (0..codes.len())
        .map(|a| Decoder {
            weight: weight[a * d * k..(a + 1) * d * k].to_vec(),
            bias: bias[a * d..(a + 1) * d].to_vec(),
            neighbour_weight: if neighbour_weight.is_empty() {
                Vec::new()
            } else {
                neighbour_weight[a * taps * d * k..(a + 1) * taps * d * k].to_vec()
            },
            refiner_gain: refiner_gain.get(a * d..(a + 1) * d).unwrap_or_default().to_vec(),
        })
        .collect();
    let (weight, bias) = (weights.decoder_weight.clone(), weights.decoder_bias.clone());
    let native = if refine {
        Decoder::refined(weight, bias)
    } else {
        Decoder::pointwise(weight, bias)
    };
    Ok(Some(StepDecoders::new(native, codes, decoders)))
}

impl Model {
    /// Builds a linear model from its parts and serializes it; the id is the
    /// hash of the serialized bytes.
    pub fn new(config: ModelConfig, weights: LinearWeights) -> Result<Self> {
        let (k, d) = (config.latent_dim as usize, config.coefficient_dim());
        let tensors = [
            TensorBytes::f32(ENCODER_WEIGHT, config.encoder_weight_shape(), &weights.encoder_weight),
            TensorBytes::f32(ENCODER_BIAS, vec![k], &weights.encoder_bias),
            TensorBytes::f32(DECODER_WEIGHT, config.decoder_weight_shape(), &weights.decoder_weight),
            TensorBytes::f32(DECODER_BIAS, vec![d], &weights.decoder_bias),
            TensorBytes::probabilities(&config, &weights.probabilities, weights.contexts),
        ];
        Self::from_tensors(&config, &tensors)
    }

    /// Serializes `config` and `tensors` into a model file and loads it.
    pub fn from_tensors(config: &ModelConfig, tensors: &[TensorBytes]) -> Result<Self> {
        // Sizes are checked before anything is built from them.
        config.validate()?;
        let views = tensors
            .iter()
            .map(|t| {
                TensorView::new(t.dtype, t.shape.clone(), &t.data)
                    .map(|view| (t.name.as_str(), view))
                    .map_err(|e| bad(format!("tensor {}: {e}", t.name)))
            })
            .collect::<Result<Vec<_>>>()?;
        let json = serde_json::to_string(config).map_err(|e| bad(e.to_string()))?;
        let metadata = HashMap::from([(CONFIG_KEY.to_string(), json)]);
        let bytes = safetensors::serialize(views, Some(metadata)).map_err(|e| bad(e.to_string()))?;
        Self::from_bytes(bytes)
    }

    /// The same model with other entropy tables (`[latent_dim, contexts,
    /// 2^bits]` rows) and, if given, another configuration (name,
    /// provenance, figures).
    pub fn with_tables(&self, probabilities: &[u32], contexts: usize, config: Option<ModelConfig>) -> Result<Self> {
        let config = config.unwrap_or_else(|| self.config.clone());
        let mut tensors: Vec<TensorBytes> = self
            .tensors()?
            .into_iter()
            .filter(|t| t.name != PROBABILITIES)
            .collect();
        tensors.push(TensorBytes::probabilities(&config, probabilities, contexts));
        Self::from_tensors(&config, &tensors)
    }

    /// The same model with some tensors replaced (same names and shapes;
    /// trained weights) and, if given, another configuration, under which
    /// tensors of new names are added (a refiner on a linear model) and
    /// tensors may change shape (a refiner that reads the step), the new
    /// configuration validating them.
    pub fn with_weights(&self, replaced: &[TensorBytes], config: Option<ModelConfig>) -> Result<Self> {
        let adds = config.is_some();
        let config = config.unwrap_or_else(|| self.config.clone());
        let mut tensors = self.tensors()?;
        for new in replaced {
            match tensors.iter_mut().find(|t| t.name == new.name) {
                Some(old) if !adds && (old.shape != new.shape || old.dtype != new.dtype) => {
                    return Err(bad(format!("tensor {} changes shape or type", new.name)))
                }
                Some(old) => *old = new.clone(),
                None if adds => tensors.push(new.clone()),
                None => return Err(bad(format!("no tensor {} to replace", new.name))),
            }
        }
        Self::from_tensors(&config, &tensors)
    }

    /// The same model with `figures` (measured on held-out data) in its
    /// configuration.
    pub fn with_figures(&self, figures: Figures) -> Result<Self> {
        let mut config = self.config.clone();
        config.figures = Some(figures);
        self.with_weights(&[], Some(config))
    }

    /// The same model under the id `id` ([`ModelConfig::extends`]): for a
    /// model that writes the files of the model of that id byte for byte
    /// and decodes them (a refiner trained further on its frozen encoder).
    pub fn extending(&self, id: ModelId) -> Result<Self> {
        let mut config = self.config.clone();
        config.extends = Some(id.to_string());
        self.with_weights(&[], Some(config))
    }

    /// The same linear or refine model holding `decoders` fitted at step
    /// `codes` (ascending; code 0 replaces the model's own decoder at its
    /// own step; see [`crate::step_decoders`]), in place
    /// of any it held. It keeps this model's id ([`ModelConfig::extends`]):
    /// it writes the same files and decodes this model's.
    /// The decoders either all read the neighbouring latent positions
    /// (image models) or none does; a refine model's all have gains on its
    /// refiner's correction, a linear model's none.
    pub fn with_step_decoders(&self, codes: &[i8], decoders: &[Decoder]) -> Result<Self> {
        let (k, d) = (self.config.latent_dim as usize, self.config.coefficient_dim());
        let taps = step_decoders::NEIGHBOURS.len();
        let neighbours = decoders.first().is_some_and(|x| !x.neighbour_weight.is_empty());
        let neighbour_len = if neighbours { taps * d * k } else { 0 };
        let refine = self.config.architecture == Architecture::Refine;
        let gain_len = if refine { d } else { 0 };
        if decoders.len() != codes.len()
            || decoders.iter().any(|x| {
                x.weight.len() != d * k
                    || x.bias.len() != d
                    || x.neighbour_weight.len() != neighbour_len
                    || x.refiner_gain.len() != gain_len
            })
        {
            return Err(bad(format!(
                "{} step decoders of {d}×{k} for {} steps, all or none reading neighbours, \
                 with refiner gains exactly if the model is a refine model",
                decoders.len(),
                codes.len()
            )));
        }
        let mut config = self.config.clone();
        config.step_decoders = codes.to_vec();
        config.step_decoder_neighbours = neighbours;
        config.extends = (!codes.is_empty()).then(|| self.id().to_string());
        let concat = |part: fn(&Decoder) -> &[f32]| -> Vec<f32> { decoders.iter().flat_map(part).copied().collect() };
        let names = [
            step_decoders::WEIGHT,
            step_decoders::BIAS,
            step_decoders::NEIGHBOUR_WEIGHT,
            step_decoders::REFINER_GAIN,
        ];
        let mut tensors: Vec<TensorBytes> = self
            .tensors()?
            .into_iter()
            .filter(|t| !names.contains(&t.name.as_str()))
            .collect();
        if !codes.is_empty() {
            let a = codes.len();
            tensors.push(TensorBytes::f32(names[0], vec![a, d, k], &concat(|x| &x.weight)));
            tensors.push(TensorBytes::f32(names[1], vec![a, d], &concat(|x| &x.bias)));
            if neighbours {
                let weight = concat(|x| &x.neighbour_weight);
                tensors.push(TensorBytes::f32(names[2], vec![a, taps, d, k], &weight));
            }
            if refine {
                tensors.push(TensorBytes::f32(names[3], vec![a, d], &concat(|x| &x.refiner_gain)));
            }
        }
        Self::from_tensors(&config, &tensors)
    }

    /// The same model coding no finer than `finest` (config `finest_step`;
    /// `None`: every step). Its id must not change, so only a model that
    /// extends another (one with step decoders) or already has this finest
    /// step takes it.
    pub fn with_finest_step(&self, finest: Option<Step>) -> Result<Self> {
        let code = finest.map(Step::code);
        if code == self.config.finest_step {
            return Ok(self.clone());
        }
        if self.config.extends.is_none() {
            return Err(bad(format!(
                "model {}: a finest step would change its id; only a model with step decoders takes one",
                self.config.name
            )));
        }
        let mut config = self.config.clone();
        config.finest_step = code;
        self.with_weights(&[], Some(config))
    }

    /// The linear decoder of latents quantized at `step`: the model's own
    /// at its own step or when it holds no others, else its step
    /// decoders' ([`StepDecoders::at`]).
    pub fn linear_decoder(&self, step: Step) -> Cow<'_, Decoder> {
        match &self.step_decoders {
            Some(decoders) => decoders.at(step),
            None => Cow::Owned(Decoder::pointwise(
                self.weights.decoder_weight.clone(),
                self.weights.decoder_bias.clone(),
            )),
        }
    }

    /// Every tensor of the file.
    fn tensors(&self) -> Result<Vec<TensorBytes>> {
        let st = SafeTensors::deserialize(&self.bytes).map_err(|e| bad(e.to_string()))?;
        Ok(st
            .tensors()
            .into_iter()
            .map(|(name, view)| TensorBytes {
                name,
                dtype: view.dtype(),
                shape: view.shape().to_vec(),
                data: view.data().to_vec(),
            })
            .collect())
    }

    /// Loads and validates a model file.
    pub fn from_bytes(bytes: Vec<u8>) -> Result<Self> {
        let config = config_of(&bytes)?;
        let bank = config.validate()?;
        let st = SafeTensors::deserialize(&bytes).map_err(|e| bad(e.to_string()))?;
        let (k, d) = (config.latent_dim as usize, config.coefficient_dim());
        let symbols = 1usize << config.latent_bits;
        let residual = config.architecture == Architecture::Residual;
        let projection = config.encoder_kind() == EncoderKind::Projection;
        let linear_encoder = projection && !residual;
        // A refine model's decoder has the linear projection under its refiner.
        let linear_decoder = matches!(config.architecture, Architecture::Linear | Architecture::Refine);
        // Neural parts are read by walloc-nn from the same file.
        let read_if = |wanted: bool, name: &str, shape: &[usize]| {
            if wanted {
                read_f32(&st, name, shape)
            } else {
                Ok(Vec::new())
            }
        };
        let mut weights = LinearWeights {
            encoder_weight: read_if(linear_encoder, ENCODER_WEIGHT, &config.encoder_weight_shape())?,
            encoder_bias: read_if(linear_encoder, ENCODER_BIAS, &[k])?,
            decoder_weight: read_if(linear_decoder, DECODER_WEIGHT, &config.decoder_weight_shape())?,
            decoder_bias: read_if(linear_decoder, DECODER_BIAS, &[d])?,
            probabilities: Vec::new(),
            contexts: 1,
        };
        let step_decoders = read_step_decoders(&st, &config, &weights)?;
        let stage_decoders = if residual {
            Some(read_stages(&st, &config, &mut weights)?)
        } else {
            None
        };
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
        let encoder = if projection {
            let encoder = LinearEncoder::new(
                &config,
                bank.clone(),
                weights.encoder_weight.clone(),
                weights.encoder_bias.clone(),
            )?;
            Some(match stage_decoders {
                Some((weight, bias)) => encoder.with_stages(config.stages.unwrap_or(1) as usize, weight, bias)?,
                None => encoder,
            })
        } else {
            None
        };
        Ok(Model {
            encoder,
            step_decoders,
            bottleneck: Bottleneck::new(config.latent_bits),
            id: ModelId::of_file_with(&bytes, &config)?,
            config,
            weights,
            bank,
            tables,
            bytes,
        })
    }

    /// The finest quantizer step this model codes at (config
    /// `finest_step`; quality 100's step when it has none).
    pub fn finest_step(&self) -> Step {
        self.config
            .finest_step
            .and_then(|code| Step::from_code(code).ok())
            .unwrap_or(Step::AT_QUALITY_100)
    }

    /// Refuses a step finer than [`Model::finest_step`], naming the finest
    /// quality the model codes at.
    pub fn check_step(&self, step: Step) -> Result<()> {
        let finest = self.finest_step();
        if step.code() < finest.code() {
            return Err(CodecError::InvalidField {
                field: "quantizer step",
                value: format!(
                    "{step}: model {} codes no finer than quality {} (its latents saturate at finer steps)",
                    self.config.name,
                    finest.quality()
                ),
            });
        }
        Ok(())
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

    /// The bottleneck at quantizer step `step` (the model's own at
    /// [`Step::NATIVE`]).
    pub fn bottleneck_at(&self, step: Step) -> std::borrow::Cow<'_, Bottleneck> {
        if step == Step::NATIVE {
            std::borrow::Cow::Borrowed(&self.bottleneck)
        } else {
            std::borrow::Cow::Owned(Bottleneck::at_step(self.config.latent_bits, step))
        }
    }

    /// The reconstruction values of this model's latents at `step`:
    /// midpoints at its own step and finer ones, the centroids its tables
    /// imply at coarser ones ([`Dequantizer`]).
    pub fn dequantizer(&self, step: Step) -> Dequantizer {
        crate::dequantize::for_step(
            &self.bottleneck,
            &self.bottleneck_at(step),
            step,
            &self.weights.probabilities,
            self.weights.contexts,
            self.config.latent_dim as usize,
        )
    }

    /// The adaptive coder `coder` (adaptive, predictive or contextual) of
    /// this model's latents at `step`, started from its tables.
    pub fn adaptive_coder(&self, coder: LatentCoder, step: Step) -> Result<AdaptiveCoder> {
        let Some((predictive, set)) = coder.adaptive_kind() else {
            return Err(CodecError::IncompatibleInput(format!(
                "the {} coder does not adapt its contexts",
                coder.name()
            )));
        };
        let adaptive = AdaptiveCoder::new(
            &self.weights.probabilities,
            self.weights.contexts,
            self.config.latent_bits,
            step,
            set,
        );
        Ok(if predictive { adaptive.predictive() } else { adaptive })
    }

    /// What codes latent bands with `coder` at `step`: the static tables
    /// for rANS, the adaptive coder started from them otherwise.
    pub fn band_coder(&self, coder: LatentCoder, step: Step) -> Result<BandCoder<'_>> {
        match coder {
            LatentCoder::Rans => Ok(BandCoder::Static(&self.tables)),
            coder if coder.is_adaptive() => Ok(BandCoder::Adaptive(Box::new(self.adaptive_coder(coder, step)?))),
            other => Err(CodecError::IncompatibleInput(format!(
                "the {} coder packs a latent image; it does not code bands",
                other.name()
            ))),
        }
    }

    /// Entropy-coding tables.
    pub fn tables(&self) -> &EntropyTables {
        &self.tables
    }

    /// The 1×1 projection encoder that runs without a deep-learning
    /// framework; `None` when the model has a full neural encoder.
    pub fn encoder(&self) -> Option<&LinearEncoder> {
        self.encoder.as_ref()
    }

    /// SHA-256 of the model file.
    pub fn id(&self) -> ModelId {
        self.id
    }

    /// Refuses a file made with another model (`id` from its header).
    pub fn check_id(&self, id: ModelId) -> Result<()> {
        if id != self.id {
            return Err(CodecError::ModelMismatch {
                needed: id.short(),
                given: self.id.short(),
            });
        }
        Ok(())
    }

    /// The model file's bytes.
    pub fn to_bytes(&self) -> &[u8] {
        &self.bytes
    }
}
