//! Hostile files: hundreds of mutations of real encoded files, and forged
//! headers with valid checksums. Every one must give an error, never a
//! panic, never an image.

use walloc_codec::container::{self, HEADER_LEN};
use walloc_codec::{codec, CodecError, EncodeOptions, Image8, LatentCoder, Limits, Model};

const ROOT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../..");

fn model() -> Model {
    Model::from_bytes(std::fs::read(format!("{ROOT}/models/rgb-16x.safetensors")).unwrap()).unwrap()
}

/// A 96×80 photo-like test image (smooth gradients and texture).
fn image() -> Image8 {
    let (w, h) = (96u32, 80u32);
    let pixels = (0..w * h * 3)
        .map(|i| {
            let (x, y, c) = ((i / 3) % w, (i / 3) / w, i % 3);
            let v =
                128.0 + 60.0 * ((x as f32 * 0.11 + c as f32).sin() + (y as f32 * 0.07).cos()) + ((i * 31) % 17) as f32;
            v.clamp(0.0, 255.0) as u8
        })
        .collect();
    Image8::new(w, h, 3, pixels).unwrap()
}

/// xorshift: deterministic mutations without a dependency.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

fn files(model: &Model) -> Vec<Vec<u8>> {
    LatentCoder::ALL
        .into_iter()
        .map(|coder| {
            let options = EncodeOptions {
                coder,
                rows_per_chunk: 4,
                step: walloc_codec::Step::from_quality(60.0).unwrap(),
                ..EncodeOptions::default()
            };
            codec::encode(model, &image(), options).unwrap()
        })
        .collect()
}

#[test]
fn valid_files_decode() {
    let model = model();
    for file in files(&model) {
        let out = codec::decode::<u8>(&model, &file, &Limits::default()).unwrap();
        assert_eq!((out.width, out.height, out.channels), (96, 80, 3));
    }
}

#[test]
fn hundreds_of_mutations_are_all_rejected() {
    let model = model();
    let mut rng = Rng(0x9e3779b97f4a7c15);
    let mut tried = 0;
    for file in files(&model) {
        for round in 0..150 {
            let mut damaged = file.clone();
            match round % 5 {
                0 => {
                    let i = rng.below(damaged.len());
                    damaged[i] ^= 1 << rng.below(8);
                }
                1 => {
                    for _ in 0..1 + rng.below(8) {
                        let i = rng.below(damaged.len());
                        damaged[i] = rng.next() as u8;
                    }
                }
                2 => damaged.truncate(rng.below(file.len())),
                3 => {
                    let i = rng.below(damaged.len());
                    damaged.insert(i, rng.next() as u8);
                }
                _ => {
                    let i = rng.below(damaged.len());
                    damaged.remove(i);
                }
            }
            if damaged == file {
                continue;
            }
            tried += 1;
            let result = codec::decode::<u8>(&model, &damaged, &Limits::default());
            assert!(result.is_err(), "mutation {round} was accepted");
        }
    }
    assert!(tried >= 400, "only {tried} mutations tried");
}

fn set_crc(header: &mut [u8]) {
    let crc = crc32fast::hash(&header[..72]);
    header[72..76].copy_from_slice(&crc.to_le_bytes());
}

fn u32_le(v: u32) -> [u8; 4] {
    v.to_le_bytes()
}

#[test]
fn forged_headers_with_valid_crc_are_rejected() {
    let model = model();
    let file = files(&model).remove(0);
    let limits = Limits::default();
    let forge = |edit: &dyn Fn(&mut Vec<u8>)| {
        let mut f = file.clone();
        edit(&mut f);
        set_crc(&mut f[..HEADER_LEN]);
        codec::decode::<u8>(&model, &f, &limits).unwrap_err()
    };
    // Huge dimensions: refused by the limits before any allocation.
    let err = forge(&|f| {
        f[42..46].copy_from_slice(&u32_le(1 << 30));
        f[46..50].copy_from_slice(&u32_le(1 << 30));
    });
    assert!(matches!(err, CodecError::LimitExceeded { .. }), "{err}");
    // Plausible dimensions whose latent the file cannot hold.
    let err = forge(&|f| {
        f[42..46].copy_from_slice(&u32_le(8000));
        f[46..50].copy_from_slice(&u32_le(8000));
        f[54..58].copy_from_slice(&u32_le(1000));
        f[58..62].copy_from_slice(&u32_le(1000));
        f[68..72].copy_from_slice(&u32_le(250));
    });
    assert!(matches!(err, CodecError::Truncated(_)), "{err}");
    // Another model's id.
    let err = forge(&|f| f[8] ^= 0xff);
    assert!(matches!(err, CodecError::ModelMismatch { .. }), "{err}");
    assert!(err.to_string().contains("needs model"), "{err}");
    // Unknown coder, zero rows per chunk, wrong latent shape.
    assert!(matches!(forge(&|f| f[62] = 9), CodecError::InvalidField { .. }));
    assert!(matches!(
        forge(&|f| f[64..68].copy_from_slice(&u32_le(0))),
        CodecError::InvalidField { .. }
    ));
    assert!(matches!(forge(&|f| f[54] ^= 1), CodecError::InvalidField { .. }));
    // A future version is named as such.
    let mut future = file.clone();
    future[4] = walloc_codec::container::VERSION + 1;
    let err = codec::decode::<u8>(&model, &future, &limits).unwrap_err();
    assert!(
        matches!(err, CodecError::UnsupportedVersion { found, .. } if found == walloc_codec::container::VERSION + 1),
        "{err}"
    );
    // Bad magic, bad CRC.
    assert!(matches!(
        codec::decode::<u8>(&model, b"PNG\x89 not walloc", &limits),
        Err(CodecError::BadMagic)
    ));
    let mut bad_crc = file.clone();
    bad_crc[73] ^= 1;
    assert!(matches!(
        codec::decode::<u8>(&model, &bad_crc, &limits),
        Err(CodecError::BadChecksum(_))
    ));
}

#[test]
fn forged_payload_with_valid_crc_is_rejected() {
    let model = model();
    let file = files(&model).remove(0);
    let (header, chunks) = container::parse(&file, &Limits::default()).unwrap();
    let mut rng = Rng(42);
    let mut rejected = 0;
    for _ in 0..50 {
        let forged: Vec<Vec<u8>> = chunks
            .iter()
            .map(|c| {
                let mut c = c.to_vec();
                let i = rng.below(c.len());
                c[i] = c[i].wrapping_add(1 + rng.below(255) as u8);
                c
            })
            .collect();
        if codec::decode::<u8>(&model, &container::write(&header, &forged), &Limits::default()).is_err() {
            rejected += 1;
        }
    }
    // A forger who recomputes every CRC can craft a decodable stream; the
    // rANS end-of-stream check still catches nearly all damage.
    assert!(rejected >= 45, "only {rejected} of 50 forged payloads rejected");
}

#[test]
fn images_beyond_the_limits_are_refused_at_encode() {
    let model = model();
    let wide = Image8::new(70_000, 1, 3, vec![7; 70_000 * 3]).unwrap();
    let err = codec::encode(&model, &wide, EncodeOptions::default()).unwrap_err();
    assert!(matches!(err, CodecError::LimitExceeded { .. }), "{err}");
}
