//! Images of 8 or 16 bits per sample and the reference's normalization
//! and padding.

use walloc_wavelet::simd::with_fused_simd;
use walloc_wavelet::Signal;

use crate::error::{invalid, Result};
use crate::signal::{SampleType, Samples};

/// A sample type images are coded from: `u8` (8-bit images) or `u16`
/// (16-bit images). Both normalize `v / (2^bits − 1) − 0.5`, so one model
/// codes either; the bits go in the file's header.
pub trait Pixel: Copy + Default + Send + Sync + std::fmt::Debug + PartialEq + 'static {
    /// Bits per sample, as the header's sample-bits field records them.
    const BITS: u8;
    /// The signal sample type of these pixels.
    const SAMPLE_TYPE: SampleType;
    /// The largest sample, `2^bits − 1`.
    const MAX: f32;
    /// The sample as an `f32` (exact at either depth).
    fn to_f32(self) -> f32;
    /// The codec's working value `v / (2^bits − 1) − 0.5`.
    #[inline]
    fn normalized(self) -> f32 {
        self.to_f32() / Self::MAX - 0.5
    }
    /// The sample of a decoded value: `round((2^bits − 1) · clamp(v + 0.5, 0, 1))`.
    fn from_normalized(v: f32) -> Self;
    /// The sample as an `f64`.
    fn to_f64(self) -> f64;
    /// Samples of this type as a signal's.
    fn into_samples(pixels: Vec<Self>) -> Samples;
    /// A signal's samples, when they are of this type.
    fn of_samples(samples: &Samples) -> Option<&[Self]>;
    /// The nearest sample to `v`, saturating at the type's range.
    fn from_f64(v: f64) -> Self;
}

/// `round(max · clamp(v + ½, 0, 1))`, NaN giving 0, as `f32::round`
/// rounds (halves away from zero) but without libm's `roundf`, a call per
/// sample that no loop vectorizes (an eighth of decoding a photo):
/// `n = ⌊x + ½⌋`, less one where the float sum `x + ½` rounded up to `n`.
/// That check is exact: `n − ½` is a float, so `x < n − ½` compares exact
/// values.
#[inline]
#[allow(clippy::manual_clamp)] // `clamp` would keep NaN, which `to_int_unchecked` must not see.
fn quantize_unit(v: f32, max: f32) -> u32 {
    // `max`/`min` drop NaN (where `clamp` keeps it): NaN gives 0.
    let x = (v + 0.5).max(0.0).min(1.0) * max;
    // SAFETY: `x` is within `0..=max` (at most 65 535), so `x + ½` is
    // finite and its truncation fits an `i32`.
    let n = unsafe { (x + 0.5).to_int_unchecked::<i32>() };
    (n - i32::from(x < n as f32 - 0.5)) as u32
}

impl Pixel for u8 {
    const BITS: u8 = 8;
    const SAMPLE_TYPE: SampleType = SampleType::U8;

    const MAX: f32 = 255.0;

    #[inline]
    fn to_f32(self) -> f32 {
        f32::from(self)
    }

    #[inline]
    fn from_normalized(v: f32) -> Self {
        quantize_unit(v, 255.0) as u8
    }

    fn to_f64(self) -> f64 {
        f64::from(self)
    }

    fn from_f64(v: f64) -> Self {
        v.round() as u8
    }

    fn into_samples(pixels: Vec<Self>) -> Samples {
        Samples::U8(pixels)
    }

    fn of_samples(samples: &Samples) -> Option<&[Self]> {
        match samples {
            Samples::U8(pixels) => Some(pixels),
            _ => None,
        }
    }
}

impl Pixel for u16 {
    const BITS: u8 = 16;
    const SAMPLE_TYPE: SampleType = SampleType::U16;

    const MAX: f32 = 65_535.0;

    #[inline]
    fn to_f32(self) -> f32 {
        f32::from(self)
    }

