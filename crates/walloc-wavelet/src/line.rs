//! One level of the periodized two-channel transform along one line.
//!
//! The reference (pytorch_wavelets / tft, mode `periodization`) rolls the
//! line, runs a zero-padded linear convolution and folds the tail back
//! *once*. For lines at least as long as the filter that is exactly
//! circular convolution; for shorter lines it is not, and the reference's
//! result is what we must reproduce. [`AnalysisTaps`] and [`SynthesisTaps`]
//! are therefore built from the literal reference procedure (its Python
//! slicing `roll` included), for any length; the fast paths below are used
//! for long contiguous lines, where they are equal to the taps.

use crate::simd::multiply_add;
use crate::FilterBank;

/// The reference's `roll(x, n)`: `cat(x[-n:], x[:-n])` with Python slice
/// semantics (a negative `n` first has the length added once). Returns, for
/// each output position, the input index it reads.
fn reference_roll(len: usize, shift: isize) -> Vec<usize> {
    let n_len = len as isize;
    let n = if shift < 0 { n_len + shift } else { shift };
    let slice_start = |s: isize| -> usize {
        let s = if s < 0 { s + n_len } else { s };
        s.clamp(0, n_len) as usize
    };
    let head = slice_start(-n);
    let tail_end = slice_start(-n);
    // x[-n:] then x[:-n]; for n == 0 Python reads x[0:] and x[:0].
    let (head, tail_end) = if n == 0 { (0, 0) } else { (head, tail_end) };
    (head..len).chain(0..tail_end).collect()
}

/// For each output sample of an analysis step: the input samples it reads
/// and their low- and high-pass weights.
#[derive(Clone, Debug)]
pub struct AnalysisTaps {
    /// `taps[k]` lists `(input index, lo weight, hi weight)`.
    taps: Vec<Vec<(usize, f32, f32)>>,
}

impl AnalysisTaps {
    /// Taps for a line of `len` samples (odd lengths repeat the last one).
    pub fn new(bank: &FilterBank, len: usize) -> Self {
        let filter_len = bank.len();
        let half_filter = filter_len / 2;
        let even_len = len + len % 2;
        let rolled = reference_roll(even_len, -(half_filter as isize));
        let source = |i: usize| rolled[i].min(len - 1);
        let half = even_len / 2;
        let mut taps = vec![Vec::new(); half];
        for (k, out) in taps.iter_mut().enumerate() {
            for m in 0..filter_len {
                // Zero-padded convolution y[k] = sum_m h[m] x'[2k - m], plus
                // the folded tail y[half + k] (only the first half_filter).
                let direct = 2 * k as isize - m as isize;
                let folded = even_len as isize + direct;
                // A tap that weighs both bands zero adds nothing (exactly:
                // `a + 0·x = a` for finite samples); leaving it out spares
                // the column kernel a tenth of its work for bior4.4.
                let zero = bank.dec_lo()[m] == 0.0 && bank.dec_hi()[m] == 0.0;
                let mut add = |i: isize| {
                    if !zero && (0..even_len as isize).contains(&i) {
                        out.push((source(i as usize), bank.dec_lo()[m], bank.dec_hi()[m]));
                    }
                };
                add(direct);
                if k < half_filter {
                    add(folded);
                }
            }
        }
        AnalysisTaps { taps }
    }

    /// Applies the taps to vectors: sample `i` of the line is the slice
    /// `input[i*width..(i+1)*width]`; likewise for the outputs. `FUSED`
    /// fuses the multiply-adds.
    #[inline(always)]
    pub fn apply<const FUSED: bool>(&self, input: &[f32], width: usize, lo: &mut [f32], hi: &mut [f32]) {
        for (k, taps) in self.taps.iter().enumerate() {
            let lo_row = &mut lo[k * width..(k + 1) * width];
            let hi_row = &mut hi[k * width..(k + 1) * width];
            let sources = taps
                .iter()
                .map(|&(i, wl, wh)| (&input[i * width..(i + 1) * width], wl, wh));
            accumulate_pair::<FUSED>(sources, lo_row, hi_row);
        }
    }
}

/// Lanes accumulated in registers before one store.
const LANES: usize = 16;

