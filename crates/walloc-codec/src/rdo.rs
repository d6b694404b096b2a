//! Rate–distortion-optimized quantization: instead of taking each latent
//! value's symbol from the encoder's rounding, the encoder chooses between
//! that symbol (the nearest, or the dead zone's with its isolated ±1s
//! zeroed: [`crate::bottleneck::Rounding`]) and the next one towards zero
//! by `distortion + λ·bits`. The bits are what the adaptive coder would
//! spend on that symbol at that point of its chunk (the decisions run in
//! coding order, so the contexts adapt exactly as the coder's will); the
//! distortion is the squared error of the
//! decoded value (the model's [`crate::dequantize::Dequantizer`]) weighted
//! by how much the linear decoder amplifies that channel. The files are
//! ordinary files of the adaptive coder: any decoder reads them. Images,
//! audio blocks and volume slabs alike ([`RdoAnalysis`]); a volume coded
//! slice by slice (2-D packets) is decided slice by slice, with the
//! contexts of each slice's start, while the coder carries them over.

use rayon::prelude::*;

use walloc_wavelet::Signal;

use crate::adaptive::{earlier_bands, Place};
use crate::codec::{EncodeOptions, Latent};
use crate::container::LatentCoder;
use crate::encoder::{LatentValues, LinearEncoder};
use crate::error::{CodecError, Result};
use crate::model::Model;
use crate::registry::Analysis;

/// The Lagrange multiplier in units of the squared quantization step:
/// `λ = LAMBDA · Δ²` per bit. Tuned on eight of the training photos
/// (0.03, 0.06, 0.12, 0.25 tried; BD-rate in PSNR against WebP best at
/// 0.06; docs/BENCHMARKS.md), half of the high-rate theory's
/// `2 ln 2 · Δ²/12 ≈ 0.116 Δ²`.
pub const LAMBDA: f32 = 0.06;

/// An encoder whose quantizer is rate–distortion-optimized: the model's
/// 1×1 projection at a step and with a rounding, then [`quantize`] for
/// chunks of a number of latent rows (all of them for audio blocks and
/// volume slabs, which are coded as one band each).
pub struct RdoAnalysis<'m> {
    model: &'m Model,
    encoder: LinearEncoder,
    rows_per_chunk: usize,
    /// The adaptive coder whose bits are weighed.
    coder: LatentCoder,
}

impl<'m> RdoAnalysis<'m> {
    /// The encoder of `model` at `options`' step, for chunks of
    /// `rows_per_chunk` latent rows. Refuses another coder than the
    /// adaptive ones (whose bits it weighs), models without a 1×1
    /// projection, and steps finer than the model's finest, by name.
    pub fn new(model: &'m Model, options: &EncodeOptions, rows_per_chunk: usize) -> Result<Self> {
        model.check_step(options.step)?;
        if !options.coder.is_adaptive() {
            return Err(CodecError::IncompatibleInput(format!(
                "rate–distortion-optimized quantization counts an adaptive coder's bits (contextual, predictive or adaptive), not the {} coder's",
                options.coder.name()
            )));
        }
        let encoder = model.encoder().ok_or_else(|| {
            CodecError::IncompatibleInput(format!(
                "model {} has a neural encoder; rate–distortion-optimized quantization needs a 1×1 projection",
                model.config().name
            ))
        })?;
        Ok(RdoAnalysis {
            model,
            encoder: encoder.at_step(options.step).with_rounding(options.rounding),
            rows_per_chunk: rows_per_chunk.max(1),
            coder: options.coder,
        })
    }
}

impl RdoAnalysis<'_> {
    /// The unquantized latent of `signal` at this encoder's step (for a
    /// caller that decides part of it: the stripe encoder, a stripe's core).
    pub fn values(&self, signal: Signal) -> Result<LatentValues> {
        self.encoder.latent_values(signal)
    }

    /// What the encoder's rounding gives `values` (made by
    /// [`RdoAnalysis::values`]): the symbols [`RdoAnalysis::decide`] starts
    /// from. Its second step reads the values around each one, so a caller
    /// that decides part of a latent rounds the whole of it first.
    pub fn round(&self, values: &LatentValues) -> Latent {
        self.encoder.round_values(values)
    }

    /// The symbols of `values`, decided in chunks of this encoder's rows
    /// as its coder will code them, starting from `rounded` (their
    /// [`RdoAnalysis::round`]).
    pub fn decide(&self, values: &LatentValues, rounded: &Latent) -> Result<Latent> {
        quantize(self.model, values, rounded, self.rows_per_chunk, LAMBDA, self.coder)
    }
}

impl Analysis for RdoAnalysis<'_> {
    fn analyze(&self, signal: Signal) -> Result<Latent> {
        let values = self.values(signal)?;
        self.decide(&values, &self.round(&values))
    }
}

