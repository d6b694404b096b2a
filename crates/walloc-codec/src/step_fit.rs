//! Least-squares fitting of a model's decoders at the quality knob's steps
//! ([`crate::step_decoders`]): for each step, the map from the latents
//! quantized and dequantized at that step (and, optionally, their eight
//! neighbours) to the wavelet coefficients they came from.
//!
//! A `refine` model's decoders are fitted around its refiner, whose
//! correction this crate cannot compute (the refiner is a network, run by
//! walloc-nn): the caller passes it as a [`Refinement`]. Each coefficient
//! channel `d` is then fitted on the features `[ẑ; neighbours; 1; R_d]`,
//! `R_d` the refiner's correction of that channel at the step, so that the
//! linear map and the gain on the correction are chosen together. The
//! fitting data's error is then at most that of the linear map alone
//! (gain 0) and of the model's own decoder with the whole correction.

use nalgebra::{DMatrix, DVector};
use rayon::prelude::*;

use crate::bottleneck::{Quantizer, Rounding};
use crate::codec::{shift_planes, Latent};
use crate::config::{Architecture, Modality};
use crate::error::{CodecError, Result};
use crate::fit::{check_planar, example, Example, Examples};
use crate::image::{to_padded_signal, Image, Pixel};
use crate::linalg::{cross_accumulate, gram_accumulate};
use crate::model::Model;
use crate::step::Step;
use crate::step_decoders::{Decoder, NEIGHBOURS};
use walloc_wavelet::Signal;

/// A refine model's nonlinear correction to its linear decoder, which its
/// step decoders are fitted around (walloc-nn implements it with the
/// model's refiner).
pub trait Refinement: Sync {
    /// The correction `[D × positions]`, channel-major, of the dequantized
    /// latent `zhat` `[K × positions]` (positions `shape`: `[height,
    /// width]` for images, `[length]` for audio) coded at `step`.
    fn correction(&self, step: Step, zhat: &[f32], shape: &[usize]) -> Result<Vec<f32>>;
}

/// Refuses a model whose step decoders cannot be fitted: any but a linear
/// or refine model with a 1×1 projection encoder (of any modality), and a
/// refine model without its `refinement`.
pub fn check_step_decoder_model(model: &Model, refinement: Option<&dyn Refinement>) -> Result<()> {
    let config = model.config();
    let architecture = config.architecture;
    if !matches!(architecture, Architecture::Linear | Architecture::Refine) || model.encoder().is_none() {
        return Err(CodecError::IncompatibleInput(format!(
            "model {} is a {} {} model; step decoders are fitted for linear and refine models",
            config.name,
            config.architecture_label(),
            config.signal_name()
        )));
    }
    if architecture == Architecture::Refine && refinement.is_none() {
        return Err(CodecError::IncompatibleInput(format!(
            "model {} is a refine model: its step decoders are fitted around its refiner, \
             which walloc-nn runs (walloc_nn::fit_refine_step_decoders)",
            config.name
        )));
    }
    Ok(())
}

/// An image model (linear, or refine with its `refinement`) with decoders
/// least-squares fitted at step `codes` on `crops` (all of one size, a
/// multiple of 2^J), its encoder, tables and own decoder kept: it writes
/// the same files and keeps its id. `on_step` hears `(steps fitted, steps)`
/// as each step is done.
pub fn fit_image_step_decoders<P: Pixel>(
    model: &Model,
    crops: &[Image<P>],
    codes: &[i8],
    neighbours: bool,
    refinement: Option<&dyn Refinement>,
    on_step: &mut dyn FnMut(usize, usize),
) -> Result<Model> {
    check_step_decoder_model(model, refinement)?;
    let config = model.config();
    if config.modality != Modality::Image {
        return Err(CodecError::IncompatibleInput(format!(
            "model {} codes {}; its step decoders are fitted on pieces of those, not on images",
            config.name,
            config.signal_name()
        )));
    }
    if crops.is_empty() || crops.iter().any(|c| u32::from(c.channels) != config.channels) {
        return Err(CodecError::IncompatibleInput(format!(
            "need at least one crop, all with {} channels",
            config.channels
        )));
    }
    let make = |i: usize| {
        example(
            model.bank(),
            to_padded_signal(&crops[i], 1 << config.levels),
            config.levels,
        )
    };
    let examples = Examples {
        count: crops.len(),
        make: &make,
    };
    with_step_decoders(model, codes, neighbours, &examples, refinement, on_step)
}

