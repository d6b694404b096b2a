//! A model's configuration, stored as JSON in its safetensors metadata.

use serde::{Deserialize, Serialize};

/// Metadata key under which the configuration is stored.
pub const CONFIG_KEY: &str = "walloc.config";

/// Version of the model-file layout this build writes and reads.
pub const MODEL_FORMAT_VERSION: u32 = 1;

/// Architecture of linear models: encoder and decoder are 1×1 projections.
pub const ARCHITECTURE_LINEAR: &str = "linear";

/// Architecture of the reference `Codec2D`: diffusers' KL decoder, and
/// either the lightweight 1×1 encoder or (with `encoder_hidden`) diffusers'
/// KL encoder (both neural parts run in `walloc-nn`).
pub const ARCHITECTURE_CODEC2D: &str = "codec2d";

/// Architecture of the reference `ResidualCodec2D`: `stages` linear codecs,
/// each coding the residual the previous ones left; the latent holds the
/// stages' channels in order, and decoding sums the stages' decoders.
pub const ARCHITECTURE_RESIDUAL: &str = "residual";

/// Architecture of the reference `Codec1D` (audio): the lightweight 1×1
/// encoder with its padding of one latent position on each side, and the
/// Oobleck decoder, optionally followed by the post filter (`walloc-nn`).
pub const ARCHITECTURE_CODEC1D: &str = "codec1d";

/// Architecture of walloc's trained neural models: the linear codec
/// (1×1 encoder and decoder, as [`ARCHITECTURE_LINEAR`]) plus a refiner,
/// a stack of `blocks` residual blocks of convolutions `hidden` wide
/// (3×3 for images, 3 taps along time for audio)
/// that reads the dequantized latent and adds its output to the linear
/// decoder's coefficients (`walloc-nn`). Its last layer starts at zero, so
/// training starts from the linear codec; it is fully convolutional, so
/// tiles with enough overlap decode exactly.
pub const ARCHITECTURE_REFINE: &str = "refine";

/// Measured figures of a model on a held-out set, as stored in its metadata.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Figures {
    /// What the figures were measured on.
    pub dataset: String,
    /// Number of images (or audio files).
    pub images: u32,
    /// Mean bits per pixel of the `.wal` files (whole file, header
    /// included); for audio, bits per sample (per channel).
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
    /// Signal kind: `image` or `audio`.
    pub modality: String,
    /// [`ARCHITECTURE_LINEAR`] (a 1×1 projection decoder),
    /// [`ARCHITECTURE_RESIDUAL`] (stages of them), [`ARCHITECTURE_REFINE`]
    /// (walloc's neural refiner on a linear decoder), or
    /// [`ARCHITECTURE_CODEC2D`] or [`ARCHITECTURE_CODEC1D`] (the reference's
    /// neural decoders).
    pub architecture: String,
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
    /// Whether a `codec1d` decoder ends with the reference's post filter.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub post_filter: bool,
    /// Signal channels (1 gray, 3 RGB).
    pub channels: u32,
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
    /// Values per wavelet-packet coefficient vector, `channels * 2^(dim*levels)`.
    pub fn coefficient_dim(&self) -> usize {
        (self.channels as usize) << (self.dim * self.levels)
    }

    /// Whether the encoder is the 1×1 projection that `walloc-codec` runs
    /// (else a neural encoder for `walloc-nn`).
    pub fn has_linear_encoder(&self) -> bool {
        self.encoder_hidden.is_none()
    }

    /// Latent positions the encoder adds on each side: 1 for `codec1d` (the
    /// reference's `Conv1d(padding=1)`), else 0.
    pub fn latent_edge(&self) -> usize {
        usize::from(self.architecture == ARCHITECTURE_CODEC1D)
    }

    /// Dimensionality reduction, `coefficient_dim / latent_dim`.
    pub fn dimensionality_reduction(&self) -> f64 {
        self.coefficient_dim() as f64 / f64::from(self.latent_dim)
    }
}
