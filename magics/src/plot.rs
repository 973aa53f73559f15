//! SVG plots of a finished sweep (plotters): the objective against each
//! parameter, one panel per parameter, every configuration a point and the
//! best one marked. Text-valued parameters are drawn as categories.

use std::ops::Range;

use plotters::coord::ranged1d::{DefaultFormatting, KeyPointHint, Ranged};
use plotters::coord::types::RangedCoordf64;
use plotters::prelude::*;

use crate::axis_ticks::{compact, integer_ticks, log_ticks, nice_ticks, wants_log, wants_log_y};

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
    /// Whether the values are integers (ticks only at whole numbers).
    pub integer: bool,
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
    let y = YAxis::of(&finite);
    let cols = panels.len().min(PER_ROW);
    let rows = panels.len().div_ceil(PER_ROW);
    let mut svg = String::new();
    {
        let root =
            SVGBackend::with_string(&mut svg, (PANEL_W * cols as u32, PANEL_H * rows as u32))
                .into_drawing_area();
        root.fill(&paper()).map_err(|e| PlotError(e.to_string()))?;
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
            if xs.is_empty() {
                continue;
            }
            let spread = match &panel.labels {
                Some(_) => 1.0,
                None if panel.integer => step_of(&distinct(&xs)),
                None => 0.0,
            };
            let points = jitter(points, spread);
            let distinct = distinct(&xs);
            let (xlo, xhi) = match &panel.labels {
                Some(l) => (-0.5, l.len() as f64 - 0.5),
                // Whole numbers: room for the spread points at both ends.
                None if panel.integer => {
                    let (lo, hi) = padded(&xs);
                    let half = 0.5 * step_of(&distinct);
                    (
                        lo.min(distinct[0] - half),
                        hi.max(distinct[distinct.len() - 1] + half),
                    )
                }
                None => padded(&xs),
            };
            let log = panel.labels.is_none() && wants_log(&xs);
            let caption = format!("{objective} vs {}", panel.name);
            let axes = Axes {
                objective,
                panel,
                y: &y,
            };
            if log {
                let lo = xs.iter().copied().fold(f64::INFINITY, f64::min) / 1.5;
                let hi = (xs.iter().copied().fold(0.0, f64::max) * 1.5).min(f64::MAX);
                let inner: LogCoord<f64> = (lo..hi).log_scale().into();
                let x = Ticked {
                    inner,
                    ticks: log_ticks(lo, hi),
                };
                with_y(area, &caption, x, &points, &axes)?;
            } else {
                let ticks = match &panel.labels {
                    Some(l) => (0..l.len()).map(|i| i as f64).collect(),
                    None if panel.integer && distinct.len() <= 8 => distinct.clone(),
                    None if panel.integer => integer_ticks(xlo, xhi),
                    None => nice_ticks(xlo, xhi, 5),
                };
                let x = Ticked {
                    inner: RangedCoordf64::from(xlo..xhi),
                    ticks,
                };
                with_y(area, &caption, x, &points, &axes)?;
            }
        }
        root.present().map_err(|e| PlotError(e.to_string()))?;
    }
    Ok(svg)
}

/// An axis (linear or log) with the ticks this module chose: round
/// values, powers of ten, whole numbers or categories. Labels are written
/// by the panel's formatters, never by plotters' defaults.
struct Ticked<R> {
    inner: R,
    ticks: Vec<f64>,
}

impl<R: Ranged<ValueType = f64>> Ranged for Ticked<R> {
    type ValueType = f64;
    type FormatOption = DefaultFormatting;

    fn range(&self) -> Range<f64> {
        self.inner.range()
    }

    fn map(&self, value: &f64, limit: (i32, i32)) -> i32 {
        self.inner.map(value, limit)
    }

    fn key_points<Hint: KeyPointHint>(&self, hint: Hint) -> Vec<f64> {
        if hint.weight().allow_light_points() {
            Vec::new()
        } else {
            self.ticks.clone()
        }
    }
}

/// What a panel's axes say: the objective (y) and the parameter (x).
struct Axes<'a> {
    objective: &'a str,
    panel: &'a Panel,
    y: &'a YAxis,
}

/// The objective's axis, shared by every panel: its range, ticks, and
/// whether it is a log axis ([`wants_log_y`]: all positive over three
/// decades or more).
struct YAxis {
    lo: f64,
    hi: f64,
    ticks: Vec<f64>,
    log: bool,
}

impl YAxis {
    /// The axis for the finite objective values `ys` (not empty).
    fn of(ys: &[f64]) -> YAxis {
        if wants_log_y(ys) {
            let lo = ys.iter().copied().fold(f64::INFINITY, f64::min) / 1.5;
            let hi = (ys.iter().copied().fold(0.0, f64::max) * 1.5).min(f64::MAX);
            return YAxis {
                lo,
                hi,
                ticks: log_ticks(lo, hi),
                log: true,
            };
        }
        let (lo, hi) = padded(ys);
        YAxis {
            lo,
            hi,
            ticks: nice_ticks(lo, hi, 5),
            log: false,
        }
    }

