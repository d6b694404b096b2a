//! A bounds-checked wrapper over `matrixmultiply`'s strided SGEMM, the
//! 1×1 projections of the decoder and of fitting, and the encoder's own
//! projection kernel ([`project_planes`]).

use walloc_wavelet::simd::{multiply_add, with_fused_simd};

/// A strided matrix view: element `(i, j)` is `data[i * row + j * col]`.
#[derive(Clone, Copy)]
pub struct Strides {
    /// Step between rows.
    pub row: usize,
    /// Step between columns.
    pub col: usize,
}

fn fits(len: usize, rows: usize, cols: usize, s: Strides) -> bool {
    rows == 0 || cols == 0 || (rows - 1) * s.row + (cols - 1) * s.col < len
}

/// `c = a · b` with `a` m×k, `b` k×n, `c` m×n (overwritten).
///
/// # Panics
/// If a view reaches past its slice, or `c`'s view overlaps itself.
#[allow(clippy::too_many_arguments)]
pub fn matmul(
    m: usize,
    k: usize,
    n: usize,
    a: &[f32],
    sa: Strides,
    b: &[f32],
    sb: Strides,
    c: &mut [f32],
    sc: Strides,
) {
    assert!(fits(a.len(), m, k, sa) && fits(b.len(), k, n, sb) && fits(c.len(), m, n, sc));
    assert!(m <= 1 || n <= 1 || sc.row != sc.col, "output view overlaps itself");
    // SAFETY: the asserts above keep every accessed element inside its slice,
    // and `c` is borrowed mutably, so it aliases neither `a` nor `b`.
    unsafe {
        matrixmultiply::sgemm(
            m,
            k,
            n,
            1.0,
            a.as_ptr(),
            sa.row as isize,
            sa.col as isize,
            b.as_ptr(),
            sb.row as isize,
            sb.col as isize,
            0.0,
            c.as_mut_ptr(),
            sc.row as isize,
            sc.col as isize,
        );
    }
}

/// `gram += x · xᵀ` for `x` of `rows × cols` (row-major), in f64.
pub fn gram_accumulate(x: &[f64], rows: usize, cols: usize, gram: &mut [f64]) {
    cross_accumulate(x, x, rows, rows, cols, gram);
}

/// `out += a · bᵀ` for `a` of `m × cols` and `b` of `n × cols` (row-major), in f64.
pub fn cross_accumulate(a: &[f64], b: &[f64], m: usize, n: usize, cols: usize, out: &mut [f64]) {
    assert!(a.len() >= m * cols && b.len() >= n * cols && out.len() >= m * n);
    // SAFETY: the assert bounds every access; `out` is a distinct &mut borrow.
    unsafe {
        matrixmultiply::dgemm(
            m,
            cols,
            n,
            1.0,
            a.as_ptr(),
            cols as isize,
            1,
            b.as_ptr(),
            1,
            cols as isize,
            1.0,
            out.as_mut_ptr(),
            n as isize,
            1,
        );
    }
}

/// Positions of a [`project_planes`] tile: two AVX2 registers a latent.
const TILE: usize = 16;

/// Latents a [`project_planes`] tile accumulates at once: with [`TILE`]
/// positions, 12 of AVX2's 16 registers.
const GROUP: usize = 6;

