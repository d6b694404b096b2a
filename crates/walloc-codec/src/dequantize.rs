//! Reconstruction values of latent symbols. At the model's own step and
//! finer ones a symbol decodes to the middle of its interval (the
//! reference's `ToNormal`), which is what the least-squares decoder was
//! fitted on (the tables, counted at the model's step, know nothing finer).
//! At coarser steps it decodes to the *centroid* of its interval: the mean
//! of the latent values that quantize to it, under the distribution the
//! model's own tables record for that channel. The centroid is the
//! least-squares estimate of the latent given its symbol, so the
//! quantization error it leaves is uncorrelated with what the decoder
//! sees, and the linear decoder stays the least-squares decoder at every
//! step. Coarse steps gain most: their intervals span many of the tables'
//! values, and most of the mass of a peaked distribution lies near zero.

use crate::bottleneck::Bottleneck;
use crate::step::Step;

/// Pieces each of the tables' unit intervals is cut into to integrate.
const PIECES: usize = 16;

/// Per-channel reconstruction values: `2^bits` per latent channel.
#[derive(Clone, Debug, PartialEq)]
pub struct Dequantizer {
    symbols: usize,
    values: Vec<f32>,
}

impl Dequantizer {
    /// Every channel's symbols decoded to their interval's middle in
    /// `bottleneck` (`ToNormal`).
    pub fn midpoints(bottleneck: &Bottleneck, channels: usize) -> Self {
        let row: Vec<f32> = (0..bottleneck.symbols())
            .map(|s| bottleneck.dequantize(s as u8))
            .collect();
        Dequantizer {
            symbols: row.len(),
            values: row.repeat(channels.max(1)),
        }
    }

    /// The centroids of `at`'s intervals (a bottleneck at some step) under
    /// the distribution of the latent that `probabilities` (rows of
    /// `2^bits` per channel and context, counted at `native`, the model's
    /// own step) record: each of the tables' values spreads its mass
    /// evenly over its unit interval of `native`'s uniform domain. A
    /// symbol the tables give no mass decodes to its middle.
    pub fn centroids(native: &Bottleneck, at: &Bottleneck, probabilities: &[u32], contexts: usize) -> Self {
        let symbols = native.symbols();
        let half = (symbols / 2) as f64;
        let rows = symbols * contexts.max(1);
        // Each piece of the tables' uniform domain: its value's symbol,
        // where it lies in latent units, and the symbol it quantizes to at `at`.
        let pieces: Vec<(usize, f64, usize)> = (0..symbols * PIECES)
            .filter_map(|i| {
                let from = i / PIECES;
                let u = from as f64 - half - 0.5 + (i % PIECES) as f64 / PIECES as f64 + 0.5 / PIECES as f64;
                (u.abs() < native.latent_max()).then(|| {
                    let z = native.to_normal(u);
                    (from, z, usize::from(at.quantize(z as f32)))
                })
            })
            .collect();
        let mut values = Vec::with_capacity(probabilities.len() / rows * symbols);
        for channel in probabilities.chunks_exact(rows) {
            let mut mass = vec![0.0f64; symbols];
            for row in channel.chunks_exact(symbols) {
                mass.iter_mut().zip(row).for_each(|(m, &p)| *m += f64::from(p));
            }
            let (mut weight, mut moment) = (vec![0.0f64; symbols], vec![0.0f64; symbols]);
            for &(from, z, to) in &pieces {
                weight[to] += mass[from];
                moment[to] += mass[from] * z;
            }
            values.extend((0..symbols).map(|s| {
                if weight[s] > 0.0 {
                    (moment[s] / weight[s]) as f32
                } else {
                    at.dequantize(s as u8)
                }
            }));
        }
        Dequantizer { symbols, values }
    }

    /// The reconstruction of `symbol` in latent channel `channel`.
    #[inline]
    pub fn value(&self, channel: usize, symbol: u8) -> f32 {
        self.values[channel * self.symbols + usize::from(symbol)]
    }

    /// A latent's symbols (`channels` planes of equal size) decoded.
    pub fn dequantize(&self, symbols: &[u8], channels: usize) -> Vec<f32> {
        let plane = symbols.len() / channels.max(1);
        symbols
            .chunks(plane.max(1))
            .enumerate()
            .flat_map(|(k, band)| band.iter().map(move |&s| self.value(k, s)))
            .collect()
    }
}

