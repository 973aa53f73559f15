//! SVG plots of a finished sweep (plotters): the objective against each
//! parameter, one panel per parameter, every configuration a point and the
//! best one marked. Text-valued parameters are drawn as categories, their
//! labels and the panel titles fitted to their room ([`crate::label_fit`],
//! the whole text in a `<title>`); configurations whose objective is not
//! finite are named in a note under the panels.

use plotters::coord::ranged1d::Ranged;
use plotters::coord::types::RangedCoordf64;
use plotters::prelude::*;

use crate::axis_ticks::{integer_ticks, log_ticks, nice_ticks, tick_labels, wants_log};
use crate::label_fit::{chars_in, fit, titled};
use crate::numfmt::sig;
use crate::plot_axes::{Ticked, YAxis, label_of};
use crate::plot_note::{two_lines, unplotted_note};
use crate::plot_spread::{Point, distinct, float_step, jitter, jitter_log, padded, step_of};
use crate::theme::INK;

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
/// Height of the note (two lines) under the panels, pixels.
const NOTE_H: u32 = 40;

/// Draws `ys` (the objective, per configuration; None is left out, a
/// non-finite value is named in a note) against each panel's x. `best` is
/// the configuration marked as best.
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
    let note = unplotted_note(ys, best);
    let cols = panels.len().min(PER_ROW);
    let rows = panels.len().div_ceil(PER_ROW);
    let (width, plots_h) = (PANEL_W * cols as u32, PANEL_H * rows as u32);
    let height = plots_h + if note.is_some() { NOTE_H } else { 0 };
    let mut extra = String::new();
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (width, height)).into_drawing_area();
        root.fill(&paper()).map_err(|e| PlotError(e.to_string()))?;
        let (top, _) = root.split_vertically(plots_h);
        let areas = top.split_evenly((rows, cols));
        for (panel, area) in panels.iter().zip(areas.iter()) {
            let axes = Axes {
                objective,
                panel,
                y: &y,
            };
            draw_one(area, ys, best, &axes, &mut extra)?;
        }
        root.present().map_err(|e| PlotError(e.to_string()))?;
    }
    if let Some(note) = note {
        let room = chars_in(f64::from(width) - 20.0, font_px(12.0));
        for (k, line) in two_lines(&note, room).iter().enumerate() {
            let attrs = format!(
                "x=\"10\" y=\"{}\" font-family=\"sans-serif\" font-size=\"{}\" fill=\"{INK}\"",
                plots_h + 14 + 16 * k as u32,
                font_px(12.0)
            );
            extra.push_str(&titled(&attrs, line, &note));
        }
    }
    match svg.rfind("</svg>") {
        Some(end) => svg.insert_str(end, &extra),
        None => svg.push_str(&extra),
    }
    Ok(svg)
}

/// One panel: its points spread where they share an x, its ticks, drawn
/// on `area` (text plotters does not draw goes into `extra`).
fn draw_one(
    area: &DrawingArea<SVGBackend<'_>, plotters::coord::Shift>,
    ys: &[Option<f64>],
    best: Option<usize>,
    axes: &Axes<'_>,
    extra: &mut String,
) -> Result<(), PlotError> {
    let panel = axes.panel;
    let points: Vec<Point> = panel
        .xs
        .iter()
        .zip(ys)
        .enumerate()
        .filter_map(|(i, (&x, y))| y.filter(|v| v.is_finite()).map(|y| (x, y, Some(i) == best)))
        .collect();
    let xs: Vec<f64> = panel.xs.iter().copied().filter(|x| x.is_finite()).collect();
    if xs.is_empty() {
        return Ok(());
    }
    let distinct = distinct(&xs);
    // Whole numbers and repeated floats: room for the spread points at
    // both ends.
    let room = |half: f64| {
        let (lo, hi) = padded(&xs);
        (
            lo.min(distinct[0] - half),
            hi.max(distinct[distinct.len() - 1] + half),
        )
    };
    let (xlo, xhi) = match &panel.labels {
        Some(l) => (-0.5, l.len() as f64 - 0.5),
        None if panel.integer => room(0.5 * step_of(&distinct)),
        None if distinct.len() < xs.len() && distinct.len() > 1 => room(0.3 * step_of(&distinct)),
        None => padded(&xs),
    };
    let log = panel.labels.is_none() && wants_log(&xs);
    let points = match &panel.labels {
        Some(_) => jitter(points, 1.0),
        None if log => jitter_log(points),
        None if panel.integer => jitter(points, step_of(&distinct)),
        None => jitter(points, float_step(&distinct, xlo, xhi)),
    };
    if log {
        let lo = xs.iter().copied().fold(f64::INFINITY, f64::min) / 1.5;
        let hi = (xs.iter().copied().fold(0.0, f64::max) * 1.5).min(f64::MAX);
        let inner: LogCoord<f64> = (lo..hi).log_scale().into();
        let x = Ticked {
            inner,
            ticks: log_ticks(lo, hi),
        };
        with_y(area, x, &points, axes, extra)
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
        with_y(area, x, &points, axes, extra)
    }
}

