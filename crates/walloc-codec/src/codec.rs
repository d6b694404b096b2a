//! The linear WaLLoC codec: pixels → wavelet packets → 1×1 projection →
//! bottleneck → entropy-coded container, and back.

use rayon::prelude::*;

use crate::bottleneck::Rounding;
use crate::config::Modality;
use crate::container::{self, Header, LatentCoder, Limits};
use crate::error::{CodecError, Result};
use crate::image::{from_padded_signal, to_padded_signal, Image, Pixel};
use crate::linalg::{matmul, Strides};
use crate::model::Model;
use crate::packing::{self, PackFormat};
use crate::registry::{Analysis, DecoderOptions, Registry, Synthesis};
use crate::step::Step;
use crate::step_decoders::NEIGHBOURS;

/// An integer latent: `channels` planes of `height × width` stored symbols
/// (`value + 2^(bits-1)`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Latent {
    /// Slices: 1 for images and audio; for a volume, `height` counts the
    /// rows of every slice, slice after slice.
    pub depth: usize,
    /// Latent channels.
    pub channels: usize,
    /// Rows (of every slice, for a volume).
    pub height: usize,
    /// Columns.
    pub width: usize,
    /// `channels * height * width` symbols, channel-major.
    pub symbols: Vec<u8>,
    /// The quantizer step the symbols were made at.
    pub step: Step,
}

impl Latent {
    /// The latent as signed values (symbol − 2^(bits−1)), what learning
    /// on latents takes: `int8` for the 8-bit latents of every model.
    pub fn signed_values(&self, latent_bits: u8) -> Vec<i8> {
        let offset = 1i16 << (latent_bits.clamp(1, 8) - 1);
        self.symbols.iter().map(|&s| (i16::from(s) - offset) as i8).collect()
    }
}

/// The positions of chunk `chunk` of `rows` latent rows in a plane of
/// `height` rows of `width`.
pub(crate) fn chunk_range(chunk: usize, rows: usize, height: usize, width: usize) -> std::ops::Range<usize> {
    chunk * rows * width..((chunk + 1) * rows).min(height) * width
}

/// `latent` coded by `coder` in chunks of `rows` latent rows (each decodes
/// on its own), in parallel.
pub(crate) fn code_in_chunks(coder: &crate::entropy::BandCoder, latent: &Latent, rows: usize) -> Result<Vec<Vec<u8>>> {
    let plane = latent.height * latent.width;
    (0..latent.height.div_ceil(rows))
        .into_par_iter()
        .map(|c| {
            let range = chunk_range(c, rows, latent.height, latent.width);
            coder.encode(&latent.symbols, plane, range, latent.width)
        })
        .collect()
}

/// Latent rows per entropy-coded chunk by default: two stripes
/// ([`crate::stripes::STRIPE_ROWS`]). Each chunk starts its adaptive
/// contexts afresh and decodes on its own (in parallel); 128 rows rather
/// than 64 make the files of a megapixel photograph about 0.8 % smaller
/// (docs/benchmarks/manual.md, sixteenth stop of issue 15).
pub const DEFAULT_CHUNK_ROWS: u32 = 2 * crate::stripes::STRIPE_ROWS as u32;

/// Options of [`encode`].
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct EncodeOptions {
    /// How to store the latent.
    pub coder: LatentCoder,
    /// Latent rows per entropy-coded chunk (each chunk decodes on its own).
    pub rows_per_chunk: u32,
    /// The quantizer step: the quality knob.
    pub step: Step,
    /// Rate–distortion-optimized quantization ([`crate::rdo`]): each
    /// latent value's symbol chosen by its cost in bits and in error
    /// (smaller files at the same quality, slower encoding). Models with a
    /// 1×1 projection encoder, with the adaptive coder only.
    pub rdo: bool,
    /// How the encoder rounds each latent value when it does not choose by
    /// rate and distortion: [`Rounding::DeadZone`] by default (smaller
    /// files at the same speed), [`Rounding::Nearest`] for the reference's
    /// latents.
    pub rounding: Rounding,
}

