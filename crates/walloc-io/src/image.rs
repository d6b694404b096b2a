//! Image files in and out through the `image` crate, as 8-bit gray or RGB
//! [`Image8`]s, or at their own depth (8 or 16 bits) as [`Picture`]s, with
//! allocation limits.

use std::io::Cursor;
use std::path::Path;

use image::imageops::{self, FilterType};
use image::{DynamicImage, ImageFormat, ImageReader};
use walloc::{Image16, Image8};

use crate::error::{FormatError, Result};

/// The most an image decoder may allocate (4 GiB).
const MAX_ALLOC: u64 = 4 << 30;

/// A decoded image, and a note for the user when its samples were
/// reduced to 8 bits.
#[derive(Clone, Debug)]
pub struct Decoded {
    /// The 8-bit gray or RGB image.
    pub image: Image8,
    /// "name has Rgb16 samples; …" when deeper samples were reduced.
    pub note: Option<String>,
}

fn alpha_is_opaque(image: &DynamicImage) -> bool {
    match image {
        DynamicImage::ImageLumaA8(i) => i.pixels().all(|p| p.0[1] == u8::MAX),
        DynamicImage::ImageRgba8(i) => i.pixels().all(|p| p.0[3] == u8::MAX),
        DynamicImage::ImageLumaA16(i) => i.pixels().all(|p| p.0[1] == u16::MAX),
        DynamicImage::ImageRgba16(i) => i.pixels().all(|p| p.0[3] == u16::MAX),
        DynamicImage::ImageRgba32F(i) => i.pixels().all(|p| p.0[3] >= 1.0),
        _ => true,
    }
}

/// Reads an image file (PNG, JPEG, WebP, PNM, TIFF) named `name`, with
/// allocation limits; transparency is refused (opaque alpha is kept for
/// the caller to drop).
fn read_dynamic(bytes: &[u8], name: &str) -> Result<DynamicImage> {
    let failed = |source| FormatError::Image {
        doing: "decoding",
        name: name.to_string(),
        source,
    };
    let mut reader = ImageReader::new(Cursor::new(bytes))
        .with_guessed_format()
        .map_err(|e| failed(e.into()))?;
    let mut limits = image::Limits::default();
    limits.max_alloc = Some(MAX_ALLOC);
    reader.limits(limits);
    let image = reader.decode().map_err(failed)?;
    if image.color().has_alpha() && !alpha_is_opaque(&image) {
        return Err(FormatError::Transparent { name: name.to_string() });
    }
    Ok(image)
}

/// Whether an image's samples are deeper than 8 bits.
fn is_deep(image: &DynamicImage) -> bool {
    let color = image.color();
    color.bytes_per_pixel() / color.channel_count() > 1
}

/// Decodes an image file (PNG, JPEG, WebP, PNM, TIFF) named `name` into
/// 8-bit gray or RGB. Opaque alpha is dropped; transparency is refused;
/// deeper samples are reduced to 8 bits, with a note.
pub fn decode_image(bytes: &[u8], name: &str) -> Result<Decoded> {
    let image = read_dynamic(bytes, name)?;
    let color = image.color();
    let note = is_deep(&image)
        .then(|| format!("{name} has {color:?} samples; walloc codes 8 bits per sample, so it is reduced to 8 bits"));
    Ok(Decoded {
        image: eight_bits(image)?,
        note,
    })
}

fn eight_bits(image: DynamicImage) -> Result<Image8> {
    let (width, height) = (image.width(), image.height());
    let (channels, pixels) = if image.color().has_color() {
        (3, image.into_rgb8().into_raw())
    } else {
        (1, image.into_luma8().into_raw())
    };
    Ok(Image8::new(width, height, channels, pixels)?)
}

/// An image file's samples at their own depth: gray or RGB, 8 or 16 bits.
#[derive(Clone, Debug, PartialEq)]
pub enum Picture {
    /// 8 bits per sample.
    Eight(Image8),
    /// 16 bits per sample (and deeper samples, such as float TIFFs,
    /// reduced to 16).
    Sixteen(Image16),
}

impl Picture {
    /// Channels per pixel (1 or 3).
    pub fn channels(&self) -> u8 {
        match self {
            Picture::Eight(image) => image.channels,
            Picture::Sixteen(image) => image.channels,
        }
    }

    /// Bits per sample (8 or 16).
    pub fn sample_bits(&self) -> u8 {
        match self {
            Picture::Eight(_) => 8,
            Picture::Sixteen(_) => 16,
        }
    }
}

