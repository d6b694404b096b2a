//! Context-adaptive binary coding of integer latents, the `adaptive` latent
//! coder: each latent value is binarized (zero?, sign, unary magnitude up
//! to [`UNARY`], then an Exp-Golomb escape) and each binary decision is
//! range-coded (`constriction`'s queue coder) with a probability that
//! adapts to what was coded before it in its context. Contexts condition
//! every value on values already decoded: its left and upper neighbours in
//! its channel, and the value at the same position in the channel before
//! it (channels are PCA-ordered, so an earlier channel's magnitude predicts
//! a later one's).
//!
//! Why adaptive: a file coded at another quantizer step ([`Step`]) than the
//! model's has other symbol statistics than the model's static tables,
//! and adaptive probabilities fit every step and every signal. They start
//! from the model's static tables, rescaled to the step with integer
//! arithmetic, so short chunks pay little to learn.
//!
//! The `predictive` coder is the same coder with one more choice per
//! channel and chunk, coded first as an even bit: whether the channel's
//! values are coded as they are or as their residuals from the LOCO-I
//! median predictor of their left, upper and upper-left neighbours
//! (wrapped into the symbols' range, so the decoder undoes it exactly).
//! The encoder predicts a channel when its residuals' entropy given the
//! spatial context is below its values'. Contexts then read the residuals already coded.
//! Smooth channels (the low-frequency ones at fine steps) gain; noise-like
//! ones keep their values.
//!
//! Everything is integer: probabilities are 16-bit counts updated by shifts,
//! so decoding is bit-exact on every machine.

use std::borrow::Borrow;
use std::num::NonZeroU16;

use constriction::stream::model::{DecoderModel, EncoderModel, EntropyModel};
use constriction::stream::queue::{DefaultRangeDecoder, DefaultRangeEncoder};
use constriction::stream::{Decode, Encode};

use crate::entropy::{activity_bucket, payload_of, words_of};
use crate::error::{CodecError, Result};
use crate::step::Step;

/// Precision of the binary models handed to the range coder.
const PRECISION: usize = 15;
/// Magnitudes coded in unary with their own contexts; larger ones escape.
pub const UNARY: usize = 14;
/// Spatial contexts: the static tables' buckets of `|left| + |up|`.
pub(crate) const SPATIAL: usize = crate::entropy::CONTEXTS;
/// Contexts of the same position's magnitude in the previous channel:
/// 0, 1, 2–3, 4 and more.
pub(crate) const INTER: usize = 4;
/// Adaptive contexts of the escape's Exp-Golomb prefix.
const ESCAPE: usize = 8;
/// Smallest probability of either bit, in `2^-16`.
const FLOOR: u32 = 64;

/// A binary model for the range coder: the probability of a one.
#[derive(Clone, Copy, Debug)]
struct Bit {
    /// Probability of `true`, in `2^-15`, within `1..2^15`.
    one: u16,
}

impl Bit {
    /// Equal odds: the escape's suffix bits.
    const EVEN: Bit = Bit { one: 1 << 14 };

    fn split(self) -> (NonZeroU16, NonZeroU16) {
        let zero = (1u16 << PRECISION) - self.one;
        // `one` is kept within 1..2^15 - 1, so neither side is zero.
        (
            NonZeroU16::new(zero).unwrap_or(NonZeroU16::MIN),
            NonZeroU16::new(self.one).unwrap_or(NonZeroU16::MIN),
        )
    }
}

impl EntropyModel<PRECISION> for Bit {
    type Symbol = bool;
    type Probability = u16;
}

impl EncoderModel<PRECISION> for Bit {
    fn left_cumulative_and_probability(&self, bit: impl Borrow<bool>) -> Option<(u16, NonZeroU16)> {
        let (zero, one) = self.split();
        Some(if *bit.borrow() { (zero.get(), one) } else { (0, zero) })
    }
}

impl DecoderModel<PRECISION> for Bit {
    fn quantile_function(&self, quantile: u16) -> (bool, u16, NonZeroU16) {
        let (zero, one) = self.split();
        if quantile < zero.get() {
            (false, 0, zero)
        } else {
            (true, zero.get(), one)
        }
    }
}

/// One adaptive binary context: two estimates of the probability of a one
/// (in `2^-16`), a fast one and a slow one, whose mean is coded with.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Context {
    fast: u16,
    slow: u16,
    /// Decisions seen, up to [`WARM`] (counted by [`ContextSet::Wide`] only).
    seen: u16,
}

/// Decisions after which a [`ContextSet::Wide`] context adapts at its
/// steady rates; before, it moves faster, as an average of what it saw.
const WARM: u16 = 25;

impl Context {
    fn new(one_q16: u32) -> Self {
        let p = one_q16.clamp(FLOOR, (1 << 16) - FLOOR) as u16;
        Context {
            fast: p,
            slow: p,
            seen: 0,
        }
    }

    #[inline]
    fn model(self) -> Bit {
        let mean = (u32::from(self.fast) + u32::from(self.slow)) >> 2;
        Bit {
            one: mean.clamp(FLOOR >> 1, (1 << PRECISION) - (FLOOR >> 1)) as u16,
        }
    }

    #[inline]
    fn update(&mut self, bit: bool, set: ContextSet) {
        let (fast, slow) = match set {
            ContextSet::Neighbours => (4, 7),
            ContextSet::Wide => {
                // Shifts 2, 3, 4 for the fast estimate and 2 up to 7 for
                // the slow one as decisions accumulate: a new context
                // moves about as an average of what it saw; without it
                // these contexts do not pay (docs/benchmarks/manual.md).
                let seen = self.seen;
                self.seen = (seen + 1).min(WARM);
                (2 + (seen >> 2).min(2), 2 + (seen / 5).min(5))
            }
        };
        if bit {
            self.fast += (u16::MAX - self.fast) >> fast;
            self.slow += (u16::MAX - self.slow) >> slow;
        } else {
            self.fast -= self.fast >> fast;
            self.slow -= self.slow >> slow;
        }
    }
}

/// Which neighbourhood a coder's contexts condition each value on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ContextSet {
    /// The `adaptive` and `predictive` coders': the left and upper
    /// neighbours, and the previous channel's value at the same position.
    Neighbours,
    /// The `contextual` coder's: the left, upper, upper-left and
    /// upper-right neighbours, the previous channel's value at the same
    /// position and the three previous channels' values there; its
    /// contexts adapt faster while they are new.
    Wide,
}

