//! Quality and rate figures of a model on a set of images.

use anyhow::Result;
use walloc_codec::{codec, EncodeOptions, Figures, Image8, Limits, Model};

/// PSNR in dB between two 8-bit images of the same shape.
pub fn psnr(a: &Image8, b: &Image8) -> f64 {
    let sum: f64 = a
        .pixels
        .iter()
        .zip(&b.pixels)
        .map(|(&x, &y)| (f64::from(x) - f64::from(y)).powi(2))
        .sum();
    let mse = sum / a.pixels.len() as f64;
    if mse == 0.0 {
        f64::INFINITY
    } else {
        10.0 * (255.0f64 * 255.0 / mse).log10()
    }
}

/// Encodes and decodes every image; mean bpp, PSNR and compression ratio.
pub fn evaluate(model: &Model, images: &[Image8], dataset: &str) -> Result<Figures> {
    let (mut bpp, mut psnr_sum, mut ratio) = (0.0, 0.0, 0.0);
    for image in images {
        let file = codec::encode(model, image, EncodeOptions::default())?;
        let back = codec::decode(model, &file, &Limits::default())?;
        let pixels = f64::from(image.width) * f64::from(image.height);
        bpp += file.len() as f64 * 8.0 / pixels;
        ratio += image.pixels.len() as f64 / file.len() as f64;
        psnr_sum += psnr(image, &back);
    }
    let n = images.len().max(1) as f64;
    Ok(Figures {
        dataset: dataset.to_string(),
        images: images.len() as u32,
        bpp: bpp / n,
        psnr_db: psnr_sum / n,
        compression_ratio: ratio / n,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn psnr_of_known_error() {
        let a = Image8::new(2, 1, 1, vec![10, 20]).unwrap();
        let b = Image8::new(2, 1, 1, vec![12, 20]).unwrap();
        // MSE = 2, PSNR = 10 log10(65025 / 2) = 45.12 dB
        assert!((psnr(&a, &b) - 45.1205).abs() < 1e-3);
        assert!(psnr(&a, &a).is_infinite());
    }
}