/// Chooses the symbols of `values` (made by `model`'s encoder), each
/// either its symbol in `rounded` (the encoder's rounding of them) or the
/// next one towards zero, for chunks of `rows_per_chunk` latent rows coded
/// by the adaptive coder `coder` (adaptive, predictive or contextual), with the
/// multiplier `lambda` (in squared steps per bit; [`LAMBDA`] by default).
/// A predicted channel's symbols are weighed as the residuals they will be
/// coded as; whether a channel is predicted is the coder's own choice on
/// the rounded symbols, made before the channel is decided.
pub fn quantize(
    model: &Model,
    values: &LatentValues,
    rounded: &Latent,
    rows_per_chunk: usize,
    lambda: f32,
    coder: LatentCoder,
) -> Result<Latent> {
    let step = values.step;
    let bottleneck = model.bottleneck_at(step);
    let dequantizer = model.dequantizer(step);
    let coder = model.adaptive_coder(coder, step)?;
    let weights = &model.weights();
    let shape = values.shape;
    let k = shape.channels;
    // How much each channel's error weighs after the model's own linear
    // decoder, in units of the mean channel's squared step. Not the step
    // decoders': fitted on nearest rounding, they trade a latent's weight
    // against its neighbours' and against other channels', which a
    // per-value cost cannot follow (weighing by them loses up to 0.7 dB at
    // quality 15 with decoders that read neighbours; docs/DESIGN-NOTES.md).
    let d = model.config().coefficient_dim();
    let decoder = &weights.decoder_weight;
    let gain: Vec<f32> = if decoder.len() == d * k {
        (0..k)
            .map(|c| (0..d).map(|i| decoder[i * k + c].powi(2)).sum())
            .collect()
    } else {
        vec![1.0; k]
    };
    let mean_gain = gain.iter().sum::<f32>() / k.max(1) as f32;
    let unit = (1.0 / bottleneck.slope_at_zero()) as f32;
    let scale: Vec<f32> = gain
        .iter()
        .map(|g| g / (mean_gain * unit * unit).max(f32::MIN_POSITIVE))
        .collect();
    let zero = bottleneck.offset() as u8;
    let (plane, width) = (shape.height * shape.width, shape.width);
    let rows = rows_per_chunk.max(1);
    // Each chunk is decided on its own, as the coder codes it.
    let chunks: Vec<Vec<u8>> = (0..shape.height.div_ceil(rows))
        .into_par_iter()
        .map(|chunk| {
            let range = crate::codec::chunk_range(chunk, rows, shape.height, width);
            let mut costs = coder.chunk_costs();
            let mut decided = vec![0u8; k * range.len()];
            // The bands as coded (values, or residuals where predicted).
            let mut coded = vec![0u8; k * range.len()];
            for c in 0..k {
                let z = &values.values[c * plane + range.start..c * plane + range.end];
                let band = &mut decided[c * range.len()..(c + 1) * range.len()];
                let start = &rounded.symbols[c * plane + range.start..c * plane + range.end];
                let predicted = coder.predicts(start, width);
                let (before, rest) = coded.split_at_mut(c * range.len());
                let coded_band = &mut rest[..range.len()];
                let earlier = earlier_bands(c, |e| &before[e * range.len()..][..range.len()]);
                for i in 0..band.len() {
                    let column = i % width;
                    let as_coded = |symbol: u8| coder.as_coded(predicted, band, i, column, width, symbol);
                    // The contexts read only the values before `i`.
                    let place = Place {
                        band: coded_band,
                        earlier,
                        i,
                        column,
                        width,
                    };
                    let mut cost = |symbol: u8| {
                        let error = z[i] - dequantizer.value(c, symbol);
                        scale[c] * error * error + lambda * costs.bits(c, &place, as_coded(symbol))
                    };
                    let given = start[i];
                    let best = match given.cmp(&zero) {
                        std::cmp::Ordering::Equal => given,
                        order => {
                            let toward = if order.is_gt() { given - 1 } else { given + 1 };
                            if cost(toward) < cost(given) {
                                toward
                            } else {
                                given
                            }
                        }
                    };
                    let symbol = as_coded(best);
                    costs.commit(c, &place, symbol);
                    band[i] = best;
                    coded_band[i] = symbol;
                }
            }
            decided
        })
        .collect();
    // Reassemble the chunks' channel-major pieces into channel planes.
    let mut symbols = vec![0u8; k * plane];
    for (chunk, decided) in chunks.iter().enumerate() {
        let start = chunk * rows * width;
        let len = decided.len() / k.max(1);
        for c in 0..k {
            symbols[c * plane + start..c * plane + start + len].copy_from_slice(&decided[c * len..(c + 1) * len]);
        }
    }
    Ok(shape.latent(symbols, step))
}
