#![warn(missing_docs)]
//! Neural WaLLoC models in burn: the reference architectures module for
//! module, loaded from state_dicts under the reference's own parameter names.
//!
//! - [`kl`]: the `Codec2D` networks (diffusers' KL decoder and full
//!   encoder: conv_in, resnets, a mid block with single-head attention,
//!   GroupNorm(32, eps 1e-6), SiLU, conv_out);
//! - [`oobleck`]: the `Codec1D` Oobleck decoder and post filter;
//! - [`linear`]: `LinearCodec2D` and `ResidualCodec2D`;
//! - [`refine`]: the refiner of walloc's trained `refine` models;
//! - [`train`]: the trainer of linear and refine models (one AdamW step
//!   on a batch); [`session`]: a whole run (schedule, batches on a worker
//!   thread, checkpoints as bytes, resumption); [`recipe`]: its
//!   configuration; [`examples`]: its data (crops, flips, segments, the
//!   PCA start);
//! - [`encoder`]: the lightweight encoder and the bottleneck (rounding in
//!   evaluation, uniform noise in training), and full-encoder encoding;
//! - [`import`], [`import_liveaction`]: reference checkpoints (WaLLoC,
//!   LiVeAction) to walloc model files;
//! - [`decode`]: the neural decoders (images tiled when large, audio);
//!   [`step_refine`]: refine models at every step (their step decoders'
//!   fit around the refiner, and decoding with them);
//! - [`liveaction`]: LiVeAction's decoder (`conv_up`, EfficientViT blocks
//!   with ReLU linear attention), for every dimension.
//!
//! [`register`] adds them to walloc-codec's registry of architectures.
//!
//! Parity tests hold every network to the reference within 1e-4.

pub mod checkpoint;
pub mod decode;
pub mod encoder;
mod error;
pub mod examples;
pub mod import;
pub mod import_liveaction;
pub mod kl;
pub mod linear;
pub mod liveaction;
pub mod networks;
pub mod oobleck;
pub mod recipe;
pub mod refine;
pub mod session;
pub mod step_refine;
pub mod train;
pub mod weights;

pub use error::NnError;
pub use weights::Weights;

use walloc_codec::registry::Registry;
use walloc_codec::{Architecture, EncoderKind};

/// Adds the architectures walloc-nn implements to `registry`: the full KL
/// encoder of `codec2d` and LiVeAction's EfficientViT encoder, and the decoders of `refine`, `codec2d`,
/// `codec1d` and `liveaction` models.
pub fn register(registry: &mut Registry) {
    registry.register_encoder(Architecture::Codec2d, EncoderKind::Network, encoder::kl_encoder);
    registry.register_encoder(
        Architecture::Liveaction,
        EncoderKind::Network,
        liveaction::liveaction_network_encoder,
    );
    registry.register_decoder(Architecture::Refine, decode::refine_decoder);
    registry.register_decoder(Architecture::Codec2d, decode::image_decoder);
    registry.register_decoder(Architecture::Codec1d, decode::oobleck_decoder);
    registry.register_decoder(Architecture::Liveaction, liveaction::liveaction_decoder);
}

/// walloc-codec's registry with walloc-nn's architectures added.
pub fn registry() -> Registry {
    let mut registry = Registry::core();
    register(&mut registry);
    registry
}
