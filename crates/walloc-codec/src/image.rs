//! 8-bit images and the reference's normalization and padding.

use walloc_wavelet::Signal;

use crate::error::{invalid, Result};

/// An 8-bit image, channels interleaved (gray, or RGB).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Image8 {
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
    /// Channels per pixel (1 or 3).
    pub channels: u8,
    /// `height * width * channels` samples, row-major.
    pub pixels: Vec<u8>,
}

impl Image8 {
    /// Wraps pixels, checking their count.
    pub fn new(width: u32, height: u32, channels: u8, pixels: Vec<u8>) -> Result<Self> {
        let expected = width as usize * height as usize * usize::from(channels);
        if pixels.len() != expected || width == 0 || height == 0 || !matches!(channels, 1 | 3) {
            return Err(invalid(
                "image",
                format!("{width}×{height}×{channels} with {} samples", pixels.len()),
            ));
        }
        Ok(Image8 {
            width,
            height,
            channels,
            pixels,
        })
    }
}

impl Image8 {
    /// The `side`² square at (`x`, `y`), which must lie inside the image.
    pub fn crop(&self, x: u32, y: u32, side: u32) -> Image8 {
        let c = usize::from(self.channels);
        let mut pixels = Vec::with_capacity((side * side) as usize * c);
        for row in y..y + side {
            let start = (row as usize * self.width as usize + x as usize) * c;
            pixels.extend_from_slice(&self.pixels[start..start + side as usize * c]);
        }
        Image8 {
            width: side,
            height: side,
            channels: self.channels,
            pixels,
        }
    }

    /// The image mirrored left to right.
    pub fn mirrored(&self) -> Image8 {
        let c = usize::from(self.channels);
        let pixels = self
            .pixels
            .chunks_exact(self.width as usize * c)
            .flat_map(|row| row.chunks_exact(c).rev().flatten().copied())
            .collect();
        Image8 { pixels, ..*self }
    }

    /// The image with `channels` channels: gray to RGB by repetition, RGB
    /// to gray by Rec. 601 luma.
    pub fn to_channels(self, channels: u8) -> Image8 {
        match (self.channels, channels) {
            (a, b) if a == b => self,
            (1, 3) => Image8 {
                pixels: self.pixels.iter().flat_map(|&v| [v, v, v]).collect(),
                channels: 3,
                ..self
            },
            _ => Image8 {
                pixels: self
                    .pixels
                    .chunks_exact(3)
                    .map(|p| {
                        (0.299 * f64::from(p[0]) + 0.587 * f64::from(p[1]) + 0.114 * f64::from(p[2])).round() as u8
                    })
                    .collect(),
                channels: 1,
                ..self
            },
        }
    }
}

/// `(before, after)` padding of one axis to a multiple of `multiple`, split
/// as the reference's `compute_padding`: `before = (out - in) / 2`.
pub fn padding(len: usize, multiple: usize) -> (usize, usize) {
    let out = len.div_ceil(multiple) * multiple;
    let before = (out - len) / 2;
    (before, out - len - before)
}

/// Index of a reflect-padded position (`torch` 'reflect': the edge sample
/// is not repeated), folded again for pads longer than the signal.
pub(crate) fn reflect(i: isize, len: usize) -> usize {
    if len == 1 {
        return 0;
    }
    let period = 2 * (len as isize - 1);
    let m = i.rem_euclid(period);
    (if m < len as isize { m } else { period - m }) as usize
}

/// An empty vector with room for `len` values. Large ones are marked for
/// transparent huge pages first, so filling them takes a few hundred page
/// faults instead of thousands (a sizeable part of encoding a photo).
fn large_buffer(len: usize) -> Vec<f32> {
    let buffer = Vec::with_capacity(len);
    #[cfg(target_os = "linux")]
    if len * std::mem::size_of::<f32>() >= 2 << 20 {
        // madvise wants a page-aligned start: round into the allocation.
        let start = buffer.as_ptr() as usize;
        let aligned = (start + 4095) & !4095;
        let end = start + len * std::mem::size_of::<f32>();
        // SAFETY: the range lies inside the vector's own allocation;
        // MADV_HUGEPAGE only changes how the kernel backs it, never its contents.
        unsafe {
            libc::madvise(aligned as *mut libc::c_void, end - aligned, libc::MADV_HUGEPAGE);
        }
    }
    buffer
}