/// What a panel's axes say: the objective (y) and the parameter (x).
struct Axes<'a> {
    objective: &'a str,
    panel: &'a Panel,
    y: &'a YAxis,
}

/// Draws a panel with x axis `x` on the objective's axis, linear or log.
fn with_y<X>(
    area: &DrawingArea<SVGBackend<'_>, plotters::coord::Shift>,
    x: Ticked<X>,
    points: &[Point],
    axes: &Axes<'_>,
    extra: &mut String,
) -> Result<(), PlotError>
where
    X: Ranged<ValueType = f64>,
{
    let (lo, hi, ticks) = (axes.y.lo, axes.y.hi, axes.y.ticks.clone());
    if axes.y.log {
        let inner: LogCoord<f64> = (lo..hi).log_scale().into();
        draw_panel(area, x, Ticked { inner, ticks }, points, axes, extra)
    } else {
        let inner = RangedCoordf64::from(lo..hi);
        draw_panel(area, x, Ticked { inner, ticks }, points, axes, extra)
    }
}

fn draw_panel<X, Y>(
    area: &DrawingArea<SVGBackend<'_>, plotters::coord::Shift>,
    x: Ticked<X>,
    y: Ticked<Y>,
    points: &[Point],
    axes: &Axes<'_>,
    extra: &mut String,
) -> Result<(), PlotError>
where
    X: Ranged<ValueType = f64>,
    Y: Ranged<ValueType = f64>,
{
    let err = |e: &dyn std::fmt::Display| PlotError(e.to_string());
    let panel = axes.panel;
    let x_ticks = x.ticks.clone();
    let (x_labels, x_offset) = match &panel.labels {
        Some(_) => (Vec::new(), None),
        None => tick_labels(&x_ticks),
    };
    let (ax, ay) = area.get_base_pixel();
    let (aw, _) = area.dim_in_pixel();
    let caption = format!("{} vs {}", axes.objective, panel.name);
    let attrs = format!(
        "x=\"{}\" y=\"{}\" text-anchor=\"middle\" font-family=\"sans-serif\" font-size=\"{}\" fill=\"{INK}\"",
        ax + aw as i32 / 2,
        ay + 18,
        font_px(14.0),
    );
    let room = chars_in(f64::from(aw) - 16.0, font_px(14.0));
    extra.push_str(&titled(&attrs, &fit(&caption, room), &caption));
    let mut chart = ChartBuilder::on(area)
        .margin(10)
        .margin_top(34)
        .x_label_area_size(40)
        .y_label_area_size(axes.y.label_area())
        .build_cartesian_2d(x, y)
        .map_err(|e| err(&e))?;
    let (px, py) = chart.plotting_area().get_pixel_range();
    let x_room = chars_in(f64::from(px.end - px.start), font_px(12.0));
    let x_desc = match x_offset {
        Some(off) => {
            let off = format!(" (+{})", sig(off, 17));
            let room = x_room.saturating_sub(off.chars().count());
            format!("{}{off}", fit(&panel.name, room))
        }
        None => fit(&panel.name, x_room),
    };
    let y_desc = fit(
        axes.objective,
        chars_in(f64::from(py.end - py.start), font_px(12.0)),
    );
    let categories = panel.labels.is_some();
    let format_x = |v: &f64| {
        if categories {
            String::new()
        } else {
            label_of(*v, &x_ticks, &x_labels)
        }
    };
    let format_y = |v: &f64| label_of(*v, &axes.y.ticks, &axes.y.labels);
    let mut mesh = chart.configure_mesh();
    mesh.x_desc(x_desc)
        .y_desc(y_desc)
        .x_label_formatter(&format_x)
        .y_label_formatter(&format_y)
        .label_style(("sans-serif", 11).into_font().color(&ink()))
        .axis_desc_style(("sans-serif", 12).into_font().color(&ink()))
        .axis_style(ink())
        .bold_line_style(RGBColor(0xe4, 0xe4, 0xe4))
        .light_line_style(paper());
    if categories {
        mesh.x_labels(0);
    }
    mesh.draw().map_err(|e| err(&e))?;
    if let Some(labels) = &panel.labels {
        category_labels(labels, &chart, axes.y.lo, extra);
    }
    if let Some(off) = axes.y.offset {
        let attrs = format!(
            "x=\"{}\" y=\"{}\" font-family=\"sans-serif\" font-size=\"{}\" fill=\"{INK}\"",
            px.start,
            py.start - 4,
            font_px(11.0),
        );
        let full = format!("the tick labels add to {}", sig(off, 17));
        extra.push_str(&titled(&attrs, &format!("+{}", sig(off, 17)), &full));
    }
    draw_points(&mut chart, points).map_err(|e| err(&e))
}