impl Default for EncodeOptions {
    /// Contextual adaptive coding at the model's own step, in chunks of
    /// [`DEFAULT_CHUNK_ROWS`] latent rows, with the dead-zone rounding.
    fn default() -> Self {
        EncodeOptions {
            coder: LatentCoder::Contextual,
            rows_per_chunk: DEFAULT_CHUNK_ROWS,
            step: Step::NATIVE,
            rdo: false,
            rounding: Rounding::DeadZone,
        }
    }
}

impl EncodeOptions {
    /// The same options at another step.
    pub fn with_step(self, step: Step) -> Self {
        EncodeOptions { step, ..self }
    }

    /// The same options with another coder.
    pub fn with_coder(self, coder: LatentCoder) -> Self {
        EncodeOptions { coder, ..self }
    }

    /// Whether a file of these options can be coded stripe by stripe: an
    /// entropy coder of bands (rANS or adaptive), in chunks that tile a
    /// stripe of [`crate::stripes::STRIPE_ROWS`] rows or that whole
    /// stripes tile. Rate–distortion optimization decides each chunk in
    /// the order it is coded (a channel's rows before the next channel's),
    /// so with it a chunk must lie within a stripe.
    pub fn codes_in_stripes(&self) -> bool {
        let (rows, stripe) = (self.rows_per_chunk as usize, crate::stripes::STRIPE_ROWS);
        self.coder.is_banded()
            && rows > 0
            && (stripe.is_multiple_of(rows) || (rows.is_multiple_of(stripe) && !self.rdo))
    }

    /// The latent rows per chunk an image is coded in unless a user says
    /// otherwise: [`DEFAULT_CHUNK_ROWS`], or one stripe with rate–distortion
    /// optimization (`rdo`), whose chunks must lie within a stripe for a
    /// large image to stream ([`EncodeOptions::codes_in_stripes`]).
    pub fn default_rows_per_chunk(rdo: bool) -> u32 {
        if rdo {
            crate::stripes::STRIPE_ROWS as u32
        } else {
            DEFAULT_CHUNK_ROWS
        }
    }

    /// The same options with images coded in chunks of `rows` latent rows
    /// (each chunk decodes on its own).
    pub fn with_rows_per_chunk(self, rows: u32) -> Self {
        EncodeOptions {
            rows_per_chunk: rows,
            ..self
        }
    }

    /// The same options with rate–distortion-optimized quantization on or
    /// off.
    pub fn with_rdo(self, rdo: bool) -> Self {
        EncodeOptions { rdo, ..self }
    }

    /// The same options with another rounding.
    pub fn with_rounding(self, rounding: Rounding) -> Self {
        EncodeOptions { rounding, ..self }
    }
}

impl Latent {
    /// A latent of `channels` planes over the packet grid `shape` (the
    /// inverse of [`Latent::packet_shape`]).
    pub fn from_grid(channels: usize, shape: &[usize], symbols: Vec<u8>, step: Step) -> Self {
        let (depth, height, width) = match *shape {
            [width] => (1, 1, width),
            [depth, rows, width] => (depth, depth * rows, width),
            [height, width] => (1, height, width),
            _ => (1, 1, shape.iter().product()),
        };
        Latent {
            depth,
            channels,
            height,
            width,
            symbols,
            step,
        }
    }

    /// The shape of the packet coefficients this latent decodes to:
    /// `[depth, height / depth, width]` for `dim` 3, `[height, width]` for
    /// 2, `[width]` for 1.
    pub fn packet_shape(&self, dim: usize) -> Vec<usize> {
        match dim {
            1 => vec![self.width],
            3 => vec![self.depth, self.height / self.depth.max(1), self.width],
            _ => vec![self.height, self.width],
        }
    }
}

