//! Evaluation toolkit for walloc: distortion metrics (PSNR, SSIM, MS-SSIM,
//! audio PSNR and SNR), peer codecs run in-process (WebP, JPEG, AVIF, Opus),
//! the Bjøntegaard delta rate with PCHIP interpolation, result tables
//! (JSON, CSV) and rate–distortion plots (SVG, PNG).

pub mod bdrate;
pub mod metrics;
pub mod peers;
pub mod plot;
pub mod report;
