//! The parallel-coordinates picture of a sweep with three or more
//! parameters (as Optuna and W&B draw them): one vertical axis per
//! parameter and one for the objective, one polyline per configuration
//! through its values, coloured by its objective (light to dark blue, the
//! best drawn last in red). Written as SVG text directly. No IO.

use std::fmt::Write as _;

use crate::axis_ticks::{compact, tick_labels};
use crate::label_fit::{chars_in, fit, titled};
use crate::numfmt::sig;
use crate::plot::Panel;
use crate::render::esc;
use crate::theme::{INK, PAPER, svg_paper};

const AXIS_GAP: usize = 150;
const MARGIN_X: usize = 70;
const TOP: usize = 50;
const HEIGHT: usize = 260;
const BOTTOM: usize = 44;

/// One axis: its name, a position in [0, 1] per configuration, and the
/// tick labels at the ends (and, for categories, at each category).
struct Axis {
    name: String,
    at: Vec<Option<f64>>,
    ticks: Vec<(f64, String)>,
}

fn numeric_axis(name: &str, xs: &[Option<f64>], log: bool) -> Axis {
    let key = |v: f64| if log { v.log10() } else { v };
    let finite: Vec<f64> = xs
        .iter()
        .flatten()
        .copied()
        .filter(|v| v.is_finite())
        .collect();
    let lo = finite.iter().copied().fold(f64::INFINITY, f64::min);
    let hi = finite.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let span = key(hi) - key(lo);
    let at = xs
        .iter()
        .map(|x| {
            x.filter(|v| v.is_finite()).map(|v| {
                if span > 0.0 {
                    (key(v) - key(lo)) / span
                } else {
                    0.5
                }
            })
        })
        .collect();
    let ticks = if finite.is_empty() {
        vec![]
    } else if span > 0.0 {
        // Compact (`-2e6`), with the digits that tell the ends apart
        // (`1.0001`, `1.0004`); an axis end of -0 reads 0.
        let ends = [lo, hi];
        let labels = match tick_labels(&ends) {
            (labels, None) => labels,
            (_, Some(_)) => ends.iter().map(|v| sig(*v + 0.0, 17)).collect(),
        };
        vec![(0.0, labels[0].clone()), (1.0, labels[1].clone())]
    } else {
        vec![(0.5, compact(lo))]
    };
    Axis {
        name: name.to_string(),
        at,
        ticks,
    }
}

fn category_axis(panel: &Panel, labels: &[String]) -> Axis {
    let n = labels.len().max(2) - 1;
    let at = panel
        .xs
        .iter()
        .map(|x| Some(if labels.len() < 2 { 0.5 } else { x / n as f64 }))
        .collect();
    let ticks = labels
        .iter()
        .enumerate()
        .map(|(i, l)| {
            (
                if labels.len() < 2 {
                    0.5
                } else {
                    i as f64 / n as f64
                },
                l.clone(),
            )
        })
        .collect();
    Axis {
        name: panel.name.clone(),
        at,
        ticks,
    }
}

/// Light blue (worst) to dark blue (best) for `t` in [0, 1].
fn shade(t: f64) -> String {
    let t = t.clamp(0.0, 1.0);
    let mix = |a: f64, b: f64| (a + (b - a) * t).round() as u8;
    format!(
        "#{:02x}{:02x}{:02x}",
        mix(170.0, 20.0),
        mix(205.0, 60.0),
        mix(235.0, 140.0)
    )
}

