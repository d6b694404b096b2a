//! Closed-form fitting of a linear model: under MSE the best linear
//! encoder/decoder pair of a given latent dimension is PCA of the
//! wavelet-packet coefficient vectors. The companding gain is set by reverse
//! water-filling, the decoder is refitted by least squares on the quantized
//! latents, and the entropy tables are the latents' histograms. Images fit
//! on crops ([`fit_linear`]), audio on normalized segments
//! ([`fit_linear_audio`]); both on their coefficient vectors.

use nalgebra::{DMatrix, SymmetricEigen};
use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};
use rayon::prelude::*;
use walloc_wavelet::{packet, FilterBank, Signal};

use crate::bottleneck::{Bottleneck, Quantizer};
use crate::codec::Latent;
use crate::config::{Architecture, Modality, ModelConfig, MODEL_FORMAT_VERSION};
use crate::entropy::{count_band, fit_tables, probabilities_from_counts, CONTEXTS};
use crate::error::{invalid, CodecError, Result};
use crate::image::{to_padded_signal, Image, Pixel};
use crate::linalg::{cross_accumulate, gram_accumulate};
use crate::model::{LinearWeights, Model, MAX_CHANNELS, MAX_LEVELS, MAX_LEVELS_1D, MAX_LEVELS_3D};
pub use crate::step_fit::{check_step_decoder_model, fit_image_step_decoders, fit_planar_step_decoders, Refinement};
use crate::step_fit::{least_squares_decoder, with_step_decoders, StepMoments};

/// What to fit.
#[derive(Clone, Debug)]
pub struct FitOptions {
    /// Model name.
    pub name: String,
    /// One line for humans.
    pub description: String,
    /// Signal channels (1 or 3 for images, 1..=64 for audio).
    pub channels: u32,
    /// Packet levels J.
    pub levels: u32,
    /// Latent channels.
    pub latent_dim: u32,
    /// Bits per latent value.
    pub latent_bits: u8,
    /// Filter bank.
    pub wavelet: String,
    /// Multiplies the quantization step chosen by water-filling: above 1
    /// gives smaller files, below 1 higher quality.
    pub step_scale: f64,
    /// Free-form provenance stored in the model.
    pub provenance: serde_json::Value,
    /// Quantizer step codes to fit decoders of their own at
    /// ([`crate::step_decoders`]; `step_decoders::FITTED_CODES` covers the
    /// qualities), each one more pass over the examples; empty for the
    /// decoder of the model's own step alone.
    pub step_decoders: Vec<i8>,
    /// Whether the step decoders also read the eight neighbouring latent
    /// positions (image models; one more pass's worth of arithmetic per
    /// neighbour, no more reads of the data).
    pub step_decoder_neighbours: bool,
}

impl FitOptions {
    /// Checks these options for a `modality` model before any data is
    /// read: levels, channels, latent channels and filter bank.
    pub fn check(&self, modality: Modality) -> Result<()> {
        linear_config(self, modality, modality.axes()).map(drop)
    }
}

/// Random pieces of training examples, drawn from a seeded generator so
/// that a fit is reproducible: square crops of images, segments of audio
/// blocks, cubic bricks of volumes.
pub struct PieceSampler(StdRng);

impl PieceSampler {
    /// A sampler whose positions follow from `seed`.
    pub fn new(seed: u64) -> Self {
        PieceSampler(StdRng::seed_from_u64(seed))
    }

    /// `count` random `side`×`side` crops of `image`; none when it is
    /// smaller.
    pub fn crops<P: Pixel>(&mut self, image: &Image<P>, side: u32, count: u32) -> Vec<Image<P>> {
        if image.width < side || image.height < side {
            return Vec::new();
        }
        (0..count)
            .map(|_| {
                let x = self.0.random_range(0..=image.width - side);
                let y = self.0.random_range(0..=image.height - side);
                image.crop(x, y, side)
            })
            .collect()
    }

    /// `count` random bricks of `brick` = `[depth, height, width]` voxels
    /// (`[1, side, side]` for 2-D patches of the slices) of a planar volume
    /// (`channels` planes of `shape` = `[depth, height, width]`), each
    /// planar too; none when an axis is shorter than the brick's.
    pub fn bricks(
        &mut self,
        volume: &[f32],
        channels: usize,
        shape: [usize; 3],
        brick: [usize; 3],
        count: u32,
    ) -> Vec<Vec<f32>> {
        let [d, h, w] = shape;
        let [bd, bh, bw] = brick;
        if d < bd || h < bh || w < bw || volume.len() != channels * d * h * w {
            return Vec::new();
        }
        (0..count)
            .map(|_| {
                let (z0, y0, x0) = (
                    self.0.random_range(0..=d - bd),
                    self.0.random_range(0..=h - bh),
                    self.0.random_range(0..=w - bw),
                );
                let mut piece = Vec::with_capacity(channels * bd * bh * bw);
                for c in 0..channels {
                    for z in z0..z0 + bd {
                        for y in y0..y0 + bh {
                            let at = ((c * d + z) * h + y) * w + x0;
                            piece.extend_from_slice(&volume[at..at + bw]);
                        }
                    }
                }
                piece
            })
            .collect()
    }

