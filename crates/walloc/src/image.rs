//! Images through any registered architecture: 8-bit images as
//! [`Image8`], or signals of 2 axes checked against the model, through
//! walloc-codec's image path with this build's registry.

use walloc_codec::container::parse_header;
use walloc_codec::{codec, Samples};

use crate::{find_model, registry, DecodeOptions, EncodeOptions, Error, Latent, LatentCoder, Model, Result, Signal};

/// The 8-bit image of `signal`, checked against what `model` codes.
fn image_of(model: &Model, signal: &Signal) -> Result<Image8> {
    let config = model.config();
    let wrong = |what: String| Err(Error::IncompatibleInput(format!("model {} codes {what}", config.name)));
    let [height, width] = signal.shape() else {
        return wrong(format!("images (2 axes), not signals of {} axes", signal.axes()));
    };
    if signal.channels() != config.channels as usize {
        return wrong(format!(
            "{}-channel images, not {}-channel ones",
            config.channels,
            signal.channels()
        ));
    }
    let Samples::U8(pixels) = signal.samples() else {
        return wrong(format!("8-bit images (uint8), not {}", signal.sample_type().name()));
    };
    if signal.range() != walloc_codec::SampleType::U8.default_range() {
        return wrong("8-bit images over 0..255".into());
    }
    let dimension = |v: usize| u32::try_from(v).map_err(|_| Error::IncompatibleInput(format!("image side {v}")));
    // Image8 needs its own pixels: the image path reads them once, padded.
    Image8::new(
        dimension(*width)?,
        dimension(*height)?,
        signal.channels() as u8,
        pixels.clone(),
    )
}

pub use walloc_codec::stripes::{StripeDecoder, StripeEncoder, STRIPE_ROWS};
pub use walloc_codec::Image8;

/// Encodes an 8-bit image (with the model's channels) into `.wal` bytes.
/// rANS files are coded in stripes, so that memory beyond the image is one
/// stripe's, whatever its size; the bytes are the whole image's.
pub fn encode_image(model: &Model, image: &Image8, options: &EncodeOptions) -> Result<Vec<u8>> {
    let projection = model.config().encoder_kind() == walloc_codec::EncoderKind::Projection;
    if !projection || options.coder != LatentCoder::Rans || options.rows_per_chunk != STRIPE_ROWS as u32 {
        return codec::encode_with(registry(), model, image, *options);
    }
    codec::check_image_size(image)?;
    let mut encoder = stripe_encoder(model, image.width, image.height, image.channels)?;
    let batch = image.width as usize * usize::from(image.channels) * (STRIPE_ROWS << 3);
    for rows in image.pixels.chunks(batch) {
        encoder.push_rows(rows)?;
    }
    encoder.finish()
}

/// Decodes `.wal` image bytes made with `model`. Linear models decode in
/// stripes (memory beyond the image is one stripe's); neural ones whole,
/// or in tiles for large latents ([`DecoderOptions::tile`]).
pub fn decode_image(model: &Model, bytes: &[u8], options: &DecodeOptions) -> Result<Image8> {
    if !decodes_in_stripes(model) {
        return codec::decode_with(registry(), model, bytes, &options.limits, &options.decoder);
    }
    let mut decoder = stripe_decoder(model, bytes, options)?;
    let header = decoder.header().clone();
    let mut pixels = Vec::with_capacity(header.width as usize * header.height as usize * usize::from(header.channels));
    while let Some(rows) = decoder.next_rows() {
        pixels.extend_from_slice(&rows?);
    }
    Image8::new(header.width, header.height, header.channels, pixels)
}

/// Whether `model`'s decoder gives exactly the whole image's pixels in
/// stripes: walloc-codec's own (linear) decoders, whose reach is the
/// synthesis filters'.
pub fn decodes_in_stripes(model: &Model) -> bool {
    walloc_codec::registry::Registry::core().supports(model)
}

/// A streaming encoder of a `width × height` image of `channels`: push
/// rows as they are read, then `finish` (rANS, the same bytes as
/// [`encode_image`]).
pub fn stripe_encoder(model: &Model, width: u32, height: u32, channels: u8) -> Result<StripeEncoder<'_>> {
    StripeEncoder::new(registry(), model, width, height, channels)
}

/// A streaming decoder of `.wal` image bytes made with `model`: rows come
/// out stripe by stripe (exact for [`decodes_in_stripes`] models).
pub fn stripe_decoder<'m>(model: &'m Model, bytes: &[u8], options: &DecodeOptions) -> Result<StripeDecoder<'m>> {
    StripeDecoder::new(registry(), model, bytes, &options.limits, &options.decoder)
}

pub(crate) fn encode(model: &Model, signal: &Signal, options: &EncodeOptions) -> Result<Vec<u8>> {
    encode_image(model, &image_of(model, signal)?, options)
}

pub(crate) fn decode(bytes: &[u8], models: &[Model], options: &DecodeOptions) -> Result<Signal> {
    let header = parse_header(bytes, &options.limits)?;
    let model = find_model(header.model_id, models)?;
    Ok(decode_image(model, bytes, options)?.into())
}

pub(crate) fn analyze(model: &Model, signal: &Signal) -> Result<Latent> {
    codec::analyze_with(registry(), model, &image_of(model, signal)?)
}

pub(crate) fn synthesize(model: &Model, latent: &Latent, shape: &[usize]) -> Result<Signal> {
    let &[height, width] = shape else {
        return Err(Error::IncompatibleInput(format!(
            "an image shape is [height, width], not {shape:?}"
        )));
    };
    let levels = model.config().levels;
    let side = |v: usize| v.div_ceil(1 << levels);
    if (side(height), side(width)) != (latent.height, latent.width) {
        return Err(Error::IncompatibleInput(format!(
            "a {}×{} latent does not decode a {height}×{width} image at J = {levels} (that needs {}×{})",
            latent.height,
            latent.width,
            side(height),
            side(width)
        )));
    }
    let decoder = registry().decoder(model, &Default::default())?;
    let image = codec::synthesize_with(decoder.as_ref(), model, latent, width as u32, height as u32)?;
    Ok(image.into())
}