/// `lo[j] = Σ wl·src[j]`, `hi[j] = Σ wh·src[j]` over the `(src, wl, wh)`
/// terms, block by block so that each output is stored once; each
/// multiply-add fused if `FUSED` ([`crate::simd::with_fused_simd`]).
#[inline(always)]
fn accumulate_pair<'a, const FUSED: bool>(
    terms: impl Iterator<Item = (&'a [f32], f32, f32)> + Clone,
    lo: &mut [f32],
    hi: &mut [f32],
) {
    let len = lo.len();
    let full = len - len % LANES;
    for j in (0..full).step_by(LANES) {
        let (mut al, mut ah) = ([0.0f32; LANES], [0.0f32; LANES]);
        for (src, wl, wh) in terms.clone() {
            let x: &[f32; LANES] = src[j..j + LANES].try_into().unwrap();
            for t in 0..LANES {
                al[t] = multiply_add::<FUSED>(wl, x[t], al[t]);
                ah[t] = multiply_add::<FUSED>(wh, x[t], ah[t]);
            }
        }
        lo[j..j + LANES].copy_from_slice(&al);
        hi[j..j + LANES].copy_from_slice(&ah);
    }
    for j in full..len {
        let (mut l, mut h) = (0.0, 0.0);
        for (src, wl, wh) in terms.clone() {
            l = multiply_add::<FUSED>(wl, src[j], l);
            h = multiply_add::<FUSED>(wh, src[j], h);
        }
        lo[j] = l;
        hi[j] = h;
    }
}

/// `out[j] = Σ wl·lo[j] + wh·hi[j]` over the `(lo, hi, wl, wh)` terms.
#[inline(always)]
fn accumulate_merge<'a>(terms: impl Iterator<Item = (&'a [f32], &'a [f32], f32, f32)> + Clone, out: &mut [f32]) {
    let len = out.len();
    let full = len - len % LANES;
    for j in (0..full).step_by(LANES) {
        let mut acc = [0.0f32; LANES];
        for (lo, hi, wl, wh) in terms.clone() {
            let l: &[f32; LANES] = lo[j..j + LANES].try_into().unwrap();
            let h: &[f32; LANES] = hi[j..j + LANES].try_into().unwrap();
            for t in 0..LANES {
                acc[t] += wl * l[t] + wh * h[t];
            }
        }
        out[j..j + LANES].copy_from_slice(&acc);
    }
    for j in full..len {
        out[j] = terms.clone().map(|(lo, hi, wl, wh)| wl * lo[j] + wh * hi[j]).sum();
    }
}

/// For each output sample of a synthesis step: the coefficients it reads and
/// their low- and high-band weights.
#[derive(Clone, Debug)]
pub struct SynthesisTaps {
    /// `taps[i]` lists `(coefficient index, lo weight, hi weight)`.
    taps: Vec<Vec<(usize, f32, f32)>>,
}

impl SynthesisTaps {
    /// Taps for bands of `half` coefficients each (output `2 * half`).
    pub fn new(bank: &FilterBank, half: usize) -> Self {
        let filter_len = bank.len();
        let len = 2 * half;
        // y_full[p] = sum_k lo[k] g0[p - 2k] + hi[k] g1[p - 2k], 0 <= p-2k < L;
        // y[j] = y_full[j] + y_full[len + j] for j < L - 2; out = roll(y, 1 - L/2).
        // Only k with 0 <= p - 2k < L contribute: ceil((p + 1 - L) / 2) <= k
        // <= p / 2, a few per sample (a scan of every k was quadratic in
        // the line length: minutes for an audio block).
        // A tap that weighs both bands zero is left out, as in the analysis.
        let weighs = |t: &usize| bank.rec_lo()[*t] != 0.0 || bank.rec_hi()[*t] != 0.0;
        let full_taps = |p: usize, out: &mut Vec<(usize, f32, f32)>| {
            let first = (p + 1).saturating_sub(filter_len).div_ceil(2);
            for k in first..(p / 2 + 1).min(half) {
                if let Some(t) = p.checked_sub(2 * k).filter(|&t| t < filter_len).filter(weighs) {
                    out.push((k, bank.rec_lo()[t], bank.rec_hi()[t]));
                }
            }
        };
        let rolled = reference_roll(len, 1 - (filter_len / 2) as isize);
        let taps = rolled
            .iter()
            .map(|&j| {
                let mut out = Vec::new();
                full_taps(j, &mut out);
                if j + 2 < filter_len {
                    full_taps(len + j, &mut out);
                }
                out
            })
            .collect();
        SynthesisTaps { taps }
    }

    /// Applies the taps to vectors of `width` values (see [`AnalysisTaps::apply`]).
    #[inline(always)]
    pub fn apply(&self, lo: &[f32], hi: &[f32], width: usize, out: &mut [f32]) {
        for (i, taps) in self.taps.iter().enumerate() {
            let out_row = &mut out[i * width..(i + 1) * width];
            let terms = taps
                .iter()
                .map(|&(k, wl, wh)| (&lo[k * width..(k + 1) * width], &hi[k * width..(k + 1) * width], wl, wh));
            accumulate_merge(terms, out_row);
        }
    }
}

