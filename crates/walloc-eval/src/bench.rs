//! Throughput of walloc against libwebp in the same process and run, on
//! the same images, at matched bits per pixel; on one thread and on all
//! threads. Encoding is timed from pixels in memory (the encoders alone,
//! as `cwebp -v` reports its "time to encode picture") and from the image
//! file's bytes (reading the file, the same code for both, is then a large
//! part of walloc's time); decoding from file bytes to pixels. walloc runs
//! the library's image path (`walloc::image`), which codes and decodes
//! large images in stripes as `walloc encode` and `decode` do.

use std::fmt;
use std::time::Duration;

use rayon::prelude::*;
use walloc::image::{decode_image, encode_image};
use walloc::{DecodeOptions, EncodeOptions, Image8, LatentCoder, Model, Step};
use walloc_codec::codec;
use walloc_codec::coding_limit::{context_entropy, ContextEntropy};

use crate::error::EvalError;
use crate::timing::{per_second, timed};

/// Reads an image file's bytes into an image with the channels asked for
/// (the caller's image reader).
pub type ImageReader = dyn Fn(&[u8], u8) -> Result<Image8, String> + Sync;

/// One input: its file bytes, its pixels (RGB for libwebp, the model's
/// channels for walloc), and the walloc and WebP files made from them.
struct Sample {
    name: String,
    file: Vec<u8>,
    rgb: Image8,
    image: Image8,
    pixels: u64,
    wal: Vec<u8>,
    webp: Vec<u8>,
    quality: f32,
}

/// libwebp (lossy) of an RGB image at `quality`.
fn webp_encode(image: &Image8, quality: f32) -> Vec<u8> {
    webp::Encoder::from_rgb(&image.pixels, image.width, image.height)
        .encode(quality)
        .to_vec()
}

/// The WebP quality whose file size is closest to `target` bytes (bisection:
/// size grows with quality).
fn matched_webp(image: &Image8, target: usize) -> (f32, Vec<u8>) {
    let (mut low, mut high) = (0.0f32, 100.0f32);
    let mut best = (0.0, webp_encode(image, 0.0));
    for _ in 0..9 {
        let quality = (low + high) / 2.0;
        let file = webp_encode(image, quality);
        if file.len().abs_diff(target) < best.1.len().abs_diff(target) {
            best = (quality, file.clone());
        }
        if file.len() > target {
            high = quality;
        } else {
            low = quality;
        }
    }
    best
}

/// Times two codecs' `work` over every sample on one thread (sum of
/// per-image bests) and on all threads (images in parallel, best wall time
/// of the set). The two alternate at every repetition, image by image, so
/// that a slow spell of a shared machine falls on both rather than on
/// whichever ran through it: their ratio is what the run measures.
fn paired_throughput(
    samples: &[Sample],
    repeat: usize,
    ours: &(dyn Fn(&Sample) -> Result<(), EvalError> + Sync),
    theirs: &(dyn Fn(&Sample) -> Result<(), EvalError> + Sync),
) -> Result<[Duration; 4], EvalError> {
    let one = rayon::ThreadPoolBuilder::new()
        .num_threads(1)
        .build()
        .map_err(|e| EvalError::Invalid(format!("a one-thread pool: {e}")))?;
    let mut single = [Duration::ZERO; 2];
    one.install(|| {
        for sample in samples {
            let mut best = [Duration::MAX; 2];
            for _ in 0..repeat.max(1) {
                best[0] = best[0].min(timed(|| ours(sample))?.1);
                best[1] = best[1].min(timed(|| theirs(sample))?.1);
            }
            single[0] += best[0];
            single[1] += best[1];
        }
        Ok::<_, EvalError>(())
    })?;
    let mut all = [Duration::MAX; 2];
    for _ in 0..repeat.max(1) {
        all[0] = all[0].min(timed(|| samples.par_iter().try_for_each(ours))?.1);
        all[1] = all[1].min(timed(|| samples.par_iter().try_for_each(theirs))?.1);
    }
    Ok([single[0], single[1], all[0], all[1]])
}

/// What `bench` measured.
#[derive(Clone, Debug)]
pub struct BenchReport {
    /// Images timed.
    pub images: usize,
    /// Their pixels, all together.
    pub pixels: u64,
    /// The model timed.
    pub model: String,
    /// The latent coder walloc's files were written with.
    pub coder: LatentCoder,
    /// Whether walloc quantized for rate and distortion (`--rdo`).
    pub rdo: bool,
    /// Mean libwebp quality that matched walloc's sizes.
    pub webp_quality: f64,
    /// Timed repetitions (the fastest is kept).
    pub repeat: usize,
    /// Threads of the parallel runs.
    pub threads: usize,
    /// Bytes of all walloc files and of all WebP files.
    pub bytes: (usize, usize),
    /// Encode time of walloc and libwebp from pixels in memory (the
    /// encoders alone), on one thread and on all threads:
    /// `[walloc 1, webp 1, walloc all, webp all]`.
    pub encode: [Duration; 4],
    /// Time to read the image file's bytes and encode it, likewise.
    pub read_and_encode: [Duration; 4],
    /// Decode times, likewise.
    pub decode: [Duration; 4],
    /// Bits per latent value of both coders against their limit, at
    /// each of [`CODING_QUALITIES`].
    pub coding: Vec<CodingRow>,
}

