//! `walloc eval` on images: every model and every peer quality on every
//! image; PSNR on the 8-bit output, SSIM, MS-SSIM, MP/s.

use anyhow::{bail, Result};
use walloc::image::{decode_image as decode_wal, encode_image as encode_wal};
use walloc::{DecodeOptions, EncodeOptions, Image8, Modality, Model};
use walloc_eval::metrics::{ms_ssim, psnr, ssim};
use walloc_eval::peers::{image_codec, ImageCodec, IMAGE_CODECS};
use walloc_eval::report::{FileRow, Report};

use super::{bd_rates, means, per_second, timed, EvalArgs, Metric};
use crate::fit::image_files;
use crate::io::{decode_image, progress};
use crate::models;

/// The models to evaluate: those named, or every embedded RGB image model.
fn chosen_models(names: &[String]) -> Result<Vec<Model>> {
    let models: Vec<Model> = if names.is_empty() {
        models::embedded()?
            .iter()
            .filter(|m| m.config().modality == Modality::Image && m.config().channels == 3)
            .cloned()
            .collect()
    } else {
        names.iter().map(|n| models::resolve(n)).collect::<Result<_>>()?
    };
    if let Some(audio) = models.iter().find(|m| m.config().modality == Modality::Audio) {
        bail!("model {} codes audio, and --data holds images", audio.config().name);
    }
    if models
        .windows(2)
        .any(|w| w[0].config().channels != w[1].config().channels)
    {
        bail!("the models differ in channels (gray and RGB): evaluate them in separate runs");
    }
    Ok(models)
}

/// The peer codecs named by `--against` (default: all image peers).
fn chosen_peers(names: Option<&[String]>) -> Result<Vec<Box<dyn ImageCodec>>> {
    let default: Vec<String> = IMAGE_CODECS.iter().map(|s| s.to_string()).collect();
    names
        .unwrap_or(&default)
        .iter()
        .map(|name| {
            image_codec(name).ok_or_else(|| {
                anyhow::anyhow!(
                    "unknown image codec {name:?} in --against (known: {})",
                    IMAGE_CODECS.join(", ")
                )
            })
        })
        .collect()
}

/// The quality figures of a decoded image.
struct Quality {
    psnr: f64,
    ssim: f64,
    ms_ssim: Option<f64>,
}

fn quality(original: &Image8, decoded: &Image8) -> Quality {
    Quality {
        psnr: psnr(original, decoded),
        ssim: ssim(original, decoded),
        ms_ssim: ms_ssim(original, decoded),
    }
}

/// A row from what one coding produced.
struct Coded<'a> {
    file: &'a str,
    codec: String,
    setting: String,
    bytes: usize,
    dimensionality_reduction: f64,
    encode: std::time::Duration,
    decode: std::time::Duration,
}

fn row(image: &Image8, coded: Coded, q: Quality) -> FileRow {
    let pixels = f64::from(image.width) * f64::from(image.height);
    FileRow {
        file: coded.file.to_string(),
        codec: coded.codec,
        setting: coded.setting,
        bytes: coded.bytes,
        rate: coded.bytes as f64 * 8.0 / pixels,
        compression_ratio: image.pixels.len() as f64 / coded.bytes as f64,
        dimensionality_reduction: coded.dimensionality_reduction,
        psnr: q.psnr,
        ssim: Some(q.ssim),
        ms_ssim: q.ms_ssim,
        snr: None,
        encode_rate: per_second(pixels, coded.encode),
        decode_rate: per_second(pixels, coded.decode),
    }
}

/// Evaluates the models and peers on the images of `args.data`.
pub fn evaluate(args: &EvalArgs) -> Result<Report> {
    let models = chosen_models(&args.model)?;
    let peers = chosen_peers(args.against.as_deref())?;
    if models.is_empty() && peers.is_empty() {
        bail!("nothing to evaluate: no model and no peer");
    }
    let channels = models.first().map_or(3, |m| m.config().channels as u8);
    let files = image_files(&args.data)?;
    let settings = models.len() + peers.iter().map(|p| p.qualities().len()).sum::<usize>();
    let bar = progress((files.len() * settings) as u64, "evaluating");
    let options = DecodeOptions::default();
    let (mut rows, mut sizes) = (Vec::new(), Vec::new());
    for path in &files {
        let name = path
            .file_name()
            .map_or_else(|| path.display().to_string(), |n| n.to_string_lossy().into());
        let bytes = std::fs::read(path)?;
        let image = decode_image(&bytes, &path.display().to_string())?.to_channels(channels);
        let pixels = f64::from(image.width) * f64::from(image.height);
        for model in &models {
            let config = model.config();
            let (file, encode) = timed(|| Ok(encode_wal(model, &image, &EncodeOptions::default())?))?;
            let (decoded, decode) = timed(|| Ok(decode_wal(model, &file, &options)?))?;
            let coded = Coded {
                file: &name,
                codec: format!("walloc {}", config.architecture),
                setting: config.name.clone(),
                bytes: file.len(),
                dimensionality_reduction: config.dimensionality_reduction(),
                encode,
                decode,
            };
            rows.push(row(&image, coded, quality(&image, &decoded)));
            sizes.push(pixels);
            bar.inc(1);
        }
        for peer in &peers {
            for &q in peer.qualities() {
                let (file, encode) = timed(|| Ok(peer.encode(&image, q)?))?;
                let (decoded, decode) = timed(|| Ok(peer.decode(&file, channels)?))?;
                let coded = Coded {
                    file: &name,
                    codec: peer.name().to_string(),
                    setting: format!("q{q}"),
                    bytes: file.len(),
                    dimensionality_reduction: 1.0,
                    encode,
                    decode,
                };
                rows.push(row(&image, coded, quality(&image, &decoded)));
                sizes.push(pixels);
                bar.inc(1);
            }
        }
    }
    bar.finish_and_clear();
    let means = means(&rows, &sizes);
    let metrics: [Metric; 3] = [
        ("psnr", |m| Some(m.psnr)),
        ("ssim", |m| m.ssim),
        ("ms_ssim", |m| m.ms_ssim),
    ];
    let bd_rates = bd_rates(&means, &metrics);
    Ok(Report {
        modality: "image".into(),
        rate_unit: "bpp".into(),
        files: rows,
        means,
        bd_rates,
    })
}
