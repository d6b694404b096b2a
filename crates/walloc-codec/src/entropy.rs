//! Static per-channel rANS coding of integer latents (the `constriction`
//! crate), with integer probability tables from the model file so that
//! decoding is bit-exact on every machine.

use constriction::stream::model::DefaultContiguousCategoricalEntropyModel;
use constriction::stream::stack::DefaultAnsCoder;
use constriction::stream::{Decode, Encode};

use crate::error::{CodecError, Result};

/// Fixed-point precision of the stored probabilities: rows sum to `2^24`.
pub const PROBABILITY_BITS: u32 = 24;

/// One categorical model per latent channel.
#[derive(Debug)]
pub struct EntropyTables {
    models: Vec<DefaultContiguousCategoricalEntropyModel>,
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
    /// Builds the models; `Err(row)` names the first row that does not sum
    /// to `2^24` or has a zero.
    pub fn new(probabilities: &[u32], symbols: usize) -> std::result::Result<Self, usize> {
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
        Ok(EntropyTables { models })
    }

    /// Number of channels.
    pub fn channels(&self) -> usize {
        self.models.len()
    }

    /// Encodes `symbols[k * plane + range]` for every channel `k`, channel by
    /// channel, into little-endian 32-bit words.
    pub fn encode(&self, symbols: &[u8], plane: usize, range: std::ops::Range<usize>) -> Result<Vec<u8>> {
        let mut coder = DefaultAnsCoder::new();
        for (k, model) in self.models.iter().enumerate().rev() {
            for &s in symbols[k * plane + range.start..k * plane + range.end].iter().rev() {
                coder
                    .encode_symbol(usize::from(s), model)
                    .map_err(|e| CodecError::EntropyCoding(format!("symbol {s} of channel {k}: {e}")))?;
            }
        }
        let words = coder
            .into_compressed()
            .map_err(|e| CodecError::EntropyCoding(format!("{e:?}")))?;
        Ok(words.iter().flat_map(|w| w.to_le_bytes()).collect())
    }

    /// Decodes a payload made by [`EntropyTables::encode`] into the same
    /// positions of `symbols`. Fails unless the payload is consumed exactly.
    pub fn decode(
        &self,
        payload: &[u8],
        symbols: &mut [u8],
        plane: usize,
        range: std::ops::Range<usize>,
    ) -> Result<()> {
        if !payload.len().is_multiple_of(4) {
            return Err(CodecError::EntropyCoding(format!(
                "{} bytes is not a whole number of 32-bit words",
                payload.len()
            )));
        }
        let words: Vec<u32> = payload
            .chunks_exact(4)
            .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
            .collect();
        let mut coder = DefaultAnsCoder::from_compressed(words)
            .map_err(|_| CodecError::EntropyCoding("stream ends in a zero word".into()))?;
        for (k, model) in self.models.iter().enumerate() {
            for s in &mut symbols[k * plane + range.start..k * plane + range.end] {
                let symbol = coder
                    .decode_symbol(model)
                    .map_err(|e| CodecError::EntropyCoding(format!("{e:?}")))?;
                *s = symbol as u8;
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
        assert!(EntropyTables::new(&p, 256).is_ok());
        let mut broken = p.clone();
        broken[300] = 0;
        assert_eq!(EntropyTables::new(&broken, 256).unwrap_err(), 1);
    }

    #[test]
    fn round_trip_and_compression() {
        let mut counts = vec![1u64; 3 * 256];
        for k in 0..3 {
            counts[k * 256 + 128] = 1000;
            counts[k * 256 + 129] = 300;
        }
        let tables = EntropyTables::new(&probabilities_from_counts(&counts, 256), 256).unwrap();
        let plane = 500;
        let symbols: Vec<u8> = (0..3 * plane).map(|i| if i % 7 == 0 { 129 } else { 128 }).collect();
        let payload = tables.encode(&symbols, plane, 100..400).unwrap();
        // 900 skewed symbols: well under one byte each.
        assert!(payload.len() < 900 / 2, "{} bytes", payload.len());
        let mut out = vec![0u8; 3 * plane];
        tables.decode(&payload, &mut out, plane, 100..400).unwrap();
        for k in 0..3 {
            assert_eq!(
                out[k * plane + 100..k * plane + 400],
                symbols[k * plane + 100..k * plane + 400]
            );
        }
        // A truncated payload is an error, not garbage.
        let cut = &payload[..payload.len() - 4];
        assert!(tables.decode(cut, &mut out, plane, 100..400).is_err() || out != symbols);
    }
}
