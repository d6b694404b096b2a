//! The wavelet packet transform: every channel is split again at each level.

use rayon::prelude::*;

use crate::axis::{merge, split, AxisPlan};
use crate::{FilterBank, Signal, WaveletError};

/// Largest number of spatial dimensions supported.
pub const MAX_DIMS: usize = 3;

thread_local! {
    /// Per-thread scratch buffers, kept between calls to spare page faults.
    static SCRATCH: std::cell::Cell<(Vec<f32>, Vec<f32>)> = const { std::cell::Cell::new((Vec::new(), Vec::new())) };
}

fn take_scratch() -> (Vec<f32>, Vec<f32>) {
    SCRATCH.with(|s| s.take())
}

fn return_scratch(a: Vec<f32>, b: Vec<f32>) {
    SCRATCH.with(|s| s.set((a, b)));
}

fn check_signal(signal: &Signal) -> Result<(), WaveletError> {
    let dims = signal.shape.len();
    if !(1..=MAX_DIMS).contains(&dims) {
        return Err(WaveletError::UnsupportedDims(dims));
    }
    if signal.channels == 0 || signal.shape.contains(&0) {
        return Err(WaveletError::EmptySignal);
    }
    let expected = signal.channels * signal.shape.iter().product::<usize>();
    if signal.data.len() != expected {
        return Err(WaveletError::LengthMismatch {
            expected,
            actual: signal.data.len(),
        });
    }
    Ok(())
}

/// tft's 3D packet order: `ll = y[:, :C]` takes the first `C` channels of
/// the standard order as the low bands. Returns, for each standard index,
/// the output channel it moves to (`channels` is C, before the level).
fn tft_3d_destination(standard: usize, channels: usize) -> usize {
    if standard < channels {
        8 * standard
    } else {
        let rest = standard - channels;
        8 * (rest / 7) + rest % 7 + 1
    }
}

fn permute_channels(data: &[f32], block: usize, destination: impl Fn(usize) -> usize) -> Vec<f32> {
    let mut out = vec![0.0; data.len()];
    for (src, chunk) in data.chunks_exact(block).enumerate() {
        let dst = destination(src);
        out[dst * block..(dst + 1) * block].copy_from_slice(chunk);
    }
    out
}

/// Runs `steps` filtering steps from `src` (or, in place, from `dst`'s own
/// contents) to `dst`, ping-ponging between two per-thread scratch buffers.
/// `size(step)` is the output length of a step; `step_fn(step, input,
/// output)` does the work.
fn run_steps(
    steps: usize,
    size: impl Fn(usize) -> usize,
    src: Option<&[f32]>,
    dst: &mut [f32],
    step_fn: impl Fn(usize, &[f32], &mut [f32]),
) {
    let (mut prev, mut next) = take_scratch();
    if src.is_none() && steps == 1 {
        // The only step both reads and writes `dst`: read a copy.
        prev.clear();
        prev.extend_from_slice(dst);
    }
    for step in 0..steps {
        let last = step + 1 == steps;
        if !last {
            next.resize(size(step), 0.0);
        }
        match (step == 0, last) {
            (true, false) => step_fn(step, src.unwrap_or(&*dst), &mut next),
            (true, true) => step_fn(step, src.unwrap_or(&prev), dst),
            (false, false) => step_fn(step, &prev, &mut next),
            (false, true) => step_fn(step, &prev, dst),
        }
        std::mem::swap(&mut prev, &mut next);
    }
    return_scratch(prev, next);
}

/// What one level of analysis does with an input channel.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Work {
    /// Split it into its bands.
    Split,
    /// No band of it is needed: its bands come out zero.
    Zero,
    /// Not needed, and zero already (its parent was not needed).
    AlreadyZero,
}

/// One level of analysis: `C` channels of `shape` become `C * 2^D` channels
/// of `ceil(shape / 2)`, ordered as the reference orders them: channel
/// `c * 2^D + f`, with the bands of the last axis most significant in `f`
/// (2D: `f = 2 * w + h`, so f1 is high along H, f2 high along W).
pub fn analysis_level(bank: &FilterBank, signal: &Signal) -> Result<Signal, WaveletError> {
    analysis_level_owned(bank, signal.clone(), None)
}