/// Spatial buckets of [`ContextSet::Wide`], of `2·(|left| + |up|) +
/// |upper left| + |upper right|`: 0, 1, 2–3, 4–5, 6–9, 10–15, 16+.
const WIDE_SPATIAL: usize = 7;
/// Buckets of the previous channel's value at the same position in
/// [`ContextSet::Wide`]: 0, 1, 2, 3+.
const WIDE_PREVIOUS: usize = 4;
/// Buckets of the three previous channels' `Σ |value|` at the same
/// position in [`ContextSet::Wide`]: 0, 1, 2–3, 4–7, 8+.
const WIDE_EARLIER: usize = 5;
/// Buckets of the previous channel's value that the magnitude contexts of
/// [`ContextSet::Wide`] read: 0, 1–2, 3+.
const WIDE_PREVIOUS_COARSE: usize = 3;
/// Zero-or-not contexts of a channel, the most of either set.
const NONZERO: usize = WIDE_SPATIAL * WIDE_PREVIOUS * WIDE_EARLIER;
/// Magnitude contexts of a channel, the most of either set.
const MAGNITUDE: usize = WIDE_SPATIAL * WIDE_PREVIOUS_COARSE;

/// Earlier channels whose coded values condition a value.
pub const EARLIER: usize = 3;

/// The coded bands of the channels before one, nearest first, at the same
/// positions (`None` before the first channel).
pub type Earlier<'b> = [Option<&'b [u8]>; EARLIER];

/// The [`Earlier`] bands of channel `channel`, `band(e)` being channel
/// `e`'s band as coded.
#[inline]
pub fn earlier_bands<'b>(channel: usize, band: impl Fn(usize) -> &'b [u8]) -> Earlier<'b> {
    std::array::from_fn(|j| channel.checked_sub(j + 1).map(&band))
}

/// [`WIDE_SPATIAL`]'s bucket of each activity up to 16 (and more).
const WIDE_SPATIAL_BUCKET: [u8; 17] = [0, 1, 2, 2, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 5, 5, 6];
/// [`WIDE_EARLIER`]'s bucket of each sum up to 8 (and more).
const WIDE_EARLIER_BUCKET: [u8; 9] = [0, 1, 2, 2, 3, 3, 3, 3, 4];

impl ContextSet {
    /// The zero-or-not context and the magnitude context of `place`'s
    /// value in a band whose value 0 is the symbol `zero`.
    #[inline]
    fn contexts(self, place: &Place, zero: u8) -> (usize, usize) {
        let Place {
            band,
            earlier,
            i,
            column,
            width,
        } = *place;
        match self {
            ContextSet::Neighbours => {
                let (spatial, inter) = neighbourhood(band, earlier[0], i, column, width, zero);
                (spatial * INTER + inter, spatial)
            }
            ContextSet::Wide => {
                let magnitude = |s: u8| u32::from(s.abs_diff(zero));
                let (left, right) = (column > 0, column + 1 < width);
                let at = |j: usize| magnitude(band[j]);
                let mut activity2 = if left { 2 * at(i - 1) } else { 0 };
                if i >= width {
                    activity2 += 2 * at(i - width);
                    if left {
                        activity2 += at(i - width - 1);
                    }
                    if right {
                        activity2 += at(i - width + 1);
                    }
                }
                let spatial = usize::from(WIDE_SPATIAL_BUCKET[activity2.min(16) as usize]);
                let (previous, sum) = match earlier[0] {
                    None => (0, 0),
                    Some(p) => {
                        let sum: u32 = earlier.iter().flatten().map(|b| magnitude(b[i])).sum();
                        (
                            magnitude(p[i]).min(WIDE_PREVIOUS as u32 - 1) as usize,
                            usize::from(WIDE_EARLIER_BUCKET[sum.min(8) as usize]),
                        )
                    }
                };
                wide_contexts(spatial, previous, sum)
            }
        }
    }

    /// [`ContextSet::contexts`] of every value of `band` (`width` columns)
    /// as the encoder codes it: it has the whole band, and the wide set's
    /// contexts come from whole-row passes rather than one place at a time
    /// (the decoder, which has only what it decoded, asks place by place).
    fn band_contexts(self, band: &[u8], earlier: Earlier, width: usize, zero: u8) -> Vec<(u8, u8)> {
        if self == ContextSet::Neighbours || width < 2 {
            return (0..band.len())
                .map(|i| {
                    let place = Place {
                        band,
                        earlier,
                        i,
                        column: i % width.max(1),
                        width,
                    };
                    let (nonzero, magnitude) = self.contexts(&place, zero);
                    (nonzero as u8, magnitude as u8)
                })
                .collect();
        }
        let magnitude: Vec<u8> = band.iter().map(|&s| s.abs_diff(zero)).collect();
        // The earlier channels' part: the previous channel's |value|
        // (clamped) and the bucket of the three's sum, at each position.
        let mut previous = vec![0u8; band.len()];
        let mut sums = vec![0u8; band.len()];
        if let Some(first) = earlier[0] {
            for (p, &s) in previous.iter_mut().zip(first) {
                *p = s.abs_diff(zero).min(WIDE_PREVIOUS as u8 - 1);
            }
            for channel in earlier.iter().flatten() {
                for (sum, &s) in sums.iter_mut().zip(*channel) {
                    *sum = sum.saturating_add(s.abs_diff(zero));
                }
            }
            for sum in &mut sums {
                *sum = WIDE_EARLIER_BUCKET[usize::from((*sum).min(8))];
            }
        }
        let mut activity = vec![0u16; width];
        let mut contexts = Vec::with_capacity(band.len());
        for (row, start) in (0..band.len()).step_by(width).enumerate() {
            let here = &magnitude[start..start + width];
            let m = |v: u8| u16::from(v);
            if row == 0 {
                activity[0] = 0;
                for (a, &left) in activity[1..].iter_mut().zip(here) {
                    *a = 2 * m(left);
                }
            } else {
                let up = &magnitude[start - width..start];
                activity[0] = 2 * m(up[0]) + m(up[1]);
                for (x, a) in activity.iter_mut().enumerate().skip(1).take(width - 2) {
                    *a = 2 * (m(here[x - 1]) + m(up[x])) + m(up[x - 1]) + m(up[x + 1]);
                }
                activity[width - 1] = 2 * (m(here[width - 2]) + m(up[width - 1])) + m(up[width - 2]);
            }
            for (x, &a) in activity.iter().enumerate() {
                let spatial = usize::from(WIDE_SPATIAL_BUCKET[usize::from(a.min(16))]);
                let (nonzero, magnitude) =
                    wide_contexts(spatial, usize::from(previous[start + x]), usize::from(sums[start + x]));
                contexts.push((nonzero as u8, magnitude as u8));
            }
        }
        contexts
    }
}

