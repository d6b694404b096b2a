#![warn(missing_docs)]
//! Neural WaLLoC models in burn: the reference architectures module for
//! module, loaded from state_dicts under the reference's own parameter names.
//!
//! So far: the lightweight encoder and the bottleneck (rounding in
//! evaluation, uniform noise in training), and the KL-style 2D decoder of the reference `Codec2D` (diffusers'
//! `Decoder` with one block: conv_in, a mid block of resnet, single-head
//! attention and resnet, three up-block resnets, GroupNorm(32, eps 1e-6),
//! SiLU, conv_out), held to the reference by a parity test.

pub mod checkpoint;
pub mod decode;
pub mod encoder;
pub mod import;
pub mod kl_decoder;
pub mod oobleck;
pub mod weights;

pub use weights::{NnError, Weights};