/// An audio or volume model (linear, or refine with its `refinement`) with
/// decoders least-squares fitted at step `codes` on `pieces`: planar
/// samples (the model's channels, each of `shape`, every axis a multiple of
/// 2^J), normalized as its encoder normalizes a block or slab (segments for
/// audio, bricks for volumes, as [`crate::fit::fit_linear_audio`] and
/// [`crate::fit::fit_linear_volume`] take them). Its encoder, tables and
/// own decoder are kept: it writes the same files and keeps its id.
/// `on_step` hears `(steps fitted, steps)` as each step is done.
pub fn fit_planar_step_decoders(
    model: &Model,
    pieces: &[Vec<f32>],
    shape: &[usize],
    codes: &[i8],
    refinement: Option<&dyn Refinement>,
    on_step: &mut dyn FnMut(usize, usize),
) -> Result<Model> {
    check_step_decoder_model(model, refinement)?;
    let config = model.config();
    if config.modality == Modality::Image {
        return Err(CodecError::IncompatibleInput(format!(
            "model {} codes images: its step decoders are fitted on image crops",
            config.name
        )));
    }
    let channels = config.channels as usize;
    check_planar(pieces, channels, shape, config.dim, config.levels)?;
    let make = |i: usize| {
        let signal = Signal::new(pieces[i].clone(), channels, shape.to_vec())?;
        example(model.bank(), signal, config.levels)
    };
    let examples = Examples {
        count: pieces.len(),
        make: &make,
    };
    with_step_decoders(model, codes, false, &examples, refinement, on_step)
}

/// `model` with decoders least-squares fitted at step `codes` on
/// `examples`, reading the neighbouring latent positions too when
/// `neighbours` (image models), around `refinement` (refine models), and
/// its finest step where a finer fitted step saturates its latents
/// ([`SATURATION_LIMIT`]) and decodes them worse than the step before it
/// ([`finest_step`]); `on_step` hears `(steps fitted, steps)`.
pub(crate) fn with_step_decoders(
    model: &Model,
    codes: &[i8],
    neighbours: bool,
    examples: &Examples,
    refinement: Option<&dyn Refinement>,
    on_step: &mut dyn FnMut(usize, usize),
) -> Result<Model> {
    crate::step_decoders::check_codes(codes, model.config().architecture)?;
    let fitted = codes
        .iter()
        .enumerate()
        .map(|(done, &code)| {
            let fitted = step_decoder(model, Step::from_code(code)?, examples, neighbours, refinement)?;
            on_step(done + 1, codes.len());
            Ok(fitted)
        })
        .collect::<Result<Vec<_>>>()?;
    let finest = finest_step(codes, &fitted);
    let decoders: Vec<Decoder> = fitted.into_iter().map(|f| f.decoder).collect();
    model.with_step_decoders(codes, &decoders)?.with_finest_step(finest)
}

/// What fitting one step's decoder found.
struct FittedStep {
    /// The least-squares decoder.
    decoder: Decoder,
    /// The fraction of latent values quantized to either end of the symbol
    /// range.
    saturated: f64,
    /// The decoder's mean squared error over the examples' coefficients.
    error: f64,
}

/// The fraction of latent values at either end of the symbol range above
/// which a step saturates the model: one in a million. (On `data/train`
/// no value of `rgb-16x` saturates at any quality; `stereo-5x`, whose fit
/// capped its strongest channels' gains at the companding's scale,
/// saturates 1.9e-5 of its values at quality 90 and 1.4e-4 at 100, where
/// it decodes 0.6 and 4.3 dB worse than at 75; `rgb-2x` saturates 1.3e-4
/// at 100 and decodes better there than at 87.5.)
pub const SATURATION_LIMIT: f64 = 1e-6;

