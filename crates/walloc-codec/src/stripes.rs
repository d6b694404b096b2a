//! Large images in bounded memory: the image is coded in stripes of
//! [`STRIPE_ROWS`] latent rows, each transformed with
//! [`ANALYSIS_HALO_ROWS`] latent rows of context above and below (taken
//! periodically, as the whole padded image's periodized transform takes
//! them), so that every stripe's latent is exactly the whole image's. A
//! stripe is one or more whole chunks, whose contexts stay inside them, so
//! the file is byte for byte the whole-image file. Encoding holds the rows
//! a pending stripe needs; decoding holds the integer latent (a few bytes
//! per 64 pixels) and one stripe of samples.
//!
//! [`StripeEncoder`] takes pixel rows as they are read; [`StripeDecoder`]
//! yields pixel rows in order.

use std::collections::BTreeMap;

use walloc_wavelet::Signal as Planar;

use crate::codec::{check_sample_bits, code_in_chunks, decode_latent, write_chunks, EncodeOptions, ImageShape, Latent};
use crate::container::{Header, Limits};
use crate::encoder::{LatentShape, LatentValues};
use crate::entropy::BandCoder;
use crate::error::{CodecError, Result};
use crate::image::{large_buffer, padded_row, padding, reflect, Image, Pixel};
use crate::model::Model;
use crate::rdo::RdoAnalysis;
use crate::registry::{Analysis, DecoderOptions, Registry, Synthesis};

/// Latent rows per stripe: the chunk height the encoder writes (the
/// default [`EncodeOptions::rows_per_chunk`]) and the rows the decoder
/// synthesizes at a time. 64 rows (512 pixel rows at J = 3) keep a stripe
/// of a 6000-pixel-wide photo within tens of megabytes, and cost 1–4 %
/// fewer bytes than 32 on the held-out photos: every chunk starts its
/// adaptive contexts afresh.
pub const STRIPE_ROWS: usize = 64;

/// Latent rows of context on each side of a stripe the encoder transforms.
/// The packet transform makes a latent row from the pixels of the latent
/// rows 4 before it to 3 after it, at any number of levels, with any of the
/// filter banks (bior4.4 reaches farthest; `analysis_and_synthesis_reach`
/// checks it), and the dead-zone rounding reads values up to
/// [`crate::dead_zone::REACH_ROWS`] rows above and below each one, so 6
/// rows give every stripe's latent exactly the whole image's: the windows
/// transform `STRIPE_ROWS + 12` rows a stripe.
pub const ANALYSIS_HALO_ROWS: usize = 4 + crate::dead_zone::REACH_ROWS;

/// Latent rows of context on each side of a stripe the decoder
/// synthesizes: the synthesis makes a pixel row from the latent rows 4
/// before it to 3 after it, and the step decoders read one latent row more
/// on each side.
pub const SYNTHESIS_HALO_ROWS: usize = 5;

/// Whether an image of `height` pixels at `levels` is coded in stripes
/// (else whole: its latent is no taller than one stripe with its halos).
pub fn is_striped(height: u32, levels: u32) -> bool {
    (height as usize).div_ceil(1 << levels) > STRIPE_ROWS + 2 * SYNTHESIS_HALO_ROWS
}

/// Samples (width × height × channels) up to which an image already
/// whole in memory is encoded whole rather than in stripes
/// ([`encodes_whole`]): 2^23, 2.8 megapixels of RGB. Its transform then
/// holds about as much as one stripe of a 6000-pixel-wide photo
/// (608 rows of 18,000 samples, as 32-bit floats, twice).
pub const WHOLE_IMAGE_SAMPLES: u64 = 1 << 23;

/// Whether an image of `width × height × channels` already whole in
/// memory is best encoded whole at `levels`: it is no taller than one
/// stripe with its halos ([`is_striped`]), or it has at most
/// [`WHOLE_IMAGE_SAMPLES`]. A whole transform skips the stripes' halos
/// (each stripe's window transforms `2 × ANALYSIS_HALO_ROWS` latent rows
/// more than it codes: 19 % more for 64 rows), and the bytes are the
/// same either way.
pub fn encodes_whole(width: u32, height: u32, channels: u8, levels: u32) -> bool {
    let samples = u128::from(width) * u128::from(height) * u128::from(channels);
    !is_striped(height, levels) || samples <= u128::from(WHOLE_IMAGE_SAMPLES)
}

