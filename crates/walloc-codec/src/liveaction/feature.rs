//! Feature maps (channels of an N-D grid, as a PyTorch tensor without the
//! batch axis) and their zero-padded copies for convolutions.

/// A feature map: `channels` planes of row-major `shape` (1 to 3 axes),
/// one after the other, `[C, d0, (d1, (d2))]`: the packet transform's own
/// planar signal.
pub type FeatureMap = walloc_wavelet::Signal;

/// A feature map of zeros.
pub(crate) fn zeros(channels: usize, shape: Vec<usize>) -> FeatureMap {
    let len = channels * shape.iter().product::<usize>();
    FeatureMap {
        data: vec![0.0; len],
        channels,
        shape,
    }
}

/// A feature map with a border of `pad` zeros on every side of every axis,
/// for convolutions with zero padding.
pub(crate) struct Padded {
    /// Channels of the padded grid, one after the other.
    pub data: Vec<f32>,
    /// Positions per padded channel.
    pub plane: usize,
    /// Row-major strides of the padded grid.
    pub strides: Vec<usize>,
}

impl Padded {
    /// `map` inside a border of `pad` zeros.
    pub fn new(map: &FeatureMap, pad: usize) -> Self {
        let shape: Vec<usize> = map.shape.iter().map(|&d| d + 2 * pad).collect();
        let strides = strides_of(&shape);
        let plane: usize = shape.iter().product();
        let mut data = vec![0.0f32; plane * map.channels];
        let inner = *map.shape.last().unwrap_or(&1);
        let rows = map.plane_len() / inner.max(1);
        for c in 0..map.channels {
            let source = map.plane(c);
            let target = &mut data[c * plane..(c + 1) * plane];
            for row in 0..rows {
                let start = padded_index(row, &map.shape, &strides, pad);
                target[start..start + inner].copy_from_slice(&source[row * inner..(row + 1) * inner]);
            }
        }
        Padded { data, plane, strides }
    }
}

/// Row-major strides of `shape`.
pub(crate) fn strides_of(shape: &[usize]) -> Vec<usize> {
    let mut strides = vec![1; shape.len()];
    for axis in (0..shape.len().saturating_sub(1)).rev() {
        strides[axis] = strides[axis + 1] * shape[axis + 1];
    }
    strides
}

/// Where row `row` of an unpadded grid `shape` (rows along the last axis)
/// starts in the grid padded by `pad` with `strides`.
pub(crate) fn padded_index(row: usize, shape: &[usize], strides: &[usize], pad: usize) -> usize {
    let mut rest = row;
    let mut index = pad * strides[shape.len() - 1];
    for axis in (0..shape.len() - 1).rev() {
        let coordinate = rest % shape[axis];
        rest /= shape[axis];
        index += (coordinate + pad) * strides[axis];
    }
    index
}