/// The finest step the model codes at, from what fitting each of `codes`
/// found: walking from the model's own step to finer fitted ones, the last
/// before the first that both saturates more than [`SATURATION_LIMIT`] and
/// decodes the examples no better than the step before it in the walk (the
/// model's own step, where a decoder was fitted there, `--own-step`;
/// without one, saturating is enough, since a coarser step's error says
/// nothing: a refit of `stereo-5x` would otherwise pass 87.5); `None` when
/// no step stops the walk (every step is codable). Saturation alone would
/// cap a model whose few clipped values cost less than the finer step
/// gains (`rgb-2x`).
fn finest_step(codes: &[i8], fitted: &[FittedStep]) -> Option<Step> {
    let mut steps: Vec<(i8, &FittedStep)> = codes.iter().copied().zip(fitted).collect();
    steps.sort_by_key(|&(code, _)| std::cmp::Reverse(code));
    let mut before = steps.iter().find(|&&(code, _)| code == 0).map(|&(_, f)| f.error);
    let mut finest = Step::NATIVE;
    for &(code, step) in steps.iter().filter(|&&(code, _)| code < 0) {
        if step.saturated > SATURATION_LIMIT && before.is_none_or(|error| step.error >= error) {
            return Some(finest);
        }
        finest = Step::from_code(code).ok()?;
        before = Some(step.error);
    }
    None
}

/// Sums over the examples of one step's features `f = [ẑ; neighbours; 1]`
/// and targets `x`, and, around a refiner, of its corrections `R`.
pub(crate) struct StepMoments {
    /// `Σ f fᵀ`, `F × F`.
    zz: Vec<f64>,
    /// `Σ x fᵀ`, `D × F`.
    xz: Vec<f64>,
    /// `Σ R_d fᵀ` for each channel `d`, `D × F` (empty without a refiner).
    rz: Vec<f64>,
    /// `Σ R_d²`, `D`.
    rr: Vec<f64>,
    /// `Σ x_d R_d`, `D`.
    xr: Vec<f64>,
    /// `Σ x_d²`, `D` (empty for [`StepMoments::pointwise`]).
    xx: Vec<f64>,
    /// Latent values quantized to either end of the symbol range.
    saturated: u64,
    /// Latent values quantized.
    values: u64,
}

impl StepMoments {
    /// The moments of a decoder of each position's own latents alone, with
    /// no refiner: `Σ f fᵀ` and `Σ x fᵀ`.
    pub(crate) fn pointwise(zz: Vec<f64>, xz: Vec<f64>) -> Self {
        StepMoments {
            zz,
            xz,
            rz: Vec::new(),
            rr: Vec::new(),
            xr: Vec::new(),
            xx: Vec::new(),
            saturated: 0,
            values: 0,
        }
    }

    fn zero(features: usize, d: usize, refined: bool) -> Self {
        let per_channel = if refined { d } else { 0 };
        StepMoments {
            zz: vec![0.0; features * features],
            xz: vec![0.0; d * features],
            rz: vec![0.0; per_channel * features],
            rr: vec![0.0; per_channel],
            xr: vec![0.0; per_channel],
            xx: vec![0.0; d],
            saturated: 0,
            values: 0,
        }
    }

    fn add(mut self, other: StepMoments) -> Self {
        let pairs = [
            (&mut self.zz, &other.zz),
            (&mut self.xz, &other.xz),
            (&mut self.rz, &other.rz),
            (&mut self.rr, &other.rr),
            (&mut self.xr, &other.xr),
            (&mut self.xx, &other.xx),
        ];
        for (a, b) in pairs {
            a.iter_mut().zip(b).for_each(|(x, y)| *x += y);
        }
        self.saturated += other.saturated;
        self.values += other.values;
        self
    }
}

