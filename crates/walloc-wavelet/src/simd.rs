//! Run-time choice of the widest instruction set a kernel may use.

/// Runs `kernel` compiled for AVX2 and FMA when the CPU has both (the same
/// code, eight lanes wide), else for the baseline target. The results are
/// the same either way: Rust never fuses a multiply and an add on its own,
/// so code that does not ask for a fused multiply-add (`mul_add`; see
/// [`with_fused_simd`]) gets the same roundings on every path.
#[inline(always)]
pub fn with_best_simd<R>(kernel: impl FnOnce() -> R) -> R {
    with_fused_simd(|_| kernel())
}

/// [`with_best_simd`] for a kernel that may fuse its multiply-adds: it is
/// told `true` where it runs with hardware fused multiply-adds (AVX2 and
/// FMA), where `f32::mul_add` is one instruction rather than a library
/// call. Such a kernel fuses where told `true` (each product added
/// unrounded: one instruction fewer and no less exact) and multiplies then
/// adds where told `false`; the two can differ in the last bit of a sum.
#[inline(always)]
pub fn with_fused_simd<R>(kernel: impl FnOnce(bool) -> R) -> R {
    #[cfg(target_arch = "x86_64")]
    {
        #[target_feature(enable = "avx2,fma")]
        fn avx2_fma<R>(kernel: impl FnOnce(bool) -> R) -> R {
            kernel(true)
        }
        if std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma") {
            // SAFETY: the CPU supports AVX2 and FMA, checked just above.
            return unsafe { avx2_fma(kernel) };
        }
    }
    kernel(false)
}

/// `a·b + c`, fused (one rounding) if `FUSED`: the multiply-add of a kernel
/// that [`with_fused_simd`] told whether it runs with hardware fused
/// multiply-adds.
#[inline(always)]
pub fn multiply_add<const FUSED: bool>(a: f32, b: f32, c: f32) -> f32 {
    if FUSED {
        a.mul_add(b, c)
    } else {
        a * b + c
    }
}