/// Each category's label under its slot, cut to the slot's width (the
/// whole text in its `<title>`).
fn category_labels<X, Y>(
    labels: &[String],
    chart: &ChartContext<'_, SVGBackend<'_>, Cartesian2d<X, Y>>,
    y_lo: f64,
    extra: &mut String,
) where
    X: Ranged<ValueType = f64>,
    Y: Ranged<ValueType = f64>,
{
    let (px, _) = chart.plotting_area().get_pixel_range();
    let slot = f64::from(px.end - px.start) / labels.len().max(1) as f64;
    let room = chars_in(slot - 6.0, font_px(11.0));
    for (i, label) in labels.iter().enumerate() {
        let (x, y) = chart.backend_coord(&(i as f64, y_lo));
        let attrs = format!(
            "x=\"{x}\" y=\"{}\" text-anchor=\"middle\" font-family=\"sans-serif\" font-size=\"{}\" fill=\"{INK}\"",
            y + 16,
            font_px(11.0),
        );
        extra.push_str(&titled(&attrs, &fit(label, room), label));
    }
}

/// Translucent points with an outline: where several configurations land
/// on one spot, the spot is darker and every outline shows. The best one
/// on top, red.
fn draw_points<X, Y>(
    chart: &mut ChartContext<'_, SVGBackend<'_>, Cartesian2d<X, Y>>,
    points: &[Point],
) -> Result<(), DrawingAreaErrorKind<std::io::Error>>
where
    X: Ranged<ValueType = f64>,
    Y: Ranged<ValueType = f64>,
{
    let blue = RGBColor(0x3b, 0x82, 0xc4);
    chart.draw_series(points.iter().filter(|p| !p.2).flat_map(|&(x, y, _)| {
        [
            Circle::new((x, y), 4, blue.mix(0.35).filled()),
            Circle::new((x, y), 4, blue.stroke_width(1)),
        ]
    }))?;
    chart.draw_series(
        points
            .iter()
            .filter(|p| p.2)
            .map(|&(x, y, _)| Circle::new((x, y), 6, RGBColor(0xd9, 0x44, 0x3f).filled())),
    )?;
    Ok(())
}

/// The SVG font size plotters writes for a font of `size`: it scales
/// every font by 0.8 and a little (its text is 96 dpi over a 72 pt em),
/// and text this module writes itself matches it.
fn font_px(size: f64) -> f64 {
    (size * 0.806 * 10.0).round() / 10.0
}

/// The picture's paper and ink ([`crate::theme::PAPER`], [`crate::theme::INK`]).
fn paper() -> RGBColor {
    RGBColor(0xfd, 0xfd, 0xfd)
}

