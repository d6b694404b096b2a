//! Distortion metrics, with the conventions of the codec literature's tools:
//! PSNR on 8-bit samples; SSIM and MS-SSIM exactly as `pytorch_msssim`
//! computes them (11-tap Gaussian window with σ = 1.5, valid filtering,
//! K = (0.01, 0.03), five scales with the weights of Wang et al., the mean
//! over channels); PSNR and SNR of audio samples in [-1, 1].

use walloc_codec::{Image8, Samples};

/// Taps of the Gaussian window.
const WINDOW: usize = 11;
/// Standard deviation of the Gaussian window.
const SIGMA: f64 = 1.5;
/// Luminance and contrast stabilisers, as fractions of the data range.
const K1: f64 = 0.01;
const K2: f64 = 0.03;
/// MS-SSIM's weights of the five scales, finest first.
const MS_WEIGHTS: [f64; 5] = [0.0448, 0.2856, 0.3001, 0.2363, 0.1333];
/// The smallest side MS-SSIM accepts: its fifth scale must still hold a window.
pub const MS_SSIM_MIN_SIDE: u32 = ((WINDOW as u32) - 1) * 16 + 1;

/// PSNR in dB between two 8-bit images of the same shape (infinite when equal).
pub fn psnr(a: &Image8, b: &Image8) -> f64 {
    assert_same_shape(a, b);
    let sum: f64 = a
        .pixels
        .iter()
        .zip(&b.pixels)
        .map(|(&x, &y)| (f64::from(x) - f64::from(y)).powi(2))
        .sum();
    psnr_of_mse(sum / a.pixels.len() as f64, 255.0)
}

/// PSNR in dB for a mean squared error and a peak value.
pub(crate) fn psnr_of_mse(mse: f64, peak: f64) -> f64 {
    if mse == 0.0 {
        f64::INFINITY
    } else {
        10.0 * (peak * peak / mse).log10()
    }
}

/// SSIM between two 8-bit images of the same shape: the mean over channels.
pub fn ssim(a: &Image8, b: &Image8) -> f64 {
    assert_same_shape(a, b);
    let planes = channel_planes(a).into_iter().zip(channel_planes(b));
    let values: Vec<f64> = planes.map(|(x, y)| ssim_and_cs(&x, &y).0).collect();
    values.iter().sum::<f64>() / values.len() as f64
}

/// MS-SSIM between two 8-bit images of the same shape, or `None` when a side
/// is shorter than [`MS_SSIM_MIN_SIDE`] (its coarsest scale would be empty).
pub fn ms_ssim(a: &Image8, b: &Image8) -> Option<f64> {
    assert_same_shape(a, b);
    if a.width.min(a.height) < MS_SSIM_MIN_SIDE {
        return None;
    }
    let planes = channel_planes(a).into_iter().zip(channel_planes(b));
    let values: Vec<f64> = planes.map(|(x, y)| ms_ssim_plane(x, y)).collect();
    Some(values.iter().sum::<f64>() / values.len() as f64)
}

/// PSNR in dB of decoded audio samples against the original, both in
/// [-1, 1] (full scale is the peak).
pub fn audio_psnr(original: &[f32], decoded: &[f32]) -> f64 {
    assert_eq!(original.len(), decoded.len(), "signals differ in length");
    let sum: f64 = original
        .iter()
        .zip(decoded)
        .map(|(&x, &y)| (f64::from(x) - f64::from(y)).powi(2))
        .sum();
    psnr_of_mse(sum / original.len().max(1) as f64, 1.0)
}

/// PSNR in dB of a decoded volume against the original (samples of any
/// type, in the same order), with `peak` the original's value range
/// (`max − min`; for CT in HU, PSNR in HU).
pub fn volume_psnr(original: &Samples, decoded: &Samples, peak: f64) -> f64 {
    assert_eq!(original.len(), decoded.len(), "volumes differ in length");
    let sum: f64 = (0..original.len())
        .map(|i| (original.get(i) - decoded.get(i)).powi(2))
        .sum();
    psnr_of_mse(sum / original.len().max(1) as f64, peak)
}

