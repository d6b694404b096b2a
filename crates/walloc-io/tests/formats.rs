//! Reading and writing files: images whole and by rows, audio block by
//! block, and the errors of files walloc does not read.

use std::io::Cursor;
use std::path::Path;

use walloc::audio::{AudioFormat, SampleFormat};
use walloc::Image8;
use walloc_io::audio::{from_wav_bytes, is_audio_path, is_wav, open};
use walloc_io::image::{decode_image, downscale, encode_image};
use walloc_io::png_rows;
use walloc_io::wav::WavSink;
use walloc_io::FormatError;

/// A gradient with an edge: every pixel differs from its neighbours.
fn card(width: u32, height: u32, channels: u8) -> Image8 {
    let pixels = (0..height)
        .flat_map(|y| {
            (0..width).flat_map(move |x| (0..channels).map(move |c| (x * 3 + y * 5 + u32::from(c) * 40) as u8))
        })
        .collect();
    Image8::new(width, height, channels, pixels).unwrap()
}

#[test]
fn images_round_trip_losslessly_through_png_whole_and_by_rows() {
    let dir = tempfile::tempdir().unwrap();
    for channels in [1, 3] {
        let image = card(37, 21, channels);
        let path = dir.path().join(format!("card{channels}.png"));
        let bytes = encode_image(&image, &path).unwrap();
        std::fs::write(&path, &bytes).unwrap();
        let decoded = decode_image(&bytes, "card").unwrap();
        assert_eq!(decoded.image, image);
        assert_eq!(decoded.note, None);

        let mut rows = png_rows::open(&path).unwrap().expect("an 8-bit PNG streams");
        assert_eq!((rows.width, rows.height, rows.channels), (37, 21, channels));
        let mut pixels = Vec::new();
        while let Some(row) = rows.next_row().unwrap() {
            pixels.extend(row);
        }
        assert_eq!(pixels, image.pixels);

        // Written by rows, read whole: the same pixels.
        let mut out = Vec::new();
        let mut chunks = image.pixels.chunks(37 * usize::from(channels) * 5).map(|c| c.to_vec());
        png_rows::write::<FormatError>(&mut out, 37, 21, channels, || Ok(chunks.next())).unwrap();
        assert_eq!(decode_image(&out, "rows").unwrap().image, image);
    }
    assert!(
        png_rows::open(Path::new("card.jpg")).unwrap().is_none(),
        "only PNGs stream"
    );
}

#[test]
fn transparency_is_refused_and_sixteen_bits_are_noted() {
    let rgba = image::RgbaImage::from_fn(8, 8, |x, _| image::Rgba([10, 20, 30, if x == 3 { 0 } else { 255 }]));
    let mut bytes = Vec::new();
    rgba.write_to(&mut Cursor::new(&mut bytes), image::ImageFormat::Png)
        .unwrap();
    let error = decode_image(&bytes, "ghost.png").unwrap_err();
    assert!(matches!(error, FormatError::Transparent { .. }), "{error}");

    let deep = image::ImageBuffer::<image::Luma<u16>, _>::from_fn(8, 8, |x, y| image::Luma([(x * 8000 + y) as u16]));
    let mut bytes = Vec::new();
    deep.write_to(&mut Cursor::new(&mut bytes), image::ImageFormat::Png)
        .unwrap();
    let decoded = decode_image(&bytes, "deep.png").unwrap();
    assert!(decoded.note.unwrap().contains("reduced to 8 bits"));
    assert!(
        decoded.image.pixels[1].abs_diff(31) <= 1,
        "8000 of 65535 is about 31 of 255"
    );

    let error = decode_image(b"not an image", "junk").unwrap_err();
    assert!(matches!(error, FormatError::Image { .. }), "{error}");
}

#[test]
fn downscaling_halves_each_side() {
    let small = downscale(card(40, 30, 3), 2).unwrap();
    assert_eq!((small.width, small.height, small.channels), (20, 15, 3));
    assert_eq!(downscale(card(40, 30, 1), 1).unwrap(), card(40, 30, 1));
}

#[test]
fn wav_written_block_by_block_reads_back_exactly() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("tone.wav");
    let format = AudioFormat {
        channels: 2,
        sample_rate: 8000,
        format: SampleFormat::Int(16),
    };
    // Two blocks of planar samples on the 16-bit grid.
    let block = |start: usize| -> Vec<f32> {
        (0..2)
            .flat_map(|c| (0..100).map(move |i| ((start + i) as f32 * 37.0 + c as f32 * 1000.0) % 20000.0 / 32768.0))
            .collect()
    };
    let mut sink = WavSink::new(std::fs::File::create(&path).unwrap(), format).unwrap();
    sink.write_planar(&block(0)).unwrap();
    sink.write_planar(&block(100)).unwrap();
    sink.finish().unwrap();

    assert!(is_audio_path(&path));
    let bytes = std::fs::read(&path).unwrap();
    assert!(is_wav(&bytes));
    for mut source in [open(&path).unwrap(), from_wav_bytes(bytes).unwrap()] {
        assert_eq!(
            (source.channels(), source.sample_rate(), source.format()),
            (2, 8000, SampleFormat::Int(16))
        );
        assert_eq!(source.read_planar(100).unwrap(), block(0));
        assert_eq!(
            source.read_planar(1000).unwrap(),
            block(100),
            "the rest, shorter than asked"
        );
        assert!(source.read_planar(10).unwrap().is_empty());
    }
}

#[test]
fn unreadable_audio_is_an_error_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let fake = dir.path().join("fake.flac");
    std::fs::write(&fake, b"fLaC but not really").unwrap();
    let error = open(&fake).err().expect("not FLAC");
    assert!(error.to_string().contains("fake.flac"), "{error}");
    let error = from_wav_bytes(b"RIFF\0\0\0\0WAVEjunk".to_vec()).err().expect("not WAV");
    assert!(matches!(error, FormatError::Audio { .. }), "{error}");
}
