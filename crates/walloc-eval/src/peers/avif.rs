//! AVIF: encoded by rav1e through `ravif` (8-bit 4:4:4 YCbCr, BT.601 full
//! range, one thread), demuxed by `avif-parse` and decoded by rav1d (the
//! Rust port of dav1d, built without its assembly).
//!
//! rav1d offers only dav1d's C interface, so decoding goes through its
//! `extern "C"` functions; every unsafe call is commented with what it
//! relies on.

use std::ffi::c_int;
use std::ptr::NonNull;

use rav1d::include::dav1d::data::Dav1dData;
use rav1d::include::dav1d::dav1d::{Dav1dContext, Dav1dSettings};
use rav1d::include::dav1d::headers::{
    DAV1D_MC_BT470BG, DAV1D_MC_BT601, DAV1D_MC_BT709, DAV1D_MC_IDENTITY, DAV1D_PIXEL_LAYOUT_I400,
    DAV1D_PIXEL_LAYOUT_I444,
};
use rav1d::include::dav1d::picture::Dav1dPicture;
use rav1d::src::lib::{
    dav1d_close, dav1d_data_create, dav1d_data_unref, dav1d_default_settings, dav1d_get_picture, dav1d_open,
    dav1d_picture_unref, dav1d_send_data,
};
use walloc_codec::Image8;

use super::{rgb_pixels, with_channels, ImageCodec, PeerError};

/// rav1e's speed preset (0 slowest … 10 fastest); 6 is ravif's default.
const DEFAULT_SPEED: u8 = 6;

const QUALITIES: [f32; 10] = [10.0, 20.0, 30.0, 40.0, 50.0, 60.0, 70.0, 80.0, 90.0, 95.0];

/// dav1d's "try again" result: -EAGAIN.
const EAGAIN: c_int = -11;

/// AVIF through ravif (rav1e) and rav1d.
pub struct Avif {
    /// rav1e's speed preset.
    pub speed: u8,
}

impl Default for Avif {
    fn default() -> Self {
        Avif { speed: DEFAULT_SPEED }
    }
}

fn error(message: impl Into<String>) -> PeerError {
    PeerError::new("avif", message)
}

impl ImageCodec for Avif {
    fn name(&self) -> &'static str {
        "avif"
    }

    fn qualities(&self) -> &'static [f32] {
        &QUALITIES
    }

    fn encode(&self, image: &Image8, quality: f32) -> Result<Vec<u8>, PeerError> {
        let rgb = rgb_pixels(image);
        let pixels: Vec<ravif::RGB8> = rgb
            .chunks_exact(3)
            .map(|p| ravif::RGB8::new(p[0], p[1], p[2]))
            .collect();
        let encoded = ravif::Encoder::new()
            .with_quality(quality)
            .with_speed(self.speed)
            .with_bit_depth(ravif::BitDepth::Eight)
            .with_internal_color_model(ravif::ColorModel::YCbCr)
            .with_num_threads(Some(1))
            .encode_rgb(ravif::Img::new(&pixels, image.width as usize, image.height as usize))
            .map_err(|e| error(e.to_string()))?;
        Ok(encoded.avif_file)
    }

    fn decode(&self, bytes: &[u8], channels: u8) -> Result<Image8, PeerError> {
        let container = avif_parse::read_avif(&mut &bytes[..]).map_err(|e| error(format!("container: {e}")))?;
        if container.alpha_item.is_some() {
            return Err(error("unexpected alpha channel"));
        }
        let picture = Decoder::new()?.decode(&container.primary_item)?;
        let (width, height, rgb) = picture.to_rgb()?;
        with_channels("avif", width, height, rgb, channels)
    }
}

/// A dav1d decoding context, closed on drop.
struct Decoder(Option<Dav1dContext>);

impl Decoder {
    fn new() -> Result<Self, PeerError> {
        let mut settings = std::mem::MaybeUninit::<Dav1dSettings>::uninit();
        // SAFETY: `settings` is valid to write; dav1d_default_settings fills
        // every field.
        let mut settings = unsafe {
            dav1d_default_settings(NonNull::new_unchecked(settings.as_mut_ptr()));
            settings.assume_init()
        };
        settings.n_threads = 1;
        settings.max_frame_delay = 1;
        let mut context = None;
        // SAFETY: both pointers come from live locals.
        let result = unsafe { dav1d_open(Some(NonNull::from(&mut context)), Some(NonNull::from(&mut settings))) };
        if result.0 != 0 || context.is_none() {
            return Err(error(format!("rav1d could not start (error {})", result.0)));
        }
        Ok(Decoder(context))
    }