/// [`ContextSet::Wide`]'s zero-or-not and magnitude contexts of a value
/// of spatial bucket `spatial`, the previous channel's bucket `previous`
/// and the earlier channels' sum bucket `sum`.
#[inline]
fn wide_contexts(spatial: usize, previous: usize, sum: usize) -> (usize, usize) {
    (
        (spatial * WIDE_PREVIOUS + previous) * WIDE_EARLIER + sum,
        spatial * WIDE_PREVIOUS_COARSE + previous.div_ceil(2).min(WIDE_PREVIOUS_COARSE - 1),
    )
}

/// The contexts of one latent channel.
#[derive(Clone, Debug, PartialEq, Eq)]
struct ChannelContexts {
    /// `value != 0`, by zero-or-not context ([`ContextSet::contexts`]).
    nonzero: [Context; NONZERO],
    /// `value < 0`, by the sign of the left neighbour (none, +, −).
    negative: [Context; 9],
    /// `|value| > m` given `|value| >= m`, for `m` in `1..=UNARY`, by
    /// magnitude context.
    greater: [[Context; UNARY]; MAGNITUDE],
    /// The escape's prefix bits.
    escape: [Context; ESCAPE],
}

/// The spatial and inter-channel contexts of position `i`, in column
/// `column`, of a band (`width` columns) whose value 0 is the symbol
/// `zero`, with `previous` the previous channel's band, if any: the static
/// tables' bucket of `|left| + |up|` (as [`crate::entropy::context`],
/// without a division), and the bucket of the previous channel's value.
#[inline]
pub(crate) fn neighbourhood(
    band: &[u8],
    previous: Option<&[u8]>,
    i: usize,
    column: usize,
    width: usize,
    zero: u8,
) -> (usize, usize) {
    let magnitude = |s: u8| u32::from(s.abs_diff(zero));
    let left = if column > 0 { magnitude(band[i - 1]) } else { 0 };
    let up = if i >= width { magnitude(band[i - width]) } else { 0 };
    let spatial = activity_bucket(left + up);
    let inter = previous.map_or(0, |p| match p[i].abs_diff(zero) {
        0 => 0,
        1 => 1,
        2 | 3 => 2,
        _ => 3,
    });
    (spatial, inter)
}

/// A position in a channel's band: the band (values before `i` already
/// decided), the earlier channels' bands, the index, its column and the
/// band's width.
#[derive(Clone, Copy)]
pub struct Place<'b> {
    /// The channel's band within its chunk.
    pub band: &'b [u8],
    /// The earlier channels' bands at the same positions, as coded.
    pub earlier: Earlier<'b>,
    /// Index in the band.
    pub i: usize,
    /// Column of `i` (`i % width`).
    pub column: usize,
    /// Columns of the band.
    pub width: usize,
}

/// What coding each value would cost, in bits, as the adaptive coder
/// codes a chunk: for a rate–distortion-optimized quantizer that decides
/// the chunk's values in coding order (channel by channel, row by row).
pub struct ChunkCosts<'c> {
    coder: &'c AdaptiveCoder,
    contexts: Vec<ChannelContexts>,
    bits: &'static BitCosts,
}

/// `−log2 p` of a binary model's probabilities, by the top
/// [`COST_INDEX_BITS`] bits of `p`: costing reads a table instead of
/// calling libm's `log2` for every decision (a sixth of the
/// rate–distortion-optimized quantizer's time). The error is under
/// 0.02 bits for any `p` above 1 % and under 0.002 above 10 %.
struct BitCosts([f32; 1 << COST_INDEX_BITS]);

/// Bits of a probability that index [`BitCosts`].
const COST_INDEX_BITS: usize = 12;

impl BitCosts {
    fn table() -> &'static BitCosts {
        static TABLE: std::sync::OnceLock<BitCosts> = std::sync::OnceLock::new();
        TABLE.get_or_init(|| {
            let shift = PRECISION - COST_INDEX_BITS;
            let mut table = [0.0f32; 1 << COST_INDEX_BITS];
            for (index, bits) in table.iter_mut().enumerate() {
                // The middle of the probabilities that share this index.
                let p = ((index << shift) as f64 + f64::from(1u32 << shift) / 2.0) / f64::from(1u32 << PRECISION);
                *bits = -p.log2() as f32;
            }
            BitCosts(table)
        })
    }

    /// `−log2` of the probability `model` gives `bit`.
    #[inline]
    fn of(&self, bit: bool, model: Bit) -> f32 {
        let p = if bit {
            model.one
        } else {
            (1u16 << PRECISION) - model.one
        };
        self.0[usize::from(p >> (PRECISION - COST_INDEX_BITS))]
    }
}

impl ChunkCosts<'_> {
    /// The bits coding `symbol` at `place` of channel `channel` costs now.
    pub fn bits(&mut self, channel: usize, place: &Place, symbol: u8) -> f32 {
        let mut total = 0.0f32;
        let mut tally = |bit: bool, context: Option<&mut Context>| {
            total += context.map_or(1.0, |c| self.bits.of(bit, c.model()));
            Ok(())
        };
        // Costing only reads the contexts: it cannot fail.
        let contexts = self.coder.set.contexts(place, self.coder.zero);
        let _ = self
            .coder
            .binarize(&mut self.contexts[channel], contexts, place, symbol, &mut tally);
        total
    }

    /// Codes `symbol` at `place` of channel `channel`: the contexts adapt
    /// as the coder's will.
    pub fn commit(&mut self, channel: usize, place: &Place, symbol: u8) {
        let set = self.coder.set;
        let mut adapt = |bit: bool, context: Option<&mut Context>| {
            if let Some(context) = context {
                context.update(bit, set);
            }
            Ok(())
        };
        let contexts = self.coder.set.contexts(place, self.coder.zero);
        let _ = self
            .coder
            .binarize(&mut self.contexts[channel], contexts, place, symbol, &mut adapt);
    }
}

/// The initial contexts of every channel of a model at one step; each
/// chunk is coded from a copy of them.
#[derive(Clone, Debug)]
pub struct AdaptiveCoder {
    channels: Vec<ChannelContexts>,
    /// The stored symbol of value 0, `2^(bits−1)`.
    zero: u8,
    /// `2^bits`.
    symbols: usize,
    /// Whether each channel may be coded as prediction residuals (the
    /// `predictive` and `contextual` coders).
    predictive: bool,
    /// What each value's contexts condition it on.
    set: ContextSet,
}

/// The LOCO-I median predictor of position `i` (column `column`) of a band
/// of `width` columns from its left, upper and upper-left values (values,
/// not symbols); outside the band, the neighbour along the edge, or 0.
#[inline]
fn median_prediction(values: &[u8], i: usize, column: usize, width: usize, zero: u8) -> i32 {
    let value = |j: usize| i32::from(values[j]) - i32::from(zero);
    match (i >= width, column > 0) {
        (false, false) => 0,
        (false, true) => value(i - 1),
        (true, false) => value(i - width),
        (true, true) => {
            let (left, up, corner) = (value(i - 1), value(i - width), value(i - width - 1));
            if corner >= left.max(up) {
                left.min(up)
            } else if corner <= left.min(up) {
                left.max(up)
            } else {
                left + up - corner
            }
        }
    }
}