/// `out[l·rows + r] = bias[l] + Σ_c weight[c·k + l] · planes[c][r]` for
/// the `k = bias.len()` latents `l` and the `rows` positions `r`: the
/// encoder's 1×1 projection of coefficient vectors stored as `d` planes
/// (the bands it reads), into `k` channel-major rows. Hand-written rather than
/// [`matmul`]: an SGEMM copies (packs) every coefficient before its
/// kernel reads it, which took as long as the arithmetic; this reads each
/// plane in place, [`TILE`] positions by [`GROUP`] latents held in
/// registers, with fused multiply-adds where the CPU has them.
///
/// # Panics
/// If `weight` (plane-major: plane `c`'s `k` weights together, so that a
/// group's are adjacent) is not `d × k` for the `d` planes, a plane holds fewer
/// than `rows` values, or `out` is not `k × rows`.
pub fn project_planes(weight: &[f32], bias: &[f32], planes: &[&[f32]], rows: usize, out: &mut [f32]) {
    let (k, d) = (bias.len(), planes.len());
    assert!(
        weight.len() == k * d && out.len() == k * rows,
        "a projection of {d} planes to {k} latents"
    );
    assert!(planes.iter().all(|p| p.len() >= rows), "planes of {rows} values");
    let projection = Projection {
        weight,
        bias,
        planes,
        rows,
    };
    with_fused_simd(
        #[inline(always)]
        |fused| match fused {
            true => projection.run::<true>(out),
            false => projection.run::<false>(out),
        },
    );
}

/// The operands of [`project_planes`].
struct Projection<'a> {
    weight: &'a [f32],
    bias: &'a [f32],
    planes: &'a [&'a [f32]],
    rows: usize,
}

impl Projection<'_> {
    /// The projection into `out`. `FUSED` only where [`with_fused_simd`]
    /// says so: its tiles then run AVX2 and FMA instructions.
    #[inline(always)]
    fn run<const FUSED: bool>(&self, out: &mut [f32]) {
        let (k, rows) = (self.bias.len(), self.rows);
        let full = rows - rows % TILE;
        for first in (0..full).step_by(TILE) {
            let mut latent = 0;
            while latent < k {
                let group = GROUP.min(k - latent);
                match group {
                    6 => self.tile::<FUSED, 6>(first, latent, out),
                    5 => self.tile::<FUSED, 5>(first, latent, out),
                    4 => self.tile::<FUSED, 4>(first, latent, out),
                    3 => self.tile::<FUSED, 3>(first, latent, out),
                    2 => self.tile::<FUSED, 2>(first, latent, out),
                    _ => self.tile::<FUSED, 1>(first, latent, out),
                }
                latent += group;
            }
        }
        for r in full..rows {
            for (l, &b) in self.bias.iter().enumerate() {
                let mut sum = 0.0;
                for (c, plane) in self.planes.iter().enumerate() {
                    sum = multiply_add::<FUSED>(self.weight[c * k + l], plane[r], sum);
                }
                out[l * rows + r] = sum + b;
            }
        }
    }

    /// Positions `first..first + TILE` of latents `latent..latent + G`.
    #[inline(always)]
    fn tile<const FUSED: bool, const G: usize>(&self, first: usize, latent: usize, out: &mut [f32]) {
        let k = self.bias.len();
        let mut sums = [[0.0f32; TILE]; G];
        #[cfg(target_arch = "x86_64")]
        if FUSED {
            // SAFETY: `FUSED` is true only where the CPU has AVX2 and FMA
            // (`with_fused_simd`), and `project_planes` checked that every
            // plane holds the tile and the weights hold the group.
            unsafe { fused_tile::<G>(self, first, latent, &mut sums) };
            return self.store(&sums, first, latent, out);
        }
        for (c, plane) in self.planes.iter().enumerate() {
            let x: &[f32; TILE] = plane[first..first + TILE].try_into().unwrap();
            let w: &[f32; G] = self.weight[c * k + latent..][..G].try_into().unwrap();
            for (sum, &w) in sums.iter_mut().zip(w) {
                for (s, &x) in sum.iter_mut().zip(x) {
                    *s = multiply_add::<FUSED>(w, x, *s);
                }
            }
        }
        self.store(&sums, first, latent, out);
    }

    /// Adds the biases to a tile's sums and stores them.
    #[inline(always)]
    fn store<const G: usize>(&self, sums: &[[f32; TILE]; G], first: usize, latent: usize, out: &mut [f32]) {
        for (g, sum) in sums.iter().enumerate() {
            let b = self.bias[latent + g];
            let row = &mut out[(latent + g) * self.rows + first..][..TILE];
            for (o, &s) in row.iter_mut().zip(sum) {
                *o = s + b;
            }
        }
    }
}

