//! One analysis or synthesis step along one axis of a single-channel block.

use crate::line::{is_circular, AnalysisTaps, LineAnalyzer, LineSynthesizer, SynthesisTaps};
use crate::FilterBank;

/// `(outer, len, inner)`: how a row-major block is seen along `axis`.
fn axis_geometry(shape: &[usize], axis: usize) -> (usize, usize, usize) {
    let outer = shape[..axis].iter().product();
    let inner = shape[axis + 1..].iter().product();
    (outer, shape[axis], inner)
}

/// Runs `kernel` compiled for AVX2 when the CPU has it (the same code,
/// eight lanes wide), else for the baseline target.
#[inline(always)]
fn with_best_simd<R>(kernel: impl FnOnce() -> R) -> R {
    #[cfg(target_arch = "x86_64")]
    {
        #[target_feature(enable = "avx2")]
        fn avx2<R>(kernel: impl FnOnce() -> R) -> R {
            kernel()
        }
        if std::arch::is_x86_feature_detected!("avx2") {
            // SAFETY: the CPU supports AVX2, checked just above.
            return unsafe { avx2(kernel) };
        }
    }
    kernel()
}

/// Filters along one axis of a given length: the reference taps, and the
/// circular fast path for contiguous lines when it applies.
pub struct AxisPlan {
    analysis: Option<AnalysisTaps>,
    synthesis: Option<SynthesisTaps>,
    circular: bool,
}

impl AxisPlan {
    /// Plan for splitting an axis of `len` samples.
    pub fn analysis(bank: &FilterBank, len: usize) -> Self {
        AxisPlan {
            analysis: Some(AnalysisTaps::new(bank, len)),
            synthesis: None,
            circular: len.is_multiple_of(2) && is_circular(bank, len),
        }
    }

    /// Plan for merging two bands of `half` coefficients each.
    pub fn synthesis(bank: &FilterBank, half: usize) -> Self {
        AxisPlan {
            analysis: None,
            synthesis: Some(SynthesisTaps::new(bank, half)),
            circular: is_circular(bank, 2 * half),
        }
    }
}

/// Splits `input` (row-major `shape`) along `axis` into a low and a high
/// block written one after the other into `out`; each has `shape[axis]`
/// replaced by `ceil(shape[axis] / 2)`.
pub fn split(bank: &FilterBank, plan: &AxisPlan, input: &[f32], shape: &[usize], axis: usize, out: &mut [f32]) {
    let taps = plan.analysis.as_ref().expect("an analysis plan");
    let (outer, len, inner) = axis_geometry(shape, axis);
    let half = taps.output_len();
    let block = outer * half * inner;
    let (lo, hi) = out[..2 * block].split_at_mut(block);
    with_best_simd(
        #[inline(always)]
        || {
            let mut line = (inner == 1 && plan.circular).then(|| LineAnalyzer::new(bank, len));
            for o in 0..outer {
                let src = &input[o * len * inner..(o + 1) * len * inner];
                let lo_slab = &mut lo[o * half * inner..(o + 1) * half * inner];
                let hi_slab = &mut hi[o * half * inner..(o + 1) * half * inner];
                match line.as_mut() {
                    Some(analyzer) => analyzer.run(src, lo_slab, hi_slab),
                    None => taps.apply(src, inner, lo_slab, hi_slab),
                }
            }
        },
    )
}

/// Inverse of [`split`]: `input` holds a low then a high block of row-major
/// `half_shape`; `out` receives `half_shape` with `axis` doubled.
pub fn merge(bank: &FilterBank, plan: &AxisPlan, input: &[f32], half_shape: &[usize], axis: usize, out: &mut [f32]) {
    let taps = plan.synthesis.as_ref().expect("a synthesis plan");
    let (outer, half, inner) = axis_geometry(half_shape, axis);
    let block = outer * half * inner;
    let (lo, hi) = input[..2 * block].split_at(block);
    let len = 2 * half;
    with_best_simd(
        #[inline(always)]
        || {
            let mut line = (inner == 1 && plan.circular).then(|| LineSynthesizer::new(bank, half));
            for o in 0..outer {
                let lo_slab = &lo[o * half * inner..(o + 1) * half * inner];
                let hi_slab = &hi[o * half * inner..(o + 1) * half * inner];
                let dst = &mut out[o * len * inner..(o + 1) * len * inner];
                match line.as_mut() {
                    Some(synth) => synth.run(lo_slab, hi_slab, dst),
                    None => taps.apply(lo_slab, hi_slab, inner, dst),
                }
            }
        },
    )
}