/// Decodes an image file (PNG, JPEG, WebP, PNM, TIFF) named `name` into
/// gray or RGB at its own depth: 8 bits, or 16 for deeper samples (16-bit
/// PNG and TIFF; float TIFFs are mapped from 0..1). Opaque alpha is
/// dropped; transparency is refused.
pub fn decode_picture(bytes: &[u8], name: &str) -> Result<Picture> {
    let image = read_dynamic(bytes, name)?;
    if !is_deep(&image) {
        return Ok(Picture::Eight(eight_bits(image)?));
    }
    let (width, height) = (image.width(), image.height());
    let (channels, pixels) = if image.color().has_color() {
        (3, image.into_rgb16().into_raw())
    } else {
        (1, image.into_luma16().into_raw())
    };
    Ok(Picture::Sixteen(Image16::new(width, height, channels, pixels)?))
}

/// Encodes a picture at its depth in the format named by the path's
/// extension (PNG for `-` or an unknown extension). 16-bit pictures need a
/// format that holds 16 bits: PNG, TIFF or PNM.
pub fn encode_picture(picture: &Picture, path: &Path) -> Result<Vec<u8>> {
    let image = match picture {
        Picture::Eight(image) => return encode_image(image, path),
        Picture::Sixteen(image) => image,
    };
    let format = output_format(path);
    if !matches!(format, ImageFormat::Png | ImageFormat::Tiff | ImageFormat::Pnm) {
        return Err(FormatError::Codec(walloc::Error::IncompatibleInput(format!(
            "{} cannot hold 16-bit samples: write a .png, .tif or .pgm/.ppm file",
            path.display()
        ))));
    }
    let (w, h) = (image.width, image.height);
    let pixels = image.pixels.clone();
    let dynamic = if image.channels == 1 {
        image::ImageBuffer::from_raw(w, h, pixels).map(DynamicImage::ImageLuma16)
    } else {
        image::ImageBuffer::from_raw(w, h, pixels).map(DynamicImage::ImageRgb16)
    };
    write_dynamic(dynamic.ok_or_else(wrong_size)?, path, format)
}

fn wrong_size() -> FormatError {
    FormatError::Codec(walloc::Error::IncompatibleInput(
        "an image buffer of the wrong size".into(),
    ))
}

/// The image as the `image` crate's gray or RGB image.
fn dynamic(image: Image8) -> Result<DynamicImage> {
    let (w, h) = (image.width, image.height);
    let dynamic = if image.channels == 1 {
        image::GrayImage::from_raw(w, h, image.pixels).map(DynamicImage::ImageLuma8)
    } else {
        image::RgbImage::from_raw(w, h, image.pixels).map(DynamicImage::ImageRgb8)
    };
    dynamic.ok_or_else(wrong_size)
}

/// The format the path's extension names (PNG for `-` or an unknown one).
fn output_format(path: &Path) -> ImageFormat {
    if path == Path::new("-") {
        ImageFormat::Png
    } else {
        ImageFormat::from_path(path).unwrap_or(ImageFormat::Png)
    }
}

fn write_dynamic(image: DynamicImage, path: &Path, format: ImageFormat) -> Result<Vec<u8>> {
    let mut out = Cursor::new(Vec::new());
    image.write_to(&mut out, format).map_err(|source| FormatError::Image {
        doing: "encoding",
        name: path.display().to_string(),
        source,
    })?;
    Ok(out.into_inner())
}

/// Encodes an image in the format named by the path's extension (PNG for
/// `-` or an unknown extension).
pub fn encode_image(image: &Image8, path: &Path) -> Result<Vec<u8>> {
    write_dynamic(dynamic(image.clone())?, path, output_format(path))
}

/// The image downscaled by `factor` (Lanczos), as training data is to
/// remove JPEG artifacts; the image itself for a factor of 1 or less.
pub fn downscale(image: Image8, factor: u32) -> Result<Image8> {
    if factor <= 1 {
        return Ok(image);
    }
    let (w, h) = ((image.width / factor).max(1), (image.height / factor).max(1));
    let channels = image.channels;
    let pixels = match dynamic(image)? {
        DynamicImage::ImageLuma8(gray) => imageops::resize(&gray, w, h, FilterType::Lanczos3).into_raw(),
        other => imageops::resize(&other.into_rgb8(), w, h, FilterType::Lanczos3).into_raw(),
    };
    Ok(Image8::new(w, h, channels, pixels)?)
}

/// The width and height of an image file, from its header alone.
pub fn dimensions(path: &Path) -> Result<(u32, u32)> {
    let failed = |source| FormatError::Image {
        doing: "reading",
        name: path.display().to_string(),
        source,
    };
    ImageReader::open(path)
        .map_err(|e| FormatError::io("opening", path, e))?
        .with_guessed_format()
        .map_err(|e| failed(e.into()))?
        .into_dimensions()
        .map_err(failed)
}
