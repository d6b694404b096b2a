//! What an evaluation of one modality is asked to run, checked before
//! anything is coded.

use walloc::{Modality, Model};

use crate::error::EvalError;

/// Checks that every model codes `modality` and that `peers` names only
/// codecs of `known` (`None`: the default, all of them); returns the peers
/// to run. An evaluation with no model and no peer is refused.
pub(crate) fn chosen_peers(
    models: &[Model],
    modality: Modality,
    known: &[&'static str],
    peers: Option<&[String]>,
) -> Result<Vec<&'static str>, EvalError> {
    if let Some(other) = models.iter().find(|m| m.config().modality != modality) {
        return Err(EvalError::Invalid(format!(
            "model {} codes {}s, and the data holds {modality}s",
            other.config().name,
            other.config().modality
        )));
    }
    let chosen = match peers {
        None => known.to_vec(),
        Some(names) => names
            .iter()
            .map(|name| {
                known.iter().copied().find(|k| k == name).ok_or_else(|| {
                    EvalError::Invalid(format!(
                        "unknown {modality} codec {name:?} in --against (known: {})",
                        known.join(", ")
                    ))
                })
            })
            .collect::<Result<_, _>>()?,
    };
    if models.is_empty() && chosen.is_empty() {
        return Err(EvalError::Invalid(format!(
            "nothing to evaluate: no {modality} model (none embedded: pass --model FILE) and no peer"
        )));
    }
    Ok(chosen)
}
