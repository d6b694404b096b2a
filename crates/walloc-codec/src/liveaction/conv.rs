//! Grouped N-D convolutions with zero padding, and LiVeAction's factorized
//! convolution: a grouped convolution, a channel shuffle, and a second
//! grouped convolution, its groups chosen as the reference chooses them.
//!
//! Each group's convolution is one matrix product per kernel tap
//! (`matrixmultiply`), over a contiguous run of the zero-padded grid: the
//! run includes the border columns between rows, whose outputs are
//! dropped, so every tap reads its input as one strided matrix.

use super::feature::{padded_index, strides_of, zeros, FeatureMap, Padded};
use super::weights::TensorSource;
use crate::error::{CodecError, Result};

/// The reference's choice of groups `(g1, g2)` for a factorized
/// convolution from `inputs` to `outputs` channels: `g1·g2 = inputs`,
/// minimizing `inputs²/g1 + inputs·outputs/g2` (the first divisor `g1`
/// wins a tie, as in `FactorizedConvND._pick_groups`).
pub fn pick_groups(inputs: usize, outputs: usize) -> (usize, usize) {
    let mut best = (1, inputs, f64::INFINITY);
    let divisors = (1..=inputs).filter(|&d| inputs.is_multiple_of(d));
    for g1 in divisors {
        let g2 = inputs / g1;
        let cost = (inputs * inputs) as f64 / g1 as f64 + (inputs * outputs) as f64 / g2 as f64;
        if cost < best.2 {
            best = (g1, g2, cost);
        }
    }
    (best.0, best.1)
}

/// A PyTorch `ConvNd(inputs, outputs, kernel, groups=groups,
/// padding=(kernel − 1)/2)` with an odd kernel, over 1 to 3 axes.
#[derive(Clone, Debug)]
pub struct GroupedConv {
    /// `[outputs, inputs / groups, kernel^dim]`.
    weight: Vec<f32>,
    bias: Option<Vec<f32>>,
    inputs: usize,
    outputs: usize,
    groups: usize,
    kernel: usize,
    dim: usize,
}

/// Which input channels feed a grouped convolution's groups.
#[derive(Clone, Copy, Debug)]
enum Feed {
    /// Group `j` reads channels `j·n .. (j+1)·n`.
    Contiguous,
    /// The input is read through the reference's shuffle
    /// `(g1 g2) → (g2 g1)`: group `j` reads channels `j, j + g2, j + 2·g2, …`.
    Shuffled {
        /// The stride between a group's channels (the shuffle's `g2`).
        g2: usize,
    },
}

impl GroupedConv {
    /// Loads `{name}.weight` (and `{name}.bias` if `bias`) from `source`.
    pub fn load(
        source: &dyn TensorSource,
        name: &str,
        (inputs, outputs): (usize, usize),
        groups: usize,
        kernel: usize,
        dim: usize,
        bias: bool,
    ) -> Result<Self> {
        if groups == 0 || inputs % groups != 0 || outputs % groups != 0 || kernel.is_multiple_of(2) {
            return Err(CodecError::InvalidModel(format!(
                "{name}: {inputs} → {outputs} channels in {groups} groups with kernel {kernel}"
            )));
        }
        let mut shape = vec![outputs, inputs / groups];
        shape.extend(std::iter::repeat_n(kernel, dim));
        let weight = source.tensor_of_shape(&format!("{name}.weight"), &shape)?;
        let bias = if bias {
            Some(source.tensor_of_shape(&format!("{name}.bias"), &[outputs])?)
        } else {
            None
        };
        Ok(GroupedConv {
            weight,
            bias,
            inputs,
            outputs,
            groups,
            kernel,
            dim,
        })
    }

    /// Multiply-accumulates per output position.
    pub fn macs_per_position(&self) -> usize {
        self.outputs * (self.inputs / self.groups) * self.kernel.pow(self.dim as u32)
    }

    /// The convolution of `x`.
    pub fn forward(&self, x: &FeatureMap) -> Result<FeatureMap> {
        self.run(x, Feed::Contiguous)
    }

