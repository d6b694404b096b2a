//! The error type of walloc-nn, and how it reads as walloc-codec's.

use walloc_codec::CodecError;
use walloc_wavelet::WaveletError;

/// Errors of this crate. A damaged file, a bad header or a model mismatch
/// is a [`CodecError`] whichever decoder meets it, so it keeps its kind.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum NnError {
    /// An error of the codec: the container, entropy coding, model files.
    #[error(transparent)]
    Codec(#[from] CodecError),
    /// An error of the wavelet transform.
    #[error(transparent)]
    Wavelet(#[from] WaveletError),
    /// The weights file does not parse.
    #[error("weights file: {0}")]
    File(String),
    /// A parameter is missing.
    #[error("missing parameter {0}")]
    Missing(String),
    /// A parameter has the wrong dtype or shape.
    #[error("parameter {name} is {found}, expected f32 {expected:?}")]
    Shape {
        /// Parameter name.
        name: String,
        /// What was found.
        found: String,
        /// The shape the architecture needs.
        expected: Vec<usize>,
    },
    /// The model's configuration lacks what its architecture needs.
    #[error("model config: {0}")]
    Config(String),
    /// The backend failed while running a network.
    #[error("neural backend: {0}")]
    Backend(String),
    /// A training option, checkpoint or run is not valid.
    #[error("{0}")]
    Training(String),
}

impl From<NnError> for CodecError {
    /// Codec errors keep their kind; weights and config problems are an
    /// invalid model; backend failures stay backend failures.
    fn from(error: NnError) -> Self {
        match error {
            NnError::Codec(e) => e,
            NnError::Wavelet(e) => CodecError::Wavelet(e),
            NnError::Backend(message) => CodecError::Backend(message),
            other => CodecError::InvalidModel(other.to_string()),
        }
    }
}
