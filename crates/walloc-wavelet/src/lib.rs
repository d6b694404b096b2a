#![warn(missing_docs)]
//! Wavelet and wavelet packet transforms for WaLLoC.
//!
//! Forward and inverse discrete wavelet transforms with periodization, and
//! the J-level packet transform that WaLLoC uses to trade spatial size for
//! channels, in 1, 2 and 3 dimensions with any number of channels. The
//! output is identical (to float rounding) to the reference implementation:
//! pytorch_wavelets' layout for 1D and 2D, tft's for 3D, including the
//! single fold at short lengths and the repeated last sample of odd lengths.
//! Like the reference, the transform is perfectly invertible when every
//! axis is at least as long as the filter at every level (10 for bior4.4);
//! shorter axes are folded once, as the reference folds them.
//!
//! Hand-written rather than taken from a crate: no Rust crate implements the
//! reference's exact periodization and channel order, and this transform is
//! the hot loop of the encoder.
//!
//! ```
//! use walloc_wavelet::{FilterBank, Signal, packet};
//! let bank = FilterBank::bior4_4();
//! let image = Signal::new(vec![0.25; 3 * 40 * 40], 3, vec![40, 40]).unwrap();
//! let coeffs = packet::forward(&bank, image.clone(), 2).unwrap();
//! assert_eq!((coeffs.channels, coeffs.shape.as_slice()), (48, &[10, 10][..]));
//! let back = packet::inverse(&bank, coeffs, 2).unwrap();
//! assert!(back.data.iter().zip(&image.data).all(|(a, b)| (a - b).abs() < 1e-5));
//! ```

mod axis;
mod filters;
mod lifting;
mod line;
pub mod packet;
pub mod simd;

pub use filters::FilterBank;

/// Errors from the transforms.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[non_exhaustive]
pub enum WaveletError {
    /// Only 1, 2 or 3 spatial dimensions are supported.
    #[error("{0} spatial dimensions: only 1, 2 or 3 are supported")]
    UnsupportedDims(usize),
    /// A signal with no channels or a zero-length axis.
    #[error("empty signal: every axis and the channel count must be at least 1")]
    EmptySignal,
    /// The data length does not match channels × shape.
    #[error("signal data has {actual} values but channels × shape needs {expected}")]
    LengthMismatch {
        /// Values the shape implies.
        expected: usize,
        /// Values present.
        actual: usize,
    },
    /// A mask of needed output channels of the wrong length.
    #[error("a mask of {actual} needed channels for a transform of {expected} output channels")]
    NeededMismatch {
        /// Output channels of the transform.
        expected: usize,
        /// Entries of the mask.
        actual: usize,
    },
    /// Synthesis needs a multiple of 2^D channels.
    #[error("{channels} channels is not a multiple of the {bands} bands of one level")]
    ChannelsNotDivisible {
        /// Channels present.
        channels: usize,
        /// Bands per level (2^D).
        bands: usize,
    },
}

/// A multi-channel signal: `channels` planes of row-major `shape`, one after
/// the other (`[C, d0, d1, ...]`, as a PyTorch tensor without the batch).
#[derive(Clone, Debug, PartialEq)]
pub struct Signal {
    /// `channels * shape.product()` samples.
    pub data: Vec<f32>,
    /// Number of channels.
    pub channels: usize,
    /// Spatial shape: `[len]`, `[h, w]` or `[d, h, w]`.
    pub shape: Vec<usize>,
}

impl Signal {
    /// Wraps `data`, checking that its length is `channels * shape.product()`.
    pub fn new(data: Vec<f32>, channels: usize, shape: Vec<usize>) -> Result<Self, WaveletError> {
        let expected = channels * shape.iter().product::<usize>();
        if data.len() != expected {
            return Err(WaveletError::LengthMismatch {
                expected,
                actual: data.len(),
            });
        }
        Ok(Signal { data, channels, shape })
    }

    /// Samples per channel.
    pub fn plane_len(&self) -> usize {
        self.shape.iter().product()
    }

    /// Channel `c`'s samples.
    pub fn plane(&self, c: usize) -> &[f32] {
        let n = self.plane_len();
        &self.data[c * n..(c + 1) * n]
    }

    /// Channel `c`'s samples, mutably.
    pub fn plane_mut(&mut self, c: usize) -> &mut [f32] {
        let n = self.plane_len();
        &mut self.data[c * n..(c + 1) * n]
    }
}