/// The encoder of walloc-codec's registry (the 1×1 projection): wavelet
/// packets, projection and quantization.
pub fn analyze<P: Pixel>(model: &Model, image: &Image<P>) -> Result<Latent> {
    analyze_with(&Registry::core(), model, image)
}

/// The encoder `registry` has for `model`, on an image, at the model's
/// own step.
pub fn analyze_with<P: Pixel>(registry: &Registry, model: &Model, image: &Image<P>) -> Result<Latent> {
    analyze_at(registry, model, image, Step::NATIVE)
}

/// The encoder `registry` has for `model`, on an image, at `step`.
pub fn analyze_at<P: Pixel>(registry: &Registry, model: &Model, image: &Image<P>, step: Step) -> Result<Latent> {
    check_image_input(model, image.channels, P::BITS)?;
    analyze_with_encoder(registry.encoder_at(model, step)?.as_ref(), model, image)
}

/// Refuses images that `model` does not code: other channels, or sample
/// bits the model does not state it serves.
pub(crate) fn check_image_input(model: &Model, channels: u8, sample_bits: u8) -> Result<()> {
    let config = model.config();
    if config.modality != Modality::Image || u32::from(channels) != config.channels {
        return Err(CodecError::IncompatibleInput(format!(
            "model {} codes {}-channel {}, this is a {channels}-channel image",
            config.name, config.channels, config.modality
        )));
    }
    if !config.serves_sample_bits(sample_bits) {
        return Err(CodecError::IncompatibleInput(format!(
            "model {} codes images of {:?} bits per sample, this image has {sample_bits}",
            config.name,
            config.served_sample_bits()
        )));
    }
    Ok(())
}

/// `encoder` (one of `model`'s) on an image.
pub(crate) fn analyze_with_encoder<P: Pixel>(
    encoder: &dyn Analysis,
    model: &Model,
    image: &Image<P>,
) -> Result<Latent> {
    encoder.analyze(to_padded_signal(image, 1 << model.config().levels))
}

/// The linear decoder of walloc-codec's registry: dequantization,
/// projection and inverse packets, cropped to `width × height`.
pub fn synthesize<P: Pixel>(model: &Model, latent: &Latent, width: u32, height: u32) -> Result<Image<P>> {
    let decoder = Registry::core().decoder(model, &DecoderOptions::default())?;
    synthesize_with(decoder.as_ref(), model, latent, width, height)
}

/// An image of `width × height` decoded from `latent` by `decoder`.
pub fn synthesize_with<P: Pixel>(
    decoder: &dyn Synthesis,
    model: &Model,
    latent: &Latent,
    width: u32,
    height: u32,
) -> Result<Image<P>> {
    let pixels = decoder.synthesize(latent)?;
    let config = model.config();
    let side = |v: u32| (v as usize).div_ceil(1 << config.levels) << config.levels;
    if pixels.channels != config.channels as usize || pixels.shape != [side(height), side(width)] {
        return Err(CodecError::IncompatibleInput(format!(
            "the decoder gave {} channels of {:?} for a {width}×{height} image",
            pixels.channels, pixels.shape
        )));
    }
    Ok(from_padded_signal(&pixels, width, height, 1 << config.levels))
}