    /// `count` random segments of `length` frames of a planar block of
    /// `channels` rows (planar too); none when it is shorter.
    pub fn segments(&mut self, block: &[f32], channels: usize, length: usize, count: u32) -> Vec<Vec<f32>> {
        let frames = block.len() / channels.max(1);
        if frames < length {
            return Vec::new();
        }
        (0..count)
            .map(|_| crate::audio::segment(block, channels, self.0.random_range(0..=frames - length), length))
            .collect()
    }
}

/// The wavelet-packet coefficients of one training example as `[D × P]`
/// f64, and the shape of its latent positions (whose last axis is the
/// width of the rows the entropy contexts read).
pub(crate) struct Example {
    pub(crate) x: Vec<f64>,
    pub(crate) p: usize,
    pub(crate) shape: Vec<usize>,
}

/// The coefficients of a signal (an image crop, an audio segment).
pub(crate) fn example(bank: &FilterBank, signal: Signal, levels: u32) -> Result<Example> {
    let coeffs = packet::forward(bank, signal, levels)?;
    let p = coeffs.plane_len();
    Ok(Example {
        x: coeffs.data.iter().map(|&v| f64::from(v)).collect(),
        p,
        shape: coeffs.shape.clone(),
    })
}

/// Training examples made on demand, in parallel: `make(i)` for `i < count`.
pub(crate) struct Examples<'a> {
    pub(crate) count: usize,
    pub(crate) make: &'a (dyn Fn(usize) -> Result<Example> + Sync),
}

/// Sum of coefficient vectors and of their outer products, over all crops.
struct Moments {
    count: f64,
    sum: Vec<f64>,
    gram: Vec<f64>,
}

fn moments(examples: &Examples, d: usize) -> Result<Moments> {
    let zero = || Moments {
        count: 0.0,
        sum: vec![0.0; d],
        gram: vec![0.0; d * d],
    };
    (0..examples.count)
        .into_par_iter()
        .map(|i| {
            let Example { x, p, .. } = (examples.make)(i)?;
            let mut m = zero();
            m.count = p as f64;
            for (s, row) in m.sum.iter_mut().zip(x.chunks_exact(p)) {
                *s = row.iter().sum();
            }
            gram_accumulate(&x, d, p, &mut m.gram);
            Ok(m)
        })
        .try_reduce(zero, |mut a, b| {
            a.count += b.count;
            a.sum.iter_mut().zip(&b.sum).for_each(|(x, y)| *x += y);
            a.gram.iter_mut().zip(&b.gram).for_each(|(x, y)| *x += y);
            Ok(a)
        })
}

/// Principal axes, largest variance first: `(variances, axes as rows)`.
fn principal_axes(m: &Moments, d: usize) -> (Vec<f64>, Vec<Vec<f64>>, Vec<f64>) {
    let mean: Vec<f64> = m.sum.iter().map(|s| s / m.count).collect();
    let cov = DMatrix::from_fn(d, d, |i, j| m.gram[i * d + j] / m.count - mean[i] * mean[j]);
    let eigen = SymmetricEigen::new(cov);
    let mut order: Vec<usize> = (0..d).collect();
    order.sort_by(|&a, &b| eigen.eigenvalues[b].total_cmp(&eigen.eigenvalues[a]));
    let variances = order.iter().map(|&i| eigen.eigenvalues[i].max(0.0)).collect();
    let axes = order
        .iter()
        .map(|&i| eigen.eigenvectors.column(i).iter().copied().collect())
        .collect();
    (variances, axes, mean)
}

/// `model` with entropy tables counted on `latents` (made by its own
/// encoder), and where they were counted (`source`) in its provenance:
/// what import and training both do once the encoder is final.
pub fn recount_tables(model: &Model, latents: &[Latent], source: &str) -> Result<Model> {
    let mut config = model.config().clone();
    let probabilities = fit_tables(latents, config.latent_dim as usize, config.latent_bits);
    if !config.provenance.is_object() {
        config.provenance = serde_json::json!({});
    }
    config.provenance["entropy_tables"] =
        serde_json::json!(format!("counted on {} latents of {source}", latents.len()));
    model.with_tables(&probabilities, CONTEXTS, Some(config))
}

