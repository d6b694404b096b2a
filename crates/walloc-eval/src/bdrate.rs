//! Bjøntegaard delta rate with piecewise cubic Hermite (PCHIP)
//! interpolation, as the codec literature computes it (the `bjontegaard`
//! package's `bd_rate(..., method="pchip")`): log10 of the rate as a
//! function of quality is interpolated with SciPy's `PchipInterpolator`
//! slopes, integrated exactly over the quality range both curves cover, and
//! the mean difference is turned into a percentage of rate.

use thiserror::Error;

/// Why a BD-rate cannot be computed.
#[derive(Debug, Error, PartialEq)]
pub enum BdRateError {
    /// A curve has fewer than two distinct points.
    #[error("a curve needs at least two points of distinct quality, it has {0}")]
    TooFewPoints(usize),
    /// A rate is not positive or a value is not finite.
    #[error("rates must be positive and qualities finite")]
    InvalidPoint,
    /// The quality ranges of the two curves do not overlap.
    #[error("the curves do not overlap in quality")]
    NoOverlap,
}

/// A rate–quality point: bits per pixel (or per second) and PSNR (or
/// another quality in which higher is better).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct RdPoint {
    /// Rate (positive).
    pub rate: f64,
    /// Quality.
    pub quality: f64,
}

/// The BD-rate of `test` against `anchor` in percent: how much more rate
/// (negative: less) `test` needs for the same quality, on average over the
/// quality range both cover.
///
/// Points are sorted by quality; of points with equal quality the lowest
/// rate is kept.
pub fn bd_rate(anchor: &[RdPoint], test: &[RdPoint]) -> Result<f64, BdRateError> {
    let anchor = Curve::new(anchor)?;
    let test = Curve::new(test)?;
    let low = anchor.x[0].max(test.x[0]);
    let high = anchor.x[anchor.x.len() - 1].min(test.x[test.x.len() - 1]);
    if high <= low {
        return Err(BdRateError::NoOverlap);
    }
    let mean_log_difference = (test.integrate(low, high) - anchor.integrate(low, high)) / (high - low);
    Ok((10f64.powf(mean_log_difference) - 1.0) * 100.0)
}

/// log10(rate) as a PCHIP function of quality.
struct Curve {
    x: Vec<f64>,
    y: Vec<f64>,
    slopes: Vec<f64>,
}

impl Curve {
    fn new(points: &[RdPoint]) -> Result<Self, BdRateError> {
        if points
            .iter()
            .any(|p| p.rate.is_nan() || p.rate <= 0.0 || !p.rate.is_finite() || !p.quality.is_finite())
        {
            return Err(BdRateError::InvalidPoint);
        }
        let mut sorted = points.to_vec();
        sorted.sort_by(|a, b| a.quality.total_cmp(&b.quality).then(a.rate.total_cmp(&b.rate)));
        sorted.dedup_by(|later, earlier| later.quality == earlier.quality);
        if sorted.len() < 2 {
            return Err(BdRateError::TooFewPoints(sorted.len()));
        }
        let x: Vec<f64> = sorted.iter().map(|p| p.quality).collect();
        let y: Vec<f64> = sorted.iter().map(|p| p.rate.log10()).collect();
        let slopes = pchip_slopes(&x, &y);
        Ok(Curve { x, y, slopes })
    }

    /// ∫ f over [low, high], both inside the curve's range.
    fn integrate(&self, low: f64, high: f64) -> f64 {
        self.antiderivative(high) - self.antiderivative(low)
    }

    /// ∫ f from the first point to `t`.
    fn antiderivative(&self, t: f64) -> f64 {
        let mut total = 0.0;
        for k in 0..self.x.len() - 1 {
            let (start, end) = (self.x[k], self.x[k + 1]);
            if t <= start {
                break;
            }
            total += self.piece_integral(k, t.min(end) - start);
        }
        total
    }

