//! Baseline JPEG: encoded by `jpeg-encoder` (the Annex K quantisation
//! tables scaled as libjpeg scales them, 4:2:0 chroma for color at every
//! quality, the standard Huffman tables), decoded by zune-jpeg through
//! `image`. (With jpeg-encoder 0.7's optimised Huffman tables the round
//! trip through zune-jpeg came back as noise, so they stay off: the files
//! are a few percent larger than libjpeg's `-optimize` ones.)

use jpeg_encoder::{ColorType, Encoder, SamplingFactor};
use walloc_codec::Image8;

use super::{ImageCodec, PeerError};

/// JPEG through jpeg-encoder and zune-jpeg.
pub struct Jpeg;

/// JPEG's quality sweep, up to 95 (about 3 bpp on photos, past walloc's
/// finest rates).
const QUALITIES: [f32; 12] = [5.0, 10.0, 15.0, 20.0, 30.0, 40.0, 50.0, 60.0, 70.0, 80.0, 90.0, 95.0];

impl ImageCodec for Jpeg {
    fn name(&self) -> &'static str {
        "jpeg"
    }

    fn qualities(&self) -> &'static [f32] {
        &QUALITIES
    }

    fn encode(&self, image: &Image8, quality: f32) -> Result<Vec<u8>, PeerError> {
        let error = |e: jpeg_encoder::EncodingError| PeerError::new("jpeg", e.to_string());
        let (width, height) = (
            u16::try_from(image.width).map_err(|_| PeerError::new("jpeg", "wider than 65535 pixels"))?,
            u16::try_from(image.height).map_err(|_| PeerError::new("jpeg", "taller than 65535 pixels"))?,
        );
        let color = if image.channels == 1 {
            ColorType::Luma
        } else {
            ColorType::Rgb
        };
        let mut file = Vec::new();
        let mut encoder = Encoder::new(&mut file, quality.clamp(1.0, 100.0).round() as u8);
        encoder.set_sampling_factor(SamplingFactor::F_2_2);
        encoder.encode(&image.pixels, width, height, color).map_err(error)?;
        Ok(file)
    }

    fn decode(&self, bytes: &[u8], channels: u8) -> Result<Image8, PeerError> {
        let decoded = image::load_from_memory_with_format(bytes, image::ImageFormat::Jpeg)
            .map_err(|e| PeerError::new("jpeg", e.to_string()))?;
        let (width, height) = (decoded.width(), decoded.height());
        let pixels = if channels == 1 {
            decoded.into_luma8().into_raw()
        } else {
            decoded.into_rgb8().into_raw()
        };
        Image8::new(width, height, channels, pixels).map_err(|e| PeerError::new("jpeg", e.to_string()))
    }
}
