//! Static rANS coding of integer latents (the `constriction` crate), with
//! integer probability tables from the model file so that decoding is
//! bit-exact on every machine. Each channel has one table per *context*: the
//! activity `|left| + |up|` of the latent values already coded next to the
//! symbol (within its chunk), in [`CONTEXTS`] buckets. Latents of natural
//! images cluster in magnitude, so this costs nothing at run time and saves
//! bits; a model with a single context per channel is plain per-channel coding.

use constriction::stream::model::DefaultContiguousCategoricalEntropyModel;
use constriction::stream::stack::DefaultAnsCoder;
use constriction::stream::{Decode, Encode};

use crate::error::{CodecError, Result};

/// Fixed-point precision of the stored probabilities: rows sum to `2^24`.
pub const PROBABILITY_BITS: u32 = 24;

/// Number of activity contexts in the models `fit-linear` makes.
pub const CONTEXTS: usize = 5;

/// Activity bucket of `|left| + |up|` for activities 0..=8 (8 and more is
/// the last): 0, 1, 2–3, 4–7, 8+.
const BUCKET: [u8; 9] = [0, 1, 2, 2, 3, 3, 3, 3, 4];

/// The bucket of an activity `|left| + |up|` (in latent values).
#[inline]
pub(crate) fn activity_bucket(activity: u32) -> usize {
    usize::from(BUCKET[activity.min(8) as usize])
}

/// The context of position `i` of one channel's band (row-major, `width`
/// columns): the bucket of `|left| + |up|` in latent values, neighbours
/// outside the band counting as zero. Folded into `contexts` buckets.
#[inline]
pub fn context(band: &[u8], i: usize, width: usize, zero: u8, contexts: usize) -> usize {
    if contexts == 1 {
        return 0;
    }
    let magnitude = |s: u8| u32::from(s.abs_diff(zero));
    let left = if !i.is_multiple_of(width) {
        magnitude(band[i - 1])
    } else {
        0
    };
    let up = if i >= width { magnitude(band[i - width]) } else { 0 };
    activity_bucket(left + up).min(contexts - 1)
}

/// Adds one channel's band (`width` columns, coded as one chunk) to
/// `counts`, rows of `symbols` per context: the histograms that
/// [`probabilities_from_counts`] turns into tables.
pub fn count_band(band: &[u8], width: usize, symbols: usize, counts: &mut [u64]) {
    let zero = (symbols / 2) as u8;
    let contexts = counts.len() / symbols;
    for (i, &s) in band.iter().enumerate() {
        counts[context(band, i, width, zero, contexts) * symbols + usize::from(s)] += 1;
    }
}

/// Tables of [`CONTEXTS`] contexts per channel counted on `latents` (each
/// coded as one chunk), for `channels`-channel, `bits`-bit latents.
pub fn fit_tables<'a>(latents: impl IntoIterator<Item = &'a crate::Latent>, channels: usize, bits: u8) -> Vec<u32> {
    let symbols = 1usize << bits;
    let rows = CONTEXTS * symbols;
    let mut counts = vec![0u64; channels * rows];
    for latent in latents {
        let plane = latent.height * latent.width;
        for (c, band) in latent.symbols.chunks_exact(plane).enumerate().take(channels) {
            count_band(band, latent.width, symbols, &mut counts[c * rows..(c + 1) * rows]);
        }
    }
    probabilities_from_counts(&counts, symbols)
}

/// A coder's 32-bit words as a payload: little-endian bytes.
pub(crate) fn payload_of(words: &[u32]) -> Vec<u8> {
    words.iter().flat_map(|w| w.to_le_bytes()).collect()
}

/// A payload's little-endian 32-bit words, or an error when it is not a
/// whole number of them.
pub(crate) fn words_of(payload: &[u8]) -> Result<Vec<u32>> {
    if !payload.len().is_multiple_of(4) {
        return Err(CodecError::EntropyCoding(format!(
            "{} bytes is not a whole number of 32-bit words",
            payload.len()
        )));
    }
    Ok(payload
        .chunks_exact(4)
        .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        .collect())
}

/// One categorical model per latent channel and context.
#[derive(Clone, Debug)]
pub struct EntropyTables {
    models: Vec<DefaultContiguousCategoricalEntropyModel>,
    contexts: usize,
    zero: u8,
}

