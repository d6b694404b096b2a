//! `walloc eval`: rate, distortion and speed of walloc models against peer
//! codecs on a folder of images or audio files, per file and on average,
//! with BD-rates, tables (JSON, CSV) and rate–distortion plots (SVG, PNG).

pub mod audio;
mod image;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use walloc_eval::bdrate::{bd_rate, RdPoint};
use walloc_eval::plot::{self, Labels, Series};
use walloc_eval::report::{self, BdRow, FileRow, MeanRow, Report};

use crate::io::write_output;

/// A quality metric: its name and how to read it off a mean row.
pub(crate) type Metric = (&'static str, fn(&MeanRow) -> Option<f64>);

/// Arguments of `eval`.
#[derive(clap::Args, Debug)]
pub struct EvalArgs {
    /// Folder of images (PNG, JPEG, WebP, PNM, TIFF) or of audio files (WAV,
    /// FLAC, Ogg Vorbis); what it holds decides which evaluation runs.
    #[arg(long)]
    pub data: PathBuf,
    /// walloc models (names or files), repeatable [default: every embedded
    /// model of the data's modality, RGB for images].
    #[arg(short, long)]
    pub model: Vec<String>,
    /// Peer codecs, comma-separated: images webp, jpeg, avif; audio opus.
    #[arg(long, value_delimiter = ',')]
    pub against: Option<Vec<String>>,
    /// Output folder for results.json, files.csv, means.csv, bd_rate.csv and
    /// the plots rd_psnr.{svg,png} (and rd_ms_ssim for images).
    #[arg(long)]
    pub out: PathBuf,
    /// Audio: seconds of each file to evaluate, from its start.
    #[arg(long, default_value_t = 30.0)]
    pub seconds: f64,
}

/// The modality a folder holds.
fn is_audio_folder(dir: &Path) -> Result<bool> {
    let entries = std::fs::read_dir(dir).with_context(|| format!("reading folder {}", dir.display()))?;
    let (mut audio, mut other) = (0, 0);
    for entry in entries {
        let path = entry?.path();
        if crate::audio_in::is_audio_path(&path) {
            audio += 1;
        } else if path.is_file() {
            other += 1;
        }
    }
    Ok(audio > 0 && audio >= other)
}

/// Runs `eval`.
pub fn run(args: &EvalArgs) -> Result<()> {
    if !args.data.is_dir() {
        bail!("--data {} is not a folder", args.data.display());
    }
    // Timings are per core: every codec runs on one thread.
    let pool = rayon::ThreadPoolBuilder::new().num_threads(1).build()?;
    let report = if is_audio_folder(&args.data)? {
        pool.install(|| audio::evaluate(args))?
    } else {
        pool.install(|| image::evaluate(args))?
    };
    write_report(&report, &args.out)?;
    print_summary(&report);
    eprintln!("results in {}", args.out.display());
    Ok(())
}

/// Times one call.
pub(crate) fn timed<T>(work: impl FnOnce() -> Result<T>) -> Result<(T, Duration)> {
    let start = Instant::now();
    let value = work()?;
    Ok((value, start.elapsed()))
}

/// Mega-units per second.
pub(crate) fn per_second(units: f64, time: Duration) -> f64 {
    units / 1e6 / time.as_secs_f64().max(1e-9)
}

/// The per-setting means of `rows`, in first-seen order; `samples[i]` is
/// the size of row i's input (pixels or samples), weighting throughput.
pub(crate) fn means(rows: &[FileRow], samples: &[f64]) -> Vec<MeanRow> {
    let mut groups: Vec<(Vec<&FileRow>, Vec<f64>)> = Vec::new();
    for (row, &n) in rows.iter().zip(samples) {
        let same = |g: &&mut (Vec<&FileRow>, Vec<f64>)| g.0[0].codec == row.codec && g.0[0].setting == row.setting;
        match groups.iter_mut().find(same) {
            Some((rows, sizes)) => {
                rows.push(row);
                sizes.push(n);
            }
            None => groups.push((vec![row], vec![n])),
        }
    }
    groups.iter().map(|(rows, sizes)| MeanRow::of(rows, sizes)).collect()
}

/// The codecs of `means`, each with its curve points in rate order.
fn curves(means: &[MeanRow], quality: impl Fn(&MeanRow) -> Option<f64>) -> Vec<(String, Vec<(f64, f64)>)> {
    let mut curves: Vec<(String, Vec<(f64, f64)>)> = Vec::new();
    for mean in means {
        let Some(q) = quality(mean) else { continue };
        match curves.iter_mut().find(|(codec, _)| *codec == mean.codec) {
            Some((_, points)) => points.push((mean.rate, q)),
            None => curves.push((mean.codec.clone(), vec![(mean.rate, q)])),
        }
    }
    for (_, points) in &mut curves {
        points.sort_by(|a, b| a.0.total_cmp(&b.0));
    }
    curves
}

/// BD-rate of every walloc family against every peer, on each metric.
pub(crate) fn bd_rates(means: &[MeanRow], metrics: &[Metric]) -> Vec<BdRow> {
    let mut rows = Vec::new();
    for (metric, quality) in metrics {
        let curves = curves(means, quality);
        let (ours, peers): (Vec<_>, Vec<_>) = curves.iter().partition(|(codec, _)| codec.starts_with("walloc"));
        for (codec, points) in &ours {
            for (anchor, anchor_points) in &peers {
                let to_rd = |p: &Vec<(f64, f64)>| -> Vec<RdPoint> {
                    p.iter().map(|&(rate, quality)| RdPoint { rate, quality }).collect()
                };
                let result = bd_rate(&to_rd(anchor_points), &to_rd(points));
                rows.push(BdRow {
                    codec: codec.clone(),
                    anchor: anchor.clone(),
                    metric: metric.to_string(),
                    bd_rate_percent: result.as_ref().ok().copied(),
                    note: result.err().map(|e| e.to_string()),
                });
            }
        }
    }
    rows
}

/// Writes results.json, the CSV tables and the plots.
fn write_report(report: &Report, out: &Path) -> Result<()> {
    std::fs::create_dir_all(out).with_context(|| format!("creating {}", out.display()))?;
    write_output(
        &out.join("results.json"),
        serde_json::to_string_pretty(report)?.as_bytes(),
    )?;
    write_output(&out.join("files.csv"), &report::csv(&report.files)?)?;
    write_output(&out.join("means.csv"), &report::csv(&report.means)?)?;
    write_output(&out.join("bd_rate.csv"), &report::csv(&report.bd_rates)?)?;
    let x = if report.modality == "image" {
        "bits per pixel"
    } else {
        "kbit/s"
    };
    let mut plots: Vec<(&str, Metric)> = vec![("rd_psnr", ("PSNR (dB)", |m| Some(m.psnr)))];
    if report.modality == "image" {
        plots.push(("rd_ms_ssim", ("MS-SSIM", |m| m.ms_ssim)));
    }
    for (name, (y, quality)) in plots {
        let series: Vec<Series> = curves(&report.means, quality)
            .into_iter()
            .map(|(label, points)| Series { label, points })
            .collect();
        if series.is_empty() {
            continue;
        }
        let title = format!("{} rate–distortion", report.modality);
        let labels = Labels { title: &title, x, y };
        write_output(
            &out.join(format!("{name}.svg")),
            plot::svg(&series, &labels)?.as_bytes(),
        )?;
        write_output(&out.join(format!("{name}.png")), &plot::png(&series, &labels)?)?;
    }
    Ok(())
}

fn optional(v: Option<f64>, digits: usize) -> String {
    v.map_or("-".into(), |v| format!("{v:.digits$}"))
}

/// Prints the means and BD-rates.
fn print_summary(report: &Report) {
    println!(
        "{:<16} {:>10} {:>10} {:>9} {:>8} {:>7} {:>8} {:>8} {:>9} {:>9}",
        "codec", "setting", report.rate_unit, "ratio", "PSNR", "SSIM", "MS-SSIM", "SNR", "enc M/s", "dec M/s"
    );
    for m in &report.means {
        println!(
            "{:<16} {:>10} {:>10.4} {:>8.1}:1 {:>8.2} {:>7} {:>8} {:>8} {:>9.2} {:>9.2}",
            m.codec,
            m.setting,
            m.rate,
            m.compression_ratio,
            m.psnr,
            optional(m.ssim, 4),
            optional(m.ms_ssim, 4),
            optional(m.snr, 2),
            m.encode_rate,
            m.decode_rate
        );
    }
    for bd in &report.bd_rates {
        match bd.bd_rate_percent {
            Some(v) => println!("BD-rate {} vs {} ({}): {v:+.2} %", bd.codec, bd.anchor, bd.metric),
            None => println!(
                "BD-rate {} vs {} ({}): none ({})",
                bd.codec,
                bd.anchor,
                bd.metric,
                bd.note.as_deref().unwrap_or("")
            ),
        }
    }
}