/// The picture, or None with fewer than three parameters or no finite
/// objective. `maximize` says which end of the objective is best; `best`
/// is the configuration drawn in red.
pub fn parallel_svg(
    objective: &str,
    panels: &[Panel],
    ys: &[Option<f64>],
    maximize: bool,
    best: Option<usize>,
) -> Option<String> {
    if panels.len() < 3 || !ys.iter().flatten().any(|v| v.is_finite()) {
        return None;
    }
    let mut axes: Vec<Axis> = panels
        .iter()
        .map(|p| match &p.labels {
            Some(l) => category_axis(p, l),
            None => {
                let xs: Vec<Option<f64>> = p.xs.iter().map(|x| Some(*x)).collect();
                numeric_axis(&p.name, &xs, crate::axis_ticks::wants_log(&p.xs))
            }
        })
        .collect();
    let objective_axis = numeric_axis(objective, ys, false);
    let colour_at = objective_axis.at.clone();
    axes.push(objective_axis);
    let width = 2 * MARGIN_X + AXIS_GAP * (axes.len() - 1);
    let height = TOP + HEIGHT + BOTTOM;
    let x_of = |a: usize| MARGIN_X + a * AXIS_GAP;
    let y_of = |t: f64| TOP as f64 + (1.0 - t) * HEIGHT as f64;
    let mut s = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"sluice-parallel\" width=\"{width}\" height=\"{height}\" viewBox=\"0 0 {width} {height}\" font-family=\"sans-serif\" font-size=\"11\">{}",
        svg_paper(width, height)
    );
    let _ = write!(
        s,
        "<text x=\"{}\" y=\"18\" text-anchor=\"middle\" font-size=\"13\" fill=\"{INK}\">{} across the parameters (darker is better)</text>",
        width / 2,
        esc(objective)
    );
    let mut order: Vec<usize> = (0..ys.len()).filter(|&i| Some(i) != best).collect();
    order.extend(best);
    for i in order {
        let points: Vec<String> = axes
            .iter()
            .enumerate()
            .filter_map(|(a, axis)| {
                axis.at
                    .get(i)
                    .copied()
                    .flatten()
                    .map(|t| format!("{},{:.1}", x_of(a), y_of(t)))
            })
            .collect();
        if points.len() < axes.len() {
            continue;
        }
        let goodness = colour_at
            .get(i)
            .copied()
            .flatten()
            .map(|t| if maximize { t } else { 1.0 - t })
            .unwrap_or(0.0);
        let (colour, width, opacity) = if Some(i) == best {
            ("#d9443f".to_string(), 2.5, 1.0)
        } else {
            (shade(goodness), 1.4, 0.75)
        };
        let _ = write!(
            s,
            "<polyline class=\"config\" data-config=\"{i}\" points=\"{}\" fill=\"none\" stroke=\"{colour}\" stroke-width=\"{width}\" stroke-opacity=\"{opacity}\"/>",
            points.join(" ")
        );
    }
    draw_axes(&mut s, &axes, x_of, y_of);
    s.push_str("</svg>");
    Some(s)
}