    /// ∫ of piece `k` from its start over a length `s`.
    fn piece_integral(&self, k: usize, s: f64) -> f64 {
        let h = self.x[k + 1] - self.x[k];
        let secant = (self.y[k + 1] - self.y[k]) / h;
        let (d0, d1) = (self.slopes[k], self.slopes[k + 1]);
        let c2 = (3.0 * secant - 2.0 * d0 - d1) / h;
        let c3 = (d0 + d1 - 2.0 * secant) / (h * h);
        self.y[k] * s + d0 * s * s / 2.0 + c2 * s.powi(3) / 3.0 + c3 * s.powi(4) / 4.0
    }
}

/// SciPy's PCHIP slopes: weighted harmonic means of the neighbouring
/// secants inside (zero where they change sign), a shape-preserving
/// three-point formula at the ends; two points give the straight line.
fn pchip_slopes(x: &[f64], y: &[f64]) -> Vec<f64> {
    let n = x.len();
    let h: Vec<f64> = x.windows(2).map(|w| w[1] - w[0]).collect();
    let m: Vec<f64> = (0..n - 1).map(|k| (y[k + 1] - y[k]) / h[k]).collect();
    if n == 2 {
        return vec![m[0], m[0]];
    }
    let mut d = vec![0.0; n];
    for k in 1..n - 1 {
        if m[k - 1] * m[k] > 0.0 {
            let w1 = 2.0 * h[k] + h[k - 1];
            let w2 = h[k] + 2.0 * h[k - 1];
            d[k] = (w1 + w2) / (w1 / m[k - 1] + w2 / m[k]);
        }
    }
    d[0] = edge_slope(h[0], h[1], m[0], m[1]);
    d[n - 1] = edge_slope(h[n - 2], h[n - 3], m[n - 2], m[n - 3]);
    d
}

/// The end slope from the two nearest secants (SciPy's `_edge_case`).
fn edge_slope(h0: f64, h1: f64, m0: f64, m1: f64) -> f64 {
    let d = ((2.0 * h0 + h1) * m0 - h0 * m1) / (h0 + h1);
    if d.signum() != m0.signum() || m0 == 0.0 {
        0.0
    } else if m0.signum() != m1.signum() && d.abs() > 3.0 * m0.abs() {
        3.0 * m0
    } else {
        d
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn curve(points: &[(f64, f64)]) -> Vec<RdPoint> {
        points
            .iter()
            .map(|&(rate, quality)| RdPoint { rate, quality })
            .collect()
    }

    #[test]
    fn half_the_rate_everywhere_is_minus_fifty_percent() {
        let anchor = curve(&[(0.2, 28.0), (0.5, 31.0), (1.0, 34.0), (2.0, 37.0)]);
        let test: Vec<RdPoint> = anchor
            .iter()
            .map(|p| RdPoint {
                rate: p.rate / 2.0,
                quality: p.quality,
            })
            .collect();
        assert!((bd_rate(&anchor, &test).unwrap() + 50.0).abs() < 1e-9);
        assert!((bd_rate(&test, &anchor).unwrap() - 100.0).abs() < 1e-9);
    }

    #[test]
    fn integral_of_a_line_is_exact() {
        // log10(rate) = quality / 10: a line, integrated over [1, 3] = 0.4.
        let points = curve(&[(10f64.powf(0.0), 0.0), (10f64.powf(0.2), 2.0), (10f64.powf(0.4), 4.0)]);
        let c = Curve::new(&points).unwrap();
        assert!((c.integrate(1.0, 3.0) - 0.4).abs() < 1e-12);
    }

    #[test]
    fn rejects_curves_it_cannot_use() {
        let one = curve(&[(0.5, 30.0), (0.6, 30.0)]);
        let good = curve(&[(0.5, 30.0), (1.0, 33.0)]);
        assert_eq!(bd_rate(&one, &good), Err(BdRateError::TooFewPoints(1)));
        let apart = curve(&[(0.5, 40.0), (1.0, 43.0)]);
        assert_eq!(bd_rate(&good, &apart), Err(BdRateError::NoOverlap));
        let negative = curve(&[(-0.5, 30.0), (1.0, 33.0)]);
        assert_eq!(bd_rate(&negative, &good), Err(BdRateError::InvalidPoint));
    }
}
