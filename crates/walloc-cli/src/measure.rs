//! Quality and rate figures of a model on a set of images.

use std::path::Path;

use anyhow::Result;
use walloc::image::{decode_image, encode_image};
use walloc::{DecodeOptions, EncodeOptions, Figures, Image8, Model};
use walloc_eval::metrics::{psnr, ssim};

use crate::fit_audio::audio_files;

/// Encodes and decodes every image; mean bpp, PSNR, SSIM and compression ratio.
pub fn evaluate(model: &Model, images: &[Image8], dataset: &str) -> Result<Figures> {
    let (mut bpp, mut psnr_sum, mut ssim_sum, mut ratio) = (0.0, 0.0, 0.0, 0.0);
    for image in images {
        let file = encode_image(model, image, &EncodeOptions::default())?;
        let back = decode_image(model, &file, &DecodeOptions::default())?;
        let pixels = f64::from(image.width) * f64::from(image.height);
        bpp += file.len() as f64 * 8.0 / pixels;
        ratio += image.pixels.len() as f64 / file.len() as f64;
        psnr_sum += psnr(image, &back);
        ssim_sum += ssim(image, &back);
    }
    let n = images.len().max(1) as f64;
    Ok(Figures {
        dataset: dataset.to_string(),
        images: images.len() as u32,
        bpp: bpp / n,
        psnr_db: psnr_sum / n,
        compression_ratio: ratio / n,
        ssim: Some(ssim_sum / n),
        ..Figures::default()
    })
}

/// `model` with its figures on `images` stored in its configuration (and
/// printed).
pub fn with_figures(model: Model, images: &[Image8], dataset: &str) -> Result<Model> {
    let figures = evaluate(&model, images, dataset)?;
    eprintln!(
        "validation: {} images, {:.4} bpp, {:.2} dB PSNR, SSIM {:.4}, {:.1}:1",
        figures.images,
        figures.bpp,
        figures.psnr_db,
        figures.ssim.unwrap_or(f64::NAN),
        figures.compression_ratio
    );
    stored(model, figures)
}

/// `model` with its figures on the first `seconds` of each audio file in
/// `dir` stored in its configuration (and printed).
pub fn with_audio_figures(model: Model, dir: &Path, seconds: f64, dataset: &str) -> Result<Model> {
    let figures = crate::eval::audio::figures(&model, &audio_files(dir)?, seconds, dataset)?;
    eprintln!(
        "validation: {} files, {:.1} kbit/s, SNR {:.2} dB, PSNR {:.2} dB, {:.1}:1",
        figures.images,
        figures.kbps.unwrap_or(f64::NAN),
        figures.snr_db.unwrap_or(f64::NAN),
        figures.psnr_db,
        figures.compression_ratio
    );
    stored(model, figures)
}

/// `model` with `figures` in its configuration.
pub fn stored(model: Model, figures: Figures) -> Result<Model> {
    let mut config = model.config().clone();
    config.figures = Some(figures);
    Ok(model.with_weights(&[], Some(config))?)
}
