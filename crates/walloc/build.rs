//! Embeds every `models/*.safetensors` of the workspace into the binary.

use std::fmt::Write;
use std::path::PathBuf;

fn main() {
    let dir = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").unwrap()).join("../../models");
    println!("cargo:rerun-if-changed={}", dir.display());
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .map(|rd| rd.filter_map(|e| e.ok().map(|e| e.path())).collect())
        .unwrap_or_default();
    files.retain(|p| p.extension().is_some_and(|e| e == "safetensors"));
    files.sort();
    let mut code = String::from(
        "/// Models built into the binary: (name, file bytes).\npub static EMBEDDED: &[(&str, &[u8])] = &[\n",
    );
    for path in files {
        println!("cargo:rerun-if-changed={}", path.display());
        let name = path.file_stem().unwrap().to_string_lossy();
        let path = path.canonicalize().unwrap();
        writeln!(
            code,
            "    ({name:?}, include_bytes!({:?})),",
            path.display().to_string()
        )
        .unwrap();
    }
    code.push_str("];\n");
    // Rate–distortion curves of the models (scripts/benchmarks.sh writes
    // them from `walloc eval`), outside the model files so that measuring
    // again never changes a model's id.
    let curves = dir.join("curves.csv");
    println!("cargo:rerun-if-changed={}", curves.display());
    let text = std::fs::read_to_string(&curves).unwrap_or_default();
    writeln!(
        code,
        "/// The models' curves (CSV: model, quality, bpp, PSNR, SSIM, MS-SSIM).\npub static CURVES: &str = {text:?};"
    )
    .unwrap();
    let out = PathBuf::from(std::env::var("OUT_DIR").unwrap()).join("embedded.rs");
    std::fs::write(out, code).unwrap();
}