/// The reconstruction values for a model's latents at `step`: midpoints
/// at its own step and finer ones (or without tables), centroids at
/// coarser ones. (Measured on held-out photos, centroids at finer steps
/// lost up to 0.05 dB: the tables' unit intervals are wider than the bins.)
pub(crate) fn for_step(
    native: &Bottleneck,
    at: &Bottleneck,
    step: Step,
    probabilities: &[u32],
    contexts: usize,
    channels: usize,
) -> Dequantizer {
    if step <= Step::NATIVE || probabilities.len() < channels * contexts.max(1) * native.symbols() {
        return Dequantizer::midpoints(at, channels);
    }
    Dequantizer::centroids(native, at, probabilities, contexts)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Tables of a two-sided geometric latent, `p(v) ∝ r^|v|`, one context.
    fn geometric(r: f64, channels: usize) -> Vec<u32> {
        let row: Vec<u32> = (0..256i32)
            .map(|s| (1e6 * r.powi((s - 128).abs())).round() as u32)
            .collect();
        row.repeat(channels)
    }

    #[test]
    fn centroids_lean_towards_zero_at_coarse_steps_and_keep_their_order() {
        let native = Bottleneck::new(8);
        let coarse = Bottleneck::at_step(8, Step::from_code(48).unwrap());
        let tables = geometric(0.7, 2);
        let centroids = Dequantizer::centroids(&native, &coarse, &tables, 1);
        let middles = Dequantizer::midpoints(&coarse, 2);
        for (s, most) in [(129u8, 0.8), (130, 0.95), (131, 0.95)] {
            let (c, m) = (centroids.value(1, s), middles.value(1, s));
            assert!(c > 0.0 && c < most * m, "symbol {s}: centroid {c}, middle {m}");
            // Symmetric tables give symmetric centroids.
            assert!((centroids.value(0, (256 - usize::from(s)) as u8) + c).abs() < 1e-4);
        }
        assert!(centroids.value(0, 128).abs() < 1e-6);
        let row: Vec<f32> = (1..=255u8).map(|s| centroids.value(0, s)).collect();
        assert!(row.windows(2).all(|w| w[0] < w[1]), "monotone");
    }

    #[test]
    fn the_centroid_is_the_mean_of_what_quantizes_to_it() {
        // At a step 4 times the tables', symbol 1 covers about the tables'
        // values 2 to 6: its centroid is the mean of the latent over that
        // interval under the tables' weights, integrated here finely.
        let native = Bottleneck::new(8);
        let at = Bottleneck::at_step(8, Step::from_code(32).unwrap());
        let tables = geometric(0.5, 1);
        let centroid = f64::from(Dequantizer::centroids(&native, &at, &tables, 1).value(0, 129));
        let (mut weight, mut moment) = (0.0, 0.0);
        for i in 0..256 * 64 {
            let u = -128.0 + (i as f64 + 0.5) / 64.0;
            if u.abs() >= native.latent_max() {
                continue;
            }
            let z = native.to_normal(u);
            if at.quantize(z as f32) == 129 {
                let p = 0.5f64.powi((u.round() as i32).abs());
                weight += p;
                moment += p * z;
            }
        }
        assert!(
            (centroid - moment / weight).abs() < 1e-3 * (moment / weight),
            "{centroid} vs {}",
            moment / weight
        );
    }

    #[test]
    fn the_native_step_and_missing_tables_keep_the_middles() {
        let native = Bottleneck::new(8);
        let tables = geometric(0.7, 3);
        let same = for_step(&native, &native, Step::NATIVE, &tables, 1, 3);
        assert_eq!(same, Dequantizer::midpoints(&native, 3));
        let fine = Step::from_code(-12).unwrap();
        let finer = Bottleneck::at_step(8, fine);
        assert_eq!(
            for_step(&native, &finer, fine, &tables, 1, 3),
            Dequantizer::midpoints(&finer, 3)
        );
        let at = Bottleneck::at_step(8, Step::from_code(20).unwrap());
        let none = for_step(&native, &at, Step::from_code(20).unwrap(), &[], 1, 3);
        assert_eq!(none, Dequantizer::midpoints(&at, 3));
        let latent = [128u8, 129, 127, 130];
        assert_eq!(
            Dequantizer::midpoints(&native, 2).dequantize(&latent, 2),
            latent.iter().map(|&s| native.dequantize(s)).collect::<Vec<_>>()
        );
    }
}