/// The normalized value `v / 255 - 0.5` of every 8-bit sample.
pub(crate) fn normalization_table() -> Vec<f32> {
    (0..256).map(|v| v as f32 / 255.0 - 0.5).collect()
}

/// The 8-bit sample of a decoded value: `round(255 * clamp(v + 0.5, 0, 1))`.
#[inline]
pub(crate) fn to_sample(v: f32) -> u8 {
    ((v + 0.5).clamp(0.0, 1.0) * 255.0).round() as u8
}

/// `x / 255 - 0.5` in planar layout, reflect-padded to multiples of `multiple`.
pub fn to_padded_signal(image: &Image8, multiple: usize) -> Signal {
    let (w, h, c) = (image.width as usize, image.height as usize, usize::from(image.channels));
    let (left, right) = padding(w, multiple);
    let (top, bottom) = padding(h, multiple);
    let (pw, ph) = (w + left + right, h + top + bottom);
    let lut = normalization_table();
    let mut data = large_buffer(c * ph * pw);
    for channel in 0..c {
        for row in 0..ph {
            let src_row = reflect(row as isize - top as isize, h);
            let src = &image.pixels[src_row * w * c..(src_row + 1) * w * c];
            let sample = |x: usize| lut[usize::from(src[x * c + channel])];
            data.extend((0..left).map(|x| sample(reflect(x as isize - left as isize, w))));
            data.extend(src.chunks_exact(c).map(|pixel| lut[usize::from(pixel[channel])]));
            data.extend((0..right).map(|x| sample(reflect((w + x) as isize, w))));
        }
    }
    Signal {
        data,
        channels: c,
        shape: vec![ph, pw],
    }
}

/// Crops the padding off a reconstructed signal and maps it back to 8 bits:
/// `round(255 * clamp(x + 0.5, 0, 1))`.
pub fn from_padded_signal(signal: &Signal, width: u32, height: u32, multiple: usize) -> Image8 {
    let (w, h, c) = (width as usize, height as usize, signal.channels);
    let (ph, pw) = (signal.shape[0], signal.shape[1]);
    let left = padding(w, multiple).0;
    let top = padding(h, multiple).0;
    let mut pixels = vec![0u8; w * h * c];
    for channel in 0..c {
        for y in 0..h {
            let src = &signal.data[(channel * ph + y + top) * pw + left..][..w];
            for (x, &v) in src.iter().enumerate() {
                pixels[(y * w + x) * c + channel] = to_sample(v);
            }
        }
    }
    Image8 {
        width,
        height,
        channels: c as u8,
        pixels,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn padding_splits_like_the_reference() {
        assert_eq!(padding(100, 8), (2, 2));
        assert_eq!(padding(101, 8), (1, 2));
        assert_eq!(padding(96, 8), (0, 0));
    }

    #[test]
    fn reflect_matches_torch() {
        // F.pad([0,1,2,3], (3, 3), 'reflect') = [3,2,1,0,1,2,3,2,1,0]
        let got: Vec<usize> = (-3..7).map(|i| reflect(i, 4)).collect();
        assert_eq!(got, vec![3, 2, 1, 0, 1, 2, 3, 2, 1, 0]);
    }

    #[test]
    fn pad_then_crop_is_identity() {
        let pixels: Vec<u8> = (0..5 * 3 * 3).map(|i| (i * 17) as u8).collect();
        let image = Image8::new(5, 3, 3, pixels).unwrap();
        let signal = to_padded_signal(&image, 8);
        assert_eq!(signal.shape, vec![8, 8]);
        assert_eq!(from_padded_signal(&signal, 5, 3, 8), image);
    }
}
