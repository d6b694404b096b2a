//! The reference's own dataset layout: each item's latent as a lossless
//! WebP latent image (`latent_to_pil`: channels tiled into an image, values
//! offset by 2^(bits−1)), `SPLIT/NAME.webp` beside its source's folders,
//! which image-folder loaders (HF `imagefolder`, torchvision) read and the
//! reference's `pil_to_latent` unpacks.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

use rayon::prelude::*;
use walloc::{Modality, Model};
use walloc_codec::packing::{pack, PackFormat};

use crate::convert::{convert, Content};
use crate::error::{DatasetError, Result};
use crate::manifest::SplitEntry;
use crate::plan::{Item, Plan};
use crate::shard::Skipped;
use crate::{write_atomically, Options, Written};

/// Where an item's latent image goes: its name with `.webp` for its
/// extension, under the split's folder.
fn target(out: &Path, split: &str, item: &Item) -> PathBuf {
    out.join(split).join(Path::new(&item.name).with_extension("webp"))
}

/// One item's latent image, written atomically.
fn write_tile(model: &Model, plan: &Plan, item: &Item, path: &Path) -> Result<()> {
    let label = item.class.as_deref().and_then(|c| plan.label(c));
    let row = convert(model, item, label, Content::Latent)?;
    let offset = 1i16 << (model.config().latent_bits - 1);
    let symbols: Vec<u8> = row.latent.iter().map(|&v| (i16::from(v) + offset) as u8).collect();
    let [k, h, w] = row.latent_shape[..] else {
        return Err(DatasetError::Invalid("latent images hold 2-D latents".into()));
    };
    let file =
        pack(&symbols, k as usize, h as usize, w as usize, PackFormat::WebP).map_err(|e| DatasetError::Item {
            path: item.name.clone(),
            message: e.to_string(),
        })?;
    let dir = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).map_err(|e| DatasetError::io("creating", dir, e))?;
    write_atomically(path, &file)
}

/// Writes every item's latent image not already there.
pub(crate) fn build(
    model: &Model,
    plan: &Plan,
    out: &Path,
    options: &Options,
    done: &(dyn Fn(u64) + Sync),
) -> Result<Written> {
    if model.config().modality != Modality::Image {
        return Err(DatasetError::Invalid(
            "webp-tiles holds image latents; audio datasets are Parquet".into(),
        ));
    }
    if walloc_codec::packing::tiling(model.config().latent_dim as usize).is_none() {
        return Err(DatasetError::Invalid(format!(
            "{} latent channels do not tile into an image (3·n² or n² do)",
            model.config().latent_dim
        )));
    }
    let (written, reused) = (AtomicUsize::new(0), AtomicUsize::new(0));
    let mut result = Written::default();
    for (split, items) in &plan.splits {
        let outcomes: Vec<(Option<Skipped>, u64)> = items
            .par_iter()
            .map(|item| {
                let path = target(out, split, item);
                let outcome = if path.is_file() {
                    reused.fetch_add(1, Ordering::Relaxed);
                    Ok(())
                } else {
                    write_tile(model, plan, item, &path).inspect(|()| {
                        written.fetch_add(1, Ordering::Relaxed);
                    })
                };
                done(1);
                match outcome {
                    Ok(()) => Ok((None, std::fs::metadata(&path).map_or(0, |m| m.len()))),
                    Err(error) if options.strict => Err(error),
                    Err(DatasetError::Item { message, .. }) => Ok((
                        Some(Skipped {
                            path: item.name.clone(),
                            error: message,
                        }),
                        0,
                    )),
                    Err(other) => Err(other),
                }
            })
            .collect::<Result<_>>()?;
        let skipped = outcomes.iter().filter(|(s, _)| s.is_some()).count();
        result.bytes += outcomes.iter().map(|(_, b)| b).sum::<u64>();
        result.skipped.extend(outcomes.into_iter().filter_map(|(s, _)| s));
        result.splits.push(SplitEntry {
            name: split.clone(),
            items: items.len(),
            rows: items.len() - skipped,
            shards: Vec::new(),
        });
    }
    result.written = written.into_inner();
    result.reused = reused.into_inner();
    Ok(result)
}