/// The qualities whose latents `bench` measures the coders on.
pub const CODING_QUALITIES: [f64; 5] = [15.0, 45.0, 75.0, 90.0, 100.0];

/// The coders' bits on every image's latent at one quality, against the
/// empirical entropies of the same latents ([`ContextEntropy`]).
#[derive(Clone, Copy, Debug)]
pub struct CodingRow {
    /// The quantizer step.
    pub step: Step,
    /// Bits of the static rANS tables, in all.
    pub rans: f64,
    /// Bits of the adaptive coder, in all.
    pub adaptive: f64,
    /// Bits of the predictive coder (the adaptive one with median
    /// prediction of smooth channels), in all.
    pub predictive: f64,
    /// Bits of the contextual coder (the predictive one with wider
    /// contexts), in all.
    pub contextual: f64,
    /// The latents' empirical entropies.
    pub entropy: ContextEntropy,
}

/// Codes the latent of each sample's image at `step` as one band with both
/// coders and counts its entropies.
fn coding_row(model: &Model, samples: &[Sample], step: Step) -> Result<CodingRow, EvalError> {
    let registry = walloc::Registry::core();
    let latents = samples
        .iter()
        .map(|sample| codec::analyze_at(&registry, model, &sample.image, step))
        .collect::<Result<Vec<_>, _>>()?;
    let bits = |coder: LatentCoder| -> Result<f64, EvalError> {
        let coder = model.band_coder(coder, step)?;
        let mut bytes = 0;
        for latent in &latents {
            let plane = latent.height * latent.width;
            bytes += coder.encode(&latent.symbols, plane, 0..plane, latent.width)?.len();
        }
        Ok(bytes as f64 * 8.0)
    };
    Ok(CodingRow {
        step,
        rans: bits(LatentCoder::Rans)?,
        adaptive: bits(LatentCoder::Adaptive)?,
        predictive: bits(LatentCoder::Predictive)?,
        contextual: bits(LatentCoder::Contextual)?,
        entropy: context_entropy(&latents, model.config().latent_bits),
    })
}

/// Times walloc with `model` (a model whose whole path runs without
/// burn), coding with `options`, against libwebp on `files` (name and
/// bytes), read by `read`.
pub fn bench(
    model: &Model,
    options: EncodeOptions,
    files: &[(String, Vec<u8>)],
    read: &ImageReader,
    repeat: usize,
) -> Result<BenchReport, EvalError> {
    if !walloc::Registry::core().supports(model) {
        return Err(EvalError::Invalid(format!(
            "model {} is neural; bench times the linear models' whole path (encode and decode on the CPU)",
            model.config().name
        )));
    }
    let channels = model.config().channels as u8;
    let read_as = |name: &str, bytes: &[u8], channels: u8| {
        read(bytes, channels).map_err(|message| EvalError::Input {
            name: name.to_string(),
            message,
        })
    };
    let samples = files
        .iter()
        .map(|(name, file)| {
            // One decode serves both codecs' inputs.
            let rgb = read_as(name, file, 3)?;
            let image = rgb.clone().to_channels(channels);
            let wal = encode_image(model, &image, &options)?;
            let (quality, webp) = matched_webp(&rgb, wal.len());
            Ok(Sample {
                name: name.clone(),
                file: file.clone(),
                pixels: u64::from(image.width) * u64::from(image.height),
                rgb,
                image,
                wal,
                webp,
                quality,
            })
        })
        .collect::<Result<Vec<_>, EvalError>>()?;
    let coding = CODING_QUALITIES
        .iter()
        .map(|&quality| coding_row(model, &samples, Step::from_quality(quality)?))
        .collect::<Result<Vec<_>, EvalError>>()?;
    let decoding = DecodeOptions::default();
    let walloc_from_file = |s: &Sample| -> Result<(), EvalError> {
        encode_image(model, &read_as(&s.name, &s.file, channels)?, &options)?;
        Ok(())
    };
    let webp_from_file = |s: &Sample| -> Result<(), EvalError> {
        webp_encode(&read_as(&s.name, &s.file, 3)?, s.quality);
        Ok(())
    };
    let walloc_pixels = |s: &Sample| -> Result<(), EvalError> {
        encode_image(model, &s.image, &options)?;
        Ok(())
    };
    let webp_pixels = |s: &Sample| -> Result<(), EvalError> {
        webp_encode(&s.rgb, s.quality);
        Ok(())
    };
    let walloc_decode = |s: &Sample| -> Result<(), EvalError> {
        decode_image::<u8>(model, &s.wal, &decoding)?;
        Ok(())
    };
    let webp_decode = |s: &Sample| -> Result<(), EvalError> {
        webp::Decoder::new(&s.webp)
            .decode()
            .map(drop)
            .ok_or_else(|| EvalError::Invalid(format!("libwebp could not decode its file of {}", s.name)))
    };
    let encode = paired_throughput(&samples, repeat, &walloc_pixels, &webp_pixels)?;
    let read_and_encode = paired_throughput(&samples, repeat, &walloc_from_file, &webp_from_file)?;
    let decode = paired_throughput(&samples, repeat, &walloc_decode, &webp_decode)?;
    Ok(BenchReport {
        images: samples.len(),
        pixels: samples.iter().map(|s| s.pixels).sum(),
        model: model.config().name.clone(),
        coder: options.coder,
        rdo: options.rdo,
        webp_quality: samples.iter().map(|s| f64::from(s.quality)).sum::<f64>() / samples.len().max(1) as f64,
        repeat,
        threads: rayon::current_num_threads(),
        bytes: (
            samples.iter().map(|s| s.wal.len()).sum(),
            samples.iter().map(|s| s.webp.len()).sum(),
        ),
        encode,
        read_and_encode,
        decode,
        coding,
    })
}

