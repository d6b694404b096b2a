//! The models built into the library (every `models/*.safetensors` of the
//! workspace at build time), and loading others.

use std::path::Path;
use std::sync::OnceLock;

use crate::{Error, Modality, Model, ModelId, Result};

include!(concat!(env!("OUT_DIR"), "/embedded.rs"));

/// Default model for audio of any channel count (coded in pairs).
pub const DEFAULT_AUDIO: &str = "stereo-5x";

/// Default model for volumes (one channel: CT, MRI).
pub const DEFAULT_VOLUME: &str = "volume-16x";

/// Default model for images of `channels` channels: `gray-16x` for one,
/// `rgb-16x` otherwise.
pub fn default_image(channels: usize) -> &'static str {
    if channels == 1 {
        "gray-16x"
    } else {
        "rgb-16x"
    }
}

/// Default model for a spectral cube with its bands as depth: each band
/// coded on its own by 2-D packets (a few bands padded to a 3-D model's
/// reach would waste most of the rate).
pub const DEFAULT_CUBE: &str = "cube-16x";

/// Default model for a spectral cube of `bands` bands: a shipped model
/// that codes that many bands as channels (2-D packets), else
/// [`DEFAULT_CUBE`] with the bands as depth.
pub fn default_cube(bands: usize) -> Result<&'static str> {
    let models = embedded()?;
    let fits = |m: &Model| {
        let config = m.config();
        config.modality == Modality::Volume && config.dim == 2 && config.channels as usize == bands
    };
    Ok(match models.iter().position(fits) {
        Some(index) => EMBEDDED[index].0,
        None => DEFAULT_CUBE,
    })
}

/// Default model for a signal of `modality` with `channels` channels.
pub fn default_for(modality: Modality, channels: usize) -> &'static str {
    match modality {
        Modality::Image => default_image(channels),
        Modality::Audio => DEFAULT_AUDIO,
        Modality::Volume => DEFAULT_VOLUME,
    }
}

/// The embedded models once loaded ([`embedded`]).
static MODELS: OnceLock<std::result::Result<Vec<Model>, String>> = OnceLock::new();

/// Loads embedded model `index` from its bytes.
fn load_embedded(index: usize) -> std::result::Result<Model, String> {
    let (name, bytes) = EMBEDDED[index];
    Model::from_bytes(bytes.to_vec()).map_err(|e| format!("embedded model {name}: {e}"))
}

/// Every embedded model, loaded once.
pub fn embedded() -> Result<&'static [Model]> {
    MODELS
        .get_or_init(|| (0..EMBEDDED.len()).map(load_embedded).collect())
        .as_deref()
        .map_err(|e| Error::InvalidModel(e.clone()))
}

/// Names of the embedded models, sorted.
pub fn names() -> Vec<&'static str> {
    EMBEDDED.iter().map(|(name, _)| *name).collect()
}

/// The embedded model called `name`.
pub fn named(name: &str) -> Result<Model> {
    let index = EMBEDDED
        .iter()
        .position(|(n, _)| *n == name)
        .ok_or_else(|| Error::UnknownModel {
            name: name.into(),
            known: names().join(", "),
        })?;
    // Loading one model is what a one-shot encode needs (all 39 MB of
    // them took 70 ms of an 80 ms `walloc encode`); once all are loaded,
    // a copy.
    match MODELS.get() {
        Some(_) => Ok(embedded()?[index].clone()),
        None => load_embedded(index).map_err(Error::InvalidModel),
    }
}

/// The name of the embedded model with id `id`, if one has it. The ids
/// are read from the files' configs (hashing the few that extend no
/// other), not by loading every model.
pub fn name_of(id: ModelId) -> Option<&'static str> {
    static IDS: OnceLock<Vec<Option<ModelId>>> = OnceLock::new();
    let ids = IDS.get_or_init(|| {
        EMBEDDED
            .iter()
            .map(|(_, bytes)| ModelId::of_model_file(bytes).ok())
            .collect()
    });
    ids.iter().position(|&i| i == Some(id)).map(|i| EMBEDDED[i].0)
}

/// Loads a model file.
pub fn load(path: &Path) -> Result<Model> {
    let bytes = std::fs::read(path).map_err(|source| Error::Io {
        path: path.display().to_string(),
        source,
    })?;
    Model::from_bytes(bytes)
}

/// An embedded model's name, or else a path to a model file.
pub fn resolve(spec: &str) -> Result<Model> {
    if names().contains(&spec) {
        return named(spec);
    }
    let path = Path::new(spec);
    if path.exists() {
        return load(path);
    }
    Err(Error::UnknownModel {
        name: spec.into(),
        known: format!("{} (and no such file)", names().join(", ")),
    })
}

/// One point of a model's rate–distortion curve: the means over a
/// held-out set of files coded at one `--quality`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct CurvePoint {
    /// The quality (0 to 100; 75 is the model's own step; a model capped
    /// between the sweep's qualities has its finest, such as 87.5).
    pub quality: f64,
    /// The rate, in the unit of the model's modality ([`rate_unit`]).
    pub rate: f64,
    /// PSNR in dB.
    pub psnr_db: f64,
    /// SSIM (images).
    pub ssim: Option<f64>,
    /// MS-SSIM (images).
    pub ms_ssim: Option<f64>,
}

/// The unit rates of a modality are measured in: bits per pixel,
/// kilobits per second, bits per voxel (and band).
pub fn rate_unit(modality: Modality) -> &'static str {
    match modality {
        Modality::Image => "bpp",
        Modality::Audio => "kbit/s",
        Modality::Volume => "b/vox",
    }
}