/// Whether `model`'s decoder gives exactly the whole image's pixels in
/// stripes: walloc-codec's own decoders (the linear ones, step decoders
/// included), which reach [`SYNTHESIS_HALO_ROWS`]. Networks reach farther.
pub fn decodes_in_stripes(model: &Model) -> bool {
    Registry::core().supports(model)
}

/// Padded rows (periodic in the padded height) of stripe `s`'s window, as
/// rows of the original image.
fn window_rows(stripe: usize, latent_rows: usize, height: usize, multiple: usize) -> Vec<usize> {
    let padded = latent_rows * multiple;
    let top = padding(height, multiple).0 as isize;
    let first = (stripe * STRIPE_ROWS) as isize - ANALYSIS_HALO_ROWS as isize;
    let rows = STRIPE_ROWS.min(latent_rows - stripe * STRIPE_ROWS) + 2 * ANALYSIS_HALO_ROWS;
    (0..rows * multiple)
        .map(|i| {
            let p = (first * multiple as isize + i as isize).rem_euclid(padded as isize);
            reflect(p - top, height)
        })
        .collect()
}

/// The middle `rows` latent rows (after the halo) of each of a window's
/// `channels` planes of `height × width`.
fn core_rows<T: Copy>(planes: &[T], channels: usize, height: usize, width: usize, rows: usize) -> Vec<T> {
    let plane = height * width;
    let mut core = Vec::with_capacity(channels * rows * width);
    for c in 0..channels {
        let start = c * plane + ANALYSIS_HALO_ROWS * width;
        core.extend_from_slice(&planes[start..start + rows * width]);
    }
    core
}

/// The middle `rows` latent rows of a window latent.
fn core_of(window: &Latent, rows: usize) -> Latent {
    let (k, w) = (window.channels, window.width);
    Latent {
        depth: 1,
        channels: k,
        height: rows,
        width: w,
        symbols: core_rows(&window.symbols, k, window.height, w, rows),
        step: window.step,
    }
}

/// The rows of `below` after those of `above` (the same channels and
/// width).
fn stack_rows(above: Latent, below: &Latent) -> Latent {
    let w = above.width;
    let (top, bottom) = (above.height * w, below.height * w);
    let symbols = above
        .symbols
        .chunks_exact(top)
        .zip(below.symbols.chunks_exact(bottom))
        .flat_map(|(a, b)| a.iter().chain(b).copied())
        .collect();
    Latent {
        height: above.height + below.height,
        symbols,
        ..above
    }
}

/// The middle `rows` latent rows of a window's unquantized latent.
fn core_values(window: &LatentValues, rows: usize) -> LatentValues {
    let LatentShape {
        channels,
        height,
        width,
        ..
    } = window.shape;
    LatentValues {
        shape: LatentShape {
            depth: 1,
            channels,
            height: rows,
            width,
        },
        values: core_rows(&window.values, channels, height, width, rows),
        step: window.step,
    }
}

/// The latent rows of stripe `s`'s decoding window (of `latent_rows`), and
/// where its core starts in it. The synthesis filters sum the terms of
/// samples that wrap around the image's ends in another order than inside
/// it; so that samples near the ends come out as the whole image's to the
/// bit, a window over an end starts where the image starts, keeping the
/// image's wrap point at its own: it is the image's first rows it covers,
/// followed by its rows before the end.
fn latent_window(stripe: usize, latent_rows: usize) -> (Vec<usize>, usize) {
    let start = stripe * STRIPE_ROWS;
    let end = (start + STRIPE_ROWS).min(latent_rows);
    let (first, last) = (start as isize - SYNTHESIS_HALO_ROWS as isize, end + SYNTHESIS_HALO_ROWS);
    if first < 0 {
        let before = (latent_rows as isize + first) as usize;
        ((0..last).chain(before..latent_rows).collect(), start)
    } else if last > latent_rows {
        let after = last - latent_rows;
        let first = first as usize;
        (
            (0..after).chain(first..latent_rows).collect(),
            after + SYNTHESIS_HALO_ROWS,
        )
    } else {
        ((first as usize..last).collect(), SYNTHESIS_HALO_ROWS)
    }
}

