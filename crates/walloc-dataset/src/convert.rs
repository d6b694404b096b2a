//! One item into one row: the file read (walloc-io), brought to the
//! model's channels, and analyzed into its integer latent (or coded into
//! its `.wal` bytes).

use serde::{Deserialize, Serialize};
use walloc::audio::{interleaved_of, MAX_BLOCK_FRAMES};
use walloc::{EncodeOptions, Image8, Modality, Model, Samples, Signal};

use crate::error::{DatasetError, Result};
use crate::plan::Item;

/// What a dataset stores of each item.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Content {
    /// The integer latent, as `int8` values (to learn on).
    #[default]
    Latent,
    /// The `.wal` file's bytes (to store; decoding gives the latent back).
    Coded,
}

/// One converted item.
#[derive(Clone, Debug, PartialEq)]
pub struct Row {
    /// The item's name (its path in the source folder).
    pub name: String,
    /// Its class, if labelled.
    pub class: Option<String>,
    /// The class's index in the dataset's class list.
    pub label: Option<i32>,
    /// The signal's shape as read: `[height, width, channels]` for images,
    /// `[frames, channels]` for audio.
    pub shape: Vec<u32>,
    /// The latent's shape: `[latent_dim, H/2^J, W/2^J]` for images,
    /// `[latent_dim, positions]` for audio.
    pub latent_shape: Vec<u32>,
    /// The latent's values, channel-major (empty in a coded dataset).
    pub latent: Vec<i8>,
    /// The `.wal` bytes (coded datasets only).
    pub wal: Option<Vec<u8>>,
}

fn failed(item: &Item, error: impl std::fmt::Display) -> DatasetError {
    DatasetError::Item {
        path: item.name.clone(),
        message: error.to_string(),
    }
}

/// The image of a file with the model's channels (gray to RGB by
/// repetition, RGB to gray by luma, as `walloc encode` does).
fn read_image(item: &Item, channels: u8) -> Result<(Image8, Vec<u32>)> {
    let bytes = std::fs::read(&item.path).map_err(|e| failed(item, e))?;
    let image = walloc_io::image::decode_image(&bytes, &item.name)
        .map_err(|e| failed(item, e))?
        .image;
    let shape = vec![image.height, image.width, u32::from(image.channels)];
    Ok((image.to_channels(channels), shape))
}

/// The first block of a recording (at most [`MAX_BLOCK_FRAMES`] frames)
/// with the model's channels: mono repeated, or channels averaged to mono.
fn read_audio(item: &Item, channels: usize) -> Result<(Signal, Vec<u32>)> {
    let mut source = walloc_io::audio::open(&item.path).map_err(|e| failed(item, e))?;
    let (have, rate) = (source.channels(), source.sample_rate());
    let planar = source
        .read_planar(MAX_BLOCK_FRAMES as usize)
        .map_err(|e| failed(item, e))?;
    let frames = planar.len() / have.max(1);
    if frames == 0 {
        return Err(failed(item, "no samples"));
    }
    let planar: Vec<f32> = match (have, channels) {
        (a, b) if a == b => planar,
        (1, b) => planar.repeat(b),
        (a, 1) => walloc_io::audio::mono_of(&planar, a),
        (a, b) => return Err(failed(item, format!("{a} channels, and the model codes {b}"))),
    };
    let samples = Samples::F32(interleaved_of(&planar, channels));
    let signal = Signal::audio(frames, channels, samples, rate).map_err(|e| failed(item, e))?;
    Ok((signal, vec![frames as u32, have as u32]))
}

/// Converts one item with `model`, labelled by `label` (its class's index).
pub fn convert(model: &Model, item: &Item, label: Option<i32>, content: Content) -> Result<Row> {
    let config = model.config();
    let (signal, shape) = match config.modality {
        Modality::Image => {
            let (image, shape) = read_image(item, config.channels as u8)?;
            (Signal::from(image), shape)
        }
        Modality::Audio => read_audio(item, config.channels as usize)?,
        Modality::Volume => {
            return Err(failed(
                item,
                format!("model {} codes volumes; datasets hold images or audio", config.name),
            ))
        }
    };
    let (latent_shape, values, wal) = match content {
        Content::Latent => {
            let latent = walloc::analyze(model, &signal).map_err(|e| failed(item, e))?;
            let shape = match config.modality {
                Modality::Image | Modality::Volume => {
                    vec![latent.channels as u32, latent.height as u32, latent.width as u32]
                }
                Modality::Audio => vec![latent.channels as u32, latent.width as u32],
            };
            (shape, latent.signed_values(config.latent_bits), None)
        }
        Content::Coded => {
            let file = walloc::encode(model, &signal, &EncodeOptions::default()).map_err(|e| failed(item, e))?;
            let info = walloc::info::info(&file, &Default::default()).map_err(|e| failed(item, e))?;
            let shape = std::iter::once(info.latent_channels)
                .chain(info.latent_shape.iter().copied())
                .map(|v| v as u32)
                .collect();
            (shape, Vec::new(), Some(file))
        }
    };
    Ok(Row {
        name: item.name.clone(),
        class: item.class.clone(),
        label,
        shape,
        latent_shape,
        latent: values,
        wal,
    })
}
