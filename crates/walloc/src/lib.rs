#![warn(missing_docs)]
//! walloc: WaLLoC (wavelet learned lossy compression) for every signal.
//!
//! The door to the codec for Rust programs (and, through `walloc-python`,
//! for Python): [`encode`] a [`Signal`] with a [`Model`], [`decode`] the
//! bytes with the model their id names, [`analyze`] a signal into its
//! small integer [`Latent`] for learning on compressed data, and
//! [`synthesize`] a signal back from one. The models built in are in
//! [`models`]; long audio streams through [`audio::AudioEncoder`] and
//! [`audio::AudioDecoder`] in bounded memory.
//!
//! ```no_run
//! use walloc::{Samples, Signal};
//! let model = walloc::models::named("rgb-16x")?;
//! let image = Signal::image(64, 48, 3, Samples::U8(vec![128; 64 * 48 * 3]))?;
//! let file = walloc::encode(&model, &image, &Default::default())?;
//! let back = walloc::decode(&file, walloc::models::embedded()?)?;
//! assert_eq!(back.shape(), &[48, 64]);
//! let latent = walloc::analyze(&model, &image)?;   // 12 × 6 × 8 integers
//! # Ok::<(), walloc::Error>(())
//! ```
//!
//! With the default feature `neural`, neural encoders and decoders run
//! through walloc-nn (burn); without it, this is the sensor build: every
//! model's 1×1 encoder and the linear decoders, with no deep-learning
//! framework at all.

pub mod audio;
pub mod image;
pub mod info;
pub mod models;
pub mod rate;
pub mod volume;

use std::sync::OnceLock;

pub use walloc_codec::registry::{DecoderOptions, Registry};
pub use walloc_codec::{
    Architecture, CodecError as Error, EncodeOptions, EncoderKind, Figures, LatentCoder, Limits, Modality, Model,
    ModelConfig, ModelId, Rounding, SampleType, Samples, Signal, Step, ValueRange, DEFAULT_CHUNK_ROWS,
};
pub use walloc_codec::{Image, Image16, Image8, Latent, Pixel};

/// Results of this crate.
pub type Result<T> = std::result::Result<T, Error>;

/// The architectures this build encodes and decodes: walloc-codec's, and
/// with the `neural` feature walloc-nn's.
pub fn registry() -> &'static Registry {
    static REGISTRY: OnceLock<Registry> = OnceLock::new();
    REGISTRY.get_or_init(|| {
        #[allow(unused_mut)]
        let mut registry = Registry::core();
        #[cfg(feature = "neural")]
        walloc_nn::register(&mut registry);
        registry
    })
}

/// Options of [`decode_with`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct DecodeOptions {
    /// What a file may ask for.
    pub limits: Limits,
    /// How neural decoders are made (tiling).
    pub decoder: DecoderOptions,
}

impl DecodeOptions {
    /// The same options with other limits.
    pub fn with_limits(self, limits: Limits) -> Self {
        DecodeOptions { limits, ..self }
    }

    /// The same options with other decoder options.
    pub fn with_decoder(self, decoder: DecoderOptions) -> Self {
        DecodeOptions { decoder, ..self }
    }
}

/// Encodes a signal into `.wal` bytes: an image (2 axes) for an image
/// model, audio (1 axis, any channel count, with a sample rate) for an
/// audio model.
pub fn encode(model: &Model, signal: &Signal, options: &EncodeOptions) -> Result<Vec<u8>> {
    match model.config().modality {
        Modality::Image => image::encode(model, signal, options),
        Modality::Audio => audio::encode(model, signal, options),
        Modality::Volume => volume::encode(model, signal, options),
    }
}

/// [`encode`] at the finest quantizer step (no finer than the model's
/// finest) whose file takes at most
/// `bits_per_position` bits per pixel, audio frame or voxel
/// ([`rate::search`]); returns the file and its step. When even quality 0
/// is larger, its file is returned: the caller compares the rate.
pub fn encode_at_rate(
    model: &Model,
    signal: &Signal,
    bits_per_position: f64,
    options: &EncodeOptions,
) -> Result<(Vec<u8>, Step)> {
    rate::search(
        signal.positions() as u64,
        bits_per_position,
        model.finest_step(),
        |step| encode(model, signal, &options.with_step(step)),
    )
}

/// Audio and volumes are coded in bands (rANS or adaptive); refuses a
/// latent image by name.
fn check_banded(options: &EncodeOptions, what: &str) -> Result<()> {
    if !options.coder.is_banded() {
        return Err(Error::IncompatibleInput(format!(
            "{what} latents are entropy-coded (rans or adaptive), not stored as {} latent images",
            options.coder.name()
        )));
    }
    Ok(())
}

/// Decodes `.wal` bytes with the model among `models` whose id the file
/// records ([`models::embedded`] for the built-in ones).
pub fn decode(bytes: &[u8], models: &[Model]) -> Result<Signal> {
    decode_with(bytes, models, &DecodeOptions::default())
}

/// [`decode`] with limits and decoder options.
pub fn decode_with(bytes: &[u8], models: &[Model], options: &DecodeOptions) -> Result<Signal> {
    match walloc_codec::container::modality(bytes)? {
        Modality::Image => image::decode(bytes, models, options),
        Modality::Audio => audio::decode(bytes, models, options),
        Modality::Volume => volume::decode(bytes, models, options),
    }
}

/// The integer latent of a signal: what the encoder computes before
/// entropy coding, for learning on compressed data. Audio is coded as one
/// block (at most [`walloc_codec::audio::MAX_BLOCK_FRAMES`] frames),
/// normalized as the encoder normalizes it, with the model's channels.
pub fn analyze(model: &Model, signal: &Signal) -> Result<Latent> {
    match model.config().modality {
        Modality::Image => image::analyze(model, signal),
        Modality::Audio => audio::analyze(model, signal),
        Modality::Volume => volume::analyze(model, signal),
    }
}

/// A signal of `shape` (`[height, width]` for images, `[frames]` for
/// audio) decoded from an integer latent by the model's decoder. Audio
/// comes back at the normalized level (peak ±1): the latent does not
/// carry the original level.
pub fn synthesize(model: &Model, latent: &Latent, shape: &[usize]) -> Result<Signal> {
    match model.config().modality {
        Modality::Image => image::synthesize(model, latent, shape),
        Modality::Audio => audio::synthesize(model, latent, shape),
        Modality::Volume => volume::synthesize(model, latent, shape),
    }
}

/// The model among `models` with id `id`. When only one model is given
/// and it is not the one, the error names both ids.
pub fn find_model(id: ModelId, models: &[Model]) -> Result<&Model> {
    if let Some(model) = models.iter().find(|m| m.id() == id) {
        return Ok(model);
    }
    match models {
        [only] => Err(Error::ModelMismatch {
            needed: id.short(),
            given: only.id().short(),
        }),
        _ => Err(Error::ModelNotFound {
            needed: id.short(),
            searched: models.len(),
        }),
    }
}