    /// Width of the label area left of the axis, pixels: the widest tick
    /// label (11 px sans-serif, about 7 px a character), a gap, and the
    /// rotated title (12 px) clear of it.
    fn label_area(&self) -> u32 {
        let widest = self
            .ticks
            .iter()
            .map(|t| compact(*t).chars().count())
            .max()
            .unwrap_or(1);
        (widest as u32 * 7 + 30).clamp(44, 110)
    }
}

/// Draws a panel with x axis `x` on the objective's axis, linear or log.
fn with_y<X>(
    area: &DrawingArea<SVGBackend<'_>, plotters::coord::Shift>,
    caption: &str,
    x: X,
    points: &[(f64, f64, bool)],
    axes: &Axes<'_>,
) -> Result<(), PlotError>
where
    X: Ranged<ValueType = f64, FormatOption = DefaultFormatting>,
{
    let (lo, hi, ticks) = (axes.y.lo, axes.y.hi, axes.y.ticks.clone());
    if axes.y.log {
        let inner: LogCoord<f64> = (lo..hi).log_scale().into();
        draw_panel(area, caption, x, Ticked { inner, ticks }, points, axes)
    } else {
        let inner = RangedCoordf64::from(lo..hi);
        draw_panel(area, caption, x, Ticked { inner, ticks }, points, axes)
    }
}

fn draw_panel<X, Y>(
    area: &DrawingArea<SVGBackend<'_>, plotters::coord::Shift>,
    caption: &str,
    x: X,
    y: Y,
    points: &[(f64, f64, bool)],
    axes: &Axes<'_>,
) -> Result<(), PlotError>
where
    X: Ranged<ValueType = f64, FormatOption = DefaultFormatting>,
    Y: Ranged<ValueType = f64, FormatOption = DefaultFormatting>,
{
    let err = |e: &dyn std::fmt::Display| PlotError(e.to_string());
    let panel = axes.panel;
    let mut chart = ChartBuilder::on(area)
        .caption(caption, ("sans-serif", 14).into_font().color(&ink()))
        .margin(10)
        .x_label_area_size(40)
        .y_label_area_size(axes.y.label_area())
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
        // `+ 0.0`: a tick computed as -0 reads 0 (axes, unlike results).
        None => compact(*v),
    };
    let format_y = |v: &f64| compact(*v);
    let mut mesh = chart.configure_mesh();
    mesh.x_desc(panel.name.as_str())
        .y_desc(axes.objective)
        .x_label_formatter(&format_x)
        .y_label_formatter(&format_y)
        .label_style(("sans-serif", 11).into_font().color(&ink()))
        .axis_desc_style(("sans-serif", 12).into_font().color(&ink()))
        .axis_style(ink())
        .bold_line_style(RGBColor(0xe4, 0xe4, 0xe4))
        .light_line_style(paper());
    mesh.draw().map_err(|e| err(&e))?;
    // Translucent points with an outline: where several configurations
    // land on one spot, the spot is darker and every outline shows.
    let blue = RGBColor(0x3b, 0x82, 0xc4);
    chart
        .draw_series(points.iter().filter(|p| !p.2).flat_map(|&(x, y, _)| {
            [
                Circle::new((x, y), 4, blue.mix(0.35).filled()),
                Circle::new((x, y), 4, blue.stroke_width(1)),
            ]
        }))
        .map_err(|e| err(&e))?;
    chart
        .draw_series(
            points
                .iter()
                .filter(|p| p.2)
                .map(|&(x, y, _)| Circle::new((x, y), 6, RGBColor(0xd9, 0x44, 0x3f).filled())),
        )
        .map_err(|e| err(&e))?;
    Ok(())
}

/// The picture's paper and ink ([`crate::theme::PAPER`], [`crate::theme::INK`]).
fn paper() -> RGBColor {
    RGBColor(0xfd, 0xfd, 0xfd)
}

fn ink() -> RGBColor {
    RGBColor(0x33, 0x33, 0x33)
}

/// The distinct values of `xs`, sorted (never empty when `xs` is not).
fn distinct(xs: &[f64]) -> Vec<f64> {
    let mut v = xs.to_vec();
    v.sort_by(f64::total_cmp);
    v.dedup();
    v
}

/// The smallest gap between distinct values (1 for a single value).
fn step_of(distinct: &[f64]) -> f64 {
    let gap = distinct
        .windows(2)
        .map(|w| w[1] - w[0])
        .fold(f64::INFINITY, f64::min);
    if gap.is_finite() && gap > 0.0 {
        gap
    } else {
        1.0
    }
}