    #[inline]
    fn from_normalized(v: f32) -> Self {
        quantize_unit(v, 65_535.0) as u16
    }

    fn to_f64(self) -> f64 {
        f64::from(self)
    }

    fn from_f64(v: f64) -> Self {
        v.round() as u16
    }

    fn into_samples(pixels: Vec<Self>) -> Samples {
        Samples::U16(pixels)
    }

    fn of_samples(samples: &Samples) -> Option<&[Self]> {
        match samples {
            Samples::U16(pixels) => Some(pixels),
            _ => None,
        }
    }
}

/// An image, channels interleaved (gray, or RGB), of 8-bit ([`Image8`]) or
/// 16-bit ([`Image16`]) samples.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Image<P = u8> {
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
    /// Channels per pixel (1 or 3).
    pub channels: u8,
    /// `height * width * channels` samples, row-major.
    pub pixels: Vec<P>,
}

/// An 8-bit image.
pub type Image8 = Image<u8>;

/// A 16-bit image.
pub type Image16 = Image<u16>;

impl<P: Pixel> Image<P> {
    /// Wraps pixels, checking their count.
    pub fn new(width: u32, height: u32, channels: u8, pixels: Vec<P>) -> Result<Self> {
        let expected = width as usize * height as usize * usize::from(channels);
        if pixels.len() != expected || width == 0 || height == 0 || !matches!(channels, 1 | 3) {
            return Err(invalid(
                "image",
                format!("{width}×{height}×{channels} with {} samples", pixels.len()),
            ));
        }
        Ok(Image {
            width,
            height,
            channels,
            pixels,
        })
    }

    /// The `side`² square at (`x`, `y`), which must lie inside the image.
    pub fn crop(&self, x: u32, y: u32, side: u32) -> Self {
        let c = usize::from(self.channels);
        let mut pixels = Vec::with_capacity((side * side) as usize * c);
        for row in y..y + side {
            let start = (row as usize * self.width as usize + x as usize) * c;
            pixels.extend_from_slice(&self.pixels[start..start + side as usize * c]);
        }
        Image {
            width: side,
            height: side,
            channels: self.channels,
            pixels,
        }
    }

    /// The image mirrored left to right.
    pub fn mirrored(&self) -> Self {
        let c = usize::from(self.channels);
        let pixels = self
            .pixels
            .chunks_exact(self.width as usize * c)
            .flat_map(|row| row.chunks_exact(c).rev().flatten().copied())
            .collect();
        Image { pixels, ..*self }
    }

