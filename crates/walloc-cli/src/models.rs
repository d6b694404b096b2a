//! The embedded models in the CLI: resolving `--model NAME|PATH`, finding
//! the model a file needs, and `walloc models`.

use anyhow::{bail, Result};
use walloc::{Modality, Model, ModelId};

pub use walloc::models::{embedded, DEFAULT_AUDIO};

/// Resolves `--model`: an embedded model's name, or a path to a model file.
pub fn resolve(spec: &str) -> Result<Model> {
    Ok(walloc::models::resolve(spec)?)
}

/// Finds the model a file needs: `--model` if given (checked by the
/// decoder), else the embedded model with that id.
pub fn for_id(id: ModelId, spec: Option<&str>) -> Result<Model> {
    if let Some(spec) = spec {
        return resolve(spec);
    }
    match embedded()?.iter().find(|m| m.id() == id) {
        Some(model) => Ok(model.clone()),
        None => bail!(
            "the file was made with model {} which is not built in; pass it with --model PATH",
            id.short()
        ),
    }
}

/// Prints the embedded models: name, signal, architecture, shape and the
/// figures measured on held-out data (images: bpp, PSNR, SSIM; audio:
/// bitrate, SNR).
pub fn print_list() -> Result<()> {
    println!(
        "{:<18} {:<12} {:<22} {:>2} {:>7} {:>6} {:>12} {:>14} {:>6} {:>8}  measured on",
        "name", "signal", "architecture", "J", "latents", "DR", "rate", "quality", "SSIM", "ratio"
    );
    for model in embedded()? {
        let c = model.config();
        let audio = c.modality == Modality::Audio;
        let (rate, quality, ssim, ratio, set) = match &c.figures {
            Some(f) if audio => (
                format!("{:.1} kbit/s", f.kbps.unwrap_or(f64::NAN)),
                format!("{:.2} dB SNR", f.snr_db.unwrap_or(f64::NAN)),
                "-".into(),
                format!("{:.1}:1", f.compression_ratio),
                format!("{} ({} files)", f.dataset, f.images),
            ),
            Some(f) => (
                format!("{:.4} bpp", f.bpp),
                format!("{:.2} dB PSNR", f.psnr_db),
                f.ssim.map_or_else(|| "-".into(), |s| format!("{s:.4}")),
                format!("{:.1}:1", f.compression_ratio),
                format!("{} ({} images)", f.dataset, f.images),
            ),
            None => ("-".into(), "-".into(), "-".into(), "-".into(), "-".into()),
        };
        println!(
            "{:<18} {:<12} {:<22} {:>2} {:>7} {:>5.1}× {:>12} {:>14} {:>6} {:>8}  {}",
            c.name,
            c.signal_name(),
            c.architecture_label(),
            c.levels,
            c.latent_dim,
            c.dimensionality_reduction(),
            rate,
            quality,
            ssim,
            ratio,
            set
        );
    }
    Ok(())
}
