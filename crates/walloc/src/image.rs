//! Images through any registered architecture: 8- and 16-bit images as
//! [`Image8`] and [`Image16`], or signals of 2 axes checked against the
//! model, through walloc-codec's image path with this build's registry.

use walloc_codec::container::parse_header;
use walloc_codec::{codec, SampleType};

use crate::{
    find_model, registry, DecodeOptions, EncodeOptions, Error, Latent, Model, Result, Signal, Step, ValueRange,
};

/// The image of `signal` (8- or 16-bit samples over their type's range),
/// checked against what `model` codes.
fn image_of<P: Pixel>(model: &Model, signal: &Signal) -> Result<Image<P>> {
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
    let Some(pixels) = P::of_samples(signal.samples()) else {
        return wrong(format!(
            "8- or 16-bit images (uint8, uint16), not {}",
            signal.sample_type().name()
        ));
    };
    if signal.range() != P::SAMPLE_TYPE.default_range() {
        let ValueRange { min, max } = P::SAMPLE_TYPE.default_range();
        return wrong(format!("{}-bit images over {min}..{max}", P::BITS));
    }
    let dimension = |v: usize| u32::try_from(v).map_err(|_| Error::IncompatibleInput(format!("image side {v}")));
    // The image path reads the pixels once, padded; they are copied here.
    Image::new(
        dimension(*width)?,
        dimension(*height)?,
        signal.channels() as u8,
        pixels.to_vec(),
    )
}

pub use walloc_codec::stripes::{
    decodes_in_stripes, encodes_whole, is_striped, StripeDecoder, StripeEncoder, STRIPE_ROWS, WHOLE_IMAGE_SAMPLES,
};
pub use walloc_codec::{Image, Image16, Image8, Pixel};

/// Encodes an 8- or 16-bit image (with the model's channels) into `.wal`
/// bytes. Images of up to [`WHOLE_IMAGE_SAMPLES`] samples are transformed
/// whole ([`encodes_whole`]: no stripe halos to transform twice); larger
/// rANS and adaptive files are coded in stripes, so that memory beyond
/// the image is one stripe's, whatever its size. The bytes are the whole
/// image's either way, with rate–distortion-optimized quantization too (it
/// decides each stripe as the chunk it is coded as).
pub fn encode_image<P: Pixel>(model: &Model, image: &Image<P>, options: &EncodeOptions) -> Result<Vec<u8>> {
    if !model.config().encoder_kind().is_local()
        || !options.codes_in_stripes()
        || encodes_whole(image.width, image.height, image.channels, model.config().levels)
    {
        return codec::encode_with(registry(), model, image, *options);
    }
    codec::check_image_size(image)?;
    let mut encoder = stripe_encoder::<P>(model, image.width, image.height, image.channels, options)?;
    let batch = image.width as usize * usize::from(image.channels) * (STRIPE_ROWS << 3);
    for rows in image.pixels.chunks(batch) {
        encoder.push_rows(rows)?;
    }
    encoder.finish()
}

/// Encodes an image at the finest step (of qualities 0 to 100, no finer
/// than the model's finest) whose file
/// takes at most `bits_per_pixel` ([`crate::rate::search`]). When even
/// quality 0 is larger, its file is returned: the caller compares the rate.
pub fn encode_image_at_rate<P: Pixel>(
    model: &Model,
    image: &Image<P>,
    bits_per_pixel: f64,
    options: &EncodeOptions,
) -> Result<(Vec<u8>, Step)> {
    let pixels = u64::from(image.width) * u64::from(image.height);
    crate::rate::search(pixels, bits_per_pixel, model.finest_step(), |step| {
        encode_image(model, image, &options.with_step(step))
    })
}

/// Decodes `.wal` image bytes made with `model`, of `P` samples (the
/// header's [`sample_bits`](walloc_codec::Header::sample_bits) says which;
/// [`crate::decode`] picks for itself). Linear models decode in stripes
/// (memory beyond the image is one stripe's); neural ones whole, or in
/// tiles for large latents ([`DecoderOptions::tile`]).
pub fn decode_image<P: Pixel>(model: &Model, bytes: &[u8], options: &DecodeOptions) -> Result<Image<P>> {
    if !decodes_in_stripes(model) {
        return codec::decode_with(registry(), model, bytes, &options.limits, &options.decoder);
    }
    let mut decoder = stripe_decoder::<P>(model, bytes, options)?;
    let header = decoder.header().clone();
    let mut pixels = Vec::with_capacity(header.width as usize * header.height as usize * usize::from(header.channels));
    while let Some(rows) = decoder.next_rows() {
        pixels.extend_from_slice(&rows?);
    }
    Image::new(header.width, header.height, header.channels, pixels)
}

