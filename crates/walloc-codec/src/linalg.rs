//! A bounds-checked wrapper over `matrixmultiply`'s strided SGEMM, the
//! 1×1 projections of the encoder and decoder.

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