/// Encodes an image of `P` samples (8-bit by default) from its rows, in
/// stripes.
pub struct StripeEncoder<'m, P = u8> {
    model: &'m Model,
    encoder: Box<dyn Analysis + 'm>,
    /// With rate–distortion optimization: the quantizer that decides each
    /// stripe's core from its window's unquantized latent.
    rdo: Option<RdoAnalysis<'m>>,
    width: u32,
    height: u32,
    channels: u8,
    options: EncodeOptions,
    /// What codes each stripe's latent.
    band: BandCoder<'m>,
    latent_rows: usize,
    /// Original rows each stripe's window needs, for stripes not coded yet.
    needed: BTreeMap<usize, Vec<usize>>,
    /// Striped: received rows that a pending stripe still needs.
    rows: BTreeMap<usize, Vec<P>>,
    /// Whole: the rows received, one after the other.
    pixels: Vec<P>,
    received: usize,
    /// Striped: each stripe's chunks once coded (a chunk of several
    /// stripes is the last one's).
    chunks: Vec<Option<Vec<Vec<u8>>>>,
    /// Striped, in chunks of several stripes: each stripe's latent rows
    /// until the stripes before it are in (the first stripe's window wraps
    /// around to the image's last rows, so it is made last).
    cores: Vec<Option<Latent>>,
    /// Striped, in chunks of several stripes: the rows of the chunk begun.
    pending: Option<Latent>,
    /// Whole: the file, once coded.
    whole: Option<Vec<u8>>,
}

impl<'m, P: Pixel> StripeEncoder<'m, P> {
    /// An encoder of a `width × height` image of `channels` (the model's)
    /// with `registry`'s encoder of `model`, with the default
    /// [`EncodeOptions`].
    pub fn new(registry: &Registry, model: &'m Model, width: u32, height: u32, channels: u8) -> Result<Self> {
        Self::with_options(registry, model, width, height, channels, EncodeOptions::default())
    }

    /// An encoder of a `width × height` image of `channels` with the coder,
    /// step and quantization of `options`, which must code in chunks that
    /// tile a stripe ([`EncodeOptions::codes_in_stripes`]). With
    /// rate–distortion optimization each stripe is decided as the chunk it
    /// is coded as, so the file is the whole image's.
    pub fn with_options(
        registry: &Registry,
        model: &'m Model,
        width: u32,
        height: u32,
        channels: u8,
        options: EncodeOptions,
    ) -> Result<Self> {
        if !options.codes_in_stripes() {
            return Err(CodecError::IncompatibleInput(format!(
                "stripes are coded by rANS or the adaptive coders in chunks that divide {STRIPE_ROWS} latent rows or (without rate–distortion optimization) are whole stripes, not {} in chunks of {}{}",
                options.coder.name(),
                options.rows_per_chunk,
                if options.rdo { " with it" } else { "" }
            )));
        }
        let kind = model.config().encoder_kind();
        if !kind.is_local() {
            return Err(CodecError::IncompatibleInput(format!(
                "{} has a {kind} encoder, which sees the whole image: it cannot encode stripes",
                model.config().name
            )));
        }
        Limits::default().check_image(width, height)?;
        crate::codec::check_image_input(model, channels, P::BITS)?;
        let config = model.config();
        let multiple = 1usize << config.levels;
        let latent_rows = (height as usize).div_ceil(multiple);
        let stripes = latent_rows.div_ceil(STRIPE_ROWS);
        let striped = is_striped(height, config.levels);
        let needed = if striped {
            (0..stripes)
                .map(|s| (s, window_rows(s, latent_rows, height as usize, multiple)))
                .collect()
        } else {
            // One stripe: the whole image.
            BTreeMap::from([(0, (0..height as usize).collect())])
        };
        // The registry's encoder codes images too small for stripes.
        let chunk_rows = options.rows_per_chunk as usize;
        let encoder = registry.encoder_for(model, &options, chunk_rows)?;
        let rdo = options
            .rdo
            .then(|| RdoAnalysis::new(model, &options, chunk_rows))
            .transpose()?;
        Ok(StripeEncoder {
            encoder,
            rdo,
            model,
            width,
            height,
            channels,
            band: model.band_coder(options.coder, options.step)?,
            options,
            latent_rows,
            chunks: if striped { vec![None; stripes] } else { Vec::new() },
            cores: vec![None; if striped { stripes } else { 0 }],
            pending: None,
            whole: None,
            needed,
            rows: BTreeMap::new(),
            pixels: Vec::new(),
            received: 0,
        })
    }