impl fmt::Display for BenchReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let pixels = self.pixels as f64;
        let bpp = |bytes: usize| bytes as f64 * 8.0 / pixels;
        writeln!(
            f,
            "{} images, {:.2} MP; model {} ({} coder{}); libwebp at matched size (mean quality {:.1}); best of {}",
            self.images,
            pixels / 1e6,
            self.model,
            self.coder.name(),
            if self.rdo {
                ", rate–distortion-optimized quantization"
            } else {
                ""
            },
            self.webp_quality,
            self.repeat
        )?;
        writeln!(f, "{:<32} {:>12} {:>12} {:>8}", "", "walloc", "libwebp", "ratio")?;
        writeln!(
            f,
            "{:<32} {:>12.4} {:>12.4}",
            "bits per pixel",
            bpp(self.bytes.0),
            bpp(self.bytes.1)
        )?;
        let all = format!("{} threads", self.threads);
        let rows = [
            ("encode MP/s, 1 thread".to_string(), self.encode[0], self.encode[1]),
            ("encode MP/s, ".to_string() + &all, self.encode[2], self.encode[3]),
            (
                "  with the file read, 1 thread".to_string(),
                self.read_and_encode[0],
                self.read_and_encode[1],
            ),
            (
                "  with the file read, ".to_string() + &all,
                self.read_and_encode[2],
                self.read_and_encode[3],
            ),
            ("decode MP/s, 1 thread".into(), self.decode[0], self.decode[1]),
            ("decode MP/s, ".to_string() + &all, self.decode[2], self.decode[3]),
        ];
        for (label, ours, theirs) in rows {
            let (ours, theirs) = (per_second(pixels, ours), per_second(pixels, theirs));
            writeln!(f, "{label:<32} {ours:>12.2} {theirs:>12.2} {:>7.2}×", ours / theirs)?;
        }
        writeln!(
            f,
            "bits per latent value (each latent one chunk); limits: empirical entropy given the contexts"
        )?;
        writeln!(
            f,
            "{:<8} {:>8} {:>9} {:>10} {:>10} {:>9} {:>10} {:>12} {:>9} {:>12}",
            "quality",
            "rANS",
            "adaptive",
            "predictive",
            "contextual",
            "marginal",
            "H(v|nbrs)",
            "H(v|nbrs,ch)",
            "adaptive/H",
            "contextual/H"
        )?;
        for row in &self.coding {
            let e = &row.entropy;
            writeln!(
                f,
                "{:<8} {:>8.4} {:>9.4} {:>10.4} {:>10.4} {:>9.4} {:>10.4} {:>12.4} {:>9.3} {:>12.3}",
                row.step.quality(),
                e.per_value(row.rans),
                e.per_value(row.adaptive),
                e.per_value(row.predictive),
                e.per_value(row.contextual),
                e.per_value(e.marginal),
                e.per_value(e.spatial),
                e.per_value(e.spatial_and_channel),
                row.adaptive / e.spatial_and_channel.max(1e-9),
                row.contextual / e.spatial_and_channel.max(1e-9)
            )?;
        }
        Ok(())
    }
}