/// The configuration of a linear model fitted with `options`, checked.
fn linear_config(options: &FitOptions, modality: Modality, dim: u32) -> Result<(ModelConfig, FilterBank)> {
    let max_levels = match dim {
        1 => MAX_LEVELS_1D,
        3 => MAX_LEVELS_3D,
        _ => MAX_LEVELS,
    };
    if !(1..=max_levels).contains(&options.levels) || !(1..=MAX_CHANNELS).contains(&options.channels) {
        return Err(invalid(
            "fit options",
            format!(
                "{} levels and {} channels (1..={max_levels}, 1..={MAX_CHANNELS})",
                options.levels, options.channels
            ),
        ));
    }
    if options.step_decoder_neighbours && (modality != Modality::Image || options.step_decoders.is_empty()) {
        return Err(invalid(
            "fit options",
            "step decoders that read neighbouring latents are fitted for image models with step decoders",
        ));
    }
    let bank = FilterBank::by_name(&options.wavelet).ok_or_else(|| invalid("wavelet", &options.wavelet))?;
    let config = ModelConfig {
        format_version: MODEL_FORMAT_VERSION,
        name: options.name.clone(),
        description: options.description.clone(),
        modality,
        architecture: Architecture::Linear,
        hidden: None,
        encoder_hidden: None,
        stages: None,
        blocks: None,
        post_filter: false,
        step_conditioned: false,
        step_decoders: Vec::new(),
        step_decoder_neighbours: false,
        extends: None,
        finest_step: None,
        liveaction: None,
        channels: options.channels,
        sample_bits: (modality == Modality::Image).then(|| vec![8, 16]),
        dim,
        levels: options.levels,
        latent_dim: options.latent_dim,
        latent_bits: options.latent_bits,
        wavelet: options.wavelet.clone(),
        provenance: options.provenance.clone(),
        figures: None,
    };
    let (k, d) = (config.latent_dim as usize, config.coefficient_dim());
    if k == 0 || k > d {
        return Err(invalid(
            "latent_dim",
            format!("{k} (1..={d} for these channels and levels)"),
        ));
    }
    Ok((config, bank))
}

/// Fits a linear model on image crops (all of one size, a multiple of 2^J).
pub fn fit_linear<P: Pixel>(crops: &[Image<P>], options: &FitOptions) -> Result<Model> {
    let (config, bank) = linear_config(options, Modality::Image, 2)?;
    if crops.is_empty() || crops.iter().any(|c| u32::from(c.channels) != options.channels) {
        return Err(CodecError::IncompatibleInput(format!(
            "need at least one crop, all with {} channels",
            options.channels
        )));
    }
    let make = |i: usize| example(&bank, to_padded_signal(&crops[i], 1 << options.levels), options.levels);
    fit(
        config,
        options,
        &Examples {
            count: crops.len(),
            make: &make,
        },
    )
}

/// Fits a linear audio model on segments: planar samples (`channels` rows
/// of a common length, a multiple of 2^J), each normalized as the encoder
/// normalizes a block ([`crate::audio::Level`]).
pub fn fit_linear_audio(segments: &[Vec<f32>], options: &FitOptions) -> Result<Model> {
    let (config, bank) = linear_config(options, Modality::Audio, 1)?;
    let channels = options.channels as usize;
    let length = segments.first().map_or(0, |s| s.len() / channels);
    check_planar(segments, channels, &[length], 1, options.levels)?;
    let make = |i: usize| {
        let signal = Signal::new(segments[i].clone(), channels, vec![length])?;
        example(&bank, signal, options.levels)
    };
    fit(
        config,
        options,
        &Examples {
            count: segments.len(),
            make: &make,
        },
    )
}

/// Fits a linear volume model of `dims` packet axes on bricks: planar
/// samples (`channels` planes of `side`^dims voxels, `side` a multiple of
/// 2^J), each normalized as the encoder normalizes a volume (by its range,
/// to −0.5..0.5). A model of 3 axes codes slabs with 3-D packets; one of 2
/// codes each slice with 2-D packets (a spectral cube with its bands as
/// channels: bricks are then patches of one slice).
pub fn fit_linear_volume(bricks: &[Vec<f32>], dims: u32, side: usize, options: &FitOptions) -> Result<Model> {
    if !(2..=3).contains(&dims) {
        return Err(invalid("packet axes", format!("{dims} (2 or 3)")));
    }
    let (config, bank) = linear_config(options, Modality::Volume, dims)?;
    let channels = options.channels as usize;
    check_planar(bricks, channels, &vec![side; dims as usize], dims, options.levels)?;
    let make = |i: usize| {
        let signal = Signal::new(bricks[i].clone(), channels, vec![side; dims as usize])?;
        example(&bank, signal, options.levels)
    };
    fit(
        config,
        options,
        &Examples {
            count: bricks.len(),
            make: &make,
        },
    )
}