/// Signal-to-noise ratio in dB: signal energy over error energy.
pub fn snr(original: &[f32], decoded: &[f32]) -> f64 {
    assert_eq!(original.len(), decoded.len(), "signals differ in length");
    let (signal, noise) = original.iter().zip(decoded).fold((0.0f64, 0.0f64), |(s, n), (&x, &y)| {
        let (x, y) = (f64::from(x), f64::from(y));
        (s + x * x, n + (x - y) * (x - y))
    });
    if noise == 0.0 {
        f64::INFINITY
    } else {
        10.0 * (signal / noise).log10()
    }
}

fn assert_same_shape(a: &Image8, b: &Image8) {
    assert!(
        a.width == b.width && a.height == b.height && a.channels == b.channels,
        "images differ in shape: {}×{}×{} and {}×{}×{}",
        a.width,
        a.height,
        a.channels,
        b.width,
        b.height,
        b.channels
    );
}

/// One channel as a row-major plane of `f64`.
#[derive(Clone)]
struct Plane {
    width: usize,
    height: usize,
    values: Vec<f64>,
}

impl Plane {
    fn map2(&self, other: &Plane, f: impl Fn(f64, f64) -> f64) -> Plane {
        Plane {
            width: self.width,
            height: self.height,
            values: self.values.iter().zip(&other.values).map(|(&x, &y)| f(x, y)).collect(),
        }
    }

    /// 2×2 average pooling with stride 2 and zero padding of `side % 2` on
    /// both ends of each axis, counted in the divisor (PyTorch's
    /// `avg_pool2d(x, 2, padding=[h % 2, w % 2])`).
    fn pooled(&self) -> Plane {
        let (pad_y, pad_x) = (self.height % 2, self.width % 2);
        let height = (self.height + 2 * pad_y - 2) / 2 + 1;
        let width = (self.width + 2 * pad_x - 2) / 2 + 1;
        let at = |y: isize, x: isize| -> f64 {
            if y < 0 || x < 0 || y >= self.height as isize || x >= self.width as isize {
                0.0
            } else {
                self.values[y as usize * self.width + x as usize]
            }
        };
        let mut values = Vec::with_capacity(width * height);
        for oy in 0..height {
            for ox in 0..width {
                let (y, x) = ((2 * oy) as isize - pad_y as isize, (2 * ox) as isize - pad_x as isize);
                values.push((at(y, x) + at(y, x + 1) + at(y + 1, x) + at(y + 1, x + 1)) / 4.0);
            }
        }
        Plane { width, height, values }
    }

    /// Valid Gaussian filtering along each axis at least [`WINDOW`] long
    /// (a shorter axis is left unfiltered, as `pytorch_msssim` does).
    fn blurred(&self, window: &[f64; WINDOW]) -> Plane {
        let mut plane = self.clone();
        if plane.height >= WINDOW {
            let height = plane.height - WINDOW + 1;
            let mut values = vec![0.0; height * plane.width];
            for y in 0..height {
                for (k, &w) in window.iter().enumerate() {
                    let row = &plane.values[(y + k) * plane.width..(y + k + 1) * plane.width];
                    for (out, &v) in values[y * plane.width..(y + 1) * plane.width].iter_mut().zip(row) {
                        *out += w * v;
                    }
                }
            }
            plane = Plane {
                width: plane.width,
                height,
                values,
            };
        }
        if plane.width >= WINDOW {
            let width = plane.width - WINDOW + 1;
            let mut values = Vec::with_capacity(width * plane.height);
            for row in plane.values.chunks_exact(plane.width) {
                values.extend((0..width).map(|x| window.iter().zip(&row[x..]).map(|(w, v)| w * v).sum::<f64>()));
            }
            plane = Plane {
                width,
                height: plane.height,
                values,
            };
        }
        plane
    }
}

/// The channels of an image as planes.
fn channel_planes(image: &Image8) -> Vec<Plane> {
    let channels = usize::from(image.channels);
    (0..channels)
        .map(|c| Plane {
            width: image.width as usize,
            height: image.height as usize,
            values: image
                .pixels
                .iter()
                .skip(c)
                .step_by(channels)
                .map(|&v| f64::from(v))
                .collect(),
        })
        .collect()
}

/// The normalised Gaussian window, in double precision. (`pytorch_msssim`
/// builds it in single precision; its taps sum to 1 only within 1e-7, and
/// through the variance terms its SSIM then differs from this one in the
/// sixth digit.)
fn gaussian_window() -> [f64; WINDOW] {
    let mut window = [0.0; WINDOW];
    for (i, w) in window.iter_mut().enumerate() {
        let x = i as f64 - (WINDOW / 2) as f64;
        *w = (-(x * x) / (2.0 * SIGMA * SIGMA)).exp();
    }
    let sum: f64 = window.iter().sum();
    window.map(|w| w / sum)
}