/// `value` wrapped into the symbols' range (`symbols` of them, a power of
/// two, value 0 at symbol `zero`), as a symbol: a mask, which is the
/// remainder modulo `symbols` in two's complement (and no division).
#[inline]
fn wrapped(value: i32, symbols: usize, zero: u8) -> u8 {
    debug_assert!(symbols.is_power_of_two());
    ((value + i32::from(zero)) & (symbols as i32 - 1)) as u8
}

/// The symbol coding `symbol` as its residual from `prediction` (a value),
/// wrapped into the symbols' range.
#[inline]
fn residual_symbol(symbol: u8, prediction: i32, symbols: usize, zero: u8) -> u8 {
    wrapped(i32::from(symbol) - i32::from(zero) - prediction, symbols, zero)
}

/// The symbols of a band (`width` columns, value 0 at `zero`, `symbols`
/// of them) and their residuals under the median predictor, with what
/// each would cost under its own histograms, one per spatial context (the
/// bucket of `|left| + |up|`, as the coder's): their empirical entropy
/// given the context, times their count. One pass; the encoder's cheap
/// estimate for choosing between values and residuals.
fn residuals_and_costs(band: &[u8], width: usize, symbols: usize, zero: u8) -> (Vec<u8>, f64, f64) {
    let mut residual = vec![zero; band.len()];
    let mut value_counts = vec![0u32; SPATIAL * 256];
    let mut residual_counts = vec![0u32; SPATIAL * 256];
    let value = |s: u8| i32::from(s) - i32::from(zero);
    let magnitude = |s: u8| u32::from(s.abs_diff(zero));
    // Row by row, so that the edges are handled once a row and the inner
    // loop has no branches but the predictor's.
    let mut count = |i: usize, prediction: i32, value_activity: u32, residual_activity: u32, residual: &mut [u8]| {
        let s = band[i];
        let r = residual_symbol(s, prediction, symbols, zero);
        residual[i] = r;
        value_counts[activity_bucket(value_activity) * 256 + usize::from(s)] += 1;
        residual_counts[activity_bucket(residual_activity) * 256 + usize::from(r)] += 1;
    };
    for start in (0..band.len()).step_by(width.max(1)) {
        let end = (start + width).min(band.len());
        if start == 0 {
            count(0, 0, 0, 0, &mut residual);
            for i in 1..end {
                let (left, left_r) = (band[i - 1], residual[i - 1]);
                count(i, value(left), magnitude(left), magnitude(left_r), &mut residual);
            }
            continue;
        }
        let (up, up_r) = (band[start - width], residual[start - width]);
        count(start, value(up), magnitude(up), magnitude(up_r), &mut residual);
        for i in start + 1..end {
            let (left, up, corner) = (band[i - 1], band[i - width], band[i - width - 1]);
            let (a, b, c) = (value(left), value(up), value(corner));
            // The median of left, up and left + up − corner: LOCO-I's predictor.
            let prediction = a.min(b).max(a.max(b).min(a + b - c));
            let activity = magnitude(left) + magnitude(up);
            let residual_activity = magnitude(residual[i - 1]) + magnitude(residual[i - width]);
            count(i, prediction, activity, residual_activity, &mut residual);
        }
    }
    (
        residual,
        histogram_bits(&residual_counts),
        histogram_bits(&value_counts),
    )
}

/// `Σ −c·log2(c / n)` over each row of 256 counts (`n` the row's sum).
fn histogram_bits(counts: &[u32]) -> f64 {
    counts
        .chunks_exact(256)
        .map(|row| {
            let n: f64 = row.iter().map(|&c| f64::from(c)).sum();
            let sum: f64 = row
                .iter()
                .filter(|&&c| c > 0)
                .map(|&c| f64::from(c) * f64::from(c).log2())
                .sum();
            n * n.max(1.0).log2() - sum
        })
        .sum()
}

/// Tail counts `G(n) = Σ_{|v| ≥ n} h(v)` of one table row, `n` in
/// `0..=half+1`.
fn tails(row: &[u32], half: usize) -> Vec<u64> {
    let mut g = vec![0u64; half + 2];
    for (symbol, &count) in row.iter().enumerate() {
        let magnitude = symbol.abs_diff(half);
        g[magnitude] += u64::from(count);
    }
    for n in (0..=half).rev() {
        g[n] += g[n + 1];
    }
    g
}

/// `G` at the fractional point `t` (in `2^-16`), linearly interpolated.
fn tail_at(g: &[u64], t_q16: u64) -> u64 {
    let n = (t_q16 >> 16) as usize;
    if n + 1 >= g.len() {
        return 0;
    }
    let fraction = t_q16 & 0xFFFF;
    g[n] - (((g[n] - g[n + 1]) * fraction) >> 16)
}

/// `numerator / denominator` in `2^-16`, or even odds with no data.
fn ratio_q16(numerator: u64, denominator: u64) -> u32 {
    if denominator == 0 {
        return 1 << 15;
    }
    ((numerator << 16) / denominator) as u32
}

