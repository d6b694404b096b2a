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
//! - [`train`]: training linear and refine models;
//! - [`encoder`]: the lightweight encoder and the bottleneck (rounding in
//!   evaluation, uniform noise in training), and full-encoder encoding;
//! - [`import`]: reference checkpoints to walloc model files;
//! - [`decode`]: decoding `.wal` images (tiled when large) and audio.
//!
//! Parity tests hold every network to the reference within 1e-4.

pub mod checkpoint;
pub mod decode;
pub mod encoder;
pub mod import;
pub mod kl;
pub mod linear;
pub mod networks;
pub mod oobleck;
pub mod refine;
pub mod train;
pub mod weights;

pub use weights::{NnError, Weights};