/// The rounding an image model's step decoders are fitted on: the
/// encoders' default (the dead zone), so that they decode what files hold.
/// Fitted on the nearest rounding instead, they took a zero to mean a value
/// within ±½ where the encoders' zeros reach ±0.6 and hold the isolated
/// ±1s. Audio and volume models' keep the nearest rounding, on which
/// their shipped decoders were fitted and measured.
fn fit_rounding(model: &Model) -> Rounding {
    if model.config().modality == Modality::Image {
        Rounding::DeadZone
    } else {
        Rounding::Nearest
    }
}

/// The least-squares decoder of `model`'s latents quantized at `step` (as
/// [`fit_rounding`] rounds them) and dequantized as its decoder dequantizes
/// them there, over `examples`.
/// With `neighbours`, the decoder also reads the latents at the eight
/// neighbouring positions ([`NEIGHBOURS`], periodically); with a
/// `refinement`, it weighs its correction too. With it, the fraction of
/// latent values that saturated and its mean squared error.
fn step_decoder(
    model: &Model,
    step: Step,
    examples: &Examples,
    neighbours: bool,
    refinement: Option<&dyn Refinement>,
) -> Result<FittedStep> {
    let (k, d) = (model.config().latent_dim as usize, model.config().coefficient_dim());
    let taps = if neighbours { NEIGHBOURS.len() } else { 0 };
    let ka = k * (1 + taps) + 1;
    let weights = model.weights();
    let bottleneck = model.bottleneck_at(step);
    let rounding = fit_rounding(model);
    let quantizer = Quantizer::with_rounding(&bottleneck, rounding);
    let top = (bottleneck.symbols() - 1) as u8;
    let dequantizer = model.dequantizer(step);
    let zero = || StepMoments::zero(ka, d, refinement.is_some());
    let moments = (0..examples.count)
        .into_par_iter()
        .map(|i| {
            let Example { x, p, shape } = (examples.make)(i)?;
            let mut m = zero();
            let width = *shape.last().unwrap_or(&p);
            let mut latent = Latent::from_grid(k, &shape, vec![0u8; k * p], step);
            for c in 0..k {
                let w = &weights.encoder_weight[c * d..(c + 1) * d];
                for (i, symbol) in latent.symbols[c * p..(c + 1) * p].iter_mut().enumerate() {
                    let z: f64 = w
                        .iter()
                        .enumerate()
                        .map(|(j, &wj)| f64::from(wj) * x[j * p + i])
                        .sum::<f64>()
                        + f64::from(weights.encoder_bias[c]);
                    *symbol = quantizer.quantize(z as f32);
                    m.saturated += u64::from(*symbol == 0 || *symbol == top);
                }
            }
            rounding.finish(&mut latent, bottleneck.offset() as u8);
            let mut zhat = vec![1.0f64; ka * p];
            for (c, (values, symbols)) in zhat.chunks_exact_mut(p).zip(latent.symbols.chunks_exact(p)).enumerate() {
                for (value, &symbol) in values.iter_mut().zip(symbols) {
                    *value = f64::from(dequantizer.value(c, symbol));
                }
            }
            m.values += (k * p) as u64;
            let (own, shifted) = zhat.split_at_mut(k * p);
            for (&offset, out) in NEIGHBOURS.iter().zip(shifted.chunks_exact_mut(k * p)).take(taps) {
                shift_planes(own, p / width, width, offset, out);
            }
            if let Some(refinement) = refinement {
                let latent: Vec<f32> = zhat[..k * p].iter().map(|&v| v as f32).collect();
                let correction = refinement.correction(step, &latent, &shape)?;
                if correction.len() != d * p {
                    return Err(CodecError::IncompatibleInput(format!(
                        "the refiner's correction has {} values, not {d}×{p}",
                        correction.len()
                    )));
                }
                let r: Vec<f64> = correction.iter().map(|&v| f64::from(v)).collect();
                for (c, plane) in r.chunks_exact(p).enumerate() {
                    let target = &x[c * p..(c + 1) * p];
                    m.rr[c] = plane.iter().map(|v| v * v).sum();
                    m.xr[c] = plane.iter().zip(target).map(|(v, t)| v * t).sum();
                }
                cross_accumulate(&r, &zhat, d, ka, p, &mut m.rz);
            }
            for (xx, plane) in m.xx.iter_mut().zip(x.chunks_exact(p)) {
                *xx = plane.iter().map(|v| v * v).sum();
            }
            gram_accumulate(&zhat, ka, p, &mut m.zz);
            cross_accumulate(&x, &zhat, d, ka, p, &mut m.xz);
            Ok::<_, CodecError>(m)
        })
        .try_reduce(zero, |a, b| Ok(a.add(b)))?;
    let saturated = moments.saturated as f64 / moments.values.max(1) as f64;
    let solved = solve(&moments, k, d, taps)?;
    let coefficients = d as f64 * (moments.values.max(1) / k as u64) as f64;
    Ok(FittedStep {
        error: residual(&moments, &solved, ka) / coefficients,
        decoder: decoder_of(&solved, k, taps),
        saturated,
    })
}

