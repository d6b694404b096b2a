//! One analysis or synthesis step along one axis of a single-channel block.

use crate::lifting::Lifting;
use crate::line::{is_circular, AnalysisTaps, LineAnalyzer, LineSynthesizer, SynthesisTaps};
use crate::simd::{with_best_simd, with_fused_simd};
use crate::FilterBank;

/// `(outer, len, inner)`: how a row-major block is seen along `axis`.
fn axis_geometry(shape: &[usize], axis: usize) -> (usize, usize, usize) {
    let outer = shape[..axis].iter().product();
    let inner = shape[axis + 1..].iter().product();
    (outer, shape[axis], inner)
}

/// Filters along one axis of a given length: the reference taps, and the
/// circular fast path for contiguous lines when it applies.
pub struct AxisPlan {
    analysis: Option<AnalysisTaps>,
    synthesis: Option<SynthesisTaps>,
    circular: bool,
    /// The bank's lifting factorization, where the axis is circular (used for
    /// contiguous lines).
    lifting: Option<Lifting>,
}

fn lifting_for(bank: &FilterBank, circular: bool) -> Option<Lifting> {
    (circular && bank.name() == "bior4.4").then(Lifting::bior4_4)
}

thread_local! {
    /// Per-thread scratch for lifting synthesis, kept between calls.
    static LIFT_SCRATCH: std::cell::Cell<(Vec<f32>, Vec<f32>)> =
        const { std::cell::Cell::new((Vec::new(), Vec::new())) };
}

/// [`split`] by lifting: even samples (rows) start as the low band, odd ones
/// as the high band, and are lifted in place.
#[inline(always)]
fn split_lifting<const FUSED: bool>(
    lifting: &Lifting,
    input: &[f32],
    lo: &mut [f32],
    hi: &mut [f32],
    len: usize,
    inner: usize,
) {
    let slab_in = len * inner;
    let slab_out = len / 2 * inner;
    for ((src, lo_slab), hi_slab) in input
        .chunks_exact(slab_in)
        .zip(lo.chunks_exact_mut(slab_out))
        .zip(hi.chunks_exact_mut(slab_out))
    {
        for ((pair, l), h) in src
            .chunks_exact(2 * inner)
            .zip(lo_slab.chunks_exact_mut(inner))
            .zip(hi_slab.chunks_exact_mut(inner))
        {
            l.copy_from_slice(&pair[..inner]);
            h.copy_from_slice(&pair[inner..]);
        }
        lifting.forward::<FUSED>(lo_slab, hi_slab, inner);
    }
}

/// [`merge`] by lifting, through per-thread scratch bands.
#[inline(always)]
fn merge_lifting(lifting: &Lifting, lo: &[f32], hi: &[f32], out: &mut [f32], half: usize, inner: usize) {
    let (mut s, mut d) = LIFT_SCRATCH.with(|c| c.take());
    let slab = half * inner;
    for ((lo_slab, hi_slab), dst) in lo
        .chunks_exact(slab)
        .zip(hi.chunks_exact(slab))
        .zip(out.chunks_exact_mut(2 * slab))
    {
        s.clear();
        s.extend_from_slice(lo_slab);
        d.clear();
        d.extend_from_slice(hi_slab);
        lifting.inverse(&mut s, &mut d, inner);
        for ((pair, l), h) in dst
            .chunks_exact_mut(2 * inner)
            .zip(s.chunks_exact(inner))
            .zip(d.chunks_exact(inner))
        {
            pair[..inner].copy_from_slice(l);
            pair[inner..].copy_from_slice(h);
        }
    }
    LIFT_SCRATCH.with(|c| c.set((s, d)));
}

impl AxisPlan {
    /// Plan for splitting an axis of `len` samples; `contiguous` where the
    /// axis is the last (its lines contiguous), which lifting runs without
    /// the reference taps when it applies (building them for every level of
    /// every call took 3–4 % of encoding an image).
    pub fn analysis(bank: &FilterBank, len: usize, contiguous: bool) -> Self {
        let circular = len.is_multiple_of(2) && is_circular(bank, len);
        let lifting = lifting_for(bank, circular);
        AxisPlan {
            analysis: (!contiguous || lifting.is_none()).then(|| AnalysisTaps::new(bank, len)),
            synthesis: None,
            circular,
            lifting,
        }
    }

    /// Plan for merging two bands of `half` coefficients each (`contiguous`
    /// as for [`AxisPlan::analysis`]).
    pub fn synthesis(bank: &FilterBank, half: usize, contiguous: bool) -> Self {
        let circular = is_circular(bank, 2 * half);
        let lifting = lifting_for(bank, circular);
        AxisPlan {
            analysis: None,
            synthesis: (!contiguous || lifting.is_none()).then(|| SynthesisTaps::new(bank, half)),
            circular,
            lifting,
        }
    }
}