/// [`analysis_level`] consuming its input: when every axis is even each
/// channel's bands take exactly the place of the channel, and the level runs
/// in place (no new buffer, no page faults on large signals).
/// `work`, where given, says what to do with each input channel (all are
/// split without it).
fn analysis_level_owned(bank: &FilterBank, signal: Signal, work: Option<&[Work]>) -> Result<Signal, WaveletError> {
    check_signal(&signal)?;
    let dims = signal.shape.len();
    let bands = 1usize << dims;
    let in_size = signal.plane_len();
    // Shapes after splitting axes D-1, D-2, ..., 0 in turn.
    let mut shapes = vec![signal.shape.clone()];
    let mut plans = Vec::with_capacity(dims);
    for axis in (0..dims).rev() {
        let mut next = shapes.last().unwrap().clone();
        plans.push(AxisPlan::analysis(bank, next[axis], axis + 1 == dims));
        next[axis] = next[axis].div_ceil(2);
        shapes.push(next);
    }
    let out_shape = shapes.last().unwrap().clone();
    let out_size: usize = out_shape.iter().product();
    let step_fn = |step: usize, input: &[f32], output: &mut [f32]| {
        let (shape, axis) = (&shapes[step], dims - 1 - step);
        let (block_in, block_out) = (
            shapes[step].iter().product::<usize>(),
            shapes[step + 1].iter().product::<usize>(),
        );
        for (b, out) in output.chunks_exact_mut(2 * block_out).enumerate() {
            split(
                bank,
                &plans[step],
                &input[b * block_in..(b + 1) * block_in],
                shape,
                axis,
                out,
            );
        }
    };
    let size = |step: usize| (2usize << step) * shapes[step + 1].iter().product::<usize>();
    let mut data = signal.data;
    let work = |c: usize| work.map_or(Work::Split, |work| work[c]);
    if bands * out_size == in_size {
        data.par_chunks_mut(in_size)
            .enumerate()
            .for_each(|(c, plane)| match work(c) {
                Work::Split => run_steps(dims, size, None, plane, step_fn),
                Work::Zero => plane.fill(0.0),
                Work::AlreadyZero => {}
            });
    } else {
        let mut out = vec![0.0f32; signal.channels * bands * out_size];
        out.par_chunks_mut(bands * out_size)
            .zip(data.par_chunks(in_size))
            .enumerate()
            .filter(|&(c, _)| work(c) == Work::Split)
            .for_each(|(_, (dst, src))| run_steps(dims, size, Some(src), dst, step_fn));
        data = out;
    }
    if dims == 3 {
        data = permute_channels(&data, out_size, |s| tft_3d_destination(s, signal.channels));
    }
    Ok(Signal {
        data,
        channels: signal.channels * bands,
        shape: out_shape,
    })
}

/// One level of synthesis, the inverse of [`analysis_level`]: `C * 2^D`
/// channels of `shape` become `C` channels of `2 * shape`.
pub fn synthesis_level(bank: &FilterBank, signal: &Signal) -> Result<Signal, WaveletError> {
    synthesis_level_owned(bank, signal.clone())
}

/// [`synthesis_level`] consuming its input, in place: the `2^D` bands of a
/// channel occupy exactly the channel's place in the output.
fn synthesis_level_owned(bank: &FilterBank, signal: Signal) -> Result<Signal, WaveletError> {
    check_signal(&signal)?;
    let dims = signal.shape.len();
    let bands = 1usize << dims;
    if !signal.channels.is_multiple_of(bands) {
        return Err(WaveletError::ChannelsNotDivisible {
            channels: signal.channels,
            bands,
        });
    }
    let channels = signal.channels / bands;
    let block = signal.plane_len();
    let mut data = if dims == 3 {
        let position: Vec<usize> = (0..signal.channels).map(|s| tft_3d_destination(s, channels)).collect();
        let mut inverse = vec![0; signal.channels];
        for (s, &o) in position.iter().enumerate() {
            inverse[o] = s;
        }
        permute_channels(&signal.data, block, |o| inverse[o])
    } else {
        signal.data
    };
    // Merge along axes 0, 1, ..., D-1: the last split is undone first.
    let mut shapes = vec![signal.shape.clone()];
    let mut plans = Vec::with_capacity(dims);
    for axis in 0..dims {
        let mut next = shapes.last().unwrap().clone();
        plans.push(AxisPlan::synthesis(bank, next[axis], axis + 1 == dims));
        next[axis] *= 2;
        shapes.push(next);
    }
    let out_shape = shapes.last().unwrap().clone();
    let step_fn = |axis: usize, input: &[f32], output: &mut [f32]| {
        let (block_in, block_out) = (
            shapes[axis].iter().product::<usize>(),
            shapes[axis + 1].iter().product::<usize>(),
        );
        for (b, out) in output.chunks_exact_mut(block_out).enumerate() {
            let pair = &input[2 * b * block_in..2 * (b + 1) * block_in];
            merge(bank, &plans[axis], pair, &shapes[axis], axis, out);
        }
    };
    let size = |axis: usize| (bands >> (axis + 1)) * shapes[axis + 1].iter().product::<usize>();
    data.par_chunks_mut(bands * block)
        .for_each(|group| run_steps(dims, size, None, group, step_fn));
    Ok(Signal {
        data,
        channels,
        shape: out_shape,
    })
}

/// Applies `level` `levels` times.
fn repeat_levels(
    signal: Signal,
    levels: u32,
    level: impl Fn(Signal) -> Result<Signal, WaveletError>,
) -> Result<Signal, WaveletError> {
    check_signal(&signal)?;
    (0..levels).try_fold(signal, |s, _| level(s))
}

