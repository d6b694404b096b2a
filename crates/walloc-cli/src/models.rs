//! The models built into the binary, and resolving `--model NAME|PATH`.

use std::path::Path;

use anyhow::{bail, Context, Result};
use walloc_codec::{Model, ModelId};

include!(concat!(env!("OUT_DIR"), "/embedded.rs"));

/// Default model name for images of `channels` channels.
pub fn default_for(channels: u8) -> &'static str {
    if channels == 1 {
        "gray-16x"
    } else {
        "rgb-16x"
    }
}

/// Loads every embedded model.
pub fn embedded() -> Result<Vec<Model>> {
    EMBEDDED
        .iter()
        .map(|(name, bytes)| Model::from_bytes(bytes.to_vec()).with_context(|| format!("embedded model {name}")))
        .collect()
}

/// Resolves `--model`: an embedded model's name, or a path to a model file.
pub fn resolve(spec: &str) -> Result<Model> {
    if let Some((_, bytes)) = EMBEDDED.iter().find(|(name, _)| *name == spec) {
        return Ok(Model::from_bytes(bytes.to_vec())?);
    }
    let path = Path::new(spec);
    if path.exists() {
        let bytes = std::fs::read(path).with_context(|| format!("reading model {}", path.display()))?;
        return Model::from_bytes(bytes).with_context(|| format!("loading model {}", path.display()));
    }
    let names: Vec<&str> = EMBEDDED.iter().map(|(n, _)| *n).collect();
    bail!(
        "no model named {spec:?} (embedded: {}) and no such file",
        names.join(", ")
    )
}

/// Finds the model a file needs: `--model` if given (checked by the
/// decoder), else the embedded model with that id.
pub fn for_id(id: ModelId, spec: Option<&str>) -> Result<Model> {
    if let Some(spec) = spec {
        return resolve(spec);
    }
    for model in embedded()? {
        if model.id() == id {
            return Ok(model);
        }
    }
    bail!(
        "the file was made with model {} which is not built in; pass it with --model PATH",
        id.short()
    )
}