    fn run(&self, x: &FeatureMap, feed: Feed) -> Result<FeatureMap> {
        if x.channels != self.inputs || x.shape.len() != self.dim {
            return Err(CodecError::IncompatibleInput(format!(
                "a {}-D convolution of {} channels given {} channels of shape {:?}",
                self.dim, self.inputs, x.channels, x.shape
            )));
        }
        let pad = (self.kernel - 1) / 2;
        let padded;
        let (source, plane, strides) = if pad == 0 {
            (&x.data[..], x.plane_len(), strides_of(&x.shape))
        } else {
            padded = Padded::new(x, pad);
            (&padded.data[..], padded.plane, padded.strides.clone())
        };
        // The run of padded positions from the first interior one to the last.
        let first: usize = strides.iter().map(|s| pad * s).sum();
        let last: usize = x.shape.iter().zip(&strides).map(|(&d, s)| (pad + d - 1) * s).sum();
        let run = last + 1 - first;
        let taps = self.kernel.pow(self.dim as u32);
        let offsets: Vec<isize> = (0..taps)
            .map(|t| {
                let mut rest = t;
                let mut offset = 0isize;
                for axis in (0..self.dim).rev() {
                    let k = rest % self.kernel;
                    rest /= self.kernel;
                    offset += (k as isize - pad as isize) * strides[axis] as isize;
                }
                offset
            })
            .collect();
        let mut out = vec![0.0f32; self.outputs * run];
        if let Some(bias) = &self.bias {
            for (row, &b) in out.chunks_exact_mut(run).zip(bias) {
                row.fill(b);
            }
        }
        let per_in = self.inputs / self.groups;
        let per_out = self.outputs / self.groups;
        for g in 0..self.groups {
            let (base, step) = match feed {
                Feed::Contiguous => (g * per_in, 1),
                Feed::Shuffled { g2 } => (g, g2),
            };
            for (t, &offset) in offsets.iter().enumerate() {
                let a = &self.weight[g * per_out * per_in * taps + t..];
                let start = (base * plane + first) as isize + offset;
                debug_assert!(start >= 0);
                let b = &source[start as usize..];
                debug_assert!((per_in - 1) * step * plane + run <= b.len());
                let c = &mut out[g * per_out * run..(g + 1) * per_out * run];
                // SAFETY: `a` holds `per_out` rows of stride `per_in·taps`
                // whose `per_in` entries are `taps` apart; `b` holds
                // `per_in` rows `step·plane` apart of `run` values (the run
                // stays inside the padded grid for every tap offset); `c` is
                // `per_out` rows of `run`.
                unsafe {
                    matrixmultiply::sgemm(
                        per_out,
                        per_in,
                        run,
                        1.0,
                        a.as_ptr(),
                        (per_in * taps) as isize,
                        taps as isize,
                        b.as_ptr(),
                        (step * plane) as isize,
                        1,
                        1.0,
                        c.as_mut_ptr(),
                        run as isize,
                        1,
                    );
                }
            }
        }
        if pad == 0 {
            return Ok(FeatureMap::new(out, self.outputs, x.shape.clone())?);
        }
        let mut result = zeros(self.outputs, x.shape.clone());
        let inner = *x.shape.last().unwrap_or(&1);
        let rows = x.plane_len() / inner;
        for c in 0..self.outputs {
            let source = &out[c * run..(c + 1) * run];
            let target = result.plane_mut(c);
            for row in 0..rows {
                let start = padded_index(row, &x.shape, &strides, pad) - first;
                target[row * inner..(row + 1) * inner].copy_from_slice(&source[start..start + inner]);
            }
        }
        Ok(result)
    }
}

/// The reference's `FactorizedConvND`: `conv1` (`inputs → inputs` in `g1`
/// groups), the shuffle `(g1 g2) → (g2 g1)`, then `conv2`
/// (`inputs → outputs` in `g2` groups), both with the same kernel.
#[derive(Clone, Debug)]
pub struct FactorizedConv {
    conv1: GroupedConv,
    conv2: GroupedConv,
    g2: usize,
}

impl FactorizedConv {
    /// Loads `{name}.conv1` and `{name}.conv2` from `source`, with the
    /// groups [`pick_groups`] chooses.
    pub fn load(
        source: &dyn TensorSource,
        name: &str,
        (inputs, outputs): (usize, usize),
        kernel: usize,
        dim: usize,
        bias: bool,
    ) -> Result<Self> {
        let (g1, g2) = pick_groups(inputs, outputs);
        Ok(FactorizedConv {
            conv1: GroupedConv::load(
                source,
                &format!("{name}.conv1"),
                (inputs, inputs),
                g1,
                kernel,
                dim,
                bias,
            )?,
            conv2: GroupedConv::load(
                source,
                &format!("{name}.conv2"),
                (inputs, outputs),
                g2,
                kernel,
                dim,
                bias,
            )?,
            g2,
        })
    }

