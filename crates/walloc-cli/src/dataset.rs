//! `walloc dataset`: plans a labelled collection, has `walloc_dataset`
//! convert it into Parquet shards of latents with a progress bar, and
//! reports what it wrote, what it reused and what it skipped.

use std::path::PathBuf;

use anyhow::{Context, Result};
use walloc_dataset::{build, plan, Content, Files, Options, SplitRule};

use crate::io::progress;
use crate::models;

/// Arguments of `dataset`.
#[derive(clap::Args, Debug)]
pub struct DatasetArgs {
    /// The collection: class folders (`CLASS/file`, ImageFolder's
    /// convention), or any files labelled by --labels.
    #[arg(long)]
    pub data: PathBuf,
    /// Model name or file (its modality decides what is read).
    #[arg(short, long)]
    pub model: String,
    /// Output folder: SPLIT/part-NNNNN.parquet and manifest.json. A rerun
    /// into it converts only the shards not yet written.
    #[arg(short, long)]
    pub output: PathBuf,
    /// Labels as CSV lines `path,label` or JSONL `{"path":…,"label":…}`,
    /// paths relative to --data.
    #[arg(long)]
    pub labels: Option<PathBuf>,
    /// `folders` (the top folders of --data are the splits), or ratios
    /// such as train=0.9,test=0.1 (by a stable hash of each path)
    /// [default: one split, train].
    #[arg(long)]
    pub split: Option<String>,
    /// Store each item's .wal bytes instead of its latent (Parquet).
    #[arg(long)]
    pub coded: bool,
    /// Files to write: Parquet shards, or the reference's lossless WebP
    /// latent images (SPLIT/NAME.webp, one per item).
    #[arg(long, value_enum, default_value = "parquet")]
    pub format: FormatArg,
    /// Items per shard.
    #[arg(long, default_value_t = 4096)]
    pub shard_size: usize,
    /// Stop at the first file that cannot be converted, instead of
    /// reporting and skipping it.
    #[arg(long)]
    pub strict: bool,
}

/// What `dataset` writes.
#[derive(Clone, Copy, Debug, clap::ValueEnum)]
pub enum FormatArg {
    /// Parquet shards of latents (or of .wal bytes with --coded).
    Parquet,
    /// One lossless WebP latent image per item, as the reference's datasets.
    WebpTiles,
}

/// Runs `dataset`.
pub fn run(args: &DatasetArgs) -> Result<()> {
    let model = models::resolve(&args.model)?;
    let rule: SplitRule = match &args.split {
        Some(text) => text.parse()?,
        None => SplitRule::Single,
    };
    let plan = plan(&args.data, args.labels.as_deref(), &rule)?;
    eprintln!(
        "{} files in {} split{} ({}), {} classes; model {}",
        plan.items(),
        plan.splits.len(),
        if plan.splits.len() == 1 { "" } else { "s" },
        plan.splits
            .iter()
            .map(|(n, i)| format!("{n} {}", i.len()))
            .collect::<Vec<_>>()
            .join(", "),
        plan.classes.len(),
        model.config().name
    );
    let content = if args.coded { Content::Coded } else { Content::Latent };
    let files = match args.format {
        FormatArg::Parquet => Files::Parquet,
        FormatArg::WebpTiles => Files::WebpTiles,
    };
    let options = Options::default()
        .with_files(files)
        .with_content(content)
        .with_shard_size(args.shard_size)
        .with_strict(args.strict);
    let bar = progress(plan.items() as u64, "converting");
    let summary = build(&model, &plan, &args.output, &options, &|n| bar.inc(n))
        .with_context(|| format!("building the dataset in {}", args.output.display()))?;
    bar.finish_and_clear();
    for skipped in &summary.manifest.skipped {
        eprintln!("skipped {}: {}", skipped.path, skipped.error);
    }
    print!("{summary}");
    Ok(())
}
