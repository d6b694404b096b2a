//! Errors of reading and writing files, by kind.

use thiserror::Error;

/// A file could not be read or written.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum FormatError {
    /// The file system refused (`doing` says what was tried).
    #[error("{doing} {path}: {source}")]
    Io {
        /// "opening", "reading", "writing".
        doing: &'static str,
        /// The path.
        path: String,
        /// The system's error.
        #[source]
        source: std::io::Error,
    },
    /// An image file could not be decoded or encoded.
    #[error("{doing} image {name}: {source}")]
    Image {
        /// "decoding" or "encoding".
        doing: &'static str,
        /// The file's name.
        name: String,
        /// The `image` crate's error.
        #[source]
        source: ::image::ImageError,
    },
    /// An image has transparent pixels, which walloc does not code.
    #[error("{name} has transparent pixels; walloc codes gray or RGB images: flatten it onto a background first")]
    Transparent {
        /// The file's name.
        name: String,
    },
    /// An audio stream could not be read or written, or holds what walloc
    /// does not read.
    #[error("{name}: {message}")]
    Audio {
        /// The file's name.
        name: String,
        /// What is wrong.
        message: String,
    },
    /// A volume file could not be read or written, or holds what walloc
    /// does not code.
    #[error("{name}: {message}")]
    Volume {
        /// The file's name.
        name: String,
        /// What is wrong.
        message: String,
    },
    /// A PNG stream could not be decoded or encoded.
    #[error("{name}: {message}")]
    Png {
        /// The file's name.
        name: String,
        /// The `png` crate's message.
        message: String,
    },
    /// The samples do not make the image or recording asked for.
    #[error(transparent)]
    Codec(#[from] walloc::Error),
}

impl FormatError {
    /// An audio error about `name`.
    pub(crate) fn audio(name: &str, message: impl std::fmt::Display) -> Self {
        FormatError::Audio {
            name: name.to_string(),
            message: message.to_string(),
        }
    }

    /// A PNG error about `name`.
    pub(crate) fn png(name: &str, message: impl std::fmt::Display) -> Self {
        FormatError::Png {
            name: name.to_string(),
            message: message.to_string(),
        }
    }

    /// A file-system error of `doing` on `path`.
    pub(crate) fn io(doing: &'static str, path: &std::path::Path, source: std::io::Error) -> Self {
        FormatError::Io {
            doing,
            path: path.display().to_string(),
            source,
        }
    }
}

/// Results of this crate.
pub type Result<T> = std::result::Result<T, FormatError>;
