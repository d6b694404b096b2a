//! What an evaluation of one modality with one peer codec is asked to run,
//! checked before anything is coded.

use walloc::{Modality, Model};

use crate::error::EvalError;

/// Checks that every model codes `modality` and that `peers` names only
/// `peer` (`None`: the default, which runs it); returns whether the peer
/// runs. An evaluation with no model and no peer is refused.
pub(crate) fn peer_runs(
    models: &[Model],
    modality: Modality,
    peer: &str,
    peers: Option<&[String]>,
) -> Result<bool, EvalError> {
    if let Some(other) = models.iter().find(|m| m.config().modality != modality) {
        return Err(EvalError::Invalid(format!(
            "model {} codes {}s, and the data holds {modality}s",
            other.config().name,
            other.config().modality
        )));
    }
    if let Some(unknown) = peers.unwrap_or_default().iter().find(|p| p.as_str() != peer) {
        return Err(EvalError::Invalid(format!(
            "unknown {modality} codec {unknown:?} in --against (known: {peer})"
        )));
    }
    let runs = peers.is_none_or(|p| !p.is_empty());
    if models.is_empty() && !runs {
        return Err(EvalError::Invalid(format!(
            "nothing to evaluate: no {modality} model (none embedded: pass --model FILE) and no peer"
        )));
    }
    Ok(runs)
}
