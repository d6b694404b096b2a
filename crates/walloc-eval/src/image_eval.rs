//! Evaluating walloc image models and peer codecs on images, one image at
//! a time: every model and every peer quality on every image; PSNR on the
//! 8-bit output, SSIM, MS-SSIM, megapixels per second.

use std::time::Duration;

use walloc::image::{decode_image, encode_image};
use walloc::{Architecture, DecodeOptions, EncodeOptions, EncoderKind, Figures, Image8, Modality, Model, Step};

use crate::choice::distinct_names;
use crate::error::EvalError;
use crate::metrics::{ms_ssim, psnr, ssim};
use crate::peers::{image_codec, ImageCodec, IMAGE_CODECS};
use crate::report::{Family, FileRow, Metric, Report};
use crate::sweep::{qualities_of, quality_label, walloc_codec_name};
use crate::timing::{per_second, timed};

/// The metrics BD-rates are computed on for images.
const IMAGE_METRICS: [Metric; 3] = [
    ("psnr", |m| Some(m.psnr)),
    ("ssim", |m| m.ssim),
    ("ms_ssim", |m| m.ms_ssim),
];

/// An evaluation of image codecs in progress: add images, then take the
/// report.
pub struct ImageEvaluation {
    models: Vec<Model>,
    peers: Vec<Box<dyn ImageCodec>>,
    /// Whether each model also runs with rate–distortion-optimized
    /// quantization (a second curve, `walloc {model} rdo`).
    rdo: bool,
    rows: Vec<FileRow>,
    sizes: Vec<f64>,
}

/// The embedded RGB image models, the default of an image evaluation.
pub fn embedded_rgb_models() -> Result<Vec<Model>, EvalError> {
    Ok(walloc::models::embedded()?
        .iter()
        .filter(|m| m.config().modality == Modality::Image && m.config().channels == 3)
        .cloned()
        .collect())
}

/// The peer codecs named (default: every image peer).
pub fn image_peers(names: Option<&[String]>) -> Result<Vec<Box<dyn ImageCodec>>, EvalError> {
    let default: Vec<String> = IMAGE_CODECS.iter().map(|s| s.to_string()).collect();
    names
        .unwrap_or(&default)
        .iter()
        .map(|name| {
            image_codec(name).ok_or_else(|| {
                EvalError::Invalid(format!(
                    "unknown image codec {name:?} in --against (known: {})",
                    IMAGE_CODECS.join(", ")
                ))
            })
        })
        .collect()
}

/// A row from what one coding produced.
struct Coded<'a> {
    file: &'a str,
    codec: String,
    setting: String,
    bytes: usize,
    dimensionality_reduction: f64,
    encode: Duration,
    decode: Duration,
}

fn row(image: &Image8, decoded: &Image8, coded: Coded) -> FileRow {
    let pixels = f64::from(image.width) * f64::from(image.height);
    FileRow {
        file: coded.file.to_string(),
        codec: coded.codec,
        setting: coded.setting,
        bytes: coded.bytes,
        rate: coded.bytes as f64 * 8.0 / pixels,
        compression_ratio: image.pixels.len() as f64 / coded.bytes as f64,
        dimensionality_reduction: coded.dimensionality_reduction,
        psnr: psnr(image, decoded),
        ssim: Some(ssim(image, decoded)),
        ms_ssim: ms_ssim(image, decoded),
        snr: None,
        rmse: None,
        spectral_angle: None,
        encode_rate: per_second(pixels, coded.encode),
        decode_rate: per_second(pixels, coded.decode),
    }
}

impl ImageEvaluation {
    /// An evaluation of `models` (image models of one channel count) and
    /// `peers`.
    pub fn new(models: Vec<Model>, peers: Vec<Box<dyn ImageCodec>>) -> Result<Self, EvalError> {
        if let Some(audio) = models.iter().find(|m| m.config().modality != Modality::Image) {
            return Err(EvalError::Invalid(format!(
                "model {} codes {}, and the data holds images",
                audio.config().name,
                audio.config().modality
            )));
        }
        if models
            .windows(2)
            .any(|w| w[0].config().channels != w[1].config().channels)
        {
            return Err(EvalError::Invalid(
                "the models differ in channels (gray and RGB): evaluate them in separate runs".into(),
            ));
        }
        if models.is_empty() && peers.is_empty() {
            return Err(EvalError::Invalid("nothing to evaluate: no model and no peer".into()));
        }
        distinct_names(&models)?;
        Ok(ImageEvaluation {
            models,
            peers,
            rdo: false,
            rows: Vec::new(),
            sizes: Vec::new(),
        })
    }

    /// The same evaluation with a second curve per model quantized for
    /// rate and distortion (`walloc {model} rdo`), when `rdo` is set.
    pub fn with_rdo(self, rdo: bool) -> Self {
        ImageEvaluation { rdo, ..self }
    }