impl AdaptiveCoder {
    /// The initial contexts for a model's static tables (`probabilities`,
    /// rows of `2^bits` per channel and context, `contexts` rows a
    /// channel) at `step`. A value `v` at step `Δ` covers about the values
    /// `Δ·v` of the tables' step, so the tables' tails at `Δ·(m − ½) + ½`
    /// give the probability that a magnitude reaches `m`. Contexts of
    /// [`ContextSet::Wide`] start from the table row of the activity their
    /// spatial bucket stands for, whatever their channel buckets.
    pub fn new(probabilities: &[u32], contexts: usize, bits: u8, step: Step, set: ContextSet) -> Self {
        let symbols = 1usize << bits;
        let half = symbols / 2;
        let contexts = contexts.max(1);
        let factor = step.factor_q16();
        let threshold = |m: u64| ((factor * (2 * m - 1)) >> 1) + (1 << 15);
        let channels = probabilities
            .chunks_exact(symbols * contexts)
            .map(|rows| {
                // The table row of an activity `|left| + |up|` of
                // `thirds / 3` latent values, seen at the tables' step.
                let row_of = |thirds: u64| {
                    let scaled = ((thirds * factor / 3) >> 16).min(8) as u32;
                    let bucket = activity_bucket(scaled).min(contexts - 1);
                    &rows[bucket * symbols..(bucket + 1) * symbols]
                };
                let mut channel = ChannelContexts {
                    nonzero: [Context::new(1 << 15); NONZERO],
                    negative: [Context::new(1 << 15); 9],
                    greater: [[Context::new(1 << 15); UNARY]; MAGNITUDE],
                    escape: [Context::new(1 << 15); ESCAPE],
                };
                // The activity (in thirds) each spatial bucket stands for,
                // and how many zero-or-not and magnitude contexts share it.
                let (activities, nonzero_each, magnitude_each): (&[u64], usize, usize) = match set {
                    ContextSet::Neighbours => (&[0, 3, 6, 12, 24], INTER, 1),
                    // `2·(|left| + |up|) + |upper left| + |upper right|` is
                    // about three times `|left| + |up|`: each bucket starts
                    // from about its own activity (on the held-out photos'
                    // latents, 0.1–0.5 % fewer bits than its lower edge or
                    // 1.3 times it).
                    ContextSet::Wide => (
                        &[0, 2, 4, 7, 12, 19, 30],
                        WIDE_PREVIOUS * WIDE_EARLIER,
                        WIDE_PREVIOUS_COARSE,
                    ),
                };
                for (spatial, &thirds) in activities.iter().enumerate() {
                    let g = tails(row_of(thirds), half);
                    let nonzero = Context::new(ratio_q16(tail_at(&g, threshold(1)), g[0]));
                    channel.nonzero[spatial * nonzero_each..(spatial + 1) * nonzero_each].fill(nonzero);
                    for m in 1..=UNARY as u64 {
                        let reach = tail_at(&g, threshold(m));
                        let greater = Context::new(ratio_q16(tail_at(&g, threshold(m + 1)), reach));
                        for contexts in &mut channel.greater[spatial * magnitude_each..(spatial + 1) * magnitude_each] {
                            contexts[m as usize - 1] = greater;
                        }
                    }
                }
                let row = row_of(0);
                let negative: u64 = row[..half].iter().map(|&c| u64::from(c)).sum();
                let positive: u64 = row[half + 1..].iter().map(|&c| u64::from(c)).sum();
                channel.negative = [Context::new(ratio_q16(negative, negative + positive)); 9];
                channel
            })
            .collect();
        AdaptiveCoder {
            channels,
            zero: half as u8,
            symbols,
            predictive: false,
            set,
        }
    }

    /// This coder with prediction allowed per channel (the `predictive`
    /// coder).
    pub fn predictive(mut self) -> Self {
        self.predictive = true;
        self
    }

    /// Whether this coder codes a channel's band (`width` columns) as
    /// prediction residuals.
    pub fn predicts(&self, band: &[u8], width: usize) -> bool {
        self.residuals_if_smaller(band, width).is_some()
    }

    /// The band's residuals (`width` columns) when this coder predicts and
    /// they would cost fewer bits than the values under their own
    /// histograms; `None` when the values are coded as they are.
    fn residuals_if_smaller(&self, band: &[u8], width: usize) -> Option<Vec<u8>> {
        if !self.predictive {
            return None;
        }
        let (residual, residual_bits, value_bits) = residuals_and_costs(band, width, self.symbols, self.zero);
        (residual_bits < value_bits).then_some(residual)
    }

    /// The symbol coded for `symbol` at position `i` (column `column`) of a
    /// band whose values before `i` are decided: its residual from their
    /// median prediction when `predicted`, else itself.
    #[inline]
    pub fn as_coded(&self, predicted: bool, band: &[u8], i: usize, column: usize, width: usize, symbol: u8) -> u8 {
        if !predicted {
            return symbol;
        }
        let prediction = median_prediction(band, i, column, width, self.zero);
        residual_symbol(symbol, prediction, self.symbols, self.zero)
    }

    /// Encodes `symbols[k * plane + range]` for every channel `k` (rows of
    /// `width` symbols, `range` a whole number of rows), channel by channel,
    /// into little-endian 32-bit words.
    pub fn encode(&self, symbols: &[u8], plane: usize, range: std::ops::Range<usize>, width: usize) -> Result<Vec<u8>> {
        let mut coder = DefaultRangeEncoder::new();
        let mut contexts = self.channels.clone();
        let set = self.set;
        let mut decide = |bit: bool, context: Option<&mut Context>| {
            let model = match context {
                Some(context) => {
                    let model = context.model();
                    context.update(bit, set);
                    model
                }
                None => Bit::EVEN,
            };
            coder
                .encode_symbol(bit, model)
                .map_err(|e| CodecError::EntropyCoding(format!("{e:?}")))
        };
        // The band each channel was coded as: its values, or residuals.
        let mut coded_bands: Vec<std::borrow::Cow<[u8]>> = Vec::with_capacity(contexts.len());
        for (k, state) in contexts.iter_mut().enumerate() {
            let values = &symbols[k * plane + range.start..k * plane + range.end];
            if let Some(&s) = values.iter().find(|&&s| usize::from(s) >= self.symbols) {
                return Err(CodecError::EntropyCoding(format!("symbol {s} of channel {k}")));
            }
            let band = match self.residuals_if_smaller(values, width) {
                Some(residual) => std::borrow::Cow::Owned(residual),
                None => std::borrow::Cow::Borrowed(values),
            };
            if self.predictive {
                // The choice is an even bit, not adapted.
                decide(matches!(band, std::borrow::Cow::Owned(_)), None)?;
            }
            let earlier = earlier_bands(coded_bands.len(), |e| coded_bands[e].as_ref());
            let contexts = self.set.band_contexts(&band, earlier, width, self.zero);
            let mut x = 0;
            for (i, (&s, &(nonzero, magnitude))) in band.iter().zip(&contexts).enumerate() {
                let column = x;
                x = if x + 1 == width { 0 } else { x + 1 };
                let place = Place {
                    band: &band,
                    earlier,
                    i,
                    column,
                    width,
                };
                let contexts = (usize::from(nonzero), usize::from(magnitude));
                self.binarize(state, contexts, &place, s, &mut decide)?;
            }
            coded_bands.push(band);
        }
        let words = coder
            .into_compressed()
            .map_err(|e| CodecError::EntropyCoding(format!("{e:?}")))?;
        Ok(payload_of(&words))
    }