/// Each axis: its line, its name under it, and its tick labels.
fn draw_axes(
    s: &mut String,
    axes: &[Axis],
    x_of: impl Fn(usize) -> usize,
    y_of: impl Fn(f64) -> f64,
) {
    for (a, axis) in axes.iter().enumerate() {
        let x = x_of(a);
        let _ = write!(
            *s,
            "<line x1=\"{x}\" y1=\"{TOP}\" x2=\"{x}\" y2=\"{}\" stroke=\"{INK}\" stroke-width=\"1\"/>",
            TOP + HEIGHT,
        );
        // The name under its axis, in the axis's share of the width (bold
        // 12 px is wider than plain: a tenth more per character).
        let attrs = format!(
            "x=\"{x}\" y=\"{}\" text-anchor=\"middle\" font-size=\"12\" font-weight=\"bold\" fill=\"{INK}\"",
            TOP + HEIGHT + 32
        );
        let room = chars_in((AXIS_GAP - 10) as f64, 13.2);
        s.push_str(&titled(&attrs, &fit(&axis.name, room), &axis.name));
        for (t, full) in &axis.ticks {
            // A category beside its axis, in the room to the previous axis
            // (the first: the margin); an end above or below, in the gap.
            let room = if *t > 0.0 && *t < 1.0 && a == 0 {
                chars_in((MARGIN_X - 8) as f64, 11.0)
            } else {
                chars_in((AXIS_GAP - 16) as f64, 11.0)
            };
            let label = fit(full, room);
            // The ends read above and below the axis, clear of the lines
            // that meet there; a middle tick (a category) beside it, on a
            // halo of paper.
            let (lx, ly, anchor) = if *t >= 1.0 {
                (x as f64, y_of(*t) - 7.0, "middle")
            } else if *t <= 0.0 {
                (x as f64, y_of(*t) + 15.0, "middle")
            } else {
                (x as f64 - 5.0, y_of(*t) + 4.0, "end")
            };
            let attrs = format!(
                "x=\"{lx}\" y=\"{ly:.1}\" text-anchor=\"{anchor}\" fill=\"{INK}\" stroke=\"{PAPER}\" stroke-width=\"3\" paint-order=\"stroke\""
            );
            s.push_str(&titled(&attrs, &label, full));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn panel(name: &str, xs: &[f64]) -> Panel {
        Panel {
            name: name.into(),
            xs: xs.to_vec(),
            labels: None,
            integer: false,
        }
    }

    #[test]
    fn one_polyline_per_configuration_through_every_axis() {
        let panels = [
            panel("lr", &[0.001, 0.01, 0.1]),
            panel("bs", &[32.0, 64.0, 32.0]),
            Panel {
                name: "opt".into(),
                xs: vec![0.0, 1.0, 1.0],
                labels: Some(vec!["sgd".into(), "adam".into()]),
                integer: false,
            },
        ];
        let svg = parallel_svg(
            "accuracy",
            &panels,
            &[Some(0.5), Some(0.9), None],
            true,
            Some(1),
        )
        .expect("three parameters are drawn");
        // Configuration 2 has no objective: no line for it.
        assert_eq!(svg.matches("<polyline").count(), 2);
        // The best is drawn last, in red, through the four axes.
        let last = svg.rfind("<polyline").expect("a line");
        assert!(svg[last..].contains("data-config=\"1\"") && svg[last..].contains("#d9443f"));
        assert_eq!(
            svg[last..].split("points=\"").nth(1).map(|p| p
                .split('"')
                .next()
                .unwrap_or("")
                .split(' ')
                .count()),
            Some(4)
        );
        for label in ["0.001", "0.1", "sgd", "adam", "accuracy", "0.5", "0.9"] {
            assert!(svg.contains(&format!(">{label}<")), "{label}");
        }
        assert!(parallel_svg("a", &panels[..2], &[Some(1.0)], true, None).is_none());
    }

    #[test]
    fn darker_is_better_either_way() {
        assert_eq!(shade(0.0), "#aacdeb");
        assert_eq!(shade(1.0), "#143c8c");
    }

    #[test]
    fn category_labels_are_cut_with_an_ellipsis_and_titled() {
        let long = "a considerably longer configuration name that goes on";
        let panels = [
            Panel {
                name: "name".into(),
                xs: vec![0.0, 1.0, 2.0],
                labels: Some(vec!["short".into(), long.into(), "<b>x</b>".into()]),
                integer: false,
            },
            panel("a_very_long_parameter_name_for_the_rate", &[1.0, 2.0, 3.0]),
            panel("x", &[1.0001, 1.0002, 1.0004]),
        ];
        let svg = parallel_svg(
            "v",
            &panels,
            &[Some(1.0), Some(2.0), Some(3.0)],
            true,
            Some(2),
        )
        .expect("drawn");
        assert!(svg.contains(&format!("<title>{long}</title>")), "{svg}");
        assert!(svg.contains(">a co…s on</text>"), "{svg}");
        assert!(svg.contains("<title>a_very_long_parameter_name_for_the_rate</title>"));
        assert!(svg.contains(">&lt;b&gt;x&lt;/b&gt;</text>"));
        // Axis ends that compact would both write `1` read apart.
        assert!(
            svg.contains(">1.0001<") && svg.contains(">1.0004<"),
            "{svg}"
        );
    }
}