/// Turns symbol counts (one row of `symbols` per channel) into fixed-point
/// probabilities that sum to `2^24` with no zero, so every symbol stays
/// encodable. Unseen symbols get the smallest probability.
pub fn probabilities_from_counts(counts: &[u64], symbols: usize) -> Vec<u32> {
    let target = 1i64 << PROBABILITY_BITS;
    counts
        .chunks_exact(symbols)
        .flat_map(|row| {
            let total: f64 = row.iter().map(|&c| c as f64 + 0.5).sum();
            let mut p: Vec<i64> = row
                .iter()
                .map(|&c| (((c as f64 + 0.5) / total) * target as f64).floor().max(1.0) as i64)
                .collect();
            let mut excess = p.iter().sum::<i64>() - target;
            while excess != 0 {
                // Take from (or give to) the most probable symbol.
                let (i, _) = p.iter().enumerate().max_by_key(|(_, &v)| v).unwrap();
                let change = if excess > 0 { excess.min(p[i] - 1) } else { excess };
                p[i] -= change;
                excess -= change;
            }
            p.into_iter().map(|v| v as u32)
        })
        .collect()
}

impl EntropyTables {
    /// Builds the models from rows of `symbols` probabilities, `contexts`
    /// rows per channel; `Err(row)` names the first row that does not sum
    /// to `2^24` or has a zero.
    pub fn new(probabilities: &[u32], symbols: usize, contexts: usize) -> std::result::Result<Self, usize> {
        let models = probabilities
            .chunks_exact(symbols)
            .enumerate()
            .map(|(row, p)| {
                let sum: u64 = p.iter().map(|&v| u64::from(v)).sum();
                if sum != 1 << PROBABILITY_BITS || p.contains(&0) {
                    return Err(row);
                }
                DefaultContiguousCategoricalEntropyModel::from_nonzero_fixed_point_probabilities(p, false)
                    .map_err(|()| row)
            })
            .collect::<std::result::Result<Vec<_>, usize>>()?;
        Ok(EntropyTables {
            models,
            contexts: contexts.max(1),
            zero: (symbols / 2) as u8,
        })
    }

    /// Number of channels.
    pub fn channels(&self) -> usize {
        self.models.len() / self.contexts
    }

    /// Contexts per channel.
    pub fn contexts(&self) -> usize {
        self.contexts
    }

    /// The model of channel `k` for position `i` of its band.
    #[inline]
    fn model(&self, k: usize, band: &[u8], i: usize, width: usize) -> &DefaultContiguousCategoricalEntropyModel {
        &self.models[k * self.contexts + context(band, i, width, self.zero, self.contexts)]
    }

    /// Encodes `symbols[k * plane + range]` for every channel `k` (rows of
    /// `width` symbols, `range` a whole number of rows), channel by channel,
    /// into little-endian 32-bit words.
    pub fn encode(&self, symbols: &[u8], plane: usize, range: std::ops::Range<usize>, width: usize) -> Result<Vec<u8>> {
        let mut coder = DefaultAnsCoder::new();
        for k in (0..self.channels()).rev() {
            let band = &symbols[k * plane + range.start..k * plane + range.end];
            for (i, &s) in band.iter().enumerate().rev() {
                coder
                    .encode_symbol(usize::from(s), self.model(k, band, i, width))
                    .map_err(|e| CodecError::EntropyCoding(format!("symbol {s} of channel {k}: {e}")))?;
            }
        }
        let words = coder
            .into_compressed()
            .map_err(|e| CodecError::EntropyCoding(format!("{e:?}")))?;
        Ok(payload_of(&words))
    }

    /// Decodes a payload made by [`EntropyTables::encode`] into the same
    /// positions of `symbols`. Fails unless the payload is consumed exactly.
    pub fn decode(
        &self,
        payload: &[u8],
        symbols: &mut [u8],
        plane: usize,
        range: std::ops::Range<usize>,
        width: usize,
    ) -> Result<()> {
        let mut coder = DefaultAnsCoder::from_compressed(words_of(payload)?)
            .map_err(|_| CodecError::EntropyCoding("stream ends in a zero word".into()))?;
        for k in 0..self.channels() {
            let band = &mut symbols[k * plane + range.start..k * plane + range.end];
            for i in 0..band.len() {
                let symbol = coder
                    .decode_symbol(self.model(k, band, i, width))
                    .map_err(|e| CodecError::EntropyCoding(format!("{e:?}")))?;
                band[i] = symbol as u8;
            }
        }
        if !coder.is_empty() {
            return Err(CodecError::EntropyCoding(
                "payload has data left after the last symbol".into(),
            ));
        }
        Ok(())
    }
}

