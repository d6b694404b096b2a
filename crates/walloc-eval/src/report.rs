//! Evaluation records and their tables: one row per file and setting, the
//! mean of each setting over the files (a point of a rate–distortion
//! curve), and BD-rates; written as JSON and CSV.

use serde::Serialize;

use crate::bdrate::{bd_rate, RdPoint};

/// One file coded by one codec at one setting.
#[derive(Clone, Debug, Serialize)]
pub struct FileRow {
    /// File name.
    pub file: String,
    /// Codec family ("walloc linear", "webp", …).
    pub codec: String,
    /// Model name or quality.
    pub setting: String,
    /// Compressed bytes.
    pub bytes: usize,
    /// Bits per pixel (images) or kilobits per second (audio).
    pub rate: f64,
    /// Original size over compressed size.
    pub compression_ratio: f64,
    /// Input samples over latent samples (1 for peers).
    pub dimensionality_reduction: f64,
    /// PSNR in dB (8-bit output for images, full scale for audio).
    pub psnr: f64,
    /// SSIM (images).
    pub ssim: Option<f64>,
    /// MS-SSIM (images with sides of at least 161 pixels).
    pub ms_ssim: Option<f64>,
    /// SNR in dB (audio).
    pub snr: Option<f64>,
    /// Root-mean-square error in the data's own units (volumes: HU for CT).
    pub rmse: Option<f64>,
    /// Mean angle in degrees between original and decoded spectra (cubes).
    pub spectral_angle: Option<f64>,
    /// Encode throughput: megapixels (images), mega-samples (audio) or
    /// megavoxels (volumes) per second.
    pub encode_rate: f64,
    /// Decode throughput, likewise.
    pub decode_rate: f64,
}

/// The mean of one codec setting over every file: a point of its curve.
#[derive(Clone, Debug, Serialize)]
pub struct MeanRow {
    /// Codec family.
    pub codec: String,
    /// Model name or quality.
    pub setting: String,
    /// Files averaged.
    pub files: usize,
    /// Mean rate.
    pub rate: f64,
    /// Mean compression ratio.
    pub compression_ratio: f64,
    /// Dimensionality reduction.
    pub dimensionality_reduction: f64,
    /// Mean PSNR in dB.
    pub psnr: f64,
    /// Mean SSIM, where every file has one.
    pub ssim: Option<f64>,
    /// Mean MS-SSIM, where every file has one.
    pub ms_ssim: Option<f64>,
    /// Mean SNR, where every file has one.
    pub snr: Option<f64>,
    /// Mean RMSE, where every file has one.
    pub rmse: Option<f64>,
    /// Mean spectral angle, where every file has one.
    pub spectral_angle: Option<f64>,
    /// Total samples over total encode time.
    pub encode_rate: f64,
    /// Total samples over total decode time.
    pub decode_rate: f64,
}

impl MeanRow {
    /// The means of `rows`, all of one codec and setting (at least one).
    pub fn of(rows: &[&FileRow], samples: &[f64]) -> MeanRow {
        let n = rows.len() as f64;
        let mean = |f: &dyn Fn(&FileRow) -> f64| rows.iter().map(|r| f(r)).sum::<f64>() / n;
        let mean_opt = |f: &dyn Fn(&FileRow) -> Option<f64>| {
            rows.iter()
                .map(|r| f(r))
                .collect::<Option<Vec<f64>>>()
                .map(|v| v.iter().sum::<f64>() / n)
        };
        let total: f64 = samples.iter().sum();
        let time = |f: &dyn Fn(&FileRow) -> f64| rows.iter().zip(samples).map(|(r, s)| s / f(r)).sum::<f64>();
        MeanRow {
            codec: rows[0].codec.clone(),
            setting: rows[0].setting.clone(),
            files: rows.len(),
            rate: mean(&|r| r.rate),
            compression_ratio: mean(&|r| r.compression_ratio),
            dimensionality_reduction: rows[0].dimensionality_reduction,
            psnr: mean(&|r| r.psnr),
            ssim: mean_opt(&|r| r.ssim),
            ms_ssim: mean_opt(&|r| r.ms_ssim),
            snr: mean_opt(&|r| r.snr),
            rmse: mean_opt(&|r| r.rmse),
            spectral_angle: mean_opt(&|r| r.spectral_angle),
            encode_rate: total / time(&|r| r.encode_rate),
            decode_rate: total / time(&|r| r.decode_rate),
        }
    }
}

