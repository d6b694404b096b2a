//! Errors of an evaluation, by kind.

use thiserror::Error;

use crate::peers::PeerError;
use crate::plot::PlotError;

/// An evaluation failed.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum EvalError {
    /// walloc could not code an input.
    #[error(transparent)]
    Codec(#[from] walloc::Error),
    /// A peer codec failed.
    #[error(transparent)]
    Peer(#[from] PeerError),
    /// A plot could not be drawn.
    #[error(transparent)]
    Plot(#[from] PlotError),
    /// A table could not be written.
    #[error("writing a table: {0}")]
    Table(String),
    /// An input could not be read (its reader's message).
    #[error("reading {name}: {message}")]
    Input {
        /// The input's name.
        name: String,
        /// What its reader said.
        message: String,
    },
    /// What was asked cannot be evaluated (no model and no peer, models
    /// of another modality, an unknown peer…).
    #[error("{0}")]
    Invalid(String),
}

impl From<csv::Error> for EvalError {
    fn from(error: csv::Error) -> Self {
        EvalError::Table(error.to_string())
    }
}

impl From<serde_json::Error> for EvalError {
    fn from(error: serde_json::Error) -> Self {
        EvalError::Table(error.to_string())
    }
}
