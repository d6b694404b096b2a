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

/// One level of analysis: `C` channels of `shape` become `C * 2^D` channels
/// of `ceil(shape / 2)`, ordered as the reference orders them: channel
/// `c * 2^D + f`, with the bands of the last axis most significant in `f`
/// (2D: `f = 2 * w + h`, so f1 is high along H, f2 high along W).
pub fn analysis_level(bank: &FilterBank, signal: &Signal) -> Result<Signal, WaveletError> {
    analysis_level_into(bank, signal, Vec::new())
}

/// [`analysis_level`] writing into `buffer` (reused, not zeroed: every
/// value is overwritten), which saves page faults on large signals.
fn analysis_level_into(bank: &FilterBank, signal: &Signal, buffer: Vec<f32>) -> Result<Signal, WaveletError> {
    check_signal(signal)?;
    let dims = signal.shape.len();
    let bands = 1usize << dims;
    let in_size: usize = signal.shape.iter().product();
    // Shapes after splitting axes D-1, D-2, ..., 0 in turn.
    let mut shapes = vec![signal.shape.clone()];
    let mut plans = Vec::with_capacity(dims);
    for axis in (0..dims).rev() {
        let mut next = shapes.last().unwrap().clone();
        plans.push(AxisPlan::analysis(bank, next[axis]));
        next[axis] = next[axis].div_ceil(2);
        shapes.push(next);
    }
    let out_shape = shapes.last().unwrap().clone();
    let out_size: usize = out_shape.iter().product();
    let mut out = buffer;
    out.resize(signal.channels * bands * out_size, 0.0);
    out.par_chunks_mut(bands * out_size)
        .zip(signal.data.par_chunks(in_size))
        .for_each(|(dst, src)| {
            // Ping-pong between two scratch buffers; the last step writes `dst`.
            let (mut prev, mut next) = take_scratch();
            for (step, axis) in (0..dims).rev().enumerate() {
                let (shape, blocks) = (&shapes[step], 1usize << step);
                let block_in: usize = shape.iter().product();
                let block_out: usize = shapes[step + 1].iter().product();
                let input: &[f32] = if step == 0 { src } else { &prev };
                let target: &mut [f32] = if step + 1 == dims {
                    &mut *dst
                } else {
                    next.resize(2 * blocks * block_out, 0.0);
                    &mut next
                };
                for (b, out) in target.chunks_exact_mut(2 * block_out).enumerate() {
                    split(
                        bank,
                        &plans[step],
                        &input[b * block_in..(b + 1) * block_in],
                        shape,
                        axis,
                        out,
                    );
                }
                std::mem::swap(&mut prev, &mut next);
            }
            return_scratch(prev, next);
        });
    if dims == 3 {
        out = permute_channels(&out, out_size, |s| tft_3d_destination(s, signal.channels));
    }
    Ok(Signal {
        data: out,
        channels: signal.channels * bands,
        shape: out_shape,
    })
}

/// One level of synthesis, the inverse of [`analysis_level`]: `C * 2^D`
/// channels of `shape` become `C` channels of `2 * shape`.
pub fn synthesis_level(bank: &FilterBank, signal: &Signal) -> Result<Signal, WaveletError> {
    synthesis_level_into(bank, signal, Vec::new())
}

/// [`synthesis_level`] writing into `buffer` (see [`analysis_level_into`]).
fn synthesis_level_into(bank: &FilterBank, signal: &Signal, buffer: Vec<f32>) -> Result<Signal, WaveletError> {
    check_signal(signal)?;
    let dims = signal.shape.len();
    let bands = 1usize << dims;
    if !signal.channels.is_multiple_of(bands) {
        return Err(WaveletError::ChannelsNotDivisible {
            channels: signal.channels,
            bands,
        });
    }
    let channels = signal.channels / bands;
    let block: usize = signal.shape.iter().product();
    let standard = if dims == 3 {
        let position: Vec<usize> = (0..signal.channels).map(|s| tft_3d_destination(s, channels)).collect();
        let mut inverse = vec![0; signal.channels];
        for (s, &o) in position.iter().enumerate() {
            inverse[o] = s;
        }
        permute_channels(&signal.data, block, |o| inverse[o])
    } else {
        signal.data.clone()
    };
    // Merge along axes 0, 1, ..., D-1: the last split is undone first.
    let mut shapes = vec![signal.shape.clone()];
    let mut plans = Vec::with_capacity(dims);
    for axis in 0..dims {
        let mut next = shapes.last().unwrap().clone();
        plans.push(AxisPlan::synthesis(bank, next[axis]));
        next[axis] *= 2;
        shapes.push(next);
    }
    let out_shape = shapes.last().unwrap().clone();
    let out_size: usize = out_shape.iter().product();
    let mut out = buffer;
    out.resize(channels * out_size, 0.0);
    out.par_chunks_mut(out_size)
        .zip(standard.par_chunks(bands * block))
        .for_each(|(dst, src)| {
            let (mut prev, mut next) = take_scratch();
            for axis in 0..dims {
                let shape = &shapes[axis];
                let blocks = bands >> (axis + 1);
                let block_in: usize = shape.iter().product();
                let block_out: usize = shapes[axis + 1].iter().product();
                let input: &[f32] = if axis == 0 { src } else { &prev };
                let target: &mut [f32] = if axis + 1 == dims {
                    &mut *dst
                } else {
                    next.resize(blocks * block_out, 0.0);
                    &mut next
                };
                for (b, out) in target.chunks_exact_mut(block_out).enumerate() {
                    merge(
                        bank,
                        &plans[axis],
                        &input[2 * b * block_in..2 * (b + 1) * block_in],
                        shape,
                        axis,
                        out,
                    );
                }
                std::mem::swap(&mut prev, &mut next);
            }
            return_scratch(prev, next);
        });
    Ok(Signal {
        data: out,
        channels,
        shape: out_shape,
    })
}

/// Applies `level` `levels` times, handing each level the previous level's
/// input buffer to write into.
fn repeat_levels(
    signal: Signal,
    levels: u32,
    level: impl Fn(&Signal, Vec<f32>) -> Result<Signal, WaveletError>,
) -> Result<Signal, WaveletError> {
    check_signal(&signal)?;
    let mut current = signal;
    let mut spare = Vec::new();
    for _ in 0..levels {
        let next = level(&current, std::mem::take(&mut spare))?;
        spare = std::mem::replace(&mut current, next).data;
    }
    Ok(current)
}

/// `levels` levels of [`analysis_level`].
pub fn forward(bank: &FilterBank, signal: Signal, levels: u32) -> Result<Signal, WaveletError> {
    repeat_levels(signal, levels, |s, buffer| analysis_level_into(bank, s, buffer))
}

/// `levels` levels of [`synthesis_level`], the inverse of [`forward`] for
/// lengths divisible by `2^levels`.
pub fn inverse(bank: &FilterBank, signal: Signal, levels: u32) -> Result<Signal, WaveletError> {
    repeat_levels(signal, levels, |s, buffer| synthesis_level_into(bank, s, buffer))
}

#[cfg(test)]
mod tests {
    use super::*;

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