/// The measured curve of the embedded model `name` (empty when none was
/// measured), from the finest quality to the coarsest.
pub fn curve(name: &str) -> Vec<CurvePoint> {
    CURVES
        .lines()
        .skip(1)
        .filter_map(|line| {
            let fields: Vec<&str> = line.split(',').collect();
            let number = |i: usize| fields.get(i).and_then(|f| f.parse::<f64>().ok());
            (fields.first() == Some(&name)).then_some(())?;
            Some(CurvePoint {
                quality: fields.get(1)?.parse().ok()?,
                rate: number(2)?,
                psnr_db: number(3)?,
                ssim: number(4),
                ms_ssim: number(5),
            })
        })
        .collect()
}

/// The curves of the embedded models that have one, a line each:
/// `name  q100 0.320 bpp 28.20 dB · q90 …`.
pub fn curves_table() -> String {
    let mut out = String::new();
    for model in embedded().unwrap_or_default() {
        let name = &model.config().name;
        let points = curve(name);
        if points.is_empty() {
            continue;
        }
        let unit = rate_unit(model.config().modality);
        let cells: Vec<String> = points
            .iter()
            .map(|p| format!("q{} {:.3} {unit} {:.2} dB", p.quality, p.rate, p.psnr_db))
            .collect();
        out.push_str(&format!("{name:<18} {}\n", cells.join(" · ")));
    }
    out
}

/// The models as a table, one line each: name, signal, architecture,
/// shape and the figures measured on held-out data (images: bpp, PSNR,
/// SSIM; audio: bitrate, SNR); what `walloc models` prints.
pub fn table(models: &[Model]) -> String {
    use std::fmt::Write as _;
    let mut text = format!(
        "{:<18} {:<12} {:<5} {:<22} {:>2} {:>7} {:>6} {:>12} {:>14} {:>6} {:>8}  measured on\n",
        "name", "signal", "bits", "architecture", "J", "latents", "DR", "rate", "quality", "SSIM", "ratio"
    );
    for model in models {
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
            Some(f) if c.modality == Modality::Volume => (
                format!("{:.4} b/vox", f.bpp),
                format!("{:.2} dB PSNR", f.psnr_db),
                "-".into(),
                format!("{:.1}:1", f.compression_ratio),
                format!("{} ({} volumes)", f.dataset, f.images),
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
        let _ = writeln!(
            text,
            "{:<18} {:<12} {:<5} {:<22} {:>2} {:>7} {:>5.1}× {:>12} {:>14} {:>6} {:>8}  {}",
            c.name,
            c.signal_name(),
            sample_bits_label(c),
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
    text
}

/// The sample bits a model serves, as the table shows them: "8/16" for
/// images; "any" for audio, which is coded at its own level.
fn sample_bits_label(config: &walloc_codec::ModelConfig) -> String {
    match config.modality {
        Modality::Audio => "any".into(),
        _ => config
            .served_sample_bits()
            .iter()
            .map(u8::to_string)
            .collect::<Vec<_>>()
            .join("/"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn image_models_have_measured_curves() {
        let points = curve("rgb-16x");
        assert!(points.len() >= 6, "{points:?}");
        // Finer quality, more bits and more dB.
        for pair in points.windows(2) {
            assert!(pair[0].quality > pair[1].quality);
            assert!(pair[0].rate > pair[1].rate && pair[0].psnr_db > pair[1].psnr_db);
        }
        assert!(points.iter().all(|p| p.ms_ssim.is_some_and(|m| m > 0.5)));
        assert!(curve("no-such-model").is_empty());
        // Audio and volume models have curves too, in their own units.
        for (name, unit) in [
            ("stereo-20x", "kbit/s"),
            ("volume-16x", "b/vox"),
            ("landsat-8x", "b/vox"),
        ] {
            let points = curve(name);
            assert!(
                points.len() >= 6 && points.iter().all(|p| p.ssim.is_none()),
                "{name}: {points:?}"
            );
            assert!(points[0].rate > points[points.len() - 1].rate, "{name}");
            assert_eq!(rate_unit(named(name).unwrap().config().modality), unit);
        }
        let table = curves_table();
        assert!(
            table.contains("rgb-64x") && table.contains("kbit/s") && table.contains("b/vox"),
            "{table}"
        );
    }

    #[test]
    fn embedded_models_load_and_resolve() {
        let models = embedded().unwrap();
        assert_eq!(models.len(), names().len());
        let rgb = named("rgb-16x").unwrap();
        assert_eq!((rgb.config().channels, rgb.config().latent_dim), (3, 12));
        assert_eq!(name_of(rgb.id()), Some("rgb-16x"));
        let err = resolve("no-such-model").unwrap_err();
        assert!(err.to_string().contains("rgb-16x"), "{err}");
        assert_eq!(default_for(Modality::Image, 1), "gray-16x");
    }

    /// The ids `name_of` reads from the configs are the loaded models' ids,
    /// of models that extend another and of those that do not.
    #[test]
    fn every_embedded_model_is_found_by_its_id() {
        let models = embedded().unwrap();
        assert!(models.iter().any(|m| m.config().extends.is_some()));
        assert!(models.iter().any(|m| m.config().extends.is_none()));
        for (model, &(name, _)) in models.iter().zip(EMBEDDED) {
            assert_eq!(name_of(model.id()), Some(name), "{name}");
        }
    }
}