    /// Samples in one row.
    fn row_len(&self) -> usize {
        self.width as usize * usize::from(self.channels)
    }

    /// Takes whole rows of interleaved pixels, top to bottom, and codes
    /// every stripe whose rows are all in.
    pub fn push_rows(&mut self, pixels: &[P]) -> Result<()> {
        let row_len = self.row_len();
        if !pixels.len().is_multiple_of(row_len) || self.received + pixels.len() / row_len > self.height as usize {
            return Err(CodecError::IncompatibleInput(format!(
                "{} samples are not whole rows of {row_len} samples within the image's {} rows ({} in)",
                pixels.len(),
                self.height,
                self.received
            )));
        }
        if self.chunks.is_empty() {
            // Coded whole: the rows are the image's, in order.
            self.pixels.extend_from_slice(pixels);
            self.received += pixels.len() / row_len;
        } else {
            for row in pixels.chunks_exact(row_len) {
                // Every row is in some stripe's window; `code` forgets it
                // once no pending stripe needs it.
                self.rows.insert(self.received, row.to_vec());
                self.received += 1;
            }
        }
        let ready: Vec<usize> = self
            .needed
            .iter()
            .filter(|(_, rows)| rows.iter().all(|&y| y < self.received))
            .map(|(&s, _)| s)
            .collect();
        for stripe in ready {
            self.code(stripe)?;
        }
        Ok(())
    }

    /// Codes stripe `stripe` (or, for a small image, the whole image) and
    /// forgets the rows no pending stripe needs.
    fn code(&mut self, stripe: usize) -> Result<()> {
        let rows = self.needed.remove(&stripe).unwrap_or_default();
        let config = self.model.config();
        let multiple = 1usize << config.levels;
        let (w, c) = (self.width as usize, usize::from(self.channels));
        if self.chunks.is_empty() {
            let image = Image::new(self.width, self.height, self.channels, std::mem::take(&mut self.pixels))?;
            let latent = crate::codec::analyze_with_encoder(self.encoder.as_ref(), self.model, &image)?;
            self.whole = Some(crate::codec::write_image(self.model, &image, &latent, self.options)?);
        } else {
            let (left, right) = padding(w, multiple);
            let pw = w + left + right;
            let mut data = large_buffer(c * rows.len() * pw);
            let mut converted = vec![0.0f32; pw];
            for channel in 0..c {
                for &y in &rows {
                    padded_row(&self.rows[&y], c, channel, left, &mut converted);
                    data.extend_from_slice(&converted);
                }
            }
            let signal = Planar::new(data, c, vec![rows.len(), pw])?;
            let core_height = STRIPE_ROWS.min(self.latent_rows - stripe * STRIPE_ROWS);
            let core = match &self.rdo {
                Some(rdo) => {
                    let values = rdo.values(signal)?;
                    let rounded = core_of(&rdo.round(&values), core_height);
                    rdo.decide(&core_values(&values, core_height), &rounded)?
                }
                None => core_of(&self.encoder.analyze(signal)?, core_height),
            };
            let chunk_rows = self.options.rows_per_chunk as usize;
            if chunk_rows <= STRIPE_ROWS {
                self.chunks[stripe] = Some(code_in_chunks(&self.band, &core, chunk_rows)?);
            } else {
                self.cores[stripe] = Some(core);
                self.code_whole_stripes(chunk_rows)?;
            }
        }
        let still: std::collections::HashSet<usize> = self.needed.values().flatten().copied().collect();
        self.rows.retain(|y, _| still.contains(y));
        Ok(())
    }

