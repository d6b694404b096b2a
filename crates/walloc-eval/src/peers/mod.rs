//! Peer codecs, run in-process through their libraries: lossy WebP
//! (libwebp), JPEG (jpeg-encoder, decoded by zune-jpeg), AVIF (rav1e via
//! ravif, decoded by rav1d), Opus (libopus, transpiled to Rust), and for
//! volumes JPEG 2000 (OpenJPEG, ported to Rust) and zfp (`zfp-rs`).

mod avif;
mod jpeg;
pub mod jpeg2000;
mod opus;
mod webp;
pub mod zfp;

pub use avif::Avif;
pub use jpeg::Jpeg;
pub use opus::{Opus, OPUS_RATES};
pub use webp::WebP;

use thiserror::Error;
use walloc_codec::Image8;

/// A peer codec failed.
#[derive(Debug, Error)]
#[error("{codec}: {message}")]
pub struct PeerError {
    /// The codec's name.
    pub codec: &'static str,
    /// What went wrong.
    pub message: String,
}

impl PeerError {
    pub(crate) fn new(codec: &'static str, message: impl Into<String>) -> Self {
        PeerError {
            codec,
            message: message.into(),
        }
    }
}

/// A lossy image codec with a quality knob (higher: larger and better).
pub trait ImageCodec: Sync {
    /// Short name ("webp", "jpeg", "avif").
    fn name(&self) -> &'static str;
    /// The qualities swept to trace its rate–distortion curve.
    fn qualities(&self) -> &'static [f32];
    /// Compresses an 8-bit gray or RGB image at `quality`.
    fn encode(&self, image: &Image8, quality: f32) -> Result<Vec<u8>, PeerError>;
    /// Decompresses a file of [`ImageCodec::encode`] into an image with
    /// `channels` channels.
    fn decode(&self, bytes: &[u8], channels: u8) -> Result<Image8, PeerError>;
}

/// Every image peer, by name.
pub fn image_codec(name: &str) -> Option<Box<dyn ImageCodec>> {
    match name {
        "webp" => Some(Box::new(WebP)),
        "jpeg" => Some(Box::new(Jpeg)),
        "avif" => Some(Box::new(Avif::default())),
        _ => None,
    }
}

/// The names [`image_codec`] knows.
pub const IMAGE_CODECS: [&str; 3] = ["webp", "jpeg", "avif"];

/// The image's pixels as RGB (gray is replicated).
pub(crate) fn rgb_pixels(image: &Image8) -> std::borrow::Cow<'_, [u8]> {
    if image.channels == 3 {
        std::borrow::Cow::Borrowed(&image.pixels)
    } else {
        std::borrow::Cow::Owned(image.pixels.iter().flat_map(|&v| [v, v, v]).collect())
    }
}

/// A decoded RGB buffer with the channels the caller asked for: RGB as it
/// is, gray as the rounded mean of the three (exact for replicated gray).
pub(crate) fn with_channels(
    codec: &'static str,
    width: u32,
    height: u32,
    rgb: Vec<u8>,
    channels: u8,
) -> Result<Image8, PeerError> {
    let pixels = if channels == 1 {
        rgb.chunks_exact(3)
            .map(|p| ((u16::from(p[0]) + u16::from(p[1]) + u16::from(p[2]) + 1) / 3) as u8)
            .collect()
    } else {
        rgb
    };
    Image8::new(width, height, channels, pixels).map_err(|e| PeerError::new(codec, e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::psnr;

    /// A smooth RGB test card with an edge.
    fn card(width: u32, height: u32) -> Image8 {
        let mut pixels = Vec::new();
        for y in 0..height {
            for x in 0..width {
                let edge = if x > width / 2 { 60 } else { 0 };
                pixels.extend([(x * 2 + edge) as u8, (y * 3) as u8, ((x + y) + 40) as u8]);
            }
        }
        Image8::new(width, height, 3, pixels).unwrap()
    }

    #[test]
    fn every_peer_round_trips_rgb_and_gray() {
        let rgb = card(64, 48);
        let gray = Image8::new(64, 48, 1, rgb.pixels.iter().step_by(3).copied().collect()).unwrap();
        for name in IMAGE_CODECS {
            let codec = image_codec(name).unwrap();
            for image in [&rgb, &gray] {
                let high = codec.encode(image, 90.0).unwrap();
                let low = codec.encode(image, 10.0).unwrap();
                assert!(low.len() < high.len(), "{name}: size grows with quality");
                let decoded = codec.decode(&high, image.channels).unwrap();
                assert_eq!(
                    (decoded.width, decoded.height, decoded.channels),
                    (64, 48, image.channels)
                );
                let quality = psnr(image, &decoded);
                assert!(quality > 35.0, "{name} ({} channels): {quality} dB", image.channels);
            }
        }
    }

    #[test]
    fn garbage_is_an_error_not_a_panic() {
        for name in IMAGE_CODECS {
            let codec = image_codec(name).unwrap();
            assert!(codec.decode(b"not an image at all", 3).is_err(), "{name}");
            assert!(codec.decode(&[], 3).is_err(), "{name}");
        }
        assert!(image_codec("bmp").is_none());
    }
}
