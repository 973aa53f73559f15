//! SVG plots of a finished sweep (plotters): the objective against each
//! parameter, one panel per parameter, every configuration a point and the
//! best one marked. Text-valued parameters are drawn as categories.

use plotters::coord::ranged1d::{AsRangedCoord, ValueFormatter};
use plotters::prelude::*;

/// Why a plot could not be drawn.
#[derive(Debug, thiserror::Error)]
#[error("cannot draw the plot: {0}")]
pub struct PlotError(String);

/// The x axis of one panel: a value per configuration.
#[derive(Debug, Clone)]
pub struct Panel {
    /// The parameter's name.
    pub name: String,
    /// x per configuration (for categories: the category's index).
    pub xs: Vec<f64>,
    /// Category labels, when the parameter is not numeric.
    pub labels: Option<Vec<String>>,
}

const PANEL_W: u32 = 300;
const PANEL_H: u32 = 240;
const PER_ROW: usize = 3;

/// Draws `ys` (the objective, per configuration; None or NaN are left out)
/// against each panel's x. `best` is the configuration marked as best.
pub fn sweep_svg(
    objective: &str,
    panels: &[Panel],
    ys: &[Option<f64>],
    best: Option<usize>,
) -> Result<String, PlotError> {
    let finite: Vec<f64> = ys
        .iter()
        .flatten()
        .copied()
        .filter(|v| v.is_finite())
        .collect();
    if panels.is_empty() || finite.is_empty() {
        return Err(PlotError("no finite objective values to plot".into()));
    }
    let (ylo, yhi) = padded(&finite);
    let cols = panels.len().min(PER_ROW);
    let rows = panels.len().div_ceil(PER_ROW);
    let mut svg = String::new();
    {
        let root =
            SVGBackend::with_string(&mut svg, (PANEL_W * cols as u32, PANEL_H * rows as u32))
                .into_drawing_area();
        root.fill(&WHITE).map_err(|e| PlotError(e.to_string()))?;
        let areas = root.split_evenly((rows, cols));
        for (panel, area) in panels.iter().zip(areas.iter()) {
            let points: Vec<(f64, f64, bool)> = panel
                .xs
                .iter()
                .zip(ys)
                .enumerate()
                .filter_map(|(i, (&x, y))| {
                    y.filter(|v| v.is_finite()).map(|y| (x, y, Some(i) == best))
                })
                .collect();
            let xs: Vec<f64> = panel.xs.iter().copied().filter(|x| x.is_finite()).collect();
            let (xlo, xhi) = match &panel.labels {
                Some(l) => (-0.5, l.len() as f64 - 0.5),
                None => padded(&xs),
            };
            let log = panel.labels.is_none() && wants_log(&xs);
            let caption = format!("{objective} vs {}", panel.name);
            if log {
                let lo = xs.iter().copied().fold(f64::INFINITY, f64::min) / 1.5;
                let hi = xs.iter().copied().fold(0.0, f64::max) * 1.5;
                draw_panel(
                    area,
                    &caption,
                    (lo..hi).log_scale(),
                    ylo..yhi,
                    &points,
                    panel,
                )?;
            } else {
                draw_panel(area, &caption, xlo..xhi, ylo..yhi, &points, panel)?;
            }
        }
        root.present().map_err(|e| PlotError(e.to_string()))?;
    }
    Ok(svg)
}

fn draw_panel<X>(
    area: &DrawingArea<SVGBackend<'_>, plotters::coord::Shift>,
    caption: &str,
    x: X,
    y: std::ops::Range<f64>,
    points: &[(f64, f64, bool)],
    panel: &Panel,
) -> Result<(), PlotError>
where
    X: AsRangedCoord<Value = f64>,
    X::CoordDescType: ValueFormatter<f64>,
{
    let err = |e: &dyn std::fmt::Display| PlotError(e.to_string());
    let mut chart = ChartBuilder::on(area)
        .caption(caption, ("sans-serif", 14))
        .margin(8)
        .x_label_area_size(38)
        .y_label_area_size(48)
        .build_cartesian_2d(x, y)
        .map_err(|e| err(&e))?;
    let labels = panel.labels.clone();
    let format_x = move |v: &f64| match &labels {
        Some(l) => {
            let i = v.round();
            if (v - i).abs() < 1e-9 && i >= 0.0 {
                l.get(i as usize).cloned().unwrap_or_default()
            } else {
                String::new()
            }
        }
        None => format!("{v:.3}")
            .trim_end_matches('0')
            .trim_end_matches('.')
            .to_string(),
    };
    let mut mesh = chart.configure_mesh();
    mesh.x_desc(panel.name.as_str())
        .x_label_formatter(&format_x)
        .light_line_style(WHITE);
    if let Some(l) = &panel.labels {
        mesh.x_labels(l.len() * 2 + 1);
    } else {
        mesh.x_labels(5);
    }
    mesh.draw().map_err(|e| err(&e))?;
    chart
        .draw_series(
            points
                .iter()
                .filter(|p| !p.2)
                .map(|&(x, y, _)| Circle::new((x, y), 3, BLUE.mix(0.7).filled())),
        )
        .map_err(|e| err(&e))?;
    chart
        .draw_series(
            points
                .iter()
                .filter(|p| p.2)
                .map(|&(x, y, _)| Circle::new((x, y), 6, RED.filled())),
        )
        .map_err(|e| err(&e))?;
    Ok(())
}

/// The range of `v` with some room at both ends (never empty).
fn padded(v: &[f64]) -> (f64, f64) {
    let lo = v.iter().copied().fold(f64::INFINITY, f64::min);
    let hi = v.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    if !lo.is_finite() || !hi.is_finite() {
        return (0.0, 1.0);
    }
    let pad = if hi > lo {
        (hi - lo) * 0.08
    } else {
        lo.abs().max(1.0) * 0.1
    };
    (lo - pad, hi + pad)
}

/// Positive values spanning two decades or more read better on a log axis.
fn wants_log(xs: &[f64]) -> bool {
    let lo = xs.iter().copied().fold(f64::INFINITY, f64::min);
    let hi = xs.iter().copied().fold(0.0, f64::max);
    lo > 0.0 && hi / lo >= 100.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn draws_one_panel_per_parameter_and_marks_the_best() {
        let panels = vec![
            Panel {
                name: "lr".into(),
                xs: vec![0.001, 0.01, 0.1],
                labels: None,
            },
            Panel {
                name: "opt".into(),
                xs: vec![0.0, 1.0, 0.0],
                labels: Some(vec!["sgd".into(), "adam".into()]),
            },
        ];
        let svg = sweep_svg(
            "accuracy",
            &panels,
            &[Some(0.5), Some(f64::NAN), Some(0.9)],
            Some(2),
        )
        .expect("draws");
        assert!(svg.starts_with("<svg"));
        assert!(svg.contains("accuracy vs lr") && svg.contains("accuracy vs opt"));
        assert!(svg.contains("adam"));
        // 2 finite points per panel: one small, one large (best) circle each.
        assert_eq!(svg.matches("<circle").count(), 4);
    }

    #[test]
    fn nothing_to_plot_is_an_error() {
        let panels = vec![Panel {
            name: "x".into(),
            xs: vec![1.0],
            labels: None,
        }];
        assert!(sweep_svg("v", &panels, &[None], None).is_err());
        assert!(wants_log(&[0.001, 0.1]) && !wants_log(&[1.0, 5.0]) && !wants_log(&[0.0, 10.0]));
    }
}