/// Whether the circular fast paths equal the reference for this line length.
pub fn is_circular(bank: &FilterBank, len: usize) -> bool {
    len >= bank.len()
}

/// Fast analysis of one contiguous line of even length `len >= filter length`.
///
/// `lo[k] = sum_m dec_lo[m] x[(2k - m + L/2) mod len]`. The line is split
/// into its even and odd samples, extended circularly, so that every tap is
/// a shifted contiguous slice and the loops vectorise.
pub struct LineAnalyzer {
    even: Vec<f32>,
    odd: Vec<f32>,
    margin: usize,
    /// Per tap: (reads the odd samples, start in the extended array, lo, hi).
    taps: Vec<(bool, usize, f32, f32)>,
}

impl LineAnalyzer {
    /// Scratch space for lines up to `max_len` samples.
    pub fn new(bank: &FilterBank, max_len: usize) -> Self {
        let margin = bank.len();
        let half_filter = (bank.len() / 2) as isize;
        let taps = (0..bank.len())
            .map(|m| {
                // index 2k + (L/2 - m): an even sample when (L/2 - m) is even.
                let shift = half_filter - m as isize;
                let odd = shift.rem_euclid(2) == 1;
                let start = (margin as isize + (shift - shift.rem_euclid(2)) / 2) as usize;
                (odd, start, bank.dec_lo()[m], bank.dec_hi()[m])
            })
            .collect();
        let cap = max_len / 2 + 2 * margin;
        LineAnalyzer {
            even: vec![0.0; cap],
            odd: vec![0.0; cap],
            margin,
            taps,
        }
    }

    /// Analyses `x` (even length, at least the filter length) into `lo`,
    /// `hi` (`FUSED` as for [`AnalysisTaps::apply`]).
    #[inline(always)]
    pub fn run<const FUSED: bool>(&mut self, x: &[f32], lo: &mut [f32], hi: &mut [f32]) {
        let half = x.len() / 2;
        let m = self.margin;
        let ext_len = half + 2 * m;
        if self.even.len() < ext_len {
            self.even.resize(ext_len, 0.0);
            self.odd.resize(ext_len, 0.0);
        }
        // even[e] = x[2(e - margin) mod len], odd[e] = x[2(e - margin) + 1 mod len]
        for (pair, (e, o)) in x
            .chunks_exact(2)
            .zip(self.even[m..m + half].iter_mut().zip(self.odd[m..m + half].iter_mut()))
        {
            *e = pair[0];
            *o = pair[1];
        }
        for e in (0..m).chain(m + half..ext_len) {
            let j = (e as isize - m as isize).rem_euclid(half as isize) as usize;
            self.even[e] = x[2 * j];
            self.odd[e] = x[2 * j + 1];
        }
        let (even, odd) = (&self.even, &self.odd);
        let terms = self.taps.iter().map(|&(is_odd, start, wl, wh)| {
            let source = if is_odd { odd } else { even };
            (&source[start..start + half], wl, wh)
        });
        accumulate_pair::<FUSED>(terms, &mut lo[..half], &mut hi[..half]);
    }
}

/// Fast synthesis of one contiguous line from bands of `half` coefficients,
/// `2 * half >= filter length`.
///
/// `out[i] = sum_k lo[k] rec_lo[t] + hi[k] rec_hi[t]`, `t = (i + L/2 - 1 - 2k) mod len`.
pub struct LineSynthesizer {
    lo: Vec<f32>,
    hi: Vec<f32>,
    even_out: Vec<f32>,
    odd_out: Vec<f32>,
    margin: usize,
    /// Per output parity: (start in the extended arrays, lo weight, hi weight).
    taps: [Vec<(usize, f32, f32)>; 2],
}

impl LineSynthesizer {
    /// Scratch space for lines up to `max_half` coefficients per band.
    pub fn new(bank: &FilterBank, max_half: usize) -> Self {
        let margin = bank.len();
        let filter_len = bank.len() as isize;
        let phase = filter_len / 2 - 1;
        let taps = [0isize, 1].map(|parity| {
            // i = 2p + parity; t = 2(p - k) + parity + phase  =>  k = p - d.
            (0..filter_len)
                .filter(|t| (t - parity - phase).rem_euclid(2) == 0)
                .map(|t| {
                    let d = (t - parity - phase) / 2;
                    (
                        (margin as isize - d) as usize,
                        bank.rec_lo()[t as usize],
                        bank.rec_hi()[t as usize],
                    )
                })
                .collect()
        });
        let cap = max_half + 2 * margin;
        LineSynthesizer {
            lo: vec![0.0; cap],
            hi: vec![0.0; cap],
            even_out: vec![0.0; max_half],
            odd_out: vec![0.0; max_half],
            margin,
            taps,
        }
    }