    /// The walloc codings of each image: each model (by index) with its
    /// nearest quantization, and, when asked for, rate–distortion-optimized
    /// too (models with a 1×1 projection encoder; a full neural encoder
    /// has no unquantized latent to optimize).
    fn walloc_codings(&self) -> Vec<(usize, bool)> {
        self.models
            .iter()
            .enumerate()
            .flat_map(|(m, model)| {
                let rdo = self.rdo && model.config().encoder_kind() == EncoderKind::Projection;
                std::iter::once((m, false)).chain(rdo.then_some((m, true)))
            })
            .collect()
    }

    /// The channels images are coded with (those of the models; RGB when
    /// only peers run).
    pub fn channels(&self) -> u8 {
        self.models.first().map_or(3, |m| m.config().channels as u8)
    }

    /// Codings of each image: one per model and quality, and per peer quality.
    pub fn codings_per_image(&self) -> usize {
        self.walloc_codings()
            .iter()
            .map(|&(index, _)| qualities_of(&self.models[index]).count())
            .sum::<usize>()
            + self.peers.iter().map(|p| p.qualities().len()).sum::<usize>()
    }

    /// Codes `image` (named `name`, with [`ImageEvaluation::channels`])
    /// with every model and every peer quality, calling `coded` after each.
    pub fn add(&mut self, name: &str, image: &Image8, mut coded: impl FnMut()) -> Result<(), EvalError> {
        let pixels = f64::from(image.width) * f64::from(image.height);
        let options = DecodeOptions::default();
        let models = &self.models;
        let codings: Vec<((usize, bool), f64)> = self
            .walloc_codings()
            .into_iter()
            .flat_map(|coding| qualities_of(&models[coding.0]).map(move |q| (coding, q)))
            .collect();
        for ((index, rdo), quality) in codings {
            let model = &self.models[index];
            let config = model.config();
            let encoding = EncodeOptions::default()
                .with_step(Step::from_quality(quality)?)
                .with_rdo(rdo);
            let (file, encode) = timed(|| encode_image(model, image, &encoding))?;
            let (decoded, decode) = timed(|| decode_image(model, &file, &options))?;
            let coding = Coded {
                file: name,
                codec: walloc_codec_name(&config.name, rdo),
                setting: quality_label(quality),
                bytes: file.len(),
                dimensionality_reduction: config.dimensionality_reduction(),
                encode,
                decode,
            };
            self.rows.push(row(image, &decoded, coding));
            self.sizes.push(pixels);
            coded();
        }
        for peer in &self.peers {
            for &q in peer.qualities() {
                let (file, encode) = timed(|| peer.encode(image, q))?;
                let (decoded, decode) = timed(|| peer.decode(&file, image.channels))?;
                let coding = Coded {
                    file: name,
                    codec: peer.name().to_string(),
                    setting: format!("q{q}"),
                    bytes: file.len(),
                    dimensionality_reduction: 1.0,
                    encode,
                    decode,
                };
                self.rows.push(row(image, &decoded, coding));
                self.sizes.push(pixels);
                coded();
            }
        }
        Ok(())
    }

    /// The families of the models evaluated: the linear models, the
    /// refined ones, and both together (the best a user gets from any of
    /// them), each with and without rate–distortion optimization.
    fn families(&self) -> Vec<Family> {
        let mut families: Vec<Family> = Vec::new();
        for (index, rdo) in self.walloc_codings() {
            let config = self.models[index].config();
            let kind = match config.architecture {
                Architecture::Linear => "linear",
                Architecture::Refine => "refine",
                _ => continue,
            };
            let member = walloc_codec_name(&config.name, rdo);
            let rdo = if rdo { " rdo" } else { "" };
            for name in [format!("walloc {kind}{rdo} family"), format!("walloc{rdo} family")] {
                match families.iter_mut().find(|f| f.name == name) {
                    Some(family) => family.members.push(member.clone()),
                    None => families.push(Family {
                        name,
                        members: vec![member.clone()],
                    }),
                }
            }
        }
        // With one kind of model evaluated, the family of all is that kind's.
        let mut distinct: Vec<Family> = Vec::new();
        for family in families {
            if !distinct.iter().any(|d| d.members == family.members) {
                distinct.push(family);
            }
        }
        distinct
    }

    /// The report of every image added: rows, means and BD-rates on PSNR,
    /// SSIM and MS-SSIM, of each model and of each family of models.
    pub fn report(self) -> Report {
        let families = self.families();
        Report::from_rows("image", "bpp", self.rows, &self.sizes, &IMAGE_METRICS, &families)
    }
}

/// A model's figures on `images` (with its channels), as stored in a
/// model file under `dataset`: mean bpp, PSNR, SSIM and compression ratio.
pub fn image_figures(model: &Model, images: &[Image8], dataset: &str) -> Result<Figures, EvalError> {
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
