//! A model's configuration, stored as JSON in its safetensors metadata.

use serde::{Deserialize, Serialize};

/// Metadata key under which the configuration is stored.
pub const CONFIG_KEY: &str = "walloc.config";

/// Version of the model-file layout this build writes and reads.
pub const MODEL_FORMAT_VERSION: u32 = 1;

/// What kind of signal a model codes. The serde names are the strings
/// model files hold (`"image"`, `"audio"`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase", try_from = "String")]
pub enum Modality {
    /// 2-D images (gray, RGB).
    Image,
    /// 1-D audio of any channel count.
    Audio,
    /// 3-D volumes (CT, MRI, spectral cubes with the bands as depth).
    Volume,
}

impl Modality {
    /// The name model files and the CLI use.
    pub fn name(self) -> &'static str {
        match self {
            Modality::Image => "image",
            Modality::Audio => "audio",
            Modality::Volume => "volume",
        }
    }

    /// Every modality, in header-code order.
    pub const ALL: [Modality; 3] = [Modality::Image, Modality::Audio, Modality::Volume];

    /// Signal axes of this modality (2 for images, 1 for audio, 3 for volumes).
    pub fn axes(self) -> u32 {
        match self {
            Modality::Image => 2,
            Modality::Audio => 1,
            Modality::Volume => 3,
        }
    }

    /// The modality's code in the container header (docs/FORMAT.md).
    pub fn code(self) -> u8 {
        match self {
            Modality::Image => 1,
            Modality::Audio => 2,
            Modality::Volume => 3,
        }
    }
}

impl TryFrom<String> for Modality {
    type Error = String;

    /// A modality by its name, or a message naming the ones that exist.
    fn try_from(name: String) -> Result<Self, String> {
        Modality::ALL
            .into_iter()
            .find(|m| m.name() == name)
            .ok_or_else(|| format!("modality must be \"image\", \"audio\" or \"volume\", not {name:?}"))
    }
}

impl std::fmt::Display for Modality {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// A model's architecture: which encoder and decoder its file describes.
/// The serde names are the strings model files hold. Which code runs each
/// one is decided in one place, [`crate::registry::Registry`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase", try_from = "String")]
pub enum Architecture {
    /// Linear models: encoder and decoder are 1×1 projections.
    Linear,
    /// The reference `ResidualCodec2D`: `stages` linear codecs, each coding
    /// the residual the previous ones left; the latent holds the stages'
    /// channels in order, and decoding sums the stages' decoders.
    Residual,
    /// walloc's trained neural models: the linear codec plus a refiner, a
    /// stack of `blocks` residual blocks of convolutions `hidden` wide (3×3
    /// for images, 3 taps along time for audio) that reads the dequantized
    /// latent and adds its output to the linear decoder's coefficients
    /// (`walloc-nn`). Its last layer starts at zero, so training starts from
    /// the linear codec; it is fully convolutional, so tiles with enough
    /// overlap decode exactly.
    Refine,
    /// The reference `Codec2D`: diffusers' KL decoder, and either the
    /// lightweight 1×1 encoder or (with `encoder_hidden`) diffusers' KL
    /// encoder (both neural parts run in `walloc-nn`).
    Codec2d,
    /// The reference `Codec1D` (audio): the lightweight 1×1 encoder with its
    /// padding of one latent position on each side, and the Oobleck decoder,
    /// optionally followed by the post filter (`walloc-nn`).
    Codec1d,
    /// LiVeAction (livecodec's `AutoCodecND`): the factorized residual
    /// encoder (pure Rust, [`crate::liveaction`]), the Laplace quantizer,
    /// and the EfficientViT decoder (`walloc-nn`); its shape is
    /// [`ModelConfig::liveaction`]. Images, audio and volumes alike.
    Liveaction,
}

impl Architecture {
    /// Every architecture.
    pub const ALL: [Architecture; 6] = [
        Architecture::Linear,
        Architecture::Residual,
        Architecture::Refine,
        Architecture::Codec2d,
        Architecture::Codec1d,
        Architecture::Liveaction,
    ];

