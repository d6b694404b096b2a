//! What an evaluation of one modality is asked to run, checked before
//! anything is coded.

use walloc::{Modality, Model};

use crate::error::EvalError;

/// Checks that every model codes `modality`, that no two share a name
/// ([`distinct_names`]) and that `peers` names only codecs of `known`
/// (`None`: the default, all of them); returns the peers to run. An
/// evaluation with no model and no peer is refused.
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
    distinct_names(models)?;
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

/// Refuses two models of one name (a model and its retrained file): a
/// report tells models apart by the names in their configurations, so
/// their rows would be averaged into one curve.
pub(crate) fn distinct_names(models: &[Model]) -> Result<(), EvalError> {
    for (later, model) in models.iter().enumerate() {
        let name = &model.config().name;
        if models[..later].iter().any(|m| &m.config().name == name) {
            return Err(EvalError::Invalid(format!(
                "both models named {name} would be reported as one curve (an evaluation tells models apart \
                 by name): evaluate them in separate runs"
            )));
        }
    }
    Ok(())
}