/// `Σ ‖x − x̂‖²` of the least-squares solution `solved` (each channel's
/// weights on the features, then its refiner gain) over the examples whose
/// `moments` it solves (`ka` features): `Σ_d (x_d·x_d − s_d·b_d)`, `b_d`
/// the channel's right-hand side (exact up to the tiny ridge).
fn residual(moments: &StepMoments, solved: &[Vec<f64>], ka: usize) -> f64 {
    solved
        .iter()
        .enumerate()
        .map(|(c, s)| {
            let explained: f64 = s[..ka]
                .iter()
                .zip(&moments.xz[c * ka..(c + 1) * ka])
                .map(|(a, b)| a * b)
                .sum();
            let refined = moments.xr.get(c).map_or(0.0, |xr| s[ka] * xr);
            moments.xx[c] - explained - refined
        })
        .sum()
}

/// The least-squares decoder from `[ẑ; ẑ at each of `taps` neighbours; 1]`
/// (`F = K·(1 + taps) + 1` features), and around a refiner from its
/// correction too, to `x`, given their moments: `W_aug · ZZ = XZ` (for each
/// channel on its own around a refiner), with a tiny ridge for features
/// that never moved.
pub(crate) fn least_squares_decoder(m: &StepMoments, k: usize, d: usize, taps: usize) -> Result<Decoder> {
    Ok(decoder_of(&solve(m, k, d, taps)?, k, taps))
}

/// Each channel's least-squares solution of [`least_squares_decoder`]: its
/// `F` weights, then its gain around a refiner.
fn solve(m: &StepMoments, k: usize, d: usize, taps: usize) -> Result<Vec<Vec<f64>>> {
    let ka = k * (1 + taps) + 1;
    let ridge_of = |diagonal_max: f64| 1e-9 * diagonal_max;
    let zz_max = (0..ka).map(|i| m.zz[i * ka + i]).fold(0.0, f64::max);
    let singular = || CodecError::InvalidModel("latent Gram matrix is singular: too little data".into());
    Ok(if m.rr.is_empty() {
        let ridge = ridge_of(zz_max);
        let zz = DMatrix::from_fn(ka, ka, |i, j| m.zz[i * ka + j] + if i == j { ridge } else { 0.0 });
        let xz = DMatrix::from_fn(d, ka, |i, j| m.xz[i * ka + j]);
        let solved = zz.cholesky().ok_or_else(singular)?.solve(&xz.transpose());
        (0..d).map(|i| solved.column(i).iter().copied().collect()).collect()
    } else {
        (0..d)
            .map(|c| {
                let n = ka + 1;
                let ridge = ridge_of(zz_max.max(m.rr[c]));
                let entry = |i: usize, j: usize| match (i < ka, j < ka) {
                    (true, true) => m.zz[i * ka + j],
                    (true, false) => m.rz[c * ka + i],
                    (false, true) => m.rz[c * ka + j],
                    (false, false) => m.rr[c],
                };
                let a = DMatrix::from_fn(n, n, |i, j| entry(i, j) + if i == j { ridge } else { 0.0 });
                let b = DVector::from_fn(n, |i, _| if i < ka { m.xz[c * ka + i] } else { m.xr[c] });
                Ok(a.cholesky().ok_or_else(singular)?.solve(&b).iter().copied().collect())
            })
            .collect::<Result<_>>()?
    })
}

