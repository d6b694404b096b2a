//! Run-time choice of the widest instruction set a kernel may use.

/// Runs `kernel` compiled for AVX2 and FMA when the CPU has both (the same
/// code, eight lanes wide), else for the baseline target. The results are
/// the same either way: Rust never fuses a multiply and an add on its own,
/// so code that wants a fused multiply-add asks for it (`mul_add`), and
/// code that does not gets the same roundings on every path.
#[inline(always)]
pub fn with_best_simd<R>(kernel: impl FnOnce() -> R) -> R {
    #[cfg(target_arch = "x86_64")]
    {
        #[target_feature(enable = "avx2,fma")]
        fn avx2_fma<R>(kernel: impl FnOnce() -> R) -> R {
            kernel()
        }
        if has_fma() {
            // SAFETY: the CPU supports AVX2 and FMA, checked just above.
            return unsafe { avx2_fma(kernel) };
        }
    }
    kernel()
}

/// Whether [`with_best_simd`] runs its kernel with hardware fused
/// multiply-adds, where `f32::mul_add` is one instruction rather than a
/// library call. Kernels fuse their multiply-adds where it is true (each
/// product added unrounded: one instruction fewer and no less exact) and
/// multiply then add where it is false; the two can differ in the last bit
/// of a sum.
#[inline]
pub fn has_fma() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma")
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        false
    }
}