    /// Synthesises `out` (length `2 * lo.len()`) from `lo` and `hi`.
    #[inline(always)]
    pub fn run(&mut self, lo: &[f32], hi: &[f32], out: &mut [f32]) {
        let half = lo.len();
        let m = self.margin;
        let ext_len = half + 2 * m;
        if self.lo.len() < ext_len {
            self.lo.resize(ext_len, 0.0);
            self.hi.resize(ext_len, 0.0);
        }
        if self.even_out.len() < half {
            self.even_out.resize(half, 0.0);
            self.odd_out.resize(half, 0.0);
        }
        self.lo[m..m + half].copy_from_slice(lo);
        self.hi[m..m + half].copy_from_slice(hi);
        for e in (0..m).chain(m + half..ext_len) {
            let k = (e as isize - m as isize).rem_euclid(half as isize) as usize;
            self.lo[e] = lo[k];
            self.hi[e] = hi[k];
        }
        let (ext_lo, ext_hi) = (&self.lo, &self.hi);
        for (taps, target) in self.taps.iter().zip([&mut self.even_out, &mut self.odd_out]) {
            let terms = taps
                .iter()
                .map(|&(start, gl, gh)| (&ext_lo[start..start + half], &ext_hi[start..start + half], gl, gh));
            accumulate_merge(terms, &mut target[..half]);
        }
        for ((pair, &e), &o) in out[..2 * half]
            .chunks_exact_mut(2)
            .zip(&self.even_out)
            .zip(&self.odd_out)
        {
            pair[0] = e;
            pair[1] = o;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pseudo_random(n: usize, seed: u32) -> Vec<f32> {
        let mut s = seed.wrapping_mul(2654435761).wrapping_add(1);
        (0..n)
            .map(|_| {
                s ^= s << 13;
                s ^= s >> 17;
                s ^= s << 5;
                (s % 2000) as f32 / 1000.0 - 1.0
            })
            .collect()
    }

    #[test]
    fn reference_roll_matches_python_slicing() {
        // torch.cat((x[-n:], x[:-n])) for n = len + shift.
        assert_eq!(reference_roll(6, -5), vec![5, 0, 1, 2, 3, 4]);
        assert_eq!(reference_roll(4, -5), vec![1, 2, 3, 0]);
        // len 2, shift -5: n = -3, x[3:] is empty and x[:3] is all of x.
        assert_eq!(reference_roll(2, -5), vec![0, 1]);
        assert_eq!(reference_roll(8, -4), vec![4, 5, 6, 7, 0, 1, 2, 3]);
    }

    #[test]
    fn fast_paths_equal_reference_taps() {
        for bank in [FilterBank::bior4_4(), FilterBank::bior2_2(), FilterBank::haar()] {
            for len in (bank.len()..64).step_by(2) {
                let x = pseudo_random(len, len as u32);
                let taps = AnalysisTaps::new(&bank, len);
                let (mut lo_a, mut hi_a) = (vec![0.0; len / 2], vec![0.0; len / 2]);
                taps.apply::<false>(&x, 1, &mut lo_a, &mut hi_a);
                let (mut lo_b, mut hi_b) = (vec![0.0; len / 2], vec![0.0; len / 2]);
                LineAnalyzer::new(&bank, len).run::<false>(&x, &mut lo_b, &mut hi_b);
                for (a, b) in lo_a.iter().chain(&hi_a).zip(lo_b.iter().chain(&hi_b)) {
                    assert!((a - b).abs() < 1e-5, "{} analysis len {len}", bank.name());
                }
                let synth = SynthesisTaps::new(&bank, len / 2);
                let mut out_a = vec![0.0; len];
                synth.apply(&lo_a, &hi_a, 1, &mut out_a);
                let mut out_b = vec![0.0; len];
                LineSynthesizer::new(&bank, len / 2).run(&lo_a, &hi_a, &mut out_b);
                for ((a, b), orig) in out_a.iter().zip(&out_b).zip(&x) {
                    assert!((a - b).abs() < 1e-5, "{} synthesis len {len}", bank.name());
                    assert!((a - orig).abs() < 1e-4, "{} reconstruction len {len}", bank.name());
                }
            }
        }
    }
}