    /// The image with `channels` channels: gray to RGB by repetition, RGB
    /// to gray by Rec. 601 luma.
    pub fn to_channels(self, channels: u8) -> Self {
        match (self.channels, channels) {
            (a, b) if a == b => self,
            (1, 3) => Image {
                pixels: self.pixels.iter().flat_map(|&v| [v, v, v]).collect(),
                channels: 3,
                ..self
            },
            _ => Image {
                pixels: self
                    .pixels
                    .chunks_exact(3)
                    .map(|p| P::from_f64(0.299 * p[0].to_f64() + 0.587 * p[1].to_f64() + 0.114 * p[2].to_f64()))
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
pub(crate) fn large_buffer(len: usize) -> Vec<f32> {
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

/// The normalized samples ([`Pixel::normalized`]) in planar layout,
/// reflect-padded to multiples of `multiple`.
pub fn to_padded_signal<P: Pixel>(image: &Image<P>, multiple: usize) -> Signal {
    let (w, h, c) = (image.width as usize, image.height as usize, usize::from(image.channels));
    let (left, right) = padding(w, multiple);
    let (top, bottom) = padding(h, multiple);
    let (pw, ph) = (w + left + right, h + top + bottom);
    let mut data = large_buffer(c * ph * pw);
    let mut converted = vec![0.0f32; pw];
    for channel in 0..c {
        for row in 0..ph {
            let src_row = reflect(row as isize - top as isize, h);
            padded_row(
                &image.pixels[src_row * w * c..(src_row + 1) * w * c],
                c,
                channel,
                left,
                &mut converted,
            );
            data.extend_from_slice(&converted);
        }
    }
    Signal {
        data,
        channels: c,
        shape: vec![ph, pw],
    }
}

/// Channel `channel` of a row of `channels`-channel pixels, normalized
/// ([`Pixel::normalized`]) into `out` from column `left`, with `left`
/// columns of reflect padding before and the rest of `out` after. `out` is
/// a buffer the caller appends whole: extending a signal sample by sample
/// took a tenth of encoding an image.
pub(crate) fn padded_row<P: Pixel>(pixels: &[P], channels: usize, channel: usize, left: usize, out: &mut [f32]) {
    let w = pixels.len() / channels;
    let (before, rest) = out.split_at_mut(left);
    let (inside, after) = rest.split_at_mut(w);
    with_fused_simd(
        #[inline(always)]
        |fused| match fused {
            true => normalize_channel(pixels, channels, channel, inside, normalized_by_fma),
            false => normalize_channel(pixels, channels, channel, inside, P::normalized),
        },
    );
    let sample = |x: usize| pixels[x * channels + channel].normalized();
    for (x, value) in before.iter_mut().enumerate() {
        *value = sample(reflect(x as isize - left as isize, w));
    }
    for (x, value) in after.iter_mut().enumerate() {
        *value = sample(reflect((w + x) as isize, w));
    }
}

/// [`Pixel::normalized`] by multiplication, for CPUs that fuse
/// multiply-adds: the quotient `q = v·(1/max)` corrected once by its
/// remainder `v − q·max` (exact in a fused multiply-add) is the correctly
/// rounded `v / max` for every sample of either depth (each one checked in
/// the tests), so it equals the division bit for bit at a fraction of its
/// cost (dividing took most of reading the pixels into planes).
#[inline(always)]
fn normalized_by_fma<P: Pixel>(sample: P) -> f32 {
    let v = sample.to_f32();
    let inverse = 1.0 / P::MAX;
    let q = v * inverse;
    (-q).mul_add(P::MAX, v).mul_add(inverse, q) - 0.5
}

/// Channel `channel` of a row of `channels`-channel pixels, each through
/// `normalize`, into `out` (with the channel count known at compile time
/// for gray and RGB, the loop vectorizes).
#[inline(always)]
fn normalize_channel<P: Pixel>(
    pixels: &[P],
    channels: usize,
    channel: usize,
    out: &mut [f32],
    normalize: impl Fn(P) -> f32,
) {
    match channels {
        1 => normalize_interleaved::<P, 1>(pixels, 0, out, normalize),
        3 => normalize_interleaved::<P, 3>(pixels, channel, out, normalize),
        _ => {
            for (value, pixel) in out.iter_mut().zip(pixels.chunks_exact(channels)) {
                *value = normalize(pixel[channel]);
            }
        }
    }
}

/// [`normalize_channel`] of `C`-channel pixels.
#[inline(always)]
fn normalize_interleaved<P: Pixel, const C: usize>(
    pixels: &[P],
    channel: usize,
    out: &mut [f32],
    normalize: impl Fn(P) -> f32,
) {
    for (value, pixel) in out.iter_mut().zip(pixels.chunks_exact(C)) {
        let pixel: &[P; C] = pixel.try_into().unwrap();
        *value = normalize(pixel[channel]);
    }
}

/// Crops the padding off a reconstructed signal and maps it back to
/// samples ([`Pixel::from_normalized`]).
pub fn from_padded_signal<P: Pixel>(signal: &Signal, width: u32, height: u32, multiple: usize) -> Image<P> {
    let (w, h, c) = (width as usize, height as usize, signal.channels);
    let (ph, pw) = (signal.shape[0], signal.shape[1]);
    let left = padding(w, multiple).0;
    let top = padding(h, multiple).0;
    let mut pixels = vec![P::default(); w * h * c];
    // Row by row: each channel's row is converted on its own (a loop that
    // vectorizes), then the rows are interleaved.
    let mut row = vec![P::default(); c * w];
    for (y, out) in pixels.chunks_exact_mut(w * c).enumerate() {
        let converted = if c == 1 { &mut out[..] } else { &mut row[..] };
        for (channel, samples) in converted.chunks_exact_mut(w).enumerate() {
            let src = &signal.data[(channel * ph + y + top) * pw + left..][..w];
            for (sample, &v) in samples.iter_mut().zip(src) {
                *sample = P::from_normalized(v);
            }
        }
        if c > 1 {
            for (x, pixel) in out.chunks_exact_mut(c).enumerate() {
                for (channel, value) in pixel.iter_mut().enumerate() {
                    *value = row[channel * w + x];
                }
            }
        }
    }
    Image {
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
    fn samples_round_as_libm_does() {
        // The old definition, with libm's rounding.
        let libm = |v: f32, max: f32| ((v + 0.5).clamp(0.0, 1.0) * max).round() as u32;
        // Values around every sample's rounding boundary, in steps of one
        // float, and a dense sweep beyond both ends.
        for max in [255.0f32, 65_535.0] {
            let boundaries = (0..max as u32).map(|k| (k as f32 + 0.5) / max - 0.5);
            for b in boundaries.chain([-0.5, 0.5]) {
                let mut v = b;
                for _ in 0..6 {
                    v = v.next_down();
                }
                for _ in 0..12 {
                    assert_eq!(quantize_unit(v, max), libm(v, max), "{v} at {max}");
                    v = v.next_up();
                }
            }
            for i in -2_000_000..=2_000_000 {
                let v = i as f32 * 5e-7;
                assert_eq!(quantize_unit(v, max), libm(v, max), "{v} at {max}");
            }
            for v in [f32::NAN, f32::INFINITY, f32::NEG_INFINITY, f32::MAX, f32::MIN] {
                assert_eq!(quantize_unit(v, max), libm(v, max), "{v} at {max}");
            }
        }
    }

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
        let deep: Vec<u16> = (0..5 * 3 * 3).map(|i| (i * 1_499) as u16).collect();
        let image = Image16::new(5, 3, 3, deep).unwrap();
        let signal = to_padded_signal(&image, 8);
        assert_eq!(from_padded_signal(&signal, 5, 3, 8), image);
    }

    #[test]
    fn the_fused_normalization_is_the_division_for_every_sample() {
        for v in 0..=u8::MAX {
            assert_eq!(normalized_by_fma(v).to_bits(), v.normalized().to_bits(), "{v}");
        }
        for v in 0..=u16::MAX {
            assert_eq!(normalized_by_fma(v).to_bits(), v.normalized().to_bits(), "{v}");
        }
        // And the division is what the reference computes.
        assert_eq!(200u8.normalized(), 200.0 / 255.0 - 0.5);
        assert_eq!(40_000u16.normalized(), 40_000.0 / 65_535.0 - 0.5);
    }

    #[test]
    fn both_depths_normalize_to_the_same_scale() {
        for v in [0u8, 1, 127, 128, 254, 255] {
            assert_eq!(v.normalized(), f32::from(v) / 255.0 - 0.5);
            let deep = u16::from(v) * 257;
            assert!((deep.normalized() - v.normalized()).abs() < 1e-6, "{v}");
            assert_eq!(u8::from_normalized(v.normalized()), v);
            assert_eq!(u16::from_normalized(deep.normalized()), deep);
        }
        assert_eq!(u16::from_normalized(0.6), 65_535);
        assert_eq!(u16::from_normalized(-0.6), 0);
        // 16 bits resolve what 8 bits cannot: 1/65535 apart, distinct samples.
        assert_eq!(u16::from_normalized(1000u16.normalized() + 1.0 / 65_535.0), 1001);
    }
}
