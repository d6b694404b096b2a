//! Rate–distortion plots with plotters, as SVG text and PNG bytes. Text is
//! drawn with DejaVu Sans compiled into the binary, so no system font is
//! needed.

use std::sync::Once;

use image::ImageEncoder;
use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::{register_font, FontStyle};
use thiserror::Error;

/// Pixels of a plot.
const SIZE: (u32, u32) = (960, 640);

/// Drawing a plot failed.
#[derive(Debug, Error)]
#[error("plot: {0}")]
pub struct PlotError(String);

/// One curve: a label and its (rate, quality) points in rate order.
#[derive(Clone, Debug)]
pub struct Series {
    /// Legend text.
    pub label: String,
    /// (x, y) points.
    pub points: Vec<(f64, f64)>,
}

/// Axis titles and the plot's title.
pub struct Labels<'a> {
    /// Title above the plot.
    pub title: &'a str,
    /// Horizontal axis.
    pub x: &'a str,
    /// Vertical axis.
    pub y: &'a str,
}

/// The plot as an SVG document.
pub fn svg(series: &[Series], labels: &Labels) -> Result<String, PlotError> {
    let mut text = String::new();
    {
        let root = SVGBackend::with_string(&mut text, SIZE).into_drawing_area();
        draw(root, series, labels)?;
    }
    Ok(text)
}

/// The plot as PNG bytes.
pub fn png(series: &[Series], labels: &Labels) -> Result<Vec<u8>, PlotError> {
    let mut rgb = vec![0u8; (SIZE.0 * SIZE.1 * 3) as usize];
    {
        let root = BitMapBackend::with_buffer(&mut rgb, SIZE).into_drawing_area();
        draw(root, series, labels)?;
    }
    let mut file = Vec::new();
    image::codecs::png::PngEncoder::new(&mut file)
        .write_image(&rgb, SIZE.0, SIZE.1, image::ExtendedColorType::Rgb8)
        .map_err(|e| PlotError(e.to_string()))?;
    Ok(file)
}

/// Registers the embedded font once per process.
fn register_embedded_font() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        // The bytes are a valid TrueType font shipped by the `dejavu` crate.
        let _ = register_font("sans-serif", FontStyle::Normal, dejavu::sans::regular());
    });
}

fn draw<DB: DrawingBackend>(root: DrawingArea<DB, Shift>, series: &[Series], labels: &Labels) -> Result<(), PlotError>
where
    DB::ErrorType: 'static,
{
    register_embedded_font();
    let fail = |e: DrawingAreaErrorKind<DB::ErrorType>| PlotError(e.to_string());
    root.fill(&WHITE).map_err(fail)?;
    let points = series
        .iter()
        .flat_map(|s| s.points.iter())
        .filter(|(x, y)| x.is_finite() && y.is_finite());
    let (mut x_max, mut y_min, mut y_max) = (0.0f64, f64::INFINITY, f64::NEG_INFINITY);
    for &(x, y) in points {
        x_max = x_max.max(x);
        y_min = y_min.min(y);
        y_max = y_max.max(y);
    }
    if !y_min.is_finite() {
        (x_max, y_min, y_max) = (1.0, 0.0, 1.0);
    }
    let margin = ((y_max - y_min) * 0.05).max(1e-3);
    let mut chart = ChartBuilder::on(&root)
        .caption(labels.title, ("sans-serif", 26))
        .margin(20)
        .x_label_area_size(50)
        .y_label_area_size(70)
        .build_cartesian_2d(0.0..x_max * 1.05, (y_min - margin)..(y_max + margin))
        .map_err(fail)?;
    chart
        .configure_mesh()
        .x_desc(labels.x)
        .y_desc(labels.y)
        .label_style(("sans-serif", 16))
        .axis_desc_style(("sans-serif", 18))
        .draw()
        .map_err(fail)?;
    for (index, curve) in series.iter().enumerate() {
        let color = Palette99::pick(index).to_rgba();
        let style = ShapeStyle::from(color).stroke_width(2);
        chart
            .draw_series(LineSeries::new(curve.points.iter().copied(), style))
            .map_err(fail)?
            .label(curve.label.as_str())
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], style));
        chart
            .draw_series(curve.points.iter().map(|&p| Circle::new(p, 4, color.filled())))
            .map_err(fail)?;
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::LowerRight)
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK)
        .label_font(("sans-serif", 16))
        .draw()
        .map_err(fail)?;
    root.present().map_err(fail)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn example() -> Vec<Series> {
        vec![
            Series {
                label: "webp".into(),
                points: vec![(0.2, 27.0), (0.5, 30.0), (1.0, 33.0)],
            },
            Series {
                label: "walloc linear".into(),
                points: vec![(0.25, 26.5), (0.77, 31.7)],
            },
        ]
    }

    const LABELS: Labels = Labels {
        title: "test",
        x: "bits per pixel",
        y: "PSNR (dB)",
    };

    #[test]
    fn svg_names_every_curve() {
        let text = svg(&example(), &LABELS).unwrap();
        assert!(text.starts_with("<svg"));
        assert!(text.contains("walloc linear") && text.contains("webp") && text.contains("bits per pixel"));
    }

    #[test]
    fn png_is_a_picture_with_ink() {
        let bytes = png(&example(), &LABELS).unwrap();
        let picture = image::load_from_memory_with_format(&bytes, image::ImageFormat::Png)
            .unwrap()
            .into_rgb8();
        assert_eq!(picture.dimensions(), SIZE);
        let dark = picture.pixels().filter(|p| p.0.iter().all(|&v| v < 64)).count();
        // Axes, ticks and text: far more than nothing, far less than all.
        assert!(
            dark > 2000 && dark < (SIZE.0 * SIZE.1 / 4) as usize,
            "{dark} dark pixels"
        );
    }
}