    /// Multiply-accumulates per position.
    pub fn macs_per_position(&self) -> usize {
        self.conv1.macs_per_position() + self.conv2.macs_per_position()
    }

    /// The factorized convolution of `x`; the shuffle costs nothing (the
    /// second convolution reads its groups' channels strided).
    pub fn forward(&self, x: &FeatureMap) -> Result<FeatureMap> {
        let y = self.conv1.forward(x)?;
        self.conv2.run(&y, Feed::Shuffled { g2: self.g2 })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    struct Tensors(HashMap<String, (Vec<f32>, Vec<usize>)>);

    impl TensorSource for Tensors {
        fn tensor(&self, name: &str) -> Result<(Vec<f32>, Vec<usize>)> {
            self.0
                .get(name)
                .cloned()
                .ok_or_else(|| CodecError::InvalidModel(name.to_string()))
        }
    }

    #[test]
    fn groups_are_the_references() {
        // Read off livecodec 0.0.1's weight shapes (tests/fixtures/liveaction_2d).
        assert_eq!(pick_groups(48, 48), (6, 8));
        assert_eq!(pick_groups(48, 12), (12, 4));
        assert_eq!(pick_groups(12, 48), (2, 6));
        assert_eq!(pick_groups(768, 768), (24, 32));
        assert_eq!(pick_groups(768, 12), (192, 4));
        assert_eq!(pick_groups(12, 768), (1, 12));
    }

    /// A direct sum over the kernel, for checking the matrix products.
    fn naive_2d(x: &FeatureMap, w: &[f32], groups: usize, outputs: usize, k: usize) -> Vec<f32> {
        let (h, wd) = (x.shape[0], x.shape[1]);
        let per_in = x.channels / groups;
        let per_out = outputs / groups;
        let pad = (k as isize - 1) / 2;
        let mut out = vec![0.0f32; outputs * h * wd];
        for o in 0..outputs {
            let g = o / per_out;
            for y in 0..h as isize {
                for xx in 0..wd as isize {
                    let mut sum = 0.0;
                    for i in 0..per_in {
                        for ky in 0..k as isize {
                            for kx in 0..k as isize {
                                let (sy, sx) = (y + ky - pad, xx + kx - pad);
                                if sy < 0 || sx < 0 || sy >= h as isize || sx >= wd as isize {
                                    continue;
                                }
                                let v = x.plane(g * per_in + i)[(sy as usize) * wd + sx as usize];
                                sum += v * w[((o * per_in + i) * k + ky as usize) * k + kx as usize];
                            }
                        }
                    }
                    out[(o * h + y as usize) * wd + xx as usize] = sum;
                }
            }
        }
        out
    }

    #[test]
    fn grouped_conv_matches_a_direct_sum() {
        let (channels, outputs, groups, k) = (6, 4, 2, 3);
        let x = FeatureMap::new(
            (0..channels * 5 * 7)
                .map(|i| ((i * 37 % 23) as f32 - 11.0) / 7.0)
                .collect(),
            channels,
            vec![5, 7],
        )
        .unwrap();
        let w: Vec<f32> = (0..outputs * 3 * k * k)
            .map(|i| ((i * 13 % 17) as f32 - 8.0) / 9.0)
            .collect();
        let source = Tensors(HashMap::from([(
            "c.weight".to_string(),
            (w.clone(), vec![outputs, 3, k, k]),
        )]));
        let conv = GroupedConv::load(&source, "c", (channels, outputs), groups, k, 2, false).unwrap();
        let got = conv.forward(&x).unwrap();
        let want = naive_2d(&x, &w, groups, outputs, k);
        for (g, w) in got.data.iter().zip(&want) {
            assert!((g - w).abs() < 1e-5, "{g} vs {w}");
        }
    }

    #[test]
    fn a_wrong_weight_shape_is_refused() {
        let source = Tensors(HashMap::from([(
            "c.weight".to_string(),
            (vec![0.0; 12], vec![4, 3, 1]),
        )]));
        assert!(GroupedConv::load(&source, "c", (6, 4), 2, 3, 1, false).is_err());
        assert!(GroupedConv::load(&source, "c", (6, 4), 2, 2, 1, false).is_err());
    }
}