    /// Decodes the one frame of an AV1 still image.
    fn decode(&mut self, av1: &[u8]) -> Result<Picture, PeerError> {
        let mut data = Dav1dData::default();
        // SAFETY: `data` is a live local; the buffer dav1d_data_create
        // returns holds `av1.len()` bytes and is owned by `data`.
        unsafe {
            let buffer = dav1d_data_create(Some(NonNull::from(&mut data)), av1.len());
            if buffer.is_null() {
                return Err(error("rav1d could not allocate the input"));
            }
            std::ptr::copy_nonoverlapping(av1.as_ptr(), buffer, av1.len());
        }
        let mut picture = Picture(Dav1dPicture::default());
        let mut outcome = Err(error("the file holds no frame"));
        for _ in 0..64 {
            if data.sz > 0 {
                // SAFETY: the context is open and `data` is live.
                let sent = unsafe { dav1d_send_data(self.0, Some(NonNull::from(&mut data))) };
                if sent.0 != 0 && sent.0 != EAGAIN {
                    outcome = Err(error(format!("rav1d rejected the data (error {})", sent.0)));
                    break;
                }
            }
            // SAFETY: the context is open and `picture` is live.
            let got = unsafe { dav1d_get_picture(self.0, Some(NonNull::from(&mut picture.0))) };
            if got.0 == 0 {
                outcome = Ok(());
                break;
            }
            if got.0 != EAGAIN {
                outcome = Err(error(format!("rav1d could not decode (error {})", got.0)));
                break;
            }
            if data.sz == 0 {
                break;
            }
        }
        // SAFETY: `data` came from dav1d_data_create (unref of an emptied
        // buffer is a no-op).
        unsafe { dav1d_data_unref(Some(NonNull::from(&mut data))) };
        outcome.map(|()| picture)
    }
}

impl Drop for Decoder {
    fn drop(&mut self) {
        // SAFETY: the context came from dav1d_open and is closed only here.
        unsafe { dav1d_close(Some(NonNull::from(&mut self.0))) };
    }
}

/// A decoded picture, released on drop.
struct Picture(Dav1dPicture);

impl Drop for Picture {
    fn drop(&mut self) {
        // SAFETY: the picture is either default (a no-op) or came from
        // dav1d_get_picture and is released only here.
        unsafe { dav1d_picture_unref(Some(NonNull::from(&mut self.0))) };
    }
}

impl Picture {
    /// One plane's rows as a slice of `width` samples each.
    fn plane(&self, index: usize, width: usize, height: usize) -> Result<Vec<u8>, PeerError> {
        let base = self.0.data[index].ok_or_else(|| error("missing plane"))?;
        let stride = self.0.stride[index.min(1)];
        let stride = usize::try_from(stride).map_err(|_| error("negative stride"))?;
        let mut plane = Vec::with_capacity(width * height);
        for row in 0..height {
            // SAFETY: dav1d guarantees `height` rows of at least `width`
            // 8-bit samples, `stride` bytes apart, while the picture lives.
            let line = unsafe { std::slice::from_raw_parts(base.as_ptr().cast::<u8>().add(row * stride), width) };
            plane.extend_from_slice(line);
        }
        Ok(plane)
    }

    /// The picture as interleaved 8-bit RGB.
    fn to_rgb(&self) -> Result<(u32, u32, Vec<u8>), PeerError> {
        let p = &self.0.p;
        if p.bpc != 8 {
            return Err(error(format!("{}-bit AVIF is not supported (8-bit only)", p.bpc)));
        }
        let (width, height) = (p.w.max(0) as usize, p.h.max(0) as usize);
        // SAFETY: a decoded picture carries its sequence header while it lives.
        let sequence = unsafe { self.0.seq_hdr.ok_or_else(|| error("missing sequence header"))?.as_ref() };
        let luma = self.plane(0, width, height)?;
        if p.layout == DAV1D_PIXEL_LAYOUT_I400 {
            return Ok((
                width as u32,
                height as u32,
                luma.iter().flat_map(|&v| [v, v, v]).collect(),
            ));
        }
        if p.layout != DAV1D_PIXEL_LAYOUT_I444 {
            return Err(error("subsampled chroma is not supported (4:4:4 only)"));
        }
        let (cb, cr) = (self.plane(1, width, height)?, self.plane(2, width, height)?);
        let full_range = sequence.color_range != 0;
        let matrix = match sequence.mtrx {
            DAV1D_MC_IDENTITY => None,
            DAV1D_MC_BT709 => Some((0.2126, 0.0722)),
            DAV1D_MC_BT601 | DAV1D_MC_BT470BG => Some((0.299, 0.114)),
            other => return Err(error(format!("matrix coefficients {other} are not supported"))),
        };
        let rgb = (0..width * height)
            .flat_map(|i| to_rgb(luma[i], cb[i], cr[i], matrix, full_range))
            .collect();
        Ok((width as u32, height as u32, rgb))
    }
}

/// One YCbCr sample as RGB (`matrix`: the red and blue luma weights, or
/// `None` for identity, where the planes hold G, B, R).
fn to_rgb(y: u8, cb: u8, cr: u8, matrix: Option<(f32, f32)>, full_range: bool) -> [u8; 3] {
    let Some((kr, kb)) = matrix else {
        return [cr, y, cb];
    };
    let (y, cb, cr) = if full_range {
        (f32::from(y), f32::from(cb) - 128.0, f32::from(cr) - 128.0)
    } else {
        (
            (f32::from(y) - 16.0) * 255.0 / 219.0,
            (f32::from(cb) - 128.0) * 255.0 / 224.0,
            (f32::from(cr) - 128.0) * 255.0 / 224.0,
        )
    };
    let kg = 1.0 - kr - kb;
    let r = y + 2.0 * (1.0 - kr) * cr;
    let b = y + 2.0 * (1.0 - kb) * cb;
    let g = (y - kr * r - kb * b) / kg;
    [r, g, b].map(|v| v.round().clamp(0.0, 255.0) as u8)
}
