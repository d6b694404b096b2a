//! Lossy WebP through libwebp (the `webp` crate).

use walloc_codec::Image8;

use super::{rgb_pixels, with_channels, ImageCodec, PeerError};

/// libwebp, lossy, default method.
pub struct WebP;

/// WebP's quality sweep: dense at the low end where most of walloc's
/// models sit, and up to 100, past the rates of walloc's finest (`rgb-2x`
/// at quality 100 codes photos at about 1.9 bpp, WebP's 95 at 1.8).
const QUALITIES: [f32; 14] = [
    0.0, 2.0, 5.0, 10.0, 20.0, 30.0, 40.0, 50.0, 60.0, 70.0, 80.0, 90.0, 95.0, 100.0,
];

impl ImageCodec for WebP {
    fn name(&self) -> &'static str {
        "webp"
    }

    fn qualities(&self) -> &'static [f32] {
        &QUALITIES
    }

    fn encode(&self, image: &Image8, quality: f32) -> Result<Vec<u8>, PeerError> {
        if image.width > 16383 || image.height > 16383 {
            return Err(PeerError::new(
                "webp",
                "images larger than 16383 pixels a side are not supported",
            ));
        }
        let rgb = rgb_pixels(image);
        Ok(::webp::Encoder::from_rgb(&rgb, image.width, image.height)
            .encode(quality)
            .to_vec())
    }

    fn decode(&self, bytes: &[u8], channels: u8) -> Result<Image8, PeerError> {
        let decoded = ::webp::Decoder::new(bytes)
            .decode()
            .ok_or_else(|| PeerError::new("webp", "libwebp could not decode the file"))?;
        if decoded.is_alpha() {
            return Err(PeerError::new("webp", "unexpected alpha channel"));
        }
        with_channels("webp", decoded.width(), decoded.height(), decoded.to_vec(), channels)
    }
}