    /// Codes, in order, the stripes whose latent rows and those of every
    /// stripe before them are in, in chunks of `chunk_rows` (whole
    /// stripes): a chunk is coded once its rows are, or at the last stripe.
    fn code_whole_stripes(&mut self, chunk_rows: usize) -> Result<()> {
        let coded = self.chunks.iter().take_while(|c| c.is_some()).count();
        for stripe in coded..self.cores.len() {
            let Some(core) = self.cores[stripe].take() else {
                break;
            };
            let rows = match self.pending.take() {
                Some(begun) => stack_rows(begun, &core),
                None => core,
            };
            self.chunks[stripe] = Some(if rows.height >= chunk_rows || stripe + 1 == self.cores.len() {
                code_in_chunks(&self.band, &rows, chunk_rows)?
            } else {
                self.pending = Some(rows);
                Vec::new()
            });
        }
        Ok(())
    }

    /// Rows taken so far.
    pub fn rows_received(&self) -> usize {
        self.received
    }

    /// The `.wal` file image, once every row is in.
    pub fn finish(self) -> Result<Vec<u8>> {
        if self.received != self.height as usize || !self.needed.is_empty() {
            return Err(CodecError::IncompatibleInput(format!(
                "{} of the image's {} rows were given",
                self.received, self.height
            )));
        }
        if let Some(file) = self.whole {
            return Ok(file);
        }
        let chunks: Vec<Vec<u8>> = self.chunks.into_iter().flatten().flatten().collect();
        let shape = ImageShape {
            width: self.width,
            height: self.height,
            channels: self.channels,
            sample_bits: P::BITS,
        };
        let header = crate::codec::image_header(self.model, shape, self.options, chunks.len());
        write_chunks(&header, &chunks)
    }
}

/// Decodes an image file of `P` samples (8-bit by default) into its rows,
/// stripe by stripe.
pub struct StripeDecoder<'m, P = u8> {
    model: &'m Model,
    decoder: Box<dyn Synthesis + 'm>,
    header: Header,
    latent: Latent,
    next: usize,
    samples: std::marker::PhantomData<P>,
}

impl<'m, P: Pixel> StripeDecoder<'m, P> {
    /// Parses `bytes` (made by `model`, of `P` samples) and decodes its
    /// integer latent. Refuses a model that does not decode in stripes
    /// ([`decodes_in_stripes`]) by name.
    pub fn new(
        registry: &Registry,
        model: &'m Model,
        bytes: &[u8],
        limits: &Limits,
        options: &DecoderOptions,
    ) -> Result<Self> {
        if !decodes_in_stripes(model) {
            return Err(CodecError::IncompatibleInput(format!(
                "{} decodes with a network, which reaches farther than a stripe's {SYNTHESIS_HALO_ROWS} latent rows of context: decode it whole",
                model.config().name
            )));
        }
        let (header, latent) = decode_latent(model, bytes, limits)?;
        check_sample_bits::<P>(&header)?;
        Ok(StripeDecoder {
            decoder: registry.decoder(model, options)?,
            model,
            header,
            latent,
            next: 0,
            samples: std::marker::PhantomData,
        })
    }

    /// The file's header (width, height, channels).
    pub fn header(&self) -> &Header {
        &self.header
    }

    /// Stripes left.
    pub fn stripes(&self) -> usize {
        if is_striped(self.header.height, u32::from(self.header.levels)) {
            self.latent.height.div_ceil(STRIPE_ROWS)
        } else {
            1
        }
    }

    /// The next stripe's rows of interleaved pixels (`None` at the end).
    pub fn next_rows(&mut self) -> Option<Result<Vec<P>>> {
        if self.next >= self.stripes() {
            return None;
        }
        let stripe = self.next;
        self.next += 1;
        Some(self.decode(stripe))
    }