/// `levels` levels of [`analysis_level`].
pub fn forward(bank: &FilterBank, signal: Signal, levels: u32) -> Result<Signal, WaveletError> {
    repeat_levels(signal, levels, |s| analysis_level_owned(bank, s, None))
}

/// [`forward`], computing only the output channels that `needed` marks
/// (one entry an output channel): a band none of whose descendants is
/// needed is not split further, and its descendants come out zero. The
/// needed channels are exactly [`forward`]'s. A projection that reads few of
/// the bands (a strong dimensionality reduction reads mostly the low ones)
/// is spared the rest of the transform. 3-D signals, whose levels reorder
/// the channels, are transformed whole.
pub fn forward_needed(bank: &FilterBank, signal: Signal, levels: u32, needed: &[bool]) -> Result<Signal, WaveletError> {
    check_signal(&signal)?;
    let dims = signal.shape.len();
    let bands = 1usize << dims;
    let outputs = signal.channels * bands.pow(levels);
    if needed.len() != outputs {
        return Err(WaveletError::NeededMismatch {
            expected: outputs,
            actual: needed.len(),
        });
    }
    if dims == 3 || needed.iter().all(|&n| n) {
        return forward(bank, signal, levels);
    }
    // Output channels under one channel of level `level`'s input.
    let span = |level: u32| bands.pow(levels - level);
    let any_needed = |level: u32, c: usize| needed[c * span(level)..(c + 1) * span(level)].contains(&true);
    (0..levels).try_fold(signal, |signal, level| {
        let work: Vec<Work> = (0..signal.channels)
            .map(
                |c| match (any_needed(level, c), level > 0 && !any_needed(level - 1, c / bands)) {
                    (true, _) => Work::Split,
                    (false, false) => Work::Zero,
                    (false, true) => Work::AlreadyZero,
                },
            )
            .collect();
        analysis_level_owned(bank, signal, Some(&work))
    })
}

/// `levels` levels of [`synthesis_level`], the inverse of [`forward`] for
/// lengths divisible by `2^levels`.
pub fn inverse(bank: &FilterBank, signal: Signal, levels: u32) -> Result<Signal, WaveletError> {
    repeat_levels(signal, levels, |s| synthesis_level_owned(bank, s))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn needed_channels_are_the_whole_transform_s_and_the_rest_zero() {
        let bank = FilterBank::bior4_4();
        for (channels, shape, levels) in [
            (2usize, vec![32usize, 48], 2u32),
            (1, vec![24, 40], 3),
            (3, vec![96], 3),
        ] {
            let len = channels * shape.iter().product::<usize>();
            let data: Vec<f32> = (0..len).map(|i| ((i * 7919) % 101) as f32 / 50.0 - 1.0).collect();
            let signal = Signal::new(data, channels, shape.clone()).unwrap();
            let whole = forward(&bank, signal.clone(), levels).unwrap();
            let outputs = whole.channels;
            // One channel in eight, and the first quarter.
            let needed: Vec<bool> = (0..outputs).map(|c| c % 8 == 1 || c < outputs / 4).collect();
            let some = forward_needed(&bank, signal.clone(), levels, &needed).unwrap();
            assert_eq!((some.channels, &some.shape), (outputs, &whole.shape));
            let bands = 1 << shape.len();
            let mut zero = 0;
            for c in 0..outputs {
                // Bands of a split band are all made; those of one with no
                // needed band are zero.
                let split = needed[c / bands * bands..(c / bands + 1) * bands].contains(&true);
                let expected: Vec<f32> = if split {
                    whole.plane(c).to_vec()
                } else {
                    vec![0.0; whole.plane_len()]
                };
                assert_eq!(some.plane(c), &expected[..], "channel {c} of {shape:?}");
                zero += usize::from(!split);
            }
            assert!(zero >= outputs / 4, "{zero} of {outputs} channels left out");
            assert_eq!(
                forward_needed(&bank, signal.clone(), levels, &vec![true; outputs]).unwrap(),
                whole
            );
            assert_eq!(
                forward_needed(&bank, signal, levels, &needed[1..]),
                Err(WaveletError::NeededMismatch {
                    expected: outputs,
                    actual: outputs - 1
                })
            );
        }
    }

    #[test]
    fn tft_3d_order_is_a_permutation() {
        for c in 1..5 {
            let mut seen = vec![false; 8 * c];
            for s in 0..8 * c {
                seen[tft_3d_destination(s, c)] = true;
            }
            assert!(seen.iter().all(|&x| x));
        }
        // One channel: the standard order is kept.
        assert!((0..8).all(|s| tft_3d_destination(s, 1) == s));
        // Two channels: y[1] (channel 0, band 1) is taken as channel 1's low band.
        assert_eq!(tft_3d_destination(1, 2), 8);
        assert_eq!(tft_3d_destination(2, 2), 1);
    }
}