    /// The name model files and the CLI use.
    pub fn name(self) -> &'static str {
        match self {
            Architecture::Linear => "linear",
            Architecture::Residual => "residual",
            Architecture::Refine => "refine",
            Architecture::Codec2d => "codec2d",
            Architecture::Codec1d => "codec1d",
            Architecture::Liveaction => "liveaction",
        }
    }
}

impl TryFrom<String> for Architecture {
    type Error = String;

    /// An architecture by its name, or a message naming the ones that exist.
    fn try_from(name: String) -> Result<Self, String> {
        Architecture::ALL.into_iter().find(|a| a.name() == name).ok_or_else(|| {
            let known: Vec<&str> = Architecture::ALL.iter().map(|a| a.name()).collect();
            format!("architecture must be one of {}, not {name:?}", known.join(", "))
        })
    }
}

impl std::fmt::Display for Architecture {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// What kind of encoder a model has.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum EncoderKind {
    /// The 1×1 projection that `walloc-codec` runs (sensors need nothing else).
    Projection,
    /// A full neural encoder (`encoder_hidden` wide, or LiVeAction's
    /// EfficientViT encoder) for `walloc-nn`.
    Network,
    /// LiVeAction's lightweight encoder of factorized convolutions, which
    /// `walloc-codec` runs ([`crate::liveaction`]). Its GroupNorms take
    /// statistics over the whole signal, so it encodes whole signals, not
    /// stripes.
    Factorized,
}

impl EncoderKind {
    /// Whether the encoder sees one latent position's coefficients at a
    /// time, so that an image can be encoded stripe by stripe with the
    /// same latent as whole.
    pub fn is_local(self) -> bool {
        self == EncoderKind::Projection
    }
}

impl std::fmt::Display for EncoderKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            EncoderKind::Projection => "1×1 projection",
            EncoderKind::Network => "neural",
            EncoderKind::Factorized => "factorized",
        })
    }
}

/// Measured figures of a model on a held-out set, as stored in its metadata.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Figures {
    /// What the figures were measured on.
    pub dataset: String,
    /// Number of images (or audio files, or volumes).
    pub images: u32,
    /// Mean bits per pixel of the `.wal` files (whole file, header
    /// included); for audio, bits per sample (per channel); for volumes, bits per voxel.
    pub bpp: f64,
    /// Mean PSNR in dB on the 8-bit output; for audio, full-scale PSNR.
    pub psnr_db: f64,
    /// Mean compression ratio (raw 8-bit bytes over file bytes; for audio,
    /// the source's PCM bytes).
    pub compression_ratio: f64,
    /// Audio: mean bitrate in kbit/s.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kbps: Option<f64>,
    /// Audio: mean signal-to-noise ratio in dB.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub snr_db: Option<f64>,
    /// Mean SSIM on the 8-bit output (channels averaged), when measured.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ssim: Option<f64>,
}

impl std::fmt::Display for Figures {
    /// "24 images, 0.2000 bpp, 28.20 dB PSNR, SSIM 0.8000, 120.0:1"; for
    /// audio "5 files, 14.5 kbit/s, SNR 13.76 dB, PSNR 33.29 dB, 97.3:1";
    /// for volumes (no SSIM) "3 volumes, 0.1330 bits/voxel, 30.49 dB PSNR,
    /// 135.5:1".
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.kbps {
            Some(kbps) => write!(
                f,
                "{} files, {kbps:.1} kbit/s, SNR {:.2} dB, PSNR {:.2} dB, {:.1}:1",
                self.images,
                self.snr_db.unwrap_or(f64::NAN),
                self.psnr_db,
                self.compression_ratio
            ),
            None => match self.ssim {
                Some(ssim) => write!(
                    f,
                    "{} images, {:.4} bpp, {:.2} dB PSNR, SSIM {ssim:.4}, {:.1}:1",
                    self.images, self.bpp, self.psnr_db, self.compression_ratio
                ),
                // Volumes: bits per voxel, PSNR over each one's range.
                None => write!(
                    f,
                    "{} volumes, {:.4} bits/voxel, {:.2} dB PSNR, {:.1}:1",
                    self.images, self.bpp, self.psnr_db, self.compression_ratio
                ),
            },
        }
    }
}