/// A streaming encoder of a `width × height` image of `channels` and `P`
/// samples, with the coder and step of `options` (rANS or adaptive, in
/// chunks that divide [`STRIPE_ROWS`]): push rows as they are read, then `finish`
/// (the same bytes as [`encode_image`]).
pub fn stripe_encoder<'m, P: Pixel>(
    model: &'m Model,
    width: u32,
    height: u32,
    channels: u8,
    options: &EncodeOptions,
) -> Result<StripeEncoder<'m, P>> {
    StripeEncoder::with_options(registry(), model, width, height, channels, *options)
}

/// Encodes a `width × height` image of `channels` (the model's) whose rows
/// `next_row` hands out in order, each `width × channels` samples, `None`
/// after the last: whole when it fits ([`encodes_whole`], or the model or
/// options do not code in stripes), its rows gathered as they come (the
/// buffer grows with them, never sized from the caller's dimensions, which
/// are checked against the default limits before any row is asked for);
/// else in stripes through a [`StripeEncoder`], holding only the rows a
/// pending stripe needs. The bytes are [`encode_image`]'s.
pub fn encode_rows<P: Pixel, E: From<Error>>(
    model: &Model,
    (width, height, channels): (u32, u32, u8),
    options: &EncodeOptions,
    mut next_row: impl FnMut() -> std::result::Result<Option<Vec<P>>, E>,
) -> std::result::Result<Vec<u8>, E> {
    crate::Limits::default().check_image(width, height)?;
    let striped = model.config().encoder_kind().is_local()
        && options.codes_in_stripes()
        && !encodes_whole(width, height, channels, model.config().levels);
    if !striped {
        let mut pixels = Vec::new();
        while let Some(row) = next_row()? {
            pixels.extend_from_slice(&row);
        }
        return Ok(encode_image(
            model,
            &Image::new(width, height, channels, pixels)?,
            options,
        )?);
    }
    let mut encoder = stripe_encoder(model, width, height, channels, options)?;
    // Rows go to the encoder a batch at a time: each push looks for the
    // stripes it completes.
    let batch_len = width as usize * usize::from(channels) * 256;
    let mut batch = Vec::new();
    while let Some(row) = next_row()? {
        batch.extend_from_slice(&row);
        if batch.len() >= batch_len {
            encoder.push_rows(&batch)?;
            batch.clear();
        }
    }
    encoder.push_rows(&batch)?;
    Ok(encoder.finish()?)
}

/// A streaming decoder of `.wal` image bytes of `P` samples made with
/// `model`: rows come out stripe by stripe (exact for
/// [`decodes_in_stripes`] models).
pub fn stripe_decoder<'m, P: Pixel>(
    model: &'m Model,
    bytes: &[u8],
    options: &DecodeOptions,
) -> Result<StripeDecoder<'m, P>> {
    StripeDecoder::new(registry(), model, bytes, &options.limits, &options.decoder)
}

pub(crate) fn encode(model: &Model, signal: &Signal, options: &EncodeOptions) -> Result<Vec<u8>> {
    match signal.sample_type() {
        SampleType::U16 => encode_image(model, &image_of::<u16>(model, signal)?, options),
        _ => encode_image(model, &image_of::<u8>(model, signal)?, options),
    }
}

pub(crate) fn decode(bytes: &[u8], models: &[Model], options: &DecodeOptions) -> Result<Signal> {
    let header = parse_header(bytes, &options.limits)?;
    let model = find_model(header.model_id, models)?;
    Ok(match header.sample_bits {
        16 => decode_image::<u16>(model, bytes, options)?.into(),
        _ => decode_image::<u8>(model, bytes, options)?.into(),
    })
}

pub(crate) fn analyze(model: &Model, signal: &Signal) -> Result<Latent> {
    match signal.sample_type() {
        SampleType::U16 => codec::analyze_with(registry(), model, &image_of::<u16>(model, signal)?),
        _ => codec::analyze_with(registry(), model, &image_of::<u8>(model, signal)?),
    }
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
    let image: Image8 = codec::synthesize_with(decoder.as_ref(), model, latent, width as u32, height as u32)?;
    Ok(image.into())
}