/// The linear decoder's wavelet coefficients `[D, positions]` of a latent:
/// dequantization and the 1×1 projection (a linear, residual or refine
/// model's linear part).
pub fn linear_coefficients(model: &Model, latent: &Latent) -> Result<Vec<f32>> {
    let config = model.config();
    let (k, d) = (config.latent_dim as usize, config.coefficient_dim());
    let positions = latent.height * latent.width;
    if latent.channels != k || latent.symbols.len() != k * positions {
        return Err(CodecError::IncompatibleInput(format!(
            "latent has {} channels, model {} has {k}",
            latent.channels, config.name
        )));
    }
    let zhat = model.dequantizer(latent.step).dequantize(&latent.symbols, k);
    let mut coeffs = vec![0.0f32; d * positions];
    let decoder = model.linear_decoder(latent.step);
    let (weights, bias) = (&decoder.weight, &decoder.bias);
    let (rows, cols) = (Strides { row: k, col: 1 }, Strides { row: positions, col: 1 });
    matmul(d, k, positions, weights, rows, &zhat, cols, &mut coeffs, cols);
    if !decoder.neighbour_weight.is_empty() {
        if latent.depth != 1 {
            return Err(CodecError::IncompatibleInput(format!(
                "model {}'s decoders read neighbouring positions of 2-D latents, this latent has depth {}",
                config.name, latent.depth
            )));
        }
        let (mut shifted, mut term) = (vec![0.0f32; k * positions], vec![0.0f32; d * positions]);
        for (&offset, map) in NEIGHBOURS.iter().zip(decoder.neighbour_weight.chunks_exact(d * k)) {
            shift_planes(&zhat, latent.height, latent.width, offset, &mut shifted);
            matmul(d, k, positions, map, rows, &shifted, cols, &mut term, cols);
            coeffs.iter_mut().zip(&term).for_each(|(c, t)| *c += t);
        }
    }
    coeffs
        .par_chunks_mut(positions)
        .zip(bias.par_iter())
        .for_each(|(plane, &b)| {
            plane.iter_mut().for_each(|v| *v += b);
        });
    Ok(coeffs)
}

/// `out` gets each `height × width` plane of `planes` read at `offset`
/// (rows, columns) from every position, periodically: position (y, x)
/// holds the plane's (y + dy, x + dx), wrapped at the edges.
pub(crate) fn shift_planes<T: Copy>(
    planes: &[T],
    height: usize,
    width: usize,
    (dy, dx): (isize, isize),
    out: &mut [T],
) {
    let wrap = |v: usize, delta: isize, n: usize| (v as isize + delta).rem_euclid(n as isize) as usize;
    for (plane, shifted) in planes
        .chunks_exact(height * width)
        .zip(out.chunks_exact_mut(height * width))
    {
        for (y, row) in shifted.chunks_exact_mut(width).enumerate() {
            let source = &plane[wrap(y, dy, height) * width..][..width];
            let split = wrap(0, dx, width);
            // Columns x + dx for x in 0..width: the source from `split` to
            // its end, then from its start.
            row[..width - split].copy_from_slice(&source[split..]);
            row[width - split..].copy_from_slice(&source[..split]);
        }
    }
}

fn pack_format(coder: LatentCoder) -> Option<PackFormat> {
    match coder {
        LatentCoder::Rans | LatentCoder::Adaptive | LatentCoder::Predictive | LatentCoder::Contextual => None,
        LatentCoder::Png => Some(PackFormat::Png),
        LatentCoder::WebP => Some(PackFormat::WebP),
    }
}

/// Refuses images that a default decoder would refuse, before any work.
pub fn check_image_size<P: Pixel>(image: &Image<P>) -> Result<()> {
    Limits::default().check_image(image.width, image.height)
}

/// Encodes an image into a `.wal` file image with walloc-codec's
/// registry (models with a 1×1 projection encoder).
pub fn encode<P: Pixel>(model: &Model, image: &Image<P>, options: EncodeOptions) -> Result<Vec<u8>> {
    encode_with(&Registry::core(), model, image, options)
}

/// Encodes an image into a `.wal` file image with the encoder `registry`
/// has for `model`.
pub fn encode_with<P: Pixel>(
    registry: &Registry,
    model: &Model,
    image: &Image<P>,
    options: EncodeOptions,
) -> Result<Vec<u8>> {
    check_image_size(image)?;
    check_image_input(model, image.channels, P::BITS)?;
    let encoder = registry.encoder_for(model, &options, options.rows_per_chunk as usize)?;
    let latent = analyze_with_encoder(encoder.as_ref(), model, image)?;
    write_image(model, image, &latent, options)
}

