//! Errors of building and reading datasets, by kind.

use thiserror::Error;

/// A dataset could not be planned, written or read.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum DatasetError {
    /// The file system refused.
    #[error("{doing} {path}: {source}")]
    Io {
        /// What was tried ("reading", "writing", …).
        doing: &'static str,
        /// The path.
        path: String,
        /// The system's error.
        #[source]
        source: std::io::Error,
    },
    /// A label file has a bad line.
    #[error("{path} line {line}: {message}")]
    Labels {
        /// The label file.
        path: String,
        /// Its line, from 1.
        line: usize,
        /// What is wrong.
        message: String,
    },
    /// One item could not be converted (reported and skipped unless strict).
    #[error("{path}: {message}")]
    Item {
        /// The item's path.
        path: String,
        /// Why.
        message: String,
    },
    /// A shard could not be written or read as Parquet.
    #[error("shard {path}: {message}")]
    Shard {
        /// The shard's path.
        path: String,
        /// The Parquet or Arrow message.
        message: String,
    },
    /// The options or the source make no dataset.
    #[error("{0}")]
    Invalid(String),
}

impl DatasetError {
    pub(crate) fn io(doing: &'static str, path: &std::path::Path, source: std::io::Error) -> Self {
        DatasetError::Io {
            doing,
            path: path.display().to_string(),
            source,
        }
    }

    pub(crate) fn shard(path: &std::path::Path, message: impl std::fmt::Display) -> Self {
        DatasetError::Shard {
            path: path.display().to_string(),
            message: message.to_string(),
        }
    }
}

/// Results of this crate.
pub type Result<T> = std::result::Result<T, DatasetError>;