    /// Gives each binary decision of `symbol` at `place` to `decide` with
    /// its adaptive context in `state` (`None` for the escape's
    /// equiprobable suffix bits): zero or not, the sign, the magnitude in
    /// unary up to [`UNARY`], then an Exp-Golomb escape.
    #[inline]
    fn binarize(
        &self,
        state: &mut ChannelContexts,
        (nonzero, magnitude_context): (usize, usize),
        place: &Place,
        symbol: u8,
        decide: &mut impl FnMut(bool, Option<&mut Context>) -> Result<()>,
    ) -> Result<()> {
        let value = i32::from(symbol) - i32::from(self.zero);
        decide(value != 0, Some(&mut state.nonzero[nonzero]))?;
        if value == 0 {
            return Ok(());
        }
        let sign = self.sign_context(place);
        decide(value < 0, Some(&mut state.negative[sign]))?;
        let magnitude = value.unsigned_abs() as usize;
        for m in 1..=UNARY {
            let more = magnitude > m;
            decide(more, Some(&mut state.greater[magnitude_context][m - 1]))?;
            if !more {
                break;
            }
        }
        if magnitude > UNARY {
            // Exp-Golomb of `magnitude − UNARY − 1 + 1`: `n` ones, a zero,
            // then the `n` low bits.
            let rest = (magnitude - UNARY) as u32;
            let n = 31 - rest.leading_zeros() as usize;
            for j in 0..=n {
                decide(j < n, Some(&mut state.escape[j.min(ESCAPE - 1)]))?;
            }
            for j in (0..n).rev() {
                decide((rest >> j) & 1 == 1, None)?;
            }
        }
        Ok(())
    }

