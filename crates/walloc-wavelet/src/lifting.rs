//! The lifting factorization of a filter bank: a few in-place predict and
//! update steps on the even (`s`) and odd (`d`) samples, then a scaling. For
//! bior4.4 (CDF 9/7) that is 4 steps instead of two 10-tap filters, about a
//! quarter of the arithmetic, with the same result to float rounding. Used
//! only where the reference transform is circular (see `line::is_circular`).
//!
//! Samples are rows of `width` values (`width = 1` for a line). The
//! transform uses it for contiguous lines; along columns whole-plane passes
//! stream memory, and the cache-blocked tap kernel is faster (measured:
//! 31 ms against 12.9 ms forward at 1080p), as it is than lifting strips of
//! 16 to 1024 columns at a time in cache (20–29 ms against 16–17.5 ms,
//! docs/benchmarks/manual.md, issue 15's twentieth stop).

use crate::simd::multiply_add;

/// One lifting step.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Step {
    /// `d[n] += c (s[n] + s[n+1])`.
    Predict(f32),
    /// `s[n] += c (d[n-1] + d[n])`.
    Update(f32),
}

/// Lifting steps and output scales of a filter bank.
#[derive(Clone, Debug, PartialEq)]
pub struct Lifting {
    steps: Vec<Step>,
    lo_scale: f32,
    hi_scale: f32,
}

impl Lifting {
    /// The factorization of PyWavelets' `bior4.4` (checked against the
    /// reference taps in the tests): the JPEG 2000 9/7 steps, with scales
    /// `sqrt(2)/K` and `-K/sqrt(2)` for PyWavelets' normalization and signs.
    pub fn bior4_4() -> Self {
        const K: f64 = 1.230_174_104_914_001;
        Lifting {
            steps: vec![
                Step::Predict(-1.586_134_342_059_924_f64 as f32),
                Step::Update(-0.052_980_118_572_961_f64 as f32),
                Step::Predict(0.882_911_075_530_934_f64 as f32),
                Step::Update(0.443_506_852_043_971_f64 as f32),
            ],
            lo_scale: (std::f64::consts::SQRT_2 / K) as f32,
            hi_scale: (-K / std::f64::consts::SQRT_2) as f32,
        }
    }

    /// Analysis in place: `s` holds the even samples and becomes the low
    /// band, `d` the odd samples and becomes the high band; `FUSED` fuses
    /// each step's multiply-add ([`crate::simd::with_fused_simd`]).
    #[inline(always)]
    pub fn forward<const FUSED: bool>(&self, s: &mut [f32], d: &mut [f32], width: usize) {
        for &step in &self.steps {
            apply::<FUSED>(step, s, d, width, 1.0);
        }
        s.iter_mut().for_each(|v| *v *= self.lo_scale);
        d.iter_mut().for_each(|v| *v *= self.hi_scale);
    }

    /// Synthesis in place: the inverse of [`Lifting::forward`].
    #[inline(always)]
    pub fn inverse(&self, s: &mut [f32], d: &mut [f32], width: usize) {
        let (lo, hi) = (1.0 / self.lo_scale, 1.0 / self.hi_scale);
        s.iter_mut().for_each(|v| *v *= lo);
        d.iter_mut().for_each(|v| *v *= hi);
        for &step in self.steps.iter().rev() {
            apply::<false>(step, s, d, width, -1.0);
        }
    }
}

/// One circular step over `n = s.len() / width` rows, with its coefficient
/// multiplied by `sign` (its multiply-add fused if `FUSED`): one flat loop,
/// which vectorizes across samples.
#[inline(always)]
fn apply<const FUSED: bool>(step: Step, s: &mut [f32], d: &mut [f32], width: usize, sign: f32) {
    let last = s.len() - width;
    match step {
        Step::Predict(c) => {
            let c = c * sign;
            // d[n] += c (s[n] + s[n+1]); the last row wraps to s[0].
            for ((dv, &a), &b) in d[..last].iter_mut().zip(&s[..last]).zip(&s[width..]) {
                *dv = multiply_add::<FUSED>(c, a + b, *dv);
            }
            for j in 0..width {
                d[last + j] = multiply_add::<FUSED>(c, s[last + j] + s[j], d[last + j]);
            }
        }
        Step::Update(c) => {
            let c = c * sign;
            // s[n] += c (d[n-1] + d[n]); the first row wraps to d[last].
            for ((sv, &a), &b) in s[width..].iter_mut().zip(&d[..last]).zip(&d[width..]) {
                *sv = multiply_add::<FUSED>(c, a + b, *sv);
            }
            for j in 0..width {
                s[j] = multiply_add::<FUSED>(c, d[last + j] + d[j], s[j]);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::line::{AnalysisTaps, SynthesisTaps};
    use crate::FilterBank;

    #[test]
    fn lifting_equals_reference_taps() {
        let bank = FilterBank::bior4_4();
        let lifting = Lifting::bior4_4();
        for width in [1usize, 3] {
            for len in (10..48).step_by(2) {
                let x: Vec<f32> = (0..len * width)
                    .map(|i| ((i * 7919) % 101) as f32 / 50.0 - 1.0)
                    .collect();
                let half = len / 2;
                let (mut lo, mut hi) = (vec![0.0; half * width], vec![0.0; half * width]);
                AnalysisTaps::new(&bank, len).apply::<false>(&x, width, &mut lo, &mut hi);
                let mut s: Vec<f32> = (0..half)
                    .flat_map(|n| x[2 * n * width..(2 * n + 1) * width].to_vec())
                    .collect();
                let mut d: Vec<f32> = (0..half)
                    .flat_map(|n| x[(2 * n + 1) * width..(2 * n + 2) * width].to_vec())
                    .collect();
                lifting.forward::<false>(&mut s, &mut d, width);
                for (a, b) in s.iter().chain(&d).zip(lo.iter().chain(&hi)) {
                    assert!((a - b).abs() < 2e-6, "analysis len {len} width {width}: {a} vs {b}");
                }
                let mut out = vec![0.0; len * width];
                SynthesisTaps::new(&bank, half).apply(&lo, &hi, width, &mut out);
                lifting.inverse(&mut s, &mut d, width);
                for n in 0..half {
                    for j in 0..width {
                        assert!((s[n * width + j] - out[2 * n * width + j]).abs() < 2e-6);
                        assert!((d[n * width + j] - out[(2 * n + 1) * width + j]).abs() < 2e-6);
                    }
                }
            }
        }
    }
}
