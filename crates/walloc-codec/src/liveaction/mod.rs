//! LiVeAction's sensor side (PyPI `livecodec` 0.0.1, `AutoCodecND`), in
//! pure Rust: the power-law compander, the factorized (grouped, shuffled)
//! convolutions of the lightweight encoder, `conv_down`, and the Laplace
//! quantizer. The forward pass runs on 1-D, 2-D and 3-D signals and gives
//! the reference's integer latents (tests/fixtures/liveaction_*,
//! `scripts/make_liveaction_fixtures.py`).
//!
//! The decoder (EfficientViT stages with linear attention) is a burn
//! network and lives in `walloc-nn`.

pub(crate) mod analysis;
mod blocks;
mod compand;
mod config;
mod conv;
mod encoder;
mod feature;
mod weights;

pub use analysis::{dequantize, latent_of, quantize, shape_of, RANGE_SCALE};
pub use compand::{compand, decompand, LaplaceQuantizer, COMPAND_SCALE};
pub use config::LiveActionConfig;
pub use conv::{pick_groups, FactorizedConv, GroupedConv};
pub use encoder::{LiveActionEncoder, LiveLatent};
pub use feature::FeatureMap;
pub use weights::TensorSource;
