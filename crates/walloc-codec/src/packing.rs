//! The reference's lossless-image packing of latents (`latent_to_pil` /
//! `pil_to_latent`): `N = C * n^2` latent channels tiled into an `n*h × n*w`
//! image with `C` planes; pixel `(nh*h + y, nw*w + x, c)` holds
//! `latent[c*n^2 + nh*n + nw, y, x] + 2^(bits-1)`.

use std::io::Cursor;

use image::codecs::png::PngEncoder;
use image::codecs::webp::WebPEncoder;
use image::{ExtendedColorType, ImageEncoder, ImageFormat, ImageReader};

use crate::error::{CodecError, Result};

/// Lossless image formats for packed latents.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PackFormat {
    /// PNG.
    Png,
    /// Lossless WebP.
    WebP,
}

/// How a latent of `latent_dim` channels is tiled: `(planes C, tiles per side n)`.
/// Three planes when `latent_dim / 3` is a square (the reference's choice
/// for RGB models), else one plane when `latent_dim` is a square.
pub fn tiling(latent_dim: usize) -> Option<(usize, usize)> {
    let square_root = |v: usize| (1..=v).find(|n| n * n >= v).filter(|n| n * n == v);
    if latent_dim.is_multiple_of(3) {
        if let Some(n) = square_root(latent_dim / 3) {
            return Some((3, n));
        }
    }
    square_root(latent_dim).map(|n| (1, n))
}

fn layout_error(latent_dim: usize) -> CodecError {
    CodecError::LatentImage(format!(
        "latent_dim {latent_dim} is neither 3·n² nor n²: it cannot be packed as an image"
    ))
}

/// Every `(symbol index, pixel sample index)` pair of the tiling of a
/// `[latent_dim, h, w]` latent into `planes` interleaved planes, `n` tiles a side.
fn tile_pairs(planes: usize, n: usize, h: usize, w: usize) -> impl Iterator<Item = (usize, usize)> {
    let width = n * w;
    (0..planes * n * n).flat_map(move |channel| {
        let (c, nh, nw) = (channel / (n * n), (channel / n) % n, channel % n);
        (0..h * w).map(move |i| {
            let (y, x) = (i / w, i % w);
            (channel * h * w + i, ((nh * h + y) * width + nw * w + x) * planes + c)
        })
    })
}

/// Tiles symbols `[latent_dim, h, w]` into interleaved image pixels; returns
/// `(pixels, width, height, planes)`.
pub fn tile(symbols: &[u8], latent_dim: usize, h: usize, w: usize) -> Result<(Vec<u8>, usize, usize, usize)> {
    let (planes, n) = tiling(latent_dim).ok_or_else(|| layout_error(latent_dim))?;
    let mut pixels = vec![0u8; latent_dim * h * w];
    tile_pairs(planes, n, h, w).for_each(|(s, p)| pixels[p] = symbols[s]);
    Ok((pixels, n * w, n * h, planes))
}

/// Inverse of [`tile`].
pub fn untile(pixels: &[u8], latent_dim: usize, h: usize, w: usize) -> Result<Vec<u8>> {
    let (planes, n) = tiling(latent_dim).ok_or_else(|| layout_error(latent_dim))?;
    let mut symbols = vec![0u8; latent_dim * h * w];
    tile_pairs(planes, n, h, w).for_each(|(s, p)| symbols[s] = pixels[p]);
    Ok(symbols)
}

/// Packs symbols `[latent_dim, h, w]` into a lossless image file.
pub fn pack(symbols: &[u8], latent_dim: usize, h: usize, w: usize, format: PackFormat) -> Result<Vec<u8>> {
    let (pixels, width, height, planes) = tile(symbols, latent_dim, h, w)?;
    let color = if planes == 3 {
        ExtendedColorType::Rgb8
    } else {
        ExtendedColorType::L8
    };
    let mut out = Vec::new();
    let err = |e: image::ImageError| CodecError::LatentImage(e.to_string());
    match format {
        PackFormat::Png => PngEncoder::new(&mut out)
            .write_image(&pixels, width as u32, height as u32, color)
            .map_err(err)?,
        PackFormat::WebP => WebPEncoder::new_lossless(&mut out)
            .write_image(&pixels, width as u32, height as u32, color)
            .map_err(err)?,
    }
    Ok(out)
}

/// Unpacks a lossless latent image; its size and planes must be exactly
/// those the latent shape implies (checked before decoding the pixels).
pub fn unpack(bytes: &[u8], latent_dim: usize, h: usize, w: usize, format: PackFormat) -> Result<Vec<u8>> {
    let (planes, n) = tiling(latent_dim).ok_or_else(|| layout_error(latent_dim))?;
    let err = |e: image::ImageError| CodecError::LatentImage(e.to_string());
    let image_format = match format {
        PackFormat::Png => ImageFormat::Png,
        PackFormat::WebP => ImageFormat::WebP,
    };
    let mut reader = ImageReader::with_format(Cursor::new(bytes), image_format);
    let mut limits = image::Limits::default();
    limits.max_image_width = Some((n * w) as u32);
    limits.max_image_height = Some((n * h) as u32);
    limits.max_alloc = Some((n * n * h * w * 4 + (1 << 20)) as u64);
    reader.limits(limits);
    let decoded = reader.decode().map_err(err)?;
    if (decoded.width() as usize, decoded.height() as usize) != (n * w, n * h) {
        return Err(CodecError::LatentImage(format!(
            "image is {}×{}, the latent needs {}×{}",
            decoded.width(),
            decoded.height(),
            n * w,
            n * h
        )));
    }
    let pixels = match (planes, decoded) {
        (1, image::DynamicImage::ImageLuma8(img)) => img.into_raw(),
        (3, image::DynamicImage::ImageRgb8(img)) => img.into_raw(),
        (_, other) => {
            return Err(CodecError::LatentImage(format!(
                "image has color type {:?}, the latent needs {planes} 8-bit planes",
                other.color()
            )))
        }
    };
    untile(&pixels, latent_dim, h, w)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tiling_rules() {
        assert_eq!(tiling(12), Some((3, 2)));
        assert_eq!(tiling(48), Some((3, 4)));
        assert_eq!(tiling(4), Some((1, 2)));
        assert_eq!(tiling(16), Some((1, 4)));
        assert_eq!(tiling(10), None);
    }

    #[test]
    fn pack_round_trips_both_formats() {
        let (k, h, w) = (12, 5, 7);
        let symbols: Vec<u8> = (0..k * h * w).map(|i| (i * 37 % 251) as u8).collect();
        for format in [PackFormat::Png, PackFormat::WebP] {
            let bytes = pack(&symbols, k, h, w, format).unwrap();
            assert_eq!(unpack(&bytes, k, h, w, format).unwrap(), symbols);
            // The wrong latent shape is refused, not misread.
            assert!(unpack(&bytes, k, h + 1, w, format).is_err());
        }
    }
}
