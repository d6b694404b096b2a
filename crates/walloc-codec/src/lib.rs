#![warn(missing_docs)]
//! WaLLoC's sensor side in pure Rust, with no deep-learning framework: model
//! files, the wavelet-packet + 1×1 projection encoder, the entropy
//! bottleneck, rANS coding of the integer latent, the `.wal` container, the
//! linear decoder and closed-form (PCA) fitting of linear models.
//!
//! ```no_run
//! use walloc_codec::{codec, Image8, Limits, Model};
//! let model = Model::from_bytes(std::fs::read("models/rgb-16x.safetensors")?)?;
//! let image = Image8::new(64, 48, 3, vec![128; 64 * 48 * 3])?;
//! let file = codec::encode(&model, &image, Default::default())?;
//! let back = codec::decode::<u8>(&model, &file, &Limits::default())?;
//! assert_eq!((back.width, back.height), (64, 48));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

pub mod adaptive;
pub mod audio;
pub mod bottleneck;
pub mod codec;
pub mod coding_limit;
pub mod config;
pub mod container;
pub mod dead_zone;
pub mod dequantize;
pub mod encoder;
pub mod entropy;
mod error;
pub mod file_tags;
pub mod fit;
pub mod image;
mod linalg;
pub mod liveaction;
pub mod model;
pub mod packing;
pub mod rdo;
pub mod registry;
pub mod signal;
pub mod step;
pub mod step_decoders;
mod step_fit;
pub mod stripes;
pub mod volume;

pub use bottleneck::Rounding;
pub use codec::{EncodeOptions, Latent, DEFAULT_CHUNK_ROWS};
pub use config::{Architecture, EncoderKind, Figures, Modality, ModelConfig};
pub use container::{Header, LatentCoder, Limits};
pub use encoder::LinearEncoder;
pub use error::{CodecError, Result};
pub use image::{Image, Image16, Image8, Pixel};
pub use model::{Model, ModelId};
pub use signal::{SampleType, Samples, Signal, ValueRange};
pub use step::Step;