    /// The coder's state at the start of a chunk, for choosing values by
    /// what they cost ([`ChunkCosts`]).
    pub fn chunk_costs(&self) -> ChunkCosts<'_> {
        ChunkCosts {
            coder: self,
            contexts: self.channels.clone(),
            bits: BitCosts::table(),
        }
    }

    /// Decodes a payload made by [`AdaptiveCoder::encode`] into the same
    /// positions of `symbols`. Fails on a payload that decodes to values
    /// outside the latent's range or does not end where the symbols do.
    pub fn decode(
        &self,
        payload: &[u8],
        symbols: &mut [u8],
        plane: usize,
        range: std::ops::Range<usize>,
        width: usize,
    ) -> Result<()> {
        let mut coder = DefaultRangeDecoder::from_compressed(words_of(payload)?)
            .map_err(|_| CodecError::EntropyCoding("unreadable range-coder stream".into()))?;
        let corrupt = |what: &str| CodecError::EntropyCoding(what.to_string());
        fn read(coder: &mut DefaultRangeDecoder, model: Bit) -> Result<bool> {
            coder
                .decode_symbol(model)
                .map_err(|e| CodecError::EntropyCoding(format!("{e:?}")))
        }
        let set = self.set;
        let bit = |coder: &mut DefaultRangeDecoder, ctx: &mut Context| -> Result<bool> {
            let b = read(coder, ctx.model())?;
            ctx.update(b, set);
            Ok(b)
        };
        let mut contexts = self.channels.clone();
        let max_positive = self.symbols - 1 - usize::from(self.zero);
        let max_negative = usize::from(self.zero);
        // Each earlier channel's residuals, where it was predicted.
        let mut residuals: Vec<Option<Vec<u8>>> = Vec::with_capacity(contexts.len());
        for (k, state) in contexts.iter_mut().enumerate() {
            let predicted = self.predictive && read(&mut coder, Bit::EVEN)?;
            let (before, rest) = symbols.split_at_mut(k * plane);
            // The earlier channels' bands as coded: residuals or values.
            let earlier = earlier_bands(k, |e| match &residuals[e] {
                Some(band) => band.as_slice(),
                None => &before[e * plane + range.start..e * plane + range.end],
            });
            let values = &mut rest[range.clone()];
            let mut residual_band = if predicted {
                vec![self.zero; values.len()]
            } else {
                Vec::new()
            };
            // Symbols decode into the band they were coded as.
            let band: &mut [u8] = if predicted { &mut residual_band } else { values };
            let mut x = 0;
            for i in 0..band.len() {
                let column = x;
                x = if x + 1 == width { 0 } else { x + 1 };
                let place = Place {
                    band,
                    earlier,
                    i,
                    column,
                    width,
                };
                let (nonzero, magnitude_context) = set.contexts(&place, self.zero);
                if !bit(&mut coder, &mut state.nonzero[nonzero])? {
                    band[i] = self.zero;
                    continue;
                }
                let negative = bit(&mut coder, &mut state.negative[self.sign_context(&place)])?;
                let mut magnitude = 1usize;
                while magnitude <= UNARY && bit(&mut coder, &mut state.greater[magnitude_context][magnitude - 1])? {
                    magnitude += 1;
                }
                if magnitude > UNARY {
                    let mut n = 0usize;
                    while bit(&mut coder, &mut state.escape[n.min(ESCAPE - 1)])? {
                        n += 1;
                        if n > 16 {
                            return Err(corrupt("escape prefix too long"));
                        }
                    }
                    let mut rest = 1usize;
                    for _ in 0..n {
                        rest = rest << 1 | usize::from(read(&mut coder, Bit::EVEN)?);
                    }
                    magnitude = UNARY + rest;
                }
                if magnitude > if negative { max_negative } else { max_positive } {
                    return Err(corrupt("a value outside the latent's range"));
                }
                band[i] = if negative {
                    self.zero - magnitude as u8
                } else {
                    self.zero + magnitude as u8
                };
            }
            if predicted {
                let values = &mut rest[range.clone()];
                let mut column = 0;
                for (i, &r) in residual_band.iter().enumerate() {
                    let prediction = median_prediction(values, i, column, width, self.zero);
                    column = if column + 1 == width { 0 } else { column + 1 };
                    values[i] = wrapped(
                        i32::from(r) - i32::from(self.zero) + prediction,
                        self.symbols,
                        self.zero,
                    );
                }
                residuals.push(Some(residual_band));
            } else {
                residuals.push(None);
            }
        }
        if !coder.maybe_exhausted() {
            return Err(corrupt("payload has data left after the last symbol"));
        }
        Ok(())
    }

    /// The sign context of `place` (needed only for nonzero values): its
    /// left neighbour's sign ([`Self::sign_of`], 0 with none), and for
    /// [`ContextSet::Wide`] below the first row its upper neighbour's too.
    #[inline]
    fn sign_context(&self, place: &Place) -> usize {
        let Place {
            band, i, column, width, ..
        } = *place;
        let left = if column > 0 { self.sign_of(band[i - 1]) } else { 0 };
        match self.set {
            ContextSet::Wide if i >= width => 3 * left + self.sign_of(band[i - width]),
            ContextSet::Neighbours | ContextSet::Wide => left,
        }
    }

    /// 0 for a zero, 1 for a positive value, 2 for a negative one.
    #[inline]
    fn sign_of(&self, symbol: u8) -> usize {
        match symbol.cmp(&self.zero) {
            std::cmp::Ordering::Equal => 0,
            std::cmp::Ordering::Greater => 1,
            std::cmp::Ordering::Less => 2,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::entropy::{probabilities_from_counts, EntropyTables};

    #[test]
    fn a_band_s_contexts_at_once_are_those_place_by_place() {
        let zero = 128u8;
        // Mostly small values about zero, some large, as latents are.
        let value = |seed: usize| -> u8 {
            let r = (seed.wrapping_mul(2_654_435_761) >> 7) % 64;
            (i32::from(zero) + [0, 0, 0, 0, 1, -1, 2, -2, 3, -4, 9, -17][r % 12] * if r > 60 { 5 } else { 1 }) as u8
        };
        for width in [1usize, 2, 3, 7, 16] {
            let len = width * 5;
            let bands: Vec<Vec<u8>> = (0..4)
                .map(|c| (0..len).map(|i| value(i * 7 + c * 1_001)).collect())
                .collect();
            for set in [ContextSet::Neighbours, ContextSet::Wide] {
                for channel in 0..4 {
                    let earlier = earlier_bands(channel, |e| bands[e].as_slice());
                    let band = &bands[channel];
                    let at_once = set.band_contexts(band, earlier, width, zero);
                    for (i, &(nonzero, magnitude)) in at_once.iter().enumerate() {
                        let place = Place {
                            band,
                            earlier,
                            i,
                            column: i % width,
                            width,
                        };
                        assert_eq!(
                            (usize::from(nonzero), usize::from(magnitude)),
                            set.contexts(&place, zero),
                            "{set:?}, width {width}, channel {channel}, position {i}"
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn bit_costs_are_within_their_bound_of_log2() {
        let table = BitCosts::table();
        for one in 1..(1u16 << PRECISION) {
            let model = Bit { one };
            for bit in [false, true] {
                let p = f64::from(if bit { one } else { (1 << PRECISION) - one }) / f64::from(1u32 << PRECISION);
                let error = (f64::from(table.of(bit, model)) + p.log2()).abs();
                let bound = if p > 0.1 {
                    0.002
                } else if p > 0.01 {
                    0.02
                } else {
                    3.0
                };
                assert!(error < bound, "p {p}: error {error} bits");
            }
        }
    }

    /// A Laplacian-ish latent of `k` channels whose later channels are
    /// smaller, with runs of zeros; deterministic.
    fn latent(k: usize, plane: usize, spread: f64) -> Vec<u8> {
        let mut state = 0x2545_f491_4f6c_dd1du64;
        let mut next = || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state >> 11) as f64 / (1u64 << 53) as f64
        };
        (0..k * plane)
            .map(|i| {
                let scale = spread / (1.0 + (i / plane) as f64);
                let u = next() - 0.5;
                let v = -scale * u.signum() * (1.0 - 2.0 * u.abs()).max(1e-12).ln();
                (v.round().clamp(-128.0, 127.0) as i32 + 128) as u8
            })
            .collect()
    }

    fn tables_of(symbols: &[u8], k: usize, plane: usize, width: usize) -> Vec<u32> {
        let mut counts = vec![0u64; k * SPATIAL * 256];
        for (c, band) in symbols.chunks_exact(plane).enumerate() {
            crate::entropy::count_band(
                band,
                width,
                256,
                &mut counts[c * SPATIAL * 256..(c + 1) * SPATIAL * 256],
            );
        }
        probabilities_from_counts(&counts, 256)
    }

    #[test]
    fn round_trips_every_value_at_every_step() {
        let (k, width, plane) = (4, 30, 600);
        let mut symbols = latent(k, plane, 6.0);
        // Every symbol, the extremes included.
        for (i, s) in symbols.iter_mut().take(256).enumerate() {
            *s = i as u8;
        }
        let tables = tables_of(&symbols, k, plane, width);
        let coders = [-32i8, 0, 17, 80].into_iter().flat_map(|code| {
            let step = Step::from_code(code).unwrap();
            let coder = AdaptiveCoder::new(&tables, SPATIAL, 8, step, ContextSet::Neighbours);
            let wide = AdaptiveCoder::new(&tables, SPATIAL, 8, step, ContextSet::Wide);
            [
                (code, coder.clone()),
                (code, coder.predictive()),
                (code, wide.clone()),
                (code, wide.predictive()),
            ]
        });
        for (code, coder) in coders {
            let payload = coder.encode(&symbols, plane, 60..540, width).unwrap();
            let mut out = symbols.clone();
            for c in 0..k {
                out[c * plane + 60..c * plane + 540].fill(7);
            }
            coder.decode(&payload, &mut out, plane, 60..540, width).unwrap();
            assert_eq!(out, symbols, "step code {code}");
            // Damage is an error or other symbols, never a panic.
            let mut damaged = payload.clone();
            damaged[payload.len() / 2] ^= 0x5a;
            let mut again = out.clone();
            let result = coder.decode(&damaged, &mut again, plane, 60..540, width);
            assert!(result.is_err() || again != symbols);
            assert!(
                coder
                    .decode(&payload[..payload.len() - 4], &mut again, plane, 60..540, width)
                    .is_err()
                    || again != symbols
            );
        }
    }

    #[test]
    fn beats_static_tables_and_fits_other_steps() {
        let (k, width, plane) = (6, 64, 64 * 48);
        let training = latent(k, plane, 3.0);
        let tables = tables_of(&training, k, plane, width);
        let fixed = EntropyTables::new(&tables, 256, SPATIAL).unwrap();
        let coder = AdaptiveCoder::new(&tables, SPATIAL, 8, Step::NATIVE, ContextSet::Neighbours);
        // Same statistics as the tables: within a few percent of them.
        let test = latent(k, plane, 3.0);
        let (adaptive, rans) = (
            coder.encode(&test, plane, 0..plane, width).unwrap().len(),
            fixed.encode(&test, plane, 0..plane, width).unwrap().len(),
        );
        assert!((adaptive as f64) < 1.04 * rans as f64, "{adaptive} vs {rans}");
        // A coarser step (values four times smaller): the static tables no
        // longer fit, the adaptive coder started at that step does.
        let coarse: Vec<u8> = latent(k, plane, 0.75);
        let at_step = AdaptiveCoder::new(
            &tables,
            SPATIAL,
            8,
            Step::from_code(32).unwrap(),
            ContextSet::Neighbours,
        );
        let (adaptive, rans) = (
            at_step.encode(&coarse, plane, 0..plane, width).unwrap().len(),
            fixed.encode(&coarse, plane, 0..plane, width).unwrap().len(),
        );
        assert!((adaptive as f64) < 0.8 * rans as f64, "{adaptive} vs {rans}");
        let mut out = vec![0u8; k * plane];
        at_step
            .decode(
                &at_step.encode(&coarse, plane, 0..plane, width).unwrap(),
                &mut out,
                plane,
                0..plane,
                width,
            )
            .unwrap();
        assert_eq!(out, coarse);
    }

    #[test]
    fn prediction_codes_smooth_channels_as_residuals_and_round_trips_the_extremes() {
        let (width, height) = (48, 40);
        let plane = width * height;
        // A smooth ramp (about ±60), noise, and the extremes alternating
        // (every residual wraps around the range).
        let ramp = (0..plane).map(|i| (128 + (i % width) as i32 + 2 * (i / width) as i32 - 88) as u8);
        let noise = latent(1, plane, 2.0);
        let extremes = (0..plane).map(|i| if (i + i / width) % 2 == 0 { 1u8 } else { 255 });
        let symbols: Vec<u8> = ramp.chain(noise).chain(extremes).collect();
        let tables = tables_of(&symbols, 3, plane, width);
        let plain = AdaptiveCoder::new(&tables, SPATIAL, 8, Step::NATIVE, ContextSet::Neighbours);
        let predictive = plain.clone().predictive();
        let band = |c: usize| &symbols[c * plane..(c + 1) * plane];
        assert!(predictive.predicts(band(0), width));
        assert!(!predictive.predicts(band(1), width));
        assert!(!plain.predicts(band(0), width));
        let code = |coder: &AdaptiveCoder| coder.encode(&symbols, plane, 0..plane, width).unwrap();
        let (with, without) = (code(&predictive), code(&plain));
        assert!(with.len() * 2 < without.len(), "{} vs {}", with.len(), without.len());
        for rows in [0..plane, 5 * width..17 * width] {
            let payload = predictive.encode(&symbols, plane, rows.clone(), width).unwrap();
            let mut out = vec![0u8; 3 * plane];
            predictive
                .decode(&payload, &mut out, plane, rows.clone(), width)
                .unwrap();
            for c in 0..3 {
                let r = c * plane + rows.start..c * plane + rows.end;
                assert_eq!(out[r.clone()], symbols[r], "channel {c}");
            }
        }
        // What a rate–distortion quantizer weighs is what the coder codes:
        // the residual of the median prediction, wrapped.
        let ramp = band(0);
        let i = 3 * width + 5;
        let (left, up, corner) = (
            i32::from(ramp[i - 1]) - 128,
            i32::from(ramp[i - width]) - 128,
            i32::from(ramp[i - width - 1]) - 128,
        );
        // The corner lies below both: the median predictor takes the larger
        // neighbour, the left one, one below the value.
        assert!(corner < up && up < left);
        assert_eq!(i32::from(ramp[i]) - 128, left + 1);
        assert_eq!(predictive.as_coded(true, ramp, i, 5, width, ramp[i]), 129);
        assert_eq!(predictive.as_coded(false, ramp, i, 5, width, ramp[i]), ramp[i]);
        let extremes = band(2);
        let j = width + 1;
        // Left and up are +127, the corner and the value −127: the residual,
        // −254, wraps to +2.
        assert_eq!(
            (
                extremes[j - 1],
                extremes[j - width],
                extremes[j - width - 1],
                extremes[j]
            ),
            (255, 255, 1, 1)
        );
        assert_eq!(median_prediction(extremes, j, 1, width, 128), 127);
        assert_eq!(predictive.as_coded(true, extremes, j, 1, width, 1), 130);
    }

    #[test]
    fn initial_probabilities_follow_the_step() {
        let (k, width, plane) = (1, 40, 4000);
        let tables = tables_of(&latent(k, plane, 5.0), k, plane, width);
        let p_nonzero = |code: i8| {
            let coder = AdaptiveCoder::new(
                &tables,
                SPATIAL,
                8,
                Step::from_code(code).unwrap(),
                ContextSet::Neighbours,
            );
            coder.channels[0].nonzero[0].fast
        };
        assert!(p_nonzero(-16) > p_nonzero(0) && p_nonzero(0) > p_nonzero(16) && p_nonzero(16) > p_nonzero(48));
    }

    #[test]
    fn wide_contexts_learn_fast_while_new_then_at_the_steady_rates() {
        let mut wide = Context::new(1 << 15);
        let mut steady = wide;
        wide.update(true, ContextSet::Wide);
        steady.update(true, ContextSet::Neighbours);
        // A quarter of the way to one for both estimates at first …
        assert_eq!((wide.fast, wide.slow), (32768 + 8191, 32768 + 8191));
        // … a sixteenth and a 128th at the steady rates.
        assert_eq!((steady.fast, steady.slow), (32768 + 2047, 32768 + 255));
        for _ in 0..40 {
            wide.update(false, ContextSet::Wide);
        }
        let before = wide;
        wide.update(true, ContextSet::Wide);
        assert_eq!(wide.fast, before.fast + ((u16::MAX - before.fast) >> 4));
        assert_eq!(wide.slow, before.slow + ((u16::MAX - before.slow) >> 7));
    }

    #[test]
    fn wide_contexts_code_channels_that_share_their_activity_in_fewer_bits() {
        // Channels whose magnitudes follow one activity field (strong in
        // some regions, faint in others), each later channel smaller: what
        // the earlier channels' values predict.
        let (k, width, height) = (8, 64, 64);
        let plane = width * height;
        let noise = latent(k, plane, 1.0);
        let symbols: Vec<u8> = (0..k * plane)
            .map(|j| {
                let (c, i) = (j / plane, j % plane);
                let (x, y) = (i % width, i / width);
                let active = ((x / 16) + (y / 16)) % 3 == 0;
                let v = i32::from(noise[j]) - 128;
                let scaled = if active { v * 6 / (1 + c as i32 / 2) } else { v / 3 };
                (scaled.clamp(-127, 127) + 128) as u8
            })
            .collect();
        let tables = tables_of(&symbols, k, plane, width);
        let coder = |set| AdaptiveCoder::new(&tables, SPATIAL, 8, Step::NATIVE, set).predictive();
        let (neighbours, wide) = (coder(ContextSet::Neighbours), coder(ContextSet::Wide));
        let bytes = |coder: &AdaptiveCoder| coder.encode(&symbols, plane, 0..plane, width).unwrap();
        let (narrow_bytes, wide_bytes) = (bytes(&neighbours), bytes(&wide));
        assert!(
            (wide_bytes.len() as f64) < 0.97 * narrow_bytes.len() as f64,
            "{} vs {}",
            wide_bytes.len(),
            narrow_bytes.len()
        );
        let mut out = vec![0u8; k * plane];
        wide.decode(&wide_bytes, &mut out, plane, 0..plane, width).unwrap();
        assert_eq!(out, symbols);
        // The two sets read different contexts: neither decodes the other.
        let mut other = vec![0u8; k * plane];
        let crossed = neighbours.decode(&wide_bytes, &mut other, plane, 0..plane, width);
        assert!(crossed.is_err() || other != symbols);
    }
}
