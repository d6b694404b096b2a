//! How close the entropy coders come to their limit: the empirical
//! entropy of each latent's values given the contexts the coders
//! condition on, every distribution counted on that latent itself. It is
//! what an ideal two-pass coder with those contexts would spend if it sent
//! each latent's statistics for free (a lower bound for static tables,
//! which are fitted elsewhere; an adaptive coder goes below it only by
//! tracking changes within a latent, or with contexts it does not count).
//! Contexts are taken over each whole latent, as if it were one chunk.

use crate::adaptive::{neighbourhood, INTER, SPATIAL};
use crate::codec::Latent;

/// Empirical entropies of a set of latents, in bits in all.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct ContextEntropy {
    /// Latent values counted.
    pub values: u64,
    /// Each channel's values on their own (no context).
    pub marginal: f64,
    /// Given the left and upper neighbours (the static tables' contexts).
    pub spatial: f64,
    /// Given the neighbours and the previous channel's value at the same
    /// position (the adaptive coder's contexts).
    pub spatial_and_channel: f64,
}

impl ContextEntropy {
    /// `bits` (a coder's, in all) per latent value.
    pub fn per_value(&self, bits: f64) -> f64 {
        bits / self.values.max(1) as f64
    }
}

/// `Σ −n·log2(n / N)` over each row of `counts` (rows of `symbols`).
fn entropy_bits(counts: &[u64], symbols: usize) -> f64 {
    counts
        .chunks_exact(symbols)
        .map(|row| {
            let total = row.iter().sum::<u64>() as f64;
            row.iter()
                .filter(|&&n| n > 0)
                .map(|&n| -(n as f64) * (n as f64 / total).log2())
                .sum::<f64>()
        })
        .sum()
}

/// The entropies of `latents` (of `bits`-bit symbols), each latent's
/// distributions counted on that latent alone (what a two-pass coder that
/// sent each latent's statistics for free would spend), channel by
/// channel; summed over the latents.
pub fn context_entropy<'a>(latents: impl IntoIterator<Item = &'a Latent>, bits: u8) -> ContextEntropy {
    latents
        .into_iter()
        .map(|latent| latent_entropy(latent, bits))
        .fold(ContextEntropy::default(), |sum, e| ContextEntropy {
            values: sum.values + e.values,
            marginal: sum.marginal + e.marginal,
            spatial: sum.spatial + e.spatial,
            spatial_and_channel: sum.spatial_and_channel + e.spatial_and_channel,
        })
}

/// The entropies of one latent.
fn latent_entropy(latent: &Latent, bits: u8) -> ContextEntropy {
    let symbols = 1usize << bits;
    let zero = (symbols / 2) as u8;
    let (plane, channels) = (latent.height * latent.width, latent.channels);
    let mut marginal = vec![0u64; channels * symbols];
    let mut spatial = vec![0u64; channels * SPATIAL * symbols];
    let mut joint = vec![0u64; channels * SPATIAL * INTER * symbols];
    for k in 0..channels {
        let band = &latent.symbols[k * plane..(k + 1) * plane];
        let previous = (k > 0).then(|| &latent.symbols[(k - 1) * plane..k * plane]);
        for (i, &s) in band.iter().enumerate() {
            let s = usize::from(s);
            let (c, inter) = neighbourhood(band, previous, i, i % latent.width, latent.width, zero);
            marginal[k * symbols + s] += 1;
            spatial[(k * SPATIAL + c) * symbols + s] += 1;
            joint[((k * SPATIAL + c) * INTER + inter) * symbols + s] += 1;
        }
    }
    ContextEntropy {
        values: latent.symbols.len() as u64,
        marginal: entropy_bits(&marginal, symbols),
        spatial: entropy_bits(&spatial, symbols),
        spatial_and_channel: entropy_bits(&joint, symbols),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Step;

    fn latent(channels: usize, height: usize, width: usize, symbols: Vec<u8>) -> Latent {
        Latent {
            depth: 1,
            channels,
            height,
            width,
            symbols,
            step: Step::NATIVE,
        }
    }

    #[test]
    fn entropies_of_known_latents() {
        // Two equally likely values, independent of everything: 1 bit each.
        let coin: Vec<u8> = (0..64u32).map(|i| 128 + ((i * 7 + i / 8) % 2) as u8).collect();
        let e = context_entropy([&latent(1, 8, 8, coin)], 8);
        assert_eq!(e.values, 64);
        assert!((e.per_value(e.marginal) - 1.0).abs() < 1e-9, "{e:?}");
        // Contexts never raise the empirical entropy.
        assert!(e.spatial <= e.marginal + 1e-9 && e.spatial_and_channel <= e.spatial + 1e-9);

        // A second channel that copies the first: its values cost nothing
        // given the first channel's, but its marginal is the first's.
        let first: Vec<u8> = (0..64u32)
            .map(|i| [128u8, 129, 127, 131][(i * 5 % 4) as usize])
            .collect();
        let both: Vec<u8> = first.iter().chain(&first).copied().collect();
        let e = context_entropy([&latent(2, 8, 8, both)], 8);
        let alone = context_entropy([&latent(1, 8, 8, first)], 8);
        assert!((e.marginal - 2.0 * alone.marginal).abs() < 1e-9);
        assert!(e.spatial_and_channel < e.spatial, "{e:?}");
        // A constant latent costs nothing at all.
        let e = context_entropy([&latent(1, 4, 4, vec![128; 16])], 8);
        assert_eq!((e.marginal, e.spatial, e.spatial_and_channel), (0.0, 0.0, 0.0));
    }
}
