//! The second step of the dead-zone rounding
//! ([`crate::bottleneck::Rounding::DeadZone`], run by its encoders through
//! [`crate::bottleneck::Rounding::finish`]): after the quantizer's wider
//! zero cell, a ±1 whose four neighbours in its
//! channel (left, right, above, below) are all zero becomes 0 as well, and
//! so do both ±1s of an isolated pair. An isolated ±1 is the dearest
//! symbol to code (its contexts expect zeros) and carries the least (the
//! rounding of a value near ½ or a lone spike). On `data/val` the lone
//! ±1s took `rgb-16x`'s BD-rate against WebP (PSNR) from +14.0 % to +12.3 %
//! and `rgb-8x-neural`'s from +8.2 % to +6.6 %; the pairs take them on to
//! +12.0 % and +6.3 %, and on the held-out photographs of `data/photos`
//! from +14.0 % to +12.5 % and +15.0 % to +13.1 % (docs/BENCHMARKS.md), for
//! one pass over the integer latent.
//!
//! Each value is decided from the quantizer's values around it, not from
//! decisions already made, so the rule is local: rows wrap around within
//! each slice (as the periodized transform's do), columns do not, and a
//! stripe of an image with [`REACH_ROWS`] latent rows of context above and
//! below decides exactly as the whole image does ([`crate::stripes`]).

use rayon::prelude::*;

use crate::codec::Latent;

/// Latent rows beyond a value that its decision reads: a pair's partner
/// one row away, and the partner's own neighbours one row farther.
pub const REACH_ROWS: usize = 2;

/// Zeroes every ±1 of `latent` (value 0 at symbol `zero`) whose left,
/// right, upper and lower neighbours in its channel are 0, and both ±1s of
/// an isolated pair (two adjacent ±1s, each the other's only nonzero
/// neighbour), reading the values as they were before the pass. Rows wrap
/// around within a slice; a row's ends have no neighbour beyond them.
/// Latents of one row a slice (audio) are left as they are: two
/// neighbours are too little evidence (`stereo-5x` lost 1.4 points of
/// BD-rate against Opus with it, where the wider zero cell alone gains
/// 0.1).
pub fn zero_isolated_ones(latent: &mut Latent, zero: u8) {
    let (width, height) = (latent.width, latent.height);
    let rows = height / latent.depth.max(1);
    if width == 0 || rows < 2 {
        return;
    }
    let plane = width * height;
    latent.symbols.par_chunks_exact_mut(plane).for_each(|band| {
        let quantized = band.to_vec();
        let around = Neighbourhood {
            values: &quantized,
            zero,
            width,
            rows,
        };
        for (y, row) in band.chunks_exact_mut(width).enumerate() {
            for (x, value) in row.iter_mut().enumerate() {
                if value.abs_diff(zero) != 1 {
                    continue;
                }
                let quiet = match around.busy(y, x) {
                    (0, _) => true,
                    (1, [partner, ..]) => {
                        quantized[partner].abs_diff(zero) == 1
                            && matches!(around.busy(partner / width, partner % width),
                                        (1, [only, ..]) if only == y * width + x)
                    }
                    _ => false,
                };
                if quiet {
                    *value = zero;
                }
            }
        }
    });
}

/// One channel's values, and who neighbours whom in it.
struct Neighbourhood<'a> {
    values: &'a [u8],
    zero: u8,
    width: usize,
    /// Rows of a slice: rows wrap around within it.
    rows: usize,
}

impl Neighbourhood<'_> {
    /// The nonzero ones among the left, right, upper and lower neighbours
    /// of the value in row `y`, column `x`: how many, and their indices
    /// first (the rest the value's own).
    fn busy(&self, y: usize, x: usize) -> (usize, [usize; 4]) {
        let (width, rows) = (self.width, self.rows);
        let i = y * width + x;
        let (slice_start, within) = (y - y % rows, y % rows);
        let candidates = [
            (x > 0).then(|| i - 1),
            (x + 1 < width).then(|| i + 1),
            Some((slice_start + (within + rows - 1) % rows) * width + x),
            Some((slice_start + (within + 1) % rows) * width + x),
        ];
        let mut found = (0, [i; 4]);
        for j in candidates.into_iter().flatten() {
            if self.values[j] != self.zero {
                found.1[found.0] = j;
                found.0 += 1;
            }
        }
        found
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::step::Step;

    fn latent(depth: usize, height: usize, width: usize, values: &[i32]) -> Latent {
        Latent {
            depth,
            channels: values.len() / (height * width),
            height,
            width,
            symbols: values.iter().map(|&v| (v + 128) as u8).collect(),
            step: Step::NATIVE,
        }
    }

    fn values(latent: &Latent) -> Vec<i32> {
        latent.symbols.iter().map(|&s| i32::from(s) - 128).collect()
    }

    #[test]
    fn lone_ones_and_isolated_pairs_become_zero() {
        #[rustfmt::skip]
        let mut l = latent(1, 6, 6, &[
            1, 0, 0, 0, -1, 0,
            0, 0, 2, 0, 0, 0,
            0, 1, 0, 1, -1, 0,
            0, 1, 0, 0, 0, 0,
            -1, 0, 0, -1, 2, 0,
            1, -1, 1, 0, 0, 0,
        ]);
        zero_isolated_ones(&mut l, 128);
        #[rustfmt::skip]
        let expected = [
            // The corner's upper neighbour wraps to the last row's 1, which
            // has other nonzero neighbours: it stays. The lone -1 goes.
            1, 0, 0, 0, 0, 0,
            // A 2 is never touched.
            0, 0, 2, 0, 0, 0,
            // Isolated pairs, upright (column 1) and side by side, go.
            0, 0, 0, 0, 0, 0,
            0, 0, 0, 0, 0, 0,
            // A -1 whose one nonzero neighbour is a 2 stays.
            -1, 0, 0, -1, 2, 0,
            // A run of three stays: its ends' neighbour is busy itself.
            1, -1, 1, 0, 0, 0,
        ];
        assert_eq!(values(&l), expected);
    }

    #[test]
    fn rows_wrap_within_a_slice_and_one_row_latents_are_kept() {
        // Two slices of two rows: slice 1's first row sees its own second
        // row above and below, not slice 0's.
        let mut l = latent(2, 4, 3, &[0, 0, 0, 0, 1, 0, 0, 1, 0, 0, 0, 0]);
        zero_isolated_ones(&mut l, 128);
        assert_eq!(values(&l), [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
        let mut l = latent(2, 4, 3, &[0, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0]);
        zero_isolated_ones(&mut l, 128);
        assert_eq!(values(&l), [0, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0]);
        // Audio: one row; left as it is.
        let mut l = latent(1, 1, 4, &[1, 0, 0, -1, 0, 1, 1, 0]);
        zero_isolated_ones(&mut l, 128);
        assert_eq!(values(&l), [1, 0, 0, -1, 0, 1, 1, 0]);
    }
}