/// Everything about a model that is not a tensor.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ModelConfig {
    /// Model-file layout version ([`MODEL_FORMAT_VERSION`]).
    pub format_version: u32,
    /// Short name, such as `rgb-16x`.
    pub name: String,
    /// One line for humans.
    #[serde(default)]
    pub description: String,
    /// Signal kind.
    pub modality: Modality,
    /// Which encoder and decoder the file describes.
    pub architecture: Architecture,
    /// Width Nd of a neural decoder.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hidden: Option<u32>,
    /// Width Ne of a full (non-lightweight) neural encoder; `None` for the
    /// 1×1 projection encoder.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub encoder_hidden: Option<u32>,
    /// Stages of a `residual` model (each of `latent_dim / stages` channels).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stages: Option<u32>,
    /// Residual blocks of a `refine` model's refiner.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub blocks: Option<u32>,
    /// A `liveaction` model's shape: livecodec's `AutoCodecND` arguments.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub liveaction: Option<crate::liveaction::LiveActionConfig>,
    /// Whether a `codec1d` decoder ends with the reference's post filter.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub post_filter: bool,
    /// Whether a `refine` model's refiner reads the file's quantizer step
    /// (one more input plane, `log2 Δ`): trained across the steps of the
    /// quality knob rather than at the model's own alone.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub step_conditioned: bool,
    /// Quantizer step codes at which a `linear` or `refine` model holds
    /// decoders of their own, each least-squares fitted to latents
    /// quantized at its step (tensors `step_decoders.weight` `[A, D, K]`
    /// and `step_decoders.bias` `[A, D]`, in this order; a refine model's
    /// also `step_decoders.refiner_gain` `[A, D]`); the model's decoder
    /// serves code 0 unless the list holds 0, and other steps interpolate
    /// ([`crate::step_decoders`]).
    /// Empty for models fitted at their own step alone.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub step_decoders: Vec<i8>,
    /// Whether the step decoders also read the eight neighbouring latent
    /// positions (tensor `step_decoders.neighbour_weight` `[A, 8, D, K]`,
    /// after the biases; image models only; [`crate::step_decoders`]).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub step_decoder_neighbours: bool,
    /// The id (SHA-256 of its file, 64 hex digits) of the model that this
    /// one extends with step decoders, which is this model's id too: the
    /// decoders change no byte the encoder writes, so files name the model
    /// they extend and decode with either (identically at the model's own
    /// step). `None` for a model that extends none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub extends: Option<String>,
    /// The finest quantizer step code (at most 0, the model's own step) the
    /// model codes at: at finer steps its strongest latents pass the
    /// companding's range, so quality falls as files grow (a fit whose
    /// gains were capped at the companding's scale, such as `stereo-5x`'s).
    /// Encoders refuse finer steps by name ([`crate::Model::check_step`]);
    /// rate searches and evaluations stop there. `None`: every step of the
    /// knob.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub finest_step: Option<i8>,
    /// Signal channels (1 gray, 3 RGB).
    pub channels: u32,
    /// Bits per sample of the images the model codes (8, 16); `None` for
    /// files made before the field, which serve what
    /// [`ModelConfig::served_sample_bits`] says.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sample_bits: Option<Vec<u8>>,
    /// Dimensions of the signal (2 for images, 1 for audio).
    pub dim: u32,
    /// Wavelet packet levels J.
    pub levels: u32,
    /// Latent channels.
    pub latent_dim: u32,
    /// Bits per latent value.
    pub latent_bits: u8,
    /// Filter bank name (PyWavelets naming).
    pub wavelet: String,
    /// How the fit was made (data, crops, seed), free-form.
    #[serde(default)]
    pub provenance: serde_json::Value,
    /// Figures measured on held-out data, if any.
    #[serde(default)]
    pub figures: Option<Figures>,
}

