//! The embedded models in the CLI: resolving `--model NAME|PATH`, finding
//! the model a file needs, and `walloc models`.

use anyhow::{bail, Result};
use walloc::{Model, ModelId};

pub use walloc::models::{embedded, DEFAULT_AUDIO};

/// Resolves `--model`: an embedded model's name, or a path to a model file.
pub fn resolve(spec: &str) -> Result<Model> {
    Ok(walloc::models::resolve(spec)?)
}

/// Finds the model a file needs: `--model` if given (checked by the
/// decoder), else the embedded model with that id.
pub fn for_id(id: ModelId, spec: Option<&str>) -> Result<Model> {
    if let Some(spec) = spec {
        return resolve(spec);
    }
    match walloc::models::name_of(id) {
        Some(name) => Ok(walloc::models::named(name)?),
        None => bail!(
            "the file was made with model {} which is not built in; pass it with --model PATH",
            id.short()
        ),
    }
}

/// Prints the embedded models with their figures.
pub fn print_list() -> Result<()> {
    print!("{}", walloc::models::table(embedded()?));
    let curves = walloc::models::curves_table();
    if !curves.is_empty() {
        println!("\ncurves (--quality: rate, PSNR; means on the held-out data of docs/BENCHMARKS.md):");
        print!("{curves}");
    }
    Ok(())
}