/// The latent of `image` quantized for rate and distortion (the
/// [`crate::rdo`] encoder) at the options' step, for its chunks of the
/// adaptive coder.
pub fn rdo_latent<P: Pixel>(model: &Model, image: &Image<P>, options: EncodeOptions) -> Result<Latent> {
    check_image_input(model, image.channels, P::BITS)?;
    let encoder = Registry::core().encoder_for(model, &options.with_rdo(true), options.rows_per_chunk as usize)?;
    analyze_with_encoder(encoder.as_ref(), model, image)
}

/// Entropy-codes the latent of `image` (made by `model`'s encoder) into a
/// `.wal` file image, at the latent's step.
pub fn write_image<P: Pixel>(
    model: &Model,
    image: &Image<P>,
    latent: &Latent,
    options: EncodeOptions,
) -> Result<Vec<u8>> {
    let config = model.config();
    let plane = latent.height * latent.width;
    if latent.channels != config.latent_dim as usize || latent.symbols.len() != latent.channels * plane {
        return Err(CodecError::IncompatibleInput(format!(
            "a latent of {} channels and {} symbols for model {} ({} channels)",
            latent.channels,
            latent.symbols.len(),
            config.name,
            config.latent_dim
        )));
    }
    let options = options.with_step(latent.step);
    let rows = options.rows_per_chunk.max(1) as usize;
    let chunks: Vec<Vec<u8>> = match pack_format(options.coder) {
        None => code_in_chunks(&model.band_coder(options.coder, latent.step)?, latent, rows)?,
        Some(format) => vec![packing::pack(
            &latent.symbols,
            latent.channels,
            latent.height,
            latent.width,
            format,
        )?],
    };
    let shape = ImageShape {
        width: image.width,
        height: image.height,
        channels: image.channels,
        sample_bits: P::BITS,
    };
    let header = image_header(model, shape, options, chunks.len());
    write_chunks(&header, &chunks)
}

/// What an image header records of the image itself.
#[derive(Clone, Copy, Debug)]
pub(crate) struct ImageShape {
    pub width: u32,
    pub height: u32,
    pub channels: u8,
    pub sample_bits: u8,
}

/// The header of an image of `shape` coded by `model` with `options` in
/// `chunk_count` chunks.
pub(crate) fn image_header(model: &Model, shape: ImageShape, options: EncodeOptions, chunk_count: usize) -> Header {
    let ImageShape {
        width,
        height,
        channels,
        sample_bits,
    } = shape;
    let config = model.config();
    let side = |v: u32| v.div_ceil(1 << config.levels);
    Header {
        model_id: model.id(),
        channels,
        sample_bits,
        width,
        height,
        levels: config.levels as u8,
        latent_bits: config.latent_bits,
        latent_channels: config.latent_dim as u16,
        latent_width: side(width),
        latent_height: side(height),
        coder: options.coder,
        step: options.step,
        rows_per_chunk: if options.coder.is_banded() {
            options.rows_per_chunk.max(1)
        } else {
            side(height)
        },
        chunk_count: chunk_count as u32,
    }
}

/// The file image of `header` and its chunks; never one that a default
/// decoder would refuse.
pub(crate) fn write_chunks(header: &Header, chunks: &[Vec<u8>]) -> Result<Vec<u8>> {
    header.validate(&Limits::default())?;
    Ok(container::write(header, chunks))
}

/// Refuses to decode a file of other sample bits than `P`'s.
pub fn check_sample_bits<P: Pixel>(header: &Header) -> Result<()> {
    if header.sample_bits != P::BITS {
        return Err(CodecError::IncompatibleInput(format!(
            "the file holds a {}-bit image; decode it as {} bits",
            header.sample_bits, header.sample_bits
        )));
    }
    Ok(())
}