/// [`Projection::tile`]'s sums in AVX2 registers with fused multiply-adds:
/// written with intrinsics, where the compiler left the sums in memory and
/// multiplied one lane at a time.
///
/// # Safety
/// The CPU must have AVX2 and FMA; every plane must hold positions
/// `first..first + TILE` and the weights latents `latent..latent + G`.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn fused_tile<const G: usize>(p: &Projection, first: usize, latent: usize, sums: &mut [[f32; TILE]; G]) {
    use std::arch::x86_64::*;
    let k = p.bias.len();
    let mut low = [_mm256_setzero_ps(); G];
    let mut high = [_mm256_setzero_ps(); G];
    for (c, plane) in p.planes.iter().enumerate() {
        // SAFETY: in bounds, as the caller promises.
        let (x, w) = unsafe { (plane.as_ptr().add(first), p.weight.as_ptr().add(c * k + latent)) };
        let (x0, x1) = unsafe { (_mm256_loadu_ps(x), _mm256_loadu_ps(x.add(8))) };
        for g in 0..G {
            let wg = unsafe { _mm256_broadcast_ss(&*w.add(g)) };
            low[g] = _mm256_fmadd_ps(wg, x0, low[g]);
            high[g] = _mm256_fmadd_ps(wg, x1, high[g]);
        }
    }
    for g in 0..G {
        let (l, h) = sums[g].split_at_mut(TILE / 2);
        // SAFETY: each half holds 8 floats.
        unsafe {
            _mm256_storeu_ps(l.as_mut_ptr(), low[g]);
            _mm256_storeu_ps(h.as_mut_ptr(), high[g]);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The projection kernel gives SGEMM's values (to rounding: it sums in
    /// another order) for every group size, with positions past the last
    /// whole tile, planes apart by more than their length, and on both the
    /// fused and the unfused path.
    #[test]
    fn the_projection_kernel_is_the_matrix_product_plus_bias() {
        for (k, d, rows, stride) in [(12, 192, 1024, 1024), (3, 48, 37, 50), (7, 5, 16, 16), (48, 48, 15, 20)] {
            let value = |i: usize, m: usize| ((i * 7919 + m) % 211) as f32 / 105.0 - 1.0;
            let weight: Vec<f32> = (0..k * d).map(|i| value(i, 3)).collect();
            let bias: Vec<f32> = (0..k).map(|i| value(i, 5)).collect();
            let planes: Vec<f32> = (0..(d - 1) * stride + rows).map(|i| value(i, 1)).collect();
            let mut expected = vec![0.0f32; k * rows];
            let view = Strides { row: 1, col: stride };
            let weights = Strides { row: 1, col: d };
            matmul(
                rows,
                d,
                k,
                &planes,
                view,
                &weight,
                weights,
                &mut expected,
                Strides { row: 1, col: rows },
            );
            for (plane, b) in expected.chunks_exact_mut(rows).zip(&bias) {
                plane.iter_mut().for_each(|v| *v += b);
            }
            let mut got = vec![f32::NAN; k * rows];
            let views: Vec<&[f32]> = (0..d).map(|c| &planes[c * stride..c * stride + rows]).collect();
            let mut by_coefficient = vec![0.0f32; k * d];
            for l in 0..k {
                for c in 0..d {
                    by_coefficient[c * k + l] = weight[l * d + c];
                }
            }
            project_planes(&by_coefficient, &bias, &views, rows, &mut got);
            let projection = Projection {
                weight: &by_coefficient,
                bias: &bias,
                planes: &views,
                rows,
            };
            let mut unfused = vec![f32::NAN; k * rows];
            projection.run::<false>(&mut unfused);
            for (which, values) in [("kernel", &got), ("unfused", &unfused)] {
                for (i, (a, b)) in values.iter().zip(&expected).enumerate() {
                    assert!(
                        (a - b).abs() <= 1e-4 * (1.0 + b.abs()),
                        "{which} k {k} d {d} value {i}: {a} vs {b}"
                    );
                }
            }
        }
    }
}
