//! The entropy bottleneck: Gaussian-CDF companding to a bounded range,
//! rounding to integers, and its inverse (the reference's `ToUniform`,
//! `Round` and `ToNormal`), at any quantizer step.

use crate::step::Step;

/// Companding parameters for `bits`-bit latents.
#[derive(Clone, Debug, PartialEq)]
pub struct Bottleneck {
    bits: u8,
    scale: f64,
    latent_max: f64,
    /// `ToNormal` of every symbol, indexed by `value + 2^(bits-1)`.
    dequantized: Vec<f32>,
}

/// Φ, the standard normal CDF.
fn normal_cdf(x: f64) -> f64 {
    0.5 * (1.0 + libm::erf(x / std::f64::consts::SQRT_2))
}

/// Φ⁻¹ on (0, 1): Acklam's rational approximation (relative error 1e-9)
/// refined by one Halley step on Φ, which brings it to f64 precision.
fn normal_icdf(p: f64) -> f64 {
    const A: [f64; 6] = [
        -3.969683028665376e1,
        2.209460984245205e2,
        -2.759285104469687e2,
        1.383_577_518_672_69e2,
        -3.066479806614716e1,
        2.506628277459239,
    ];
    const B: [f64; 5] = [
        -5.447609879822406e1,
        1.615858368580409e2,
        -1.556989798598866e2,
        6.680131188771972e1,
        -1.328068155288572e1,
    ];
    const C: [f64; 6] = [
        -7.784894002430293e-3,
        -3.223964580411365e-1,
        -2.400758277161838,
        -2.549732539343734,
        4.374664141464968,
        2.938163982698783,
    ];
    const D: [f64; 4] = [
        7.784695709041462e-3,
        3.224671290700398e-1,
        2.445134137142996,
        3.754408661907416,
    ];
    let tail = |q: f64| {
        (((((C[0] * q + C[1]) * q + C[2]) * q + C[3]) * q + C[4]) * q + C[5])
            / ((((D[0] * q + D[1]) * q + D[2]) * q + D[3]) * q + 1.0)
    };
    let x = if p < 0.02425 {
        tail((-2.0 * p.ln()).sqrt())
    } else if p > 1.0 - 0.02425 {
        -tail((-2.0 * (1.0 - p).ln()).sqrt())
    } else {
        let q = p - 0.5;
        let r = q * q;
        (((((A[0] * r + A[1]) * r + A[2]) * r + A[3]) * r + A[4]) * r + A[5]) * q
            / (((((B[0] * r + B[1]) * r + B[2]) * r + B[3]) * r + B[4]) * r + 1.0)
    };
    let e = normal_cdf(x) - p;
    let u = e * (2.0 * std::f64::consts::PI).sqrt() * (0.5 * x * x).exp();
    x - u / (1.0 + 0.5 * x * u)
}

impl Bottleneck {
    /// The reference's bottleneck for `bits` bits (1..=8): scale
    /// `(2^(b-1) - 1) / 1.85`, range `±(2^(b-1) - 0.501)`.
    pub fn new(bits: u8) -> Self {
        Self::at_step(bits, Step::NATIVE)
    }

    /// The bottleneck for `bits` bits at quantizer step `step`: the
    /// reference's, with its scale multiplied by `Δ`, so that `z` is
    /// coded as the reference codes `z / Δ` and decoded `Δ` times larger.
    pub fn at_step(bits: u8, step: Step) -> Self {
        assert!((2..=8).contains(&bits), "latent bits must be 2..=8");
        let half = f64::from(1u32 << (bits - 1));
        let scale = (half - 1.0) / 1.85 * step.factor();
        let latent_max = half - 1.0 + 0.5 - 1e-3;
        let dequantized = (0..2 * half as i32)
            .map(|symbol| {
                let value = f64::from(symbol) - half;
                let p = (value / (2.0 * latent_max) + 0.5).clamp(1e-4, 0.9999);
                (scale * normal_icdf(p)) as f32
            })
            .collect();
        Bottleneck {
            bits,
            scale,
            latent_max,
            dequantized,
        }
    }

    /// Latent bit depth.
    pub fn bits(&self) -> u8 {
        self.bits
    }

    /// Number of symbols, `2^bits`.
    pub fn symbols(&self) -> usize {
        1 << self.bits
    }

    /// Offset between a latent value and its stored symbol, `2^(bits-1)`.
    pub fn offset(&self) -> i32 {
        1 << (self.bits - 1)
    }

    /// The companding scale `s`.
    pub fn scale(&self) -> f64 {
        self.scale
    }

    /// The companding range `M`: latents lie in `(-M, M)` before rounding.
    pub fn latent_max(&self) -> f64 {
        self.latent_max
    }