/// Checks that `header` was made by `model`.
pub fn check_model(header: &Header, model: &Model) -> Result<()> {
    model.check_id(header.model_id)?;
    let config = model.config();
    let same = u32::from(header.channels) == config.channels
        && u32::from(header.levels) == config.levels
        && header.latent_bits == config.latent_bits
        && u32::from(header.latent_channels) == config.latent_dim;
    if !same {
        return Err(CodecError::InvalidField {
            field: "header",
            value: format!("shape fields disagree with model {}", config.name),
        });
    }
    Ok(())
}

/// Decodes the latent of a `.wal` file (checked against `model`).
pub fn decode_latent(model: &Model, bytes: &[u8], limits: &Limits) -> Result<(Header, Latent)> {
    let (header, chunks) = container::parse(bytes, limits)?;
    check_model(&header, model)?;
    let (k, h, w) = (
        usize::from(header.latent_channels),
        header.latent_height as usize,
        header.latent_width as usize,
    );
    let symbols = match pack_format(header.coder) {
        Some(format) => packing::unpack(chunks[0], k, h, w, format)?,
        None => {
            let coder = model.band_coder(header.coder, header.step)?;
            let mut symbols = vec![0u8; k * h * w];
            let rows = header.rows_per_chunk as usize;
            let plane = h * w;
            // Decode chunks in parallel into per-chunk buffers, then scatter.
            let decoded: Vec<Vec<u8>> = chunks
                .par_iter()
                .enumerate()
                .map(|(c, payload)| {
                    let band = (((c + 1) * rows).min(h) - c * rows) * w;
                    let mut local = vec![0u8; k * band];
                    coder.decode(payload, &mut local, band, 0..band, w)?;
                    Ok(local)
                })
                .collect::<Result<_>>()?;
            for (c, local) in decoded.iter().enumerate() {
                let band = local.len() / k;
                for channel in 0..k {
                    let dst = channel * plane + c * rows * w;
                    symbols[dst..dst + band].copy_from_slice(&local[channel * band..(channel + 1) * band]);
                }
            }
            symbols
        }
    };
    let step = header.step;
    Ok((
        header,
        Latent {
            depth: 1,
            channels: k,
            height: h,
            width: w,
            symbols,
            step,
        },
    ))
}

/// Decodes a `.wal` file of `P` samples (8-bit for `u8`, 16-bit for
/// `u16`; [`Header::sample_bits`] says which) into an image with
/// walloc-codec's registry (linear and residual models).
pub fn decode<P: Pixel>(model: &Model, bytes: &[u8], limits: &Limits) -> Result<Image<P>> {
    decode_with(&Registry::core(), model, bytes, limits, &DecoderOptions::default())
}

/// Decodes a `.wal` file of `P` samples into an image with the decoder
/// `registry` has for `model`.
pub fn decode_with<P: Pixel>(
    registry: &Registry,
    model: &Model,
    bytes: &[u8],
    limits: &Limits,
    options: &DecoderOptions,
) -> Result<Image<P>> {
    let (header, latent) = decode_latent(model, bytes, limits)?;
    check_sample_bits::<P>(&header)?;
    let decoder = registry.decoder(model, options)?;
    synthesize_with(decoder.as_ref(), model, &latent, header.width, header.height)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shifted_planes_read_each_offset_periodically() {
        // Two 2×3 planes.
        let planes = [0, 1, 2, 3, 4, 5, 10, 11, 12, 13, 14, 15];
        let mut out = [0; 12];
        shift_planes(&planes, 2, 3, (0, 1), &mut out);
        assert_eq!(out, [1, 2, 0, 4, 5, 3, 11, 12, 10, 14, 15, 13]);
        shift_planes(&planes, 2, 3, (-1, -1), &mut out);
        assert_eq!(out, [5, 3, 4, 2, 0, 1, 15, 13, 14, 12, 10, 11]);
        shift_planes(&planes, 2, 3, (1, 0), &mut out);
        assert_eq!(out, [3, 4, 5, 0, 1, 2, 13, 14, 15, 10, 11, 12]);
    }
}
