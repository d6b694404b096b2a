//! The wavelet packet transform: every channel is split again at each level.

use rayon::prelude::*;

use crate::axis::{merge, split, AxisPlan};
use crate::{FilterBank, Signal, WaveletError};

/// Largest number of spatial dimensions supported.
pub const MAX_DIMS: usize = 3;

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
    let mut out = vec![0.0f32; signal.channels * bands * out_size];
    out.par_chunks_mut(bands * out_size)
        .zip(signal.data.par_chunks(in_size))
        .for_each(|(dst, src)| {
            let mut current = src.to_vec();
            let mut blocks = 1;
            for (step, axis) in (0..dims).rev().enumerate() {
                let (shape, next_shape) = (&shapes[step], &shapes[step + 1]);
                let block_in: usize = shape.iter().product();
                let block_out: usize = next_shape.iter().product();
                let mut next = vec![0.0f32; 2 * blocks * block_out];
                for b in 0..blocks {
                    split(
                        bank,
                        &plans[step],
                        &current[b * block_in..(b + 1) * block_in],
                        shape,
                        axis,
                        &mut next[2 * b * block_out..2 * (b + 1) * block_out],
                    );
                }
                current = next;
                blocks *= 2;
            }
            dst.copy_from_slice(&current);
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
    check_signal(signal)?;
    let dims = signal.shape.len();
    let bands = 1usize << dims;
    if signal.channels % bands != 0 {
        return Err(WaveletError::ChannelsNotDivisible {
            channels: signal.channels,
            bands,
        });
    }
    let channels = signal.channels / bands;
    let block: usize = signal.shape.iter().product();
    let standard = if dims == 3 {
        let position: Vec<usize> = (0..signal.channels)
            .map(|s| tft_3d_destination(s, channels))
            .collect();
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
    let mut out = vec![0.0f32; channels * out_size];
    out.par_chunks_mut(out_size)
        .zip(standard.par_chunks(bands * block))
        .for_each(|(dst, src)| {
            let mut current = src.to_vec();
            let mut blocks = bands;
            for axis in 0..dims {
                let (shape, next_shape) = (&shapes[axis], &shapes[axis + 1]);
                let block_in: usize = shape.iter().product();
                let block_out: usize = next_shape.iter().product();
                blocks /= 2;
                let mut next = vec![0.0f32; blocks * block_out];
                for b in 0..blocks {
                    merge(
                        bank,
                        &plans[axis],
                        &current[2 * b * block_in..2 * (b + 1) * block_in],
                        shape,
                        axis,
                        &mut next[b * block_out..(b + 1) * block_out],
                    );
                }
                current = next;
            }
            dst.copy_from_slice(&current);
        });
    Ok(Signal {
        data: out,
        channels,
        shape: out_shape,
    })
}

/// `levels` levels of [`analysis_level`].
pub fn forward(bank: &FilterBank, signal: Signal, levels: u32) -> Result<Signal, WaveletError> {
    check_signal(&signal)?;
    (0..levels).try_fold(signal, |s, _| analysis_level(bank, &s))
}

/// `levels` levels of [`synthesis_level`], the inverse of [`forward`] for
/// lengths divisible by `2^levels`.
pub fn inverse(bank: &FilterBank, signal: Signal, levels: u32) -> Result<Signal, WaveletError> {
    check_signal(&signal)?;
    (0..levels).try_fold(signal, |s, _| synthesis_level(bank, &s))
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