    /// The slope of the companding at zero, in latent units per encoder
    /// unit: one quantization step near zero spans `1 / slope` encoder units.
    pub fn slope_at_zero(&self) -> f64 {
        2.0 * self.latent_max / (self.scale * (2.0 * std::f64::consts::PI).sqrt())
    }

    /// `ToUniform`: `2M (Φ(z/s) - 1/2)`, in `(-M, M)`.
    pub fn to_uniform(&self, z: f32) -> f64 {
        2.0 * self.latent_max * (normal_cdf(f64::from(z) / self.scale) - 0.5)
    }

    /// The inverse of `ToUniform` at any point `u` of `(-M, M)`: the
    /// latent value that companding maps to `u`.
    pub fn to_normal(&self, u: f64) -> f64 {
        self.scale * normal_icdf(u / (2.0 * self.latent_max) + 0.5)
    }

    /// `ToUniform` then rounding half to even (as `torch.round`), returned as
    /// the stored symbol `value + 2^(bits-1)`.
    pub fn quantize(&self, z: f32) -> u8 {
        let value = self.to_uniform(z).round_ties_even() as i32;
        (value + self.offset()) as u8
    }

    /// `ToNormal` of a stored symbol.
    pub fn dequantize(&self, symbol: u8) -> f32 {
        self.dequantized[usize::from(symbol)]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn constants_match_reference() {
        let b = Bottleneck::new(8);
        assert!((b.scale() - 68.648_648_648).abs() < 1e-6);
        assert!((b.latent_max - 127.499).abs() < 1e-12);
        assert_eq!(b.quantize(0.0), 128);
        // Saturates inside the 8-bit range.
        assert_eq!(b.quantize(1e6), 255);
        // -M rounds to -127: symbol 0 (-128) is never produced.
        assert_eq!(b.quantize(-1e6), 1);
    }

    #[test]
    fn values_from_torch() {
        // torch: ToUniform(68.6486, 127.499) then round, for z = 1, 10, -37.5, 150.
        let b = Bottleneck::new(8);
        let expect = [(1.0, 1), (10.0, 15), (-37.5, -53), (150.0, 124)];
        for (z, v) in expect {
            assert_eq!(i32::from(b.quantize(z)) - 128, v, "z = {z}");
        }
    }

    #[test]
    fn dequantize_inverts_quantize_near_zero() {
        let b = Bottleneck::new(8);
        for z in [-20.0f32, -3.3, 0.0, 0.7, 12.0] {
            let back = b.dequantize(b.quantize(z));
            assert!(
                (back - z).abs() <= 0.5 / b.slope_at_zero() as f32 + 0.05,
                "{z} -> {back}"
            );
        }
        assert!((normal_icdf(0.975) - 1.959_963_984_540_054).abs() < 1e-12);
    }

    #[test]
    fn to_normal_matches_torch() {
        // walloc.ToNormal on -128, -1, 0, 5, 127 (torch 2.15, float32).
        let b = Bottleneck::new(8);
        let expect = [
            (-128, -255.30774),
            (-1, -0.674_826_3),
            (0, 0.0),
            (5, 3.375_442),
            (127, 198.053_44),
        ];
        for (v, x) in expect {
            let got = b.dequantize((v + 128) as u8);
            assert!((got - x).abs() < 1e-3 * x.abs().max(1.0), "{v}: {got} vs {x}");
        }
    }
}

/// How the encoder's quantizer rounds a companded value `u` to an integer.
/// Either way the file is an ordinary file: decoders read the integers and
/// do not need to know how they were chosen.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Rounding {
    /// The reference's: the nearest integer, ties to even
    /// ([`Bottleneck::quantize`]). Gives the reference's latents exactly.
    Nearest,
    /// The nearest integer, except that `|u| <` [`DEAD_ZONE`] rounds to 0
    /// (nearest rounding's zero cell is `|u| < ½`; the quantizer's own
    /// thresholds), and then, in latents of more than one row, a ±1 whose
    /// four neighbours are 0 becomes 0, and so do both ±1s of an isolated
    /// pair ([`Rounding::finish`]). A zero is the cheapest symbol to code
    /// and a ±1 the dearest for its error, so this trades a little error
    /// for many bits at almost no cost in speed:
    /// the fast stand-in for rate–distortion-optimized quantization
    /// ([`crate::rdo`]). The encoder's default.
    #[default]
    DeadZone,
}

impl Rounding {
    /// Every rounding.
    pub const ALL: [Rounding; 2] = [Rounding::Nearest, Rounding::DeadZone];