/// PCA, water-filling and the least-squares decoder on `examples`.
fn fit(config: ModelConfig, options: &FitOptions, examples: &Examples) -> Result<Model> {
    let (k, d) = (config.latent_dim as usize, config.coefficient_dim());
    let m = moments(examples, d)?;
    let (variances, axes, mean) = principal_axes(&m, d);

    // Reverse water-filling: every kept component gets the distortion of the
    // first dropped one, i.e. a uniform step Δ with Δ²/12 = λ_K.
    let bottleneck = Bottleneck::new(options.latent_bits);
    let water = variances.get(k).copied().unwrap_or(variances[k - 1] / 4.0).max(1e-12);
    let step = options.step_scale * (12.0 * water).sqrt();
    let gains: Vec<f64> = (0..k)
        .map(|i| {
            let uniform = 1.0 / (bottleneck.slope_at_zero() * step);
            let no_saturation = bottleneck.scale() / variances[i].sqrt().max(1e-12);
            uniform.min(no_saturation)
        })
        .collect();
    let mut encoder_weight = Vec::with_capacity(k * d);
    let mut encoder_bias = Vec::with_capacity(k);
    for (axis, &g) in axes.iter().zip(&gains) {
        encoder_weight.extend(axis.iter().map(|&v| (g * v) as f32));
        encoder_bias.push((-g * axis.iter().zip(&mean).map(|(v, m)| v * m).sum::<f64>()) as f32);
    }

    // Second pass: histograms, and the least-squares decoder from [ẑ; 1] to x.
    let quantizer = Quantizer::new(&bottleneck);
    let symbols = bottleneck.symbols();
    let ka = k + 1;
    let zero = || {
        (
            vec![0u64; k * CONTEXTS * symbols],
            vec![0.0f64; ka * ka],
            vec![0.0f64; d * ka],
        )
    };
    let (counts, zz, xz) = (0..examples.count)
        .into_par_iter()
        .map(|i| {
            let Example { x, p, shape } = (examples.make)(i)?;
            let width = *shape.last().unwrap_or(&p);
            let (mut counts, mut zz, mut xz) = zero();
            let mut zhat = vec![1.0f64; ka * p];
            let mut band = vec![0u8; p];
            for c in 0..k {
                let w = &encoder_weight[c * d..(c + 1) * d];
                for (i, s) in band.iter_mut().enumerate() {
                    let z: f64 = w
                        .iter()
                        .enumerate()
                        .map(|(j, &wj)| f64::from(wj) * x[j * p + i])
                        .sum::<f64>()
                        + f64::from(encoder_bias[c]);
                    *s = quantizer.quantize(z as f32);
                    zhat[c * p + i] = f64::from(bottleneck.dequantize(*s));
                }
                // Each example counts as one chunk, as the coder sees it.
                let rows = CONTEXTS * symbols;
                count_band(&band, width, symbols, &mut counts[c * rows..(c + 1) * rows]);
            }
            gram_accumulate(&zhat, ka, p, &mut zz);
            cross_accumulate(&x, &zhat, d, ka, p, &mut xz);
            Ok::<_, CodecError>((counts, zz, xz))
        })
        .try_reduce(zero, |mut a, b| {
            a.0.iter_mut().zip(&b.0).for_each(|(x, y)| *x += y);
            a.1.iter_mut().zip(&b.1).for_each(|(x, y)| *x += y);
            a.2.iter_mut().zip(&b.2).for_each(|(x, y)| *x += y);
            Ok(a)
        })?;
    let decoder = least_squares_decoder(&StepMoments::pointwise(zz, xz), k, d, 0)?;
    let weights = LinearWeights {
        encoder_weight,
        encoder_bias,
        decoder_weight: decoder.weight,
        decoder_bias: decoder.bias,
        probabilities: probabilities_from_counts(&counts, symbols),
        contexts: CONTEXTS,
    };
    let model = Model::new(config, weights)?;
    if options.step_decoders.is_empty() {
        return Ok(model);
    }
    with_step_decoders(
        &model,
        &options.step_decoders,
        options.step_decoder_neighbours,
        examples,
        None,
        &mut |_, _| {},
    )
}

/// Checks planar training pieces: at least one, each `channels` planes of
/// `shape` (`dim` axes, each a positive multiple of 2^`levels`).
pub(crate) fn check_planar(pieces: &[Vec<f32>], channels: usize, shape: &[usize], dim: u32, levels: u32) -> Result<()> {
    let multiple = 1usize << levels;
    let len = channels * shape.iter().product::<usize>();
    if pieces.is_empty()
        || shape.len() != dim as usize
        || shape.iter().any(|&n| n == 0 || !n.is_multiple_of(multiple))
        || pieces.iter().any(|p| p.len() != len)
    {
        return Err(CodecError::IncompatibleInput(format!(
            "need at least one piece, all of {channels} channels of {dim} axes, each axis a multiple of 2^{levels} \
             (got {} pieces of shape {shape:?})",
            pieces.len()
        )));
    }
    Ok(())
}