    fn decode(&self, stripe: usize) -> Result<Vec<P>> {
        let (w, h) = (self.header.width, self.header.height);
        if self.stripes() == 1 {
            let image: Image<P> = crate::codec::synthesize_with(self.decoder.as_ref(), self.model, &self.latent, w, h)?;
            return Ok(image.pixels);
        }
        let levels = u32::from(self.header.levels);
        let multiple = 1usize << levels;
        let (k, lh, lw) = (self.latent.channels, self.latent.height, self.latent.width);
        let core = STRIPE_ROWS.min(lh - stripe * STRIPE_ROWS);
        let rows = core + 2 * SYNTHESIS_HALO_ROWS;
        let (window_rows, core_at) = latent_window(stripe, lh);
        let mut symbols = Vec::with_capacity(k * rows * lw);
        for c in 0..k {
            for &y in &window_rows {
                symbols.extend_from_slice(&self.latent.symbols[(c * lh + y) * lw..(c * lh + y + 1) * lw]);
            }
        }
        let window = Latent {
            depth: 1,
            channels: k,
            height: rows,
            width: lw,
            symbols,
            step: self.latent.step,
        };
        let samples = self.decoder.synthesize(&window)?;
        let c = samples.channels;
        let pw = lw * multiple;
        if samples.shape != [rows * multiple, pw] {
            return Err(CodecError::IncompatibleInput(format!(
                "the decoder gave {:?} for a window of {rows}×{lw} latent positions",
                samples.shape
            )));
        }
        let (left, top) = (padding(w as usize, multiple).0, padding(h as usize, multiple).0);
        // Padded rows of this stripe's core, and the image rows among them.
        let core_start = stripe * STRIPE_ROWS * multiple;
        let ys = (core_start..core_start + core * multiple)
            .filter(|&p| p >= top && p - top < h as usize)
            .collect::<Vec<_>>();
        let mut pixels = vec![P::default(); ys.len() * w as usize * c];
        for (row, &p) in ys.iter().enumerate() {
            let local = p - core_start + core_at * multiple;
            for channel in 0..c {
                let src = &samples.data[(channel * rows * multiple + local) * pw + left..][..w as usize];
                for (x, &v) in src.iter().enumerate() {
                    pixels[(row * w as usize + x) * c + channel] = P::from_normalized(v);
                }
            }
        }
        Ok(pixels)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn images_within_the_budget_or_one_stripe_tall_are_encoded_whole() {
        // 74 latent rows at J = 3 fit one stripe with its halos.
        assert!(encodes_whole(100_000, 592, 3, 3) && !is_striped(592, 3));
        // Striped heights: whole up to 2^23 samples, in stripes beyond.
        assert!(encodes_whole(1280, 800, 3, 3) && is_striped(800, 3));
        assert!(encodes_whole(8192, 1024, 1, 3) && encodes_whole(4096, 1024, 2, 3));
        assert!(!encodes_whole(8193, 1024, 1, 3) && is_striped(1024, 3));
        assert!(!encodes_whole(4000, 3000, 3, 3));
        // No overflow at the largest sides.
        assert!(!encodes_whole(u32::MAX, u32::MAX, 3, 3));
    }

    /// Every stripe window's core synthesizes to the whole latent's floats,
    /// bit for bit, at the image's ends too: at the model's own step, and
    /// at another whose step decoder reads the neighbouring latents.
    #[test]
    fn stripe_windows_synthesize_the_whole_images_floats() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../models/rgb-16x.safetensors");
        let model = Model::from_bytes(std::fs::read(path).unwrap()).unwrap();
        let registry = Registry::core();
        let decoder = registry.decoder(&model, &DecoderOptions::default()).unwrap();
        let (k, lh, lw) = (12, 3 * STRIPE_ROWS + 5, 9);
        let mut state = 7u32;
        let symbols: Vec<u8> = (0..k * lh * lw)
            .map(|_| {
                state = state.wrapping_mul(1_103_515_245).wrapping_add(12_345);
                (100 + (state >> 16) % 56) as u8
            })
            .collect();
        assert!(
            model.config().step_decoder_neighbours,
            "rgb-16x's step decoders read the neighbours"
        );
        for step in [crate::Step::NATIVE, crate::Step::from_quality(30.0).unwrap()] {
            synthesize_in_windows(decoder.as_ref(), &symbols, step, (k, lh, lw));
        }
    }

