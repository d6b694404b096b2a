//! Evaluation toolkit for walloc: distortion metrics (PSNR, SSIM, MS-SSIM,
//! audio PSNR and SNR), peer codecs run in-process (WebP, JPEG, AVIF, Opus),
//! the Bjøntegaard delta rate with PCHIP interpolation, result tables
//! (JSON, CSV) and rate–distortion plots (SVG, PNG); and the drivers that
//! run them: [`image_eval::ImageEvaluation`], [`audio_eval::AudioEvaluation`],
//! the figures stored in model files, and [`bench::bench`] against libwebp.
//! Callers read the files; everything else is here.

pub mod artifacts;
pub mod audio_eval;
pub mod bdrate;
pub mod bench;
mod choice;
pub mod error;
pub mod image_eval;
pub mod metrics;
pub mod peers;
pub mod plot;
pub mod report;
pub mod sweep;
pub mod timing;
pub mod volume_eval;

pub use error::EvalError;