/// Splits `input` (row-major `shape`) along `axis` into a low and a high
/// block written one after the other into `out`; each has `shape[axis]`
/// replaced by `ceil(shape[axis] / 2)`. Its multiply-adds are fused where
/// the CPU fuses them ([`with_fused_simd`]: the transform 12 % faster).
pub fn split(bank: &FilterBank, plan: &AxisPlan, input: &[f32], shape: &[usize], axis: usize, out: &mut [f32]) {
    let (outer, len, inner) = axis_geometry(shape, axis);
    let half = len.div_ceil(2);
    let block = outer * half * inner;
    let (lo, hi) = out[..2 * block].split_at_mut(block);
    let geometry = (outer, len, inner);
    with_fused_simd(
        #[inline(always)]
        |fused| match fused {
            true => split_kernel::<true>(bank, plan, input, geometry, lo, hi),
            false => split_kernel::<false>(bank, plan, input, geometry, lo, hi),
        },
    )
}

/// [`split`] of `input` seen as `(outer, len, inner)`, into `lo` and `hi`.
#[inline(always)]
fn split_kernel<const FUSED: bool>(
    bank: &FilterBank,
    plan: &AxisPlan,
    input: &[f32],
    (outer, len, inner): (usize, usize, usize),
    lo: &mut [f32],
    hi: &mut [f32],
) {
    if let Some(lifting) = plan.lifting.as_ref().filter(|_| inner == 1) {
        return split_lifting::<FUSED>(lifting, &input[..outer * len * inner], lo, hi, len, inner);
    }
    let half = len.div_ceil(2);
    let taps = plan.analysis.as_ref().expect("the taps of a plan without lifting");
    let mut line = (inner == 1 && plan.circular).then(|| LineAnalyzer::new(bank, len));
    for o in 0..outer {
        let src = &input[o * len * inner..(o + 1) * len * inner];
        let lo_slab = &mut lo[o * half * inner..(o + 1) * half * inner];
        let hi_slab = &mut hi[o * half * inner..(o + 1) * half * inner];
        match line.as_mut() {
            Some(analyzer) => analyzer.run::<FUSED>(src, lo_slab, hi_slab),
            None => taps.apply::<FUSED>(src, inner, lo_slab, hi_slab),
        }
    }
}

/// Inverse of [`split`]: `input` holds a low then a high block of row-major
/// `half_shape`; `out` receives `half_shape` with `axis` doubled.
pub fn merge(bank: &FilterBank, plan: &AxisPlan, input: &[f32], half_shape: &[usize], axis: usize, out: &mut [f32]) {
    let (outer, half, inner) = axis_geometry(half_shape, axis);
    let block = outer * half * inner;
    let (lo, hi) = input[..2 * block].split_at(block);
    let len = 2 * half;
    with_best_simd(
        #[inline(always)]
        || {
            if let Some(lifting) = plan.lifting.as_ref().filter(|_| inner == 1) {
                return merge_lifting(lifting, lo, hi, &mut out[..outer * len * inner], half, inner);
            }
            let taps = plan.synthesis.as_ref().expect("the taps of a plan without lifting");
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fused_and_unfused_splits_agree_to_rounding() {
        let bank = FilterBank::bior4_4();
        let shape = [24usize, 40];
        let input: Vec<f32> = (0..shape[0] * shape[1])
            .map(|i| ((i * 7919) % 101) as f32 / 50.0 - 1.0)
            .collect();
        // Rows (lifting) and columns (taps).
        for axis in [1usize, 0] {
            let plan = AxisPlan::analysis(&bank, shape[axis], axis == 1);
            let (outer, len, inner) = axis_geometry(&shape, axis);
            let block = outer * len.div_ceil(2) * inner;
            let mut fused = vec![0.0f32; 2 * block];
            let mut unfused = vec![0.0f32; 2 * block];
            let (lo, hi) = fused.split_at_mut(block);
            split_kernel::<true>(&bank, &plan, &input, (outer, len, inner), lo, hi);
            let (lo, hi) = unfused.split_at_mut(block);
            split_kernel::<false>(&bank, &plan, &input, (outer, len, inner), lo, hi);
            let worst = fused
                .iter()
                .zip(&unfused)
                .map(|(a, b)| (a - b).abs())
                .fold(0.0, f32::max);
            assert!(worst < 1e-5, "axis {axis}: {worst}");
            // The fused kernel does round differently: it is the one running.
            assert!(fused != unfused, "axis {axis}: no sum rounded differently");
        }
    }
}