    /// Synthesizes a latent of `symbols` at `step` whole and window by
    /// window, and compares the cores' floats bit for bit.
    fn synthesize_in_windows(
        decoder: &dyn Synthesis,
        symbols: &[u8],
        step: crate::Step,
        (k, lh, lw): (usize, usize, usize),
    ) {
        let latent = Latent {
            depth: 1,
            channels: k,
            height: lh,
            width: lw,
            symbols: symbols.to_vec(),
            step,
        };
        let whole = decoder.synthesize(&latent).unwrap();
        let (m, pw) = (8, lw * 8);
        for stripe in 0..lh.div_ceil(STRIPE_ROWS) {
            let (rows, core_at) = latent_window(stripe, lh);
            let window = Latent {
                depth: 1,
                channels: k,
                height: rows.len(),
                width: lw,
                symbols: (0..k)
                    .flat_map(|c| rows.iter().flat_map(move |&y| (c * lh + y) * lw..(c * lh + y + 1) * lw))
                    .map(|i| latent.symbols[i])
                    .collect(),
                step,
            };
            let part = decoder.synthesize(&window).unwrap();
            let core = STRIPE_ROWS.min(lh - stripe * STRIPE_ROWS);
            for c in 0..3 {
                for row in 0..core * m {
                    let global = &whole.data[(c * lh * m + stripe * STRIPE_ROWS * m + row) * pw..][..pw];
                    let local = &part.data[(c * rows.len() * m + core_at * m + row) * pw..][..pw];
                    let same = global.iter().zip(local).all(|(a, b)| a.to_bits() == b.to_bits());
                    assert!(same, "step {step:?}: stripe {stripe}, channel {c}, row {row}");
                }
            }
        }
    }

    /// The packet transform's reach in latent rows, by impulses along one
    /// axis: the analysis makes a latent row from pixels of the latent rows
    /// `before` it to `after` it; the synthesis makes a pixel row from
    /// latents as far. Every filter bank at every number of levels stays
    /// within the halos.
    #[test]
    fn analysis_and_synthesis_reach() {
        use walloc_wavelet::{packet, FilterBank};
        for name in FilterBank::NAMES {
            let bank = FilterBank::by_name(name).unwrap();
            for levels in 1..=6u32 {
                let m = 1usize << levels;
                let n = 64 * m;
                let (mut analysis, mut synthesis) = ((0usize, 0usize), (0usize, 0usize));
                for pixel in 32 * m..33 * m {
                    let mut x = vec![0.0f32; n];
                    x[pixel] = 1.0;
                    let y = packet::forward(&bank, Planar::new(x, 1, vec![n]).unwrap(), levels).unwrap();
                    for (i, _) in y.data.iter().enumerate().filter(|(_, v)| **v != 0.0) {
                        // Latent row `i % 64` is made from this pixel.
                        let (row, own) = (i % 64, pixel / m);
                        analysis.0 = analysis.0.max(row.saturating_sub(own));
                        analysis.1 = analysis.1.max(own.saturating_sub(row));
                    }
                }
                for channel in 0..m {
                    let mut y = vec![0.0f32; n];
                    y[channel * 64 + 32] = 1.0;
                    let x = packet::inverse(&bank, Planar::new(y, m, vec![64]).unwrap(), levels).unwrap();
                    for (i, _) in x.data.iter().enumerate().filter(|(_, v)| **v != 0.0) {
                        // Pixel row `i` (latent row `i / m`) is made from latent row 32.
                        let row = i / m;
                        synthesis.0 = synthesis.0.max(32usize.saturating_sub(row));
                        synthesis.1 = synthesis.1.max(row.saturating_sub(32));
                    }
                }
                // A latent row reads pixels `analysis.0` rows before it; the
                // dead zone reads latent rows as far as its reach.
                assert!(
                    analysis.0.max(analysis.1) + crate::dead_zone::REACH_ROWS <= ANALYSIS_HALO_ROWS,
                    "{name} J {levels}: {analysis:?}"
                );
                // One latent row more for the step decoders' neighbours.
                assert!(
                    synthesis.0.max(synthesis.1) < SYNTHESIS_HALO_ROWS,
                    "{name} J {levels}: {synthesis:?}"
                );
                if name == "bior4.4" && levels == 3 {
                    assert_eq!((analysis, synthesis), ((4, 3), (3, 4)), "the reach that sets the halos");
                }
            }
        }
    }
}