/// The BD-rate of a walloc family against a peer on one quality metric.
#[derive(Clone, Debug, Serialize)]
pub struct BdRow {
    /// The walloc family (tested).
    pub codec: String,
    /// The peer (anchor).
    pub anchor: String,
    /// "psnr", "ssim" or "ms_ssim".
    pub metric: String,
    /// Percent rate change at equal quality (negative: walloc needs less).
    pub bd_rate_percent: Option<f64>,
    /// Why there is no figure, if there is none.
    pub note: Option<String>,
}

/// PSNR of one band of a spectral cube coded by one codec at one setting.
#[derive(Clone, Debug, Serialize)]
pub struct BandRow {
    /// File name.
    pub file: String,
    /// Codec family.
    pub codec: String,
    /// Model name or rate.
    pub setting: String,
    /// The band, from 0.
    pub band: usize,
    /// PSNR of the band over the cube's value range, in dB.
    pub psnr: f64,
}

/// Everything one evaluation produced.
#[derive(Clone, Debug, Serialize)]
pub struct Report {
    /// "image", "audio" or "volume".
    pub modality: String,
    /// The unit of `rate` ("bpp", "kbit/s" or "bits/voxel").
    pub rate_unit: String,
    /// Per-file rows.
    pub files: Vec<FileRow>,
    /// Per-setting means.
    pub means: Vec<MeanRow>,
    /// BD-rates.
    pub bd_rates: Vec<BdRow>,
    /// Per-band PSNR of spectral cubes (none for other data).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub bands: Vec<BandRow>,
}