/// The decoder of [`solve`]'s solutions.
fn decoder_of(solved: &[Vec<f64>], k: usize, taps: usize) -> Decoder {
    let ka = k * (1 + taps) + 1;
    // The `[D × K]` map of the features of block `t` (0: the position's own).
    let block = |t: usize| -> Vec<f32> {
        solved
            .iter()
            .flat_map(|row| row[t * k..(t + 1) * k].iter().map(|&v| v as f32))
            .collect()
    };
    Decoder {
        weight: block(0),
        bias: solved.iter().map(|row| row[ka - 1] as f32).collect(),
        neighbour_weight: (1..=taps).flat_map(block).collect(),
        refiner_gain: solved.iter().filter_map(|row| row.get(ka)).map(|&v| v as f32).collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A fitted step that found `saturated` and `error` (its decoder is
    /// not read by the rule).
    fn found(saturated: f64, error: f64) -> FittedStep {
        FittedStep {
            decoder: Decoder::pointwise(Vec::new(), Vec::new()),
            saturated,
            error,
        }
    }

    #[test]
    fn the_finest_step_stops_before_the_first_that_saturates_and_decodes_worse() {
        let codes = [-20, -10, 0, 20];
        let finest = |steps: [(f64, f64); 4]| {
            let fitted: Vec<FittedStep> = steps.iter().map(|&(s, e)| found(s, e)).collect();
            finest_step(&codes, &fitted).map(Step::code)
        };
        // Errors fall towards the finer steps, as they do unsaturated.
        let falling = |saturated: [f64; 4]| {
            let errors = [1.0, 2.0, 4.0, 8.0];
            finest(std::array::from_fn(|i| (saturated[i], errors[i])))
        };
        assert_eq!(falling([0.0; 4]), None, "nothing saturates: every step");
        assert_eq!(
            falling([1e-4, 2e-5, 0.0, 0.0]),
            None,
            "saturating steps that still decode better are codable (rgb-2x)"
        );
        assert_eq!(
            finest([(1e-4, 9.0), (2e-5, 5.0), (0.0, 4.0), (0.0, 8.0)]),
            Some(0),
            "stereo-5x: saturating and decoding worse, its own step"
        );
        assert_eq!(
            finest([(1e-4, 3.0), (0.0, 2.0), (0.0, 4.0), (0.0, 8.0)]),
            Some(-10),
            "worse than the step before it in the walk"
        );
        assert_eq!(
            finest([(0.0, 1.0), (1e-4, 4.0), (0.0, 4.0), (0.0, 8.0)]),
            Some(0),
            "finer than a step that stops the walk is not codable"
        );
        assert_eq!(
            finest([(0.0, 1.0), (0.0, 2.0), (1.0, 9.0), (1.0, 9.0)]),
            None,
            "coarser steps do not bound the finest"
        );
        let without_own = [-20, -10, 10];
        let fitted = [found(1e-4, 1.0), found(1e-4, 2.0), found(0.0, 4.0)];
        assert_eq!(
            finest_step(&without_own, &fitted).map(Step::code),
            Some(0),
            "with no decoder fitted at its own step to compare with, saturating is enough"
        );
        let fitted = [found(1e-4, 3.0), found(0.0, 2.0), found(0.0, 4.0)];
        assert_eq!(
            finest_step(&without_own, &fitted).map(Step::code),
            Some(-10),
            "a finer step that did not saturate is compared with"
        );
    }
}
