//! What a report becomes for people: its files (results.json, the CSV
//! tables, rate–distortion plots as SVG and PNG) and a summary table.

use std::fmt::Write as _;

use crate::error::EvalError;
use crate::plot::{self, Labels, Series};
use crate::report::{csv, curves, Metric, Report};

/// One output file: its name and its bytes.
pub type Artifact = (String, Vec<u8>);

impl Report {
    /// The files of the report: results.json, files.csv, means.csv,
    /// bd_rate.csv, bands.csv for spectral cubes, and the plots
    /// rd_psnr.{svg,png} (and rd_ms_ssim for images).
    pub fn artifacts(&self) -> Result<Vec<Artifact>, EvalError> {
        let mut files = vec![
            ("results.json".to_string(), serde_json::to_vec_pretty(self)?),
            ("files.csv".to_string(), csv(&self.files)?),
            ("means.csv".to_string(), csv(&self.means)?),
            ("bd_rate.csv".to_string(), csv(&self.bd_rates)?),
        ];
        if !self.bands.is_empty() {
            files.push(("bands.csv".to_string(), csv(&self.bands)?));
        }
        let image = self.modality == "image";
        let x = match self.modality.as_str() {
            "image" => "bits per pixel",
            "volume" => "bits per voxel (per sample)",
            _ => "kbit/s",
        };
        let mut plots: Vec<(&str, Metric)> = vec![("rd_psnr", ("PSNR (dB)", |m| Some(m.psnr)))];
        if image {
            plots.push(("rd_ms_ssim", ("MS-SSIM", |m| m.ms_ssim)));
        }
        for (name, (y, quality)) in plots {
            let series: Vec<Series> = curves(&self.means, quality)
                .into_iter()
                .map(|(label, points)| Series { label, points })
                .collect();
            if series.is_empty() {
                continue;
            }
            let title = format!("{} rate–distortion", self.modality);
            let labels = Labels { title: &title, x, y };
            files.push((format!("{name}.svg"), plot::svg(&series, &labels)?.into_bytes()));
            files.push((format!("{name}.png"), plot::png(&series, &labels)?));
        }
        Ok(files)
    }

    /// The means as a table, then the BD-rates, one per line.
    pub fn summary(&self) -> String {
        let mut text = if self.modality == "volume" {
            self.volume_table()
        } else {
            self.signal_table()
        };
        for bd in &self.bd_rates {
            let figure = match bd.bd_rate_percent {
                Some(v) => format!("{v:+.2} %"),
                None => format!("none ({})", bd.note.as_deref().unwrap_or("")),
            };
            let _ = writeln!(text, "BD-rate {} vs {} ({}): {figure}", bd.codec, bd.anchor, bd.metric);
        }
        text
    }

    /// Volumes' means: rate, ratio, PSNR, RMSE in the data's units, the
    /// spectral angle of cubes, throughput.
    fn volume_table(&self) -> String {
        let optional = |v: Option<f64>, digits: usize| v.map_or("-".into(), |v| format!("{v:.digits$}"));
        let mut text = format!(
            "{:<16} {:>12} {:>10} {:>9} {:>8} {:>9} {:>7} {:>9} {:>9}\n",
            "codec", "setting", self.rate_unit, "ratio", "PSNR", "RMSE", "angle", "enc Mv/s", "dec Mv/s"
        );
        for m in &self.means {
            let _ = writeln!(
                text,
                "{:<16} {:>12} {:>10.4} {:>8.1}:1 {:>8.2} {:>9} {:>7} {:>9.2} {:>9.2}",
                m.codec,
                m.setting,
                m.rate,
                m.compression_ratio,
                m.psnr,
                optional(m.rmse, 2),
                optional(m.spectral_angle, 2),
                m.encode_rate,
                m.decode_rate
            );
        }
        text
    }

    /// Images' and audio's means: rate, ratio, PSNR, SSIM, MS-SSIM, SNR,
    /// throughput.
    fn signal_table(&self) -> String {
        let optional = |v: Option<f64>, digits: usize| v.map_or("-".into(), |v| format!("{v:.digits$}"));
        let mut text = format!(
            "{:<16} {:>10} {:>10} {:>9} {:>8} {:>7} {:>8} {:>8} {:>9} {:>9}\n",
            "codec", "setting", self.rate_unit, "ratio", "PSNR", "SSIM", "MS-SSIM", "SNR", "enc M/s", "dec M/s"
        );
        for m in &self.means {
            let _ = writeln!(
                text,
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
        text
    }
}