    /// Whatever this rounding does after the quantizer, on a latent it made
    /// (value 0 at the symbol `zero`): the dead zone's isolated ±1s and
    /// pairs to 0 ([`crate::dead_zone::zero_isolated_ones`]); nothing for
    /// the nearest.
    pub fn finish(self, latent: &mut crate::codec::Latent, zero: u8) {
        if self == Rounding::DeadZone {
            crate::dead_zone::zero_isolated_ones(latent, zero);
        }
    }

    /// This rounding's name (`nearest`, `dead-zone`), as it parses.
    pub fn name(self) -> &'static str {
        match self {
            Rounding::Nearest => "nearest",
            Rounding::DeadZone => "dead-zone",
        }
    }
}

impl std::str::FromStr for Rounding {
    type Err = crate::error::CodecError;

    /// `nearest` or `dead-zone`, as [`Rounding::name`] spells them.
    fn from_str(name: &str) -> crate::error::Result<Self> {
        Self::ALL
            .into_iter()
            .find(|r| r.name() == name)
            .ok_or_else(|| crate::error::invalid("rounding", format!("{name:?} (nearest or dead-zone)")))
    }
}

/// Half the width of [`Rounding::DeadZone`]'s zero cell, in companded
/// units (nearest rounding's is ½). Tuned on ten training photos
/// (`data/train`, downscaled to 1024 pixels a side) with `rgb-16x`: BD-rate
/// in PSNR against WebP +4.95 % at ½, +2.68 % at 0.55, +1.58 % at 0.6,
/// +1.37 % at 0.65; 0.6 is kept, where the gain has levelled off, as the
/// smaller change to the reference's latents (docs/BENCHMARKS.md).
pub const DEAD_ZONE: f64 = 0.6;

/// The bottleneck's quantizer as a table of decision thresholds: the
/// smallest `f32` at which each symbol starts. With [`Rounding::Nearest`]
/// it equals [`Bottleneck::quantize`] for every `f32` (the map is
/// monotone), without an `erf`: a uniform grid over z, with cells a quarter
/// of the smallest gap between thresholds, gives the symbol at each cell's
/// start; two exact threshold comparisons then correct it (a cell, even
/// when float rounding picks its neighbour, is never more than one
/// threshold away). [`Rounding::DeadZone`] moves the two thresholds around
/// zero outwards and costs nothing more.
#[derive(Clone, Debug)]
pub struct Quantizer {
    /// `thresholds[j]` starts symbol `j`; `thresholds[0]` is `-inf`, and
    /// entries past the last symbol are `+inf`.
    thresholds: [f32; 257],
    /// Symbol at the start of each grid cell.
    grid: Vec<u8>,
    /// z at the start of cell 0.
    grid_start: f32,
    /// Cells per unit of z.
    grid_scale: f32,
}

impl Quantizer {
    /// The reference's quantizer ([`Rounding::Nearest`]).
    pub fn new(bottleneck: &Bottleneck) -> Self {
        Self::with_rounding(bottleneck, Rounding::Nearest)
    }

    /// The quantizer of `bottleneck` that rounds as `rounding` says. Finds
    /// each threshold from the analytic decision boundary, then moves it
    /// over adjacent `f32` values until it is exact.
    pub fn with_rounding(bottleneck: &Bottleneck, rounding: Rounding) -> Self {
        let offset = f64::from(bottleneck.offset());
        let mut thresholds = [f32::INFINITY; 257];
        thresholds[0] = f32::NEG_INFINITY;
        for (symbol, threshold) in thresholds.iter_mut().enumerate().take(bottleneck.symbols()).skip(1) {
            *threshold = {
                let starts = |z: f32| usize::from(bottleneck.quantize(z)) >= symbol;
                // u = v - 1/2 with v = symbol - offset, solved for z.
                let p = (symbol as f64 - offset - 0.5) / (2.0 * bottleneck.latent_max) + 0.5;
                if p <= 0.0 || starts(f32::MIN) {
                    *threshold = f32::NEG_INFINITY;
                    continue;
                }
                let mut t = (bottleneck.scale * normal_icdf(p)) as f32;
                while !starts(t) {
                    t = t.next_up();
                }
                while starts(t.next_down()) {
                    t = t.next_down();
                }
                t
            };
        }
        if rounding == Rounding::DeadZone {
            // The zero symbol starts after −DEAD_ZONE, +1 at +DEAD_ZONE.
            let zero = bottleneck.offset() as usize;
            let (negative, positive) = dead_zone_bounds(bottleneck);
            thresholds[zero] = thresholds[zero].min(negative);
            thresholds[zero + 1] = thresholds[zero + 1].max(positive);
        }
        let finite: Vec<f32> = thresholds.iter().copied().filter(|t| t.is_finite()).collect();
        let (first, last) = (finite[0], finite[finite.len() - 1]);
        let min_gap = finite.windows(2).map(|w| w[1] - w[0]).fold(f32::INFINITY, f32::min);
        let cell = if min_gap.is_finite() { min_gap / 4.0 } else { 1.0 };
        let grid_start = first - 2.0 * cell;
        let cells = ((last - first) / cell) as usize + 5;
        // The symbol at each cell's start: the last threshold at or below it.
        let grid = (0..cells)
            .map(|i| {
                let z = grid_start + i as f32 * cell;
                (thresholds.partition_point(|&t| t <= z).max(1) - 1) as u8
            })
            .collect();
        Quantizer {
            thresholds,
            grid,
            grid_start,
            grid_scale: 1.0 / cell,
        }
    }

