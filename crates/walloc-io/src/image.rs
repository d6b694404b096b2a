//! Image files in and out through the `image` crate, as 8-bit gray or RGB
//! [`Image8`]s, with allocation limits.

use std::io::Cursor;
use std::path::Path;

use image::imageops::{self, FilterType};
use image::{DynamicImage, ImageFormat, ImageReader};
use walloc::Image8;

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

/// Decodes an image file (PNG, JPEG, WebP, PNM, TIFF) named `name` into
/// 8-bit gray or RGB. Opaque alpha is dropped; transparency is refused;
/// deeper samples are reduced to 8 bits, with a note.
pub fn decode_image(bytes: &[u8], name: &str) -> Result<Decoded> {
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
    let color = image.color();
    if color.has_alpha() && !alpha_is_opaque(&image) {
        return Err(FormatError::Transparent { name: name.to_string() });
    }
    let note = (color.bytes_per_pixel() / color.channel_count() > 1)
        .then(|| format!("{name} has {color:?} samples; walloc codes 8 bits per sample, so it is reduced to 8 bits"));
    let (width, height) = (image.width(), image.height());
    let (channels, pixels) = if color.has_color() {
        (3, image.into_rgb8().into_raw())
    } else {
        (1, image.into_luma8().into_raw())
    };
    Ok(Decoded {
        image: Image8::new(width, height, channels, pixels)?,
        note,
    })
}

/// The image as the `image` crate's gray or RGB image.
fn dynamic(image: Image8) -> Result<DynamicImage> {
    let (w, h) = (image.width, image.height);
    let dynamic = if image.channels == 1 {
        image::GrayImage::from_raw(w, h, image.pixels).map(DynamicImage::ImageLuma8)
    } else {
        image::RgbImage::from_raw(w, h, image.pixels).map(DynamicImage::ImageRgb8)
    };
    dynamic.ok_or_else(|| {
        FormatError::Codec(walloc::Error::IncompatibleInput(
            "an image buffer of the wrong size".into(),
        ))
    })
}

/// Encodes an image in the format named by the path's extension (PNG for
/// `-` or an unknown extension).
pub fn encode_image(image: &Image8, path: &Path) -> Result<Vec<u8>> {
    let format = if path == Path::new("-") {
        ImageFormat::Png
    } else {
        ImageFormat::from_path(path).unwrap_or(ImageFormat::Png)
    };
    let mut out = Cursor::new(Vec::new());
    dynamic(image.clone())?
        .write_to(&mut out, format)
        .map_err(|source| FormatError::Image {
            doing: "encoding",
            name: path.display().to_string(),
            source,
        })?;
    Ok(out.into_inner())
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
