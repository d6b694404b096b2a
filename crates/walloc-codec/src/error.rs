//! The codec's error type.

use walloc_wavelet::WaveletError;

use crate::config::{Architecture, EncoderKind};

/// Everything that can go wrong in `walloc-codec`. Messages name the
/// offending field and value so that a user can act on them.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CodecError {
    /// The container does not start with the walloc magic bytes.
    #[error("not a walloc file (bad magic bytes)")]
    BadMagic,
    /// A container version this build cannot read.
    #[error("unsupported container version {found} (this build reads version {supported})")]
    UnsupportedVersion {
        /// Version in the file.
        found: u8,
        /// Version this build reads.
        supported: u8,
    },
    /// The file ends before a field or chunk it declares.
    #[error("truncated file: {0}")]
    Truncated(&'static str),
    /// A CRC32 does not match: the bytes were damaged.
    #[error("corrupt file: CRC32 mismatch in {0}")]
    BadChecksum(String),
    /// A header field has a value that is not allowed.
    #[error("invalid {field}: {value}")]
    InvalidField {
        /// Field name.
        field: &'static str,
        /// The value found, with the reason.
        value: String,
    },
    /// A size exceeds the configured [`crate::Limits`].
    #[error("{what} {value} exceeds the limit of {limit}")]
    LimitExceeded {
        /// What was too large.
        what: &'static str,
        /// The requested value.
        value: u64,
        /// The limit.
        limit: u64,
    },
    /// The file was made with another model.
    #[error("file needs model {needed}, but model {given} was given")]
    ModelMismatch {
        /// Model id recorded in the file.
        needed: String,
        /// Model id of the model given.
        given: String,
    },
    /// The model file is malformed.
    #[error("invalid model file: {0}")]
    InvalidModel(String),
    /// The entropy-coded payload does not decode.
    #[error("corrupt entropy-coded payload: {0}")]
    EntropyCoding(String),
    /// The packed latent image does not decode.
    #[error("latent image: {0}")]
    LatentImage(String),
    /// The input signal does not fit the model.
    #[error("input does not fit the model: {0}")]
    IncompatibleInput(String),
    /// An error of the wavelet transform.
    #[error(transparent)]
    Wavelet(#[from] WaveletError),
    /// This build has no encoder or decoder for the model's architecture.
    #[error("model {model} ({architecture}, {encoder} encoder) has no {part} in this build{}", hint(*.architecture))]
    Unsupported {
        /// The model's name.
        model: String,
        /// `encoder` or `decoder`.
        part: &'static str,
        /// The model's architecture.
        architecture: Architecture,
        /// The model's kind of encoder.
        encoder: EncoderKind,
    },
    /// No model of that name is embedded and no such file exists.
    #[error("no model named {name:?} (embedded: {known})")]
    UnknownModel {
        /// The name asked for.
        name: String,
        /// The names that exist.
        known: String,
    },
    /// The file was made with a model that is not among those given.
    #[error("the file needs model {needed}, which is not among the {searched} models given")]
    ModelNotFound {
        /// Model id recorded in the file.
        needed: String,
        /// How many models were searched.
        searched: usize,
    },
    /// The neural backend failed while running a network.
    #[error("neural backend: {0}")]
    Backend(String),
    /// Reading or writing a file failed.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// What failed.
        source: std::io::Error,
    },
}

/// Where the missing part of an architecture is found.
fn hint(architecture: Architecture) -> &'static str {
    match architecture {
        Architecture::Linear | Architecture::Residual => "",
        _ => " (neural architectures need walloc-nn: the `neural` feature of the walloc crate)",
    }
}

/// Shorthand for results of this crate.
pub type Result<T> = std::result::Result<T, CodecError>;

/// Builds an [`CodecError::InvalidField`].
pub(crate) fn invalid(field: &'static str, value: impl std::fmt::Display) -> CodecError {
    CodecError::InvalidField {
        field,
        value: value.to_string(),
    }
}