    /// The stored symbol of `z`.
    #[inline]
    pub fn quantize(&self, z: f32) -> u8 {
        // `as usize` saturates: below the grid (and NaN) is cell 0.
        let cell = (((z - self.grid_start) * self.grid_scale) as usize).min(self.grid.len() - 1);
        let mut q = usize::from(self.grid[cell]);
        q -= usize::from(z < self.thresholds[q]);
        q += usize::from(z >= self.thresholds[q + 1]);
        q as u8
    }
}

/// The smallest `f32`s whose companded value is above `−DEAD_ZONE` and at
/// least `DEAD_ZONE`: where [`Rounding::DeadZone`]'s zero cell starts and
/// its +1 cell starts (exact, by `f32` steps from the analytic inverse).
fn dead_zone_bounds(bottleneck: &Bottleneck) -> (f32, f32) {
    let exact = |target: f64, starts: &dyn Fn(f32) -> bool| {
        let mut t = bottleneck.to_normal(target) as f32;
        while !starts(t) {
            t = t.next_up();
        }
        while starts(t.next_down()) {
            t = t.next_down();
        }
        t
    };
    (
        exact(-DEAD_ZONE, &|z| bottleneck.to_uniform(z) > -DEAD_ZONE),
        exact(DEAD_ZONE, &|z| bottleneck.to_uniform(z) >= DEAD_ZONE),
    )
}

#[cfg(test)]
mod quantizer_tests {
    use super::*;

    #[test]
    fn table_equals_direct_formula() {
        let b = Bottleneck::new(8);
        let q = Quantizer::new(&b);
        let mut z = -400.0f32;
        while z < 400.0 {
            assert_eq!(q.quantize(z), b.quantize(z), "z = {z}");
            z += 0.013;
        }
        for z in [1e30f32, -1e30, f32::MAX, f32::MIN, 1e-30, -1e-30, 0.0] {
            assert_eq!(q.quantize(z), b.quantize(z), "z = {z}");
        }
        let _ = q.quantize(f32::NAN); // no panic
        for bits in 2..8 {
            let (b, mut z) = (Bottleneck::new(bits), -300.0f32);
            let q = Quantizer::new(&b);
            while z < 300.0 {
                assert_eq!(q.quantize(z), b.quantize(z), "{bits} bits, z = {z}");
                z += 0.031;
            }
        }
        for &t in q.thresholds.iter().filter(|t| t.is_finite()) {
            for v in [t.next_down(), t, t.next_up()] {
                assert_eq!(q.quantize(v), b.quantize(v), "threshold {t}");
            }
        }
    }

    /// The dead zone rounds `|u| < DEAD_ZONE` to zero and every other value
    /// as the nearest rounding does, at every step.
    #[test]
    fn dead_zone_widens_only_the_zero_cell() {
        for step in [
            Step::NATIVE,
            Step::from_code(-20).unwrap(),
            Step::from_code(40).unwrap(),
        ] {
            for bits in [4u8, 8] {
                let b = Bottleneck::at_step(bits, step);
                let (nearest, dead) = (Quantizer::new(&b), Quantizer::with_rounding(&b, Rounding::DeadZone));
                let zero = b.offset() as u8;
                let (mut z, mut zeroed) = (-300.0f32, 0);
                while z < 300.0 {
                    let u = b.to_uniform(z);
                    let expected = if u.abs() < DEAD_ZONE { zero } else { nearest.quantize(z) };
                    assert_eq!(dead.quantize(z), expected, "{bits} bits, step {step:?}, z = {z}");
                    zeroed += usize::from(expected == zero && nearest.quantize(z) != zero);
                    z += 0.007;
                }
                assert!(zeroed > 0, "the dead zone zeroes values nearest rounding keeps");
                let (negative, positive) = dead_zone_bounds(&b);
                assert_eq!(
                    [negative.next_down(), negative, positive.next_down(), positive].map(|z| dead.quantize(z)),
                    [zero - 1, zero, zero, zero + 1]
                );
            }
        }
    }
}