/// Spreads points that share an x on a discrete axis (a category or a
/// whole number, `step` apart) sideways by up to a fifth of a step each
/// way, in a fixed pattern, so none hides another. `step` 0: no spread.
fn jitter(points: Vec<(f64, f64, bool)>, step: f64) -> Vec<(f64, f64, bool)> {
    if step <= 0.0 {
        return points;
    }
    let mut seen: Vec<(f64, usize)> = Vec::new();
    let mut counts: Vec<(f64, usize)> = Vec::new();
    for p in &points {
        match counts.iter_mut().find(|(x, _)| *x == p.0) {
            Some((_, n)) => *n += 1,
            None => counts.push((p.0, 1)),
        }
    }
    points
        .into_iter()
        .map(|(x, y, best)| {
            let total = counts.iter().find(|(v, _)| *v == x).map_or(1, |c| c.1);
            let k = match seen.iter_mut().find(|(v, _)| *v == x) {
                Some((_, k)) => {
                    *k += 1;
                    *k
                }
                None => {
                    seen.push((x, 0));
                    0
                }
            };
            if total < 2 || best {
                return (x, y, best);
            }
            let offset = 0.4 * step * (k as f64 / (total - 1) as f64 - 0.5);
            (x + offset, y, best)
        })
        .collect()
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
                integer: false,
            },
            Panel {
                name: "opt".into(),
                xs: vec![0.0, 1.0, 0.0],
                labels: Some(vec!["sgd".into(), "adam".into()]),
                integer: false,
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
        // 2 finite points per panel: the plain one filled and outlined,
        // the best one filled.
        assert_eq!(svg.matches("<circle").count(), 6);
    }

    fn texts(svg: &str) -> Vec<&str> {
        svg.split("<text")
            .skip(1)
            .filter_map(|t| t.split_once('>')?.1.split("</text>").next())
            .map(str::trim)
            .collect()
    }

    #[test]
    fn many_decades_get_few_ticks_and_a_log_objective() {
        let panels = vec![Panel {
            name: "x".into(),
            xs: (0..7).map(|k| 10f64.powi(-12 + 4 * k)).collect(),
            labels: None,
            integer: false,
        }];
        let ys: Vec<Option<f64>> = (0..7).map(|k| Some(10f64.powi(k))).collect();
        let svg = sweep_svg("loss", &panels, &ys, Some(0)).expect("draws");
        let t = texts(&svg);
        assert!(t.len() <= 1 + 2 + 8 + 8, "{t:?}");
        assert!(t.contains(&"1e-10") && t.contains(&"1e10"), "{t:?}");
        // The objective spans six decades: powers of ten on a log axis.
        assert!(t.contains(&"1e5") && t.contains(&"100"), "{t:?}");
        let wide = vec![Panel {
            name: "x".into(),
            xs: vec![1e-300, 1e300],
            labels: None,
            integer: false,
        }];
        let svg = sweep_svg("v", &wide, &[Some(1.0), Some(2.0)], None).expect("draws");
        assert!(texts(&svg).len() <= 1 + 2 + 8 + 8, "{:?}", texts(&svg));
    }

    #[test]
    fn large_objectives_read_compact() {
        let panels = vec![Panel {
            name: "x".into(),
            xs: vec![1.0, 2.0, 3.0],
            labels: None,
            integer: false,
        }];
        let ys = [Some(-2e6), Some(-1e6), Some(5e5)];
        let svg = sweep_svg("v", &panels, &ys, None).expect("draws");
        let t = texts(&svg);
        assert!(
            t.contains(&"-2e6") && !t.iter().any(|l| l.contains("000000")),
            "{t:?}"
        );
        assert!(
            YAxis::of(&[-2e6, 5e5]).label_area() >= 4 * 7 + 24,
            "four characters and the title"
        );
    }

    #[test]
    fn nothing_to_plot_is_an_error() {
        let panels = vec![Panel {
            name: "x".into(),
            xs: vec![1.0],
            labels: None,
            integer: false,
        }];
        assert!(sweep_svg("v", &panels, &[None], None).is_err());
    }

    #[test]
    fn discrete_points_spread_sideways() {
        let j = jitter(
            vec![(0.0, 1.0, false), (0.0, 2.0, false), (1.0, 3.0, false)],
            1.0,
        );
        assert_eq!(
            j,
            vec![(-0.2, 1.0, false), (0.2, 2.0, false), (1.0, 3.0, false)]
        );
        assert_eq!(step_of(&distinct(&[64.0, 32.0, 32.0])), 32.0);
        assert_eq!(step_of(&[5.0]), 1.0);
    }
}