/// A quality metric: its name and how to read it off a mean row.
pub type Metric = (&'static str, fn(&MeanRow) -> Option<f64>);

/// A codec family's curve: its name and (rate, quality) points in rate order.
pub type Curve = (String, Vec<(f64, f64)>);

impl Report {
    /// The report of `files` (rows of a `modality` evaluation at rates in
    /// `rate_unit`): the mean of each setting, weighting throughput by
    /// `samples` (each row's input size), and the BD-rate of every walloc
    /// codec and each of `families` against every peer on each of `metrics`.
    pub fn from_rows(
        modality: &str,
        rate_unit: &str,
        files: Vec<FileRow>,
        samples: &[f64],
        metrics: &[Metric],
        families: &[Family],
    ) -> Report {
        let means = means(&files, samples);
        let bd_rates = bd_rates(&means, metrics, families);
        Report {
            modality: modality.into(),
            rate_unit: rate_unit.into(),
            files,
            means,
            bd_rates,
            bands: Vec::new(),
        }
    }
}

/// The per-setting means of `rows`, in first-seen order; `samples[i]` is
/// the size of row i's input (pixels or samples), weighting throughput.
pub fn means(rows: &[FileRow], samples: &[f64]) -> Vec<MeanRow> {
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
pub fn curves(means: &[MeanRow], quality: impl Fn(&MeanRow) -> Option<f64>) -> Vec<Curve> {
    let mut curves: Vec<Curve> = Vec::new();
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

/// Models of one kind across rates, compared as one curve: a user who
/// aims at a rate picks the member that does best there.
#[derive(Clone, Debug, PartialEq)]
pub struct Family {
    /// The family's name in reports ("walloc linear family").
    pub name: String,
    /// Its members' codec names, as in the rows ("walloc rgb-16x").
    pub members: Vec<String>,
}

/// The upper envelope of `points` (rate, quality): the points that reach a
/// higher quality than every point of lower or equal rate, in rate order.
pub fn envelope(points: &[(f64, f64)]) -> Vec<(f64, f64)> {
    let mut sorted = points.to_vec();
    sorted.sort_by(|a, b| a.0.total_cmp(&b.0).then(b.1.total_cmp(&a.1)));
    let mut front: Vec<(f64, f64)> = Vec::new();
    for point in sorted {
        if front.last().is_none_or(|last| point.1 > last.1) {
            front.push(point);
        }
    }
    front
}

/// The quality `points` (in rate order) reach at `rate`, linear in log-rate
/// between the two around it (as BD-rate reads rates); `None` outside them.
fn quality_at(points: &[(f64, f64)], rate: f64) -> Option<f64> {
    let above = points.iter().position(|&(r, _)| r >= rate)?;
    let (r1, q1) = points[above];
    if r1 == rate {
        return Some(q1);
    }
    let (r0, q0) = points[above.checked_sub(1)?];
    Some(q0 + (q1 - q0) * (rate / r0).ln() / (r1 / r0).ln())
}

/// Each family of at least two members with a curve, as one curve: at
/// every rate one of its members was measured at, the best quality any
/// member reaches there (its own point, or another member's curve read
/// between two of its points, linear in log-rate), then the envelope of
/// those. A user who aims at a rate picks the member that does best
/// there; no member's point is dropped, so no gap is left for the
/// BD-rate's smooth interpolation to bridge.
pub fn family_curves(curves: &[Curve], families: &[Family]) -> Vec<Curve> {
    families
        .iter()
        .filter_map(|family| {
            let members: Vec<&Curve> = curves
                .iter()
                .filter(|(codec, _)| family.members.contains(codec))
                .collect();
            (members.len() >= 2).then(|| {
                let best_at = |rate: f64| {
                    members
                        .iter()
                        .filter_map(|(_, points)| quality_at(points, rate))
                        .fold(f64::NEG_INFINITY, f64::max)
                };
                let points: Vec<(f64, f64)> = members
                    .iter()
                    .flat_map(|(_, points)| points.iter().map(|&(rate, _)| (rate, best_at(rate))))
                    .collect();
                (family.name.clone(), envelope(&points))
            })
        })
        .collect()
}

/// BD-rate of every walloc codec and every family of them against every
/// peer, on each metric.
pub fn bd_rates(means: &[MeanRow], metrics: &[Metric], families: &[Family]) -> Vec<BdRow> {
    let to_rd =
        |p: &[(f64, f64)]| -> Vec<RdPoint> { p.iter().map(|&(rate, quality)| RdPoint { rate, quality }).collect() };
    let mut rows = Vec::new();
    for (metric, quality) in metrics {
        let curves = curves(means, quality);
        let (mut ours, peers): (Vec<_>, Vec<_>) = curves
            .iter()
            .cloned()
            .partition(|(codec, _)| codec.starts_with("walloc"));
        ours.extend(family_curves(&ours, families));
        for (codec, points) in &ours {
            for (anchor, anchor_points) in &peers {
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

/// Rows as CSV text, with a header line.
pub fn csv<T: Serialize>(rows: &[T]) -> Result<Vec<u8>, csv::Error> {
    let mut writer = csv::Writer::from_writer(Vec::new());
    for row in rows {
        writer.serialize(row)?;
    }
    writer.into_inner().map_err(|e| e.into_error().into())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(rate: f64, psnr: f64, ms_ssim: Option<f64>, encode_rate: f64) -> FileRow {
        FileRow {
            file: "a.png".into(),
            codec: "webp".into(),
            setting: "q50".into(),
            bytes: 100,
            rate,
            compression_ratio: 24.0 / rate,
            dimensionality_reduction: 1.0,
            psnr,
            ssim: Some(0.9),
            ms_ssim,
            snr: None,
            rmse: None,
            spectral_angle: None,
            encode_rate,
            decode_rate: 10.0,
        }
    }

    #[test]
    fn means_weight_throughput_by_samples() {
        let (a, b) = (row(0.5, 30.0, Some(0.95), 1.0), row(1.5, 34.0, None, 3.0));
        // 1 MP at 1 MP/s and 3 MP at 3 MP/s: 4 MP in 2 s = 2 MP/s.
        let mean = MeanRow::of(&[&a, &b], &[1.0, 3.0]);
        assert_eq!((mean.rate, mean.psnr, mean.files), (1.0, 32.0, 2));
        assert!((mean.encode_rate - 2.0).abs() < 1e-12);
        assert_eq!(mean.ms_ssim, None, "a file without MS-SSIM leaves the mean undefined");
        assert_eq!(mean.ssim, Some(0.9));
    }

    #[test]
    fn the_envelope_keeps_the_points_no_cheaper_point_beats() {
        let points = [
            (1.0, 30.0),
            (2.0, 29.0),
            (3.0, 33.0),
            (0.5, 25.0),
            (3.0, 32.0),
            (4.0, 33.0),
        ];
        assert_eq!(envelope(&points), vec![(0.5, 25.0), (1.0, 30.0), (3.0, 33.0)]);
        assert_eq!(envelope(&[]), vec![]);
    }

    #[test]
    fn a_family_is_the_envelope_of_its_members_and_gets_bd_rates() {
        let mean = |codec: &str, rate: f64, psnr: f64| {
            let mut r = row(rate, psnr, None, 1.0);
            r.codec = codec.into();
            r.setting = format!("{rate}");
            MeanRow::of(&[&r], &[1.0])
        };
        // Two models, each better over half the range; the anchor in between.
        let means = vec![
            mean("walloc low", 0.1, 26.0),
            mean("walloc low", 0.2, 29.0),
            mean("walloc low", 0.4, 30.0),
            mean("walloc high", 0.2, 27.0),
            mean("walloc high", 0.4, 32.0),
            mean("walloc high", 0.8, 36.0),
            mean("webp", 0.1, 25.0),
            mean("webp", 0.2, 28.0),
            mean("webp", 0.4, 31.0),
            mean("webp", 0.8, 35.0),
        ];
        let family = Family {
            name: "walloc linear family".into(),
            members: vec!["walloc low".into(), "walloc high".into()],
        };
        let curves = curves(&means, |m| Some(m.psnr));
        let (ours, _): (Vec<_>, Vec<_>) = curves.into_iter().partition(|(c, _)| c.starts_with("walloc"));
        let family_curve = family_curves(&ours, std::slice::from_ref(&family));
        assert_eq!(
            family_curve,
            vec![(
                "walloc linear family".to_string(),
                vec![(0.1, 26.0), (0.2, 29.0), (0.4, 32.0), (0.8, 36.0)]
            )]
        );
        let lonely = Family {
            name: "walloc refine family".into(),
            members: vec!["walloc low".into()],
        };
        assert!(family_curves(&ours, &[lonely]).is_empty(), "one member makes no family");
        const PSNR: Metric = ("psnr", |m| Some(m.psnr));
        let rows = bd_rates(&means, &[PSNR], &[family]);
        let bd = |codec: &str| rows.iter().find(|r| r.codec == codec).unwrap().bd_rate_percent.unwrap();
        // Every envelope point beats WebP by 1 dB: the family needs fewer
        // bits than WebP, and than "high", whose range it spans and whose
        // every point it matches or beats.
        assert!(bd("walloc linear family") < 0.0);
        assert!(bd("walloc linear family") < bd("walloc high") - 5.0);
        assert_eq!(rows.len(), 3);
    }

    #[test]
    fn a_family_takes_the_best_member_at_every_members_rate() {
        let curve = |codec: &str, points: &[(f64, f64)]| (codec.to_string(), points.to_vec());
        // Each member's middle point is beaten by the other's curve there.
        let ours = vec![
            curve("walloc low", &[(0.1, 26.0), (0.2, 28.0), (0.4, 32.0)]),
            curve("walloc high", &[(0.15, 27.5), (0.3, 30.0), (0.6, 34.5)]),
        ];
        let family = Family {
            name: "walloc linear family".into(),
            members: vec!["walloc low".into(), "walloc high".into()],
        };
        // At 0.2 "high" reaches 27.5 + 2.5·ln(4/3) / ln 2 = 28.5375, above
        // "low"'s 28; at 0.3 "low" reaches 28 + 4·ln 1.5 / ln 2 = 30.3399,
        // above "high"'s 30. Both points are replaced by the better
        // curve's quality at their rate, not dropped: dropping them would
        // leave 0.15 to 0.4 without a point.
        let (_, points) = &family_curves(&ours, &[family])[0];
        let expected = [
            (0.1, 26.0),
            (0.15, 27.5),
            (0.2, 28.5375),
            (0.3, 30.3399),
            (0.4, 32.0),
            (0.6, 34.5),
        ];
        assert_eq!(points.len(), expected.len(), "{points:?}");
        for (&(rate, quality), &(want_rate, want_quality)) in points.iter().zip(&expected) {
            assert_eq!(rate, want_rate);
            assert!(
                (quality - want_quality).abs() < 1e-4,
                "{rate}: {quality} against {want_quality}"
            );
        }
        // "high" reaches 30 + 4.5·ln(4/3) / ln 2 = 31.87 at 0.4, under "low"'s
        // 32; raised to 36 at 0.6 it reaches 30 + 6·ln(4/3) / ln 2 = 32.49
        // there, and the family takes that.
        let mut beaten = ours.clone();
        beaten[1].1[2] = (0.6, 36.0);
        let family = Family {
            name: "f".into(),
            members: vec!["walloc low".into(), "walloc high".into()],
        };
        let (_, points) = &family_curves(&beaten, &[family])[0];
        let at_04 = points.iter().find(|p| p.0 == 0.4).unwrap().1;
        assert!((at_04 - (30.0 + 6.0 * (4.0f64 / 3.0).ln() / 2f64.ln())).abs() < 1e-9);
        assert!((quality_at(&ours[0].1, 0.3).unwrap() - 30.3399).abs() < 1e-4);
        assert_eq!(quality_at(&ours[0].1, 0.2), Some(28.0));
        assert_eq!(quality_at(&ours[0].1, 0.05), None);
        assert_eq!(quality_at(&ours[0].1, 0.45), None);
    }

    #[test]
    fn csv_has_a_header_and_a_line_per_row() {
        let text = String::from_utf8(csv(&[row(0.5, 30.0, None, 1.0)]).unwrap()).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 2);
        assert!(lines[0].starts_with("file,codec,setting,bytes,rate,"));
        assert!(lines[1].starts_with("a.png,webp,q50,100,0.5,"));
    }
}