impl ModelConfig {
    /// The signal the model codes: "rgb image", "gray image", "stereo
    /// audio", "6-channel audio".
    pub fn signal_name(&self) -> String {
        let kind = match (self.modality, self.channels) {
            (Modality::Image, 1) => "gray".to_string(),
            (Modality::Image, 3) => "rgb".to_string(),
            (Modality::Audio, 1) => "mono".to_string(),
            (Modality::Audio, 2) => "stereo".to_string(),
            (_, n) => format!("{n}-channel"),
        };
        format!("{kind} {}", self.modality)
    }

    /// "linear", or "neural" with the decoder's kind and size: "neural
    /// (refine 96×6)".
    pub fn architecture_label(&self) -> String {
        match self.architecture {
            Architecture::Linear => "linear".into(),
            Architecture::Residual => format!("linear ({} stages)", self.stages.unwrap_or(1)),
            Architecture::Refine => format!(
                "neural (refine {}×{}{})",
                self.hidden.unwrap_or(0),
                self.blocks.unwrap_or(0),
                if self.step_conditioned { ", every step" } else { "" }
            ),
            Architecture::Liveaction => match &self.liveaction {
                Some(shape) => format!(
                    "neural (liveaction, {} encoder ×{}, EfficientViT decoder ×{})",
                    self.encoder_kind(),
                    shape.encoder_depth,
                    shape.decoder_depth
                ),
                None => "neural (liveaction)".into(),
            },
            other => format!("neural ({other} {})", self.hidden.unwrap_or(0)),
        }
    }

    /// Bits per sample of the images the model codes: as the file states,
    /// else both 8 and 16 (an image model normalizes either depth to the
    /// same range, so one fitted on 8-bit images codes 16-bit ones). For
    /// audio, which carries its own level, every PCM depth.
    pub fn served_sample_bits(&self) -> Vec<u8> {
        match (&self.sample_bits, self.modality) {
            (Some(bits), _) => bits.clone(),
            (None, Modality::Image) => vec![8, 16],
            (None, Modality::Audio | Modality::Volume) => vec![8, 16, 24, 32],
        }
    }

    /// Whether the model codes images of `bits` bits per sample.
    pub fn serves_sample_bits(&self, bits: u8) -> bool {
        self.served_sample_bits().contains(&bits)
    }

    /// Values per wavelet-packet coefficient vector, `channels * 2^(dim*levels)`.
    pub fn coefficient_dim(&self) -> usize {
        (self.channels as usize) << (self.dim * self.levels)
    }

    /// The 1×1 projection that `walloc-codec` runs, a full neural encoder
    /// (with `encoder_hidden`) for `walloc-nn`, or LiVeAction's encoder
    /// (factorized, or an EfficientViT network).
    pub fn encoder_kind(&self) -> EncoderKind {
        match (&self.liveaction, self.encoder_hidden) {
            (Some(shape), _) if shape.lightweight_encode => EncoderKind::Factorized,
            (Some(_), _) | (None, Some(_)) => EncoderKind::Network,
            (None, None) => EncoderKind::Projection,
        }
    }

    /// Latent positions the encoder adds on each side: 1 for `codec1d` (the
    /// reference's `Conv1d(padding=1)`), else 0.
    pub fn latent_edge(&self) -> usize {
        usize::from(self.architecture == Architecture::Codec1d)
    }

    /// The configuration as the JSON a model file stores.
    pub fn to_json(&self) -> serde_json::Result<String> {
        serde_json::to_string(self)
    }

    /// Dimensionality reduction, `coefficient_dim / latent_dim`.
    pub fn dimensionality_reduction(&self) -> f64 {
        self.coefficient_dim() as f64 / f64::from(self.latent_dim)
    }
}