fn ink() -> RGBColor {
    RGBColor(0x33, 0x33, 0x33)
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

    fn panel(name: &str, xs: &[f64], labels: Option<&[&str]>, integer: bool) -> Panel {
        Panel {
            name: name.into(),
            xs: xs.to_vec(),
            labels: labels.map(|l| l.iter().map(|s| s.to_string()).collect()),
            integer,
        }
    }

    #[test]
    fn close_values_read_apart_inside_the_plot() {
        let xs = [1.0001, 1.0002, 1.0003, 1.0004];
        let ys: Vec<Option<f64>> = xs.iter().map(|x| Some(1_000_000.0 + x * 0.001)).collect();
        let svg =
            sweep_svg("value (max)", &[panel("x", &xs, None, false)], &ys, Some(3)).expect("draws");
        let t = texts(&svg);
        for label in [
            "1.0001",
            "1.0002",
            "1.0003",
            "1.0004",
            "1e-7",
            "4e-7",
            "+1000000.001",
        ] {
            assert!(t.contains(&label), "{label}: {t:?}");
        }
        let n = [1e6, 1e6 + 1.0, 1e6 + 2.0];
        let svg = sweep_svg(
            "v",
            &[panel("n", &n, None, true)],
            &[Some(1.0), Some(2.0), Some(3.0)],
            None,
        )
        .expect("draws");
        let t = texts(&svg);
        assert!(t.contains(&"1000001") && !t.contains(&"1e6"), "{t:?}");
    }

    #[test]
    fn long_labels_and_titles_fit_their_room_whole_in_a_title() {
        let long = "a considerably longer configuration name that goes on";
        let labels = ["short", long, "multi\nline\nname", "<b>html</b> & stuff"];
        let panels = [
            panel("name", &[0.0, 1.0, 2.0, 3.0], Some(&labels), false),
            panel(
                "a_very_long_parameter_name_for_the_learning_rate",
                &[1.0, 2.0, 3.0, 4.0],
                None,
                false,
            ),
        ];
        let ys = [Some(1.0), Some(2.0), Some(3.0), Some(4.0)];
        let svg = sweep_svg("value (max)", &panels, &ys, Some(3)).expect("draws");
        let t = texts(&svg);
        assert!(t.contains(&"short"), "{t:?}");
        // Four slots of about 60 px: each label at most 9 characters.
        let cut = t
            .iter()
            .find(|l| l.starts_with("a c"))
            .expect("the long label");
        assert!(
            cut.contains('…') && cut.ends_with("on") && cut.chars().count() <= 9,
            "{cut}"
        );
        assert!(svg.contains(&format!("<title>{long}</title>")));
        assert!(svg.contains("<title>&lt;b&gt;html&lt;/b&gt; &amp; stuff</title>"));
        assert!(svg.contains("<title>multi\nline\nname</title>"));
        // The second panel's title is cut to its 300 px, whole in a title.
        let title = t
            .iter()
            .find(|l| l.starts_with("value (max) vs a"))
            .expect("a caption");
        assert!(
            title.contains('…') && title.chars().count() <= 42,
            "{title}"
        );
        assert!(svg.contains(
            "<title>value (max) vs a_very_long_parameter_name_for_the_learning_rate</title>"
        ));
    }

    #[test]
    fn a_non_finite_objective_is_named_in_a_note() {
        let ys = [Some(1.0), Some(f64::INFINITY), Some(2.0), Some(f64::NAN)];
        let svg = sweep_svg(
            "v (max)",
            &[panel("x", &[0.1, 0.2, 0.3, 0.4], None, false)],
            &ys,
            Some(1),
        )
        .expect("draws");
        let t = texts(&svg);
        assert!(t.contains(&"not drawn (objective not finite):"), "{t:?}");
        assert!(
            t.contains(&"configurations 1 (inf, best), 3 (NaN)"),
            "{t:?}"
        );
    }

    #[test]
    fn repeated_float_values_spread_apart() {
        let xs = [0.5, 0.5, 0.5, 0.7];
        let ys = [Some(1.0), Some(1.0), Some(1.0), Some(2.0)];
        let svg = sweep_svg("v", &[panel("x", &xs, None, false)], &ys, Some(3)).expect("draws");
        let mut cx: Vec<&str> = svg
            .split("<circle")
            .skip(1)
            .filter_map(|c| c.split("cx=\"").nth(1)?.split('"').next())
            .collect();
        cx.sort();
        cx.dedup();
        // Three spread points (fill and outline share a spot) and the best.
        assert_eq!(cx.len(), 4, "{cx:?}");
    }

    #[test]
    fn own_text_sits_inside_the_picture_at_plotters_scale() {
        let labels = ["a", "b"];
        let panels = [panel("name", &[0.0, 1.0], Some(&labels), false)];
        let svg = sweep_svg("v", &panels, &[Some(1.0), Some(f64::INFINITY)], None).expect("draws");
        let attr = |t: &str, name: &str| -> f64 {
            t.split(&format!(" {name}=\""))
                .nth(1)
                .and_then(|r| r.split('"').next())
                .and_then(|v| v.parse().ok())
                .unwrap_or(-1.0)
        };
        let (w, h) = (attr(&svg, "width"), attr(&svg, "height"));
        for t in svg.split("<text").skip(1) {
            let (x, y, size) = (attr(t, "x"), attr(t, "y"), attr(t, "font-size"));
            assert!((0.0..=w).contains(&x) && (0.0..=h).contains(&y), "{t}");
            assert!((8.0..=12.0).contains(&size), "{t}");
        }
    }
}