/// What codes the bands of a latent: the model's static tables (rANS) or
/// the adaptive coder started from them at the file's step.
#[derive(Clone, Debug)]
pub enum BandCoder<'t> {
    /// rANS with the static tables.
    Static(&'t EntropyTables),
    /// Context-adaptive binary range coding.
    Adaptive(Box<crate::adaptive::AdaptiveCoder>),
}

impl BandCoder<'_> {
    /// Encodes `symbols[k * plane + range]` of every channel `k` (rows of
    /// `width` symbols) into one chunk's payload.
    pub fn encode(&self, symbols: &[u8], plane: usize, range: std::ops::Range<usize>, width: usize) -> Result<Vec<u8>> {
        match self {
            BandCoder::Static(tables) => tables.encode(symbols, plane, range, width),
            BandCoder::Adaptive(coder) => coder.encode(symbols, plane, range, width),
        }
    }

    /// Decodes a payload of [`BandCoder::encode`] into the same positions.
    pub fn decode(
        &self,
        payload: &[u8],
        symbols: &mut [u8],
        plane: usize,
        range: std::ops::Range<usize>,
        width: usize,
    ) -> Result<()> {
        match self {
            BandCoder::Static(tables) => tables.decode(payload, symbols, plane, range, width),
            BandCoder::Adaptive(coder) => coder.decode(payload, symbols, plane, range, width),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_become_exact_fixed_point() {
        let mut counts = vec![0u64; 2 * 256];
        counts[128] = 1_000_000;
        counts[127] = 10;
        counts[256 + 3] = 7;
        let p = probabilities_from_counts(&counts, 256);
        for row in p.chunks(256) {
            assert_eq!(row.iter().map(|&v| u64::from(v)).sum::<u64>(), 1 << 24);
            assert!(row.iter().all(|&v| v >= 1));
        }
        assert!(p[128] > p[127] && p[127] > p[0]);
        assert!(EntropyTables::new(&p, 256, 1).is_ok());
        let mut broken = p.clone();
        broken[300] = 0;
        assert_eq!(EntropyTables::new(&broken, 256, 1).unwrap_err(), 1);
    }

    #[test]
    fn round_trip_and_compression() {
        let mut counts = vec![1u64; 3 * 256];
        for k in 0..3 {
            counts[k * 256 + 128] = 1000;
            counts[k * 256 + 129] = 300;
        }
        // The same table for every context: contexts change only the lookup.
        let one = probabilities_from_counts(&counts, 256);
        let many: Vec<u32> = one.chunks(256).flat_map(|row| row.repeat(CONTEXTS)).collect();
        let plane = 500;
        let symbols: Vec<u8> = (0..3 * plane).map(|i| if i % 7 == 0 { 129 } else { 128 }).collect();
        for (probabilities, contexts) in [(one, 1), (many, CONTEXTS)] {
            let tables = EntropyTables::new(&probabilities, 256, contexts).unwrap();
            assert_eq!((tables.channels(), tables.contexts()), (3, contexts));
            let payload = tables.encode(&symbols, plane, 100..400, 20).unwrap();
            // 900 skewed symbols: well under one byte each.
            assert!(payload.len() < 900 / 2, "{} bytes", payload.len());
            let mut out = vec![0u8; 3 * plane];
            tables.decode(&payload, &mut out, plane, 100..400, 20).unwrap();
            for k in 0..3 {
                assert_eq!(
                    out[k * plane + 100..k * plane + 400],
                    symbols[k * plane + 100..k * plane + 400]
                );
            }
            // A truncated payload is an error, not garbage.
            let cut = &payload[..payload.len() - 4];
            assert!(tables.decode(cut, &mut out, plane, 100..400, 20).is_err() || out != symbols);
        }
    }

    #[test]
    fn contexts_follow_neighbour_activity() {
        // Two rows of 3 columns; the zero symbol is 128.
        let band = [128u8, 129, 140, 128, 126, 128];
        let ctx = |i| context(&band, i, 3, 128, CONTEXTS);
        assert_eq!(ctx(0), 0); // no neighbours
        assert_eq!(ctx(1), 0); // left 0
        assert_eq!(ctx(2), 1); // left 1
        assert_eq!(ctx(3), 0); // up 0, no left
        assert_eq!(ctx(4), 1); // left 0 + up 1
        assert_eq!(ctx(5), 4); // left 2 + up 12
        assert_eq!(context(&band, 5, 3, 128, 1), 0);
    }
}