/// Mean SSIM and mean contrast–structure term of one plane pair.
fn ssim_and_cs(x: &Plane, y: &Plane) -> (f64, f64) {
    let window = gaussian_window();
    let (c1, c2) = ((K1 * 255.0).powi(2), (K2 * 255.0).powi(2));
    let mu_x = x.blurred(&window);
    let mu_y = y.blurred(&window);
    let xx = x.map2(x, |a, b| a * b).blurred(&window);
    let yy = y.map2(y, |a, b| a * b).blurred(&window);
    let xy = x.map2(y, |a, b| a * b).blurred(&window);
    let (mut ssim_sum, mut cs_sum) = (0.0, 0.0);
    for i in 0..mu_x.values.len() {
        let (mx, my) = (mu_x.values[i], mu_y.values[i]);
        let sigma_x = xx.values[i] - mx * mx;
        let sigma_y = yy.values[i] - my * my;
        let sigma_xy = xy.values[i] - mx * my;
        let cs = (2.0 * sigma_xy + c2) / (sigma_x + sigma_y + c2);
        cs_sum += cs;
        ssim_sum += (2.0 * mx * my + c1) / (mx * mx + my * my + c1) * cs;
    }
    let n = mu_x.values.len() as f64;
    (ssim_sum / n, cs_sum / n)
}

/// MS-SSIM of one plane pair (sides already checked).
fn ms_ssim_plane(mut x: Plane, mut y: Plane) -> f64 {
    let mut product = 1.0;
    for (level, weight) in MS_WEIGHTS.iter().enumerate() {
        let (ssim, cs) = ssim_and_cs(&x, &y);
        if level + 1 < MS_WEIGHTS.len() {
            product *= cs.max(0.0).powf(*weight);
            x = x.pooled();
            y = y.pooled();
        } else {
            product *= ssim.max(0.0).powf(*weight);
        }
    }
    product
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn psnr_of_known_error() {
        let a = Image8::new(2, 1, 1, vec![10, 20]).unwrap();
        let b = Image8::new(2, 1, 1, vec![12, 20]).unwrap();
        // MSE = 2: 10 log10(65025 / 2) = 45.1205 dB.
        assert!((psnr(&a, &b) - 45.1205).abs() < 1e-3);
        assert!(psnr(&a, &a).is_infinite());
    }

    #[test]
    fn identical_images_score_one() {
        let pixels: Vec<u8> = (0..200 * 180 * 3).map(|i| (i * 7 % 251) as u8).collect();
        let a = Image8::new(200, 180, 3, pixels).unwrap();
        assert!((ssim(&a, &a) - 1.0).abs() < 1e-12);
        assert!((ms_ssim(&a, &a).unwrap() - 1.0).abs() < 1e-12);
    }

    #[test]
    fn ms_ssim_needs_room_for_five_scales() {
        let a = Image8::new(160, 400, 1, vec![0; 160 * 400]).unwrap();
        assert_eq!(ms_ssim(&a, &a), None);
    }

    #[test]
    fn pooling_pads_odd_sides() {
        let plane = Plane {
            width: 3,
            height: 1,
            values: vec![4.0, 8.0, 12.0],
        };
        // Padding of 1 on both ends of each odd axis: windows (0,4 | 0,0),
        // (8,12 | 0,0) over 4.
        let pooled = plane.pooled();
        assert_eq!((pooled.width, pooled.height), (2, 1));
        assert_eq!(pooled.values, vec![1.0, 5.0]);
    }

    #[test]
    fn audio_figures_of_known_error() {
        let original = [0.5f32, -0.5, 0.5, -0.5];
        let decoded = [0.4f32, -0.5, 0.5, -0.4];
        // MSE = 0.005: PSNR = 10 log10(1 / 0.005) = 23.01 dB; SNR = 10 log10(1 / 0.02) = 16.99 dB.
        assert!((audio_psnr(&original, &decoded) - 23.0103).abs() < 1e-3);
        assert!((snr(&original, &decoded) - 16.9897).abs() < 1e-3);
    }
}
