//! The models built into the binary, and resolving `--model NAME|PATH`.

use std::path::Path;

use anyhow::{bail, Context, Result};
use walloc_codec::config::{ARCHITECTURE_LINEAR, ARCHITECTURE_REFINE, ARCHITECTURE_RESIDUAL};
use walloc_codec::{Model, ModelConfig, ModelId};

include!(concat!(env!("OUT_DIR"), "/embedded.rs"));

/// Default model for audio of any channel count (coded in pairs).
pub const DEFAULT_AUDIO: &str = "stereo-5x";

/// Default model name for images of `channels` channels.
pub fn default_for(channels: u8) -> &'static str {
    if channels == 1 {
        "gray-16x"
    } else {
        "rgb-16x"
    }
}

/// Loads every embedded model.
pub fn embedded() -> Result<Vec<Model>> {
    EMBEDDED
        .iter()
        .map(|(name, bytes)| Model::from_bytes(bytes.to_vec()).with_context(|| format!("embedded model {name}")))
        .collect()
}

/// Resolves `--model`: an embedded model's name, or a path to a model file.
pub fn resolve(spec: &str) -> Result<Model> {
    if let Some((_, bytes)) = EMBEDDED.iter().find(|(name, _)| *name == spec) {
        return Ok(Model::from_bytes(bytes.to_vec())?);
    }
    let path = Path::new(spec);
    if path.exists() {
        let bytes = std::fs::read(path).with_context(|| format!("reading model {}", path.display()))?;
        return Model::from_bytes(bytes).with_context(|| format!("loading model {}", path.display()));
    }
    let names: Vec<&str> = EMBEDDED.iter().map(|(n, _)| *n).collect();
    bail!(
        "no model named {spec:?} (embedded: {}) and no such file",
        names.join(", ")
    )
}

/// Finds the model a file needs: `--model` if given (checked by the
/// decoder), else the embedded model with that id.
pub fn for_id(id: ModelId, spec: Option<&str>) -> Result<Model> {
    if let Some(spec) = spec {
        return resolve(spec);
    }
    for model in embedded()? {
        if model.id() == id {
            return Ok(model);
        }
    }
    bail!(
        "the file was made with model {} which is not built in; pass it with --model PATH",
        id.short()
    )
}

/// "linear", or "neural" with the decoder's kind and size.
fn architecture_label(config: &ModelConfig) -> String {
    match config.architecture.as_str() {
        ARCHITECTURE_LINEAR => "linear".into(),
        ARCHITECTURE_RESIDUAL => format!("linear ({} stages)", config.stages.unwrap_or(1)),
        ARCHITECTURE_REFINE => format!(
            "neural (refine {}×{})",
            config.hidden.unwrap_or(0),
            config.blocks.unwrap_or(0)
        ),
        other => format!("neural ({other} {})", config.hidden.unwrap_or(0)),
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
        let (rate, quality, ssim, ratio, set) = match &c.figures {
            Some(f) if model.is_audio() => (
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
            crate::signal_name(c),
            architecture_label(c),
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
