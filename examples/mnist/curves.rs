//! The loss and accuracy curves of a run, as SVG: train and test loss on the left, test
//! accuracy on the right, under a title naming the spec and the optimizer's settings. The
//! x axis has a tick at whole epochs only; each point is marked when there are few of them;
//! the accuracy axis is fitted to the data (its range with a margin, not padded to 100%).

use mlp_runtime::train::EpochReport;
use plotters::coord::combinators::WithKeyPoints;
use plotters::coord::types::{RangedCoordf64, RangedCoordi64};
use plotters::prelude::*;
use std::ops::Range;
use std::path::Path;

/// The most epochs whose points are marked; past it, the lines alone.
pub const MARKED_EPOCHS: usize = 12;

/// The most ticks on the epoch axis.
const MAX_TICKS: u64 = 10;

/// What the curves are of: the title's spec, optimizer, learning rate and batch.
pub struct Run<'a> {
    /// The network's spec.
    pub spec: &'a str,
    /// The optimizer's name.
    pub optimizer: &'a str,
    /// The learning rate.
    pub lr: f32,
    /// Samples per step.
    pub batch: usize,
}

/// The title: `784 -> relu 512 -> 10 : nll  ·  sgd, lr 0.1, batch 64`.
pub fn title(run: &Run<'_>) -> String {
    format!(
        "{}  ·  {}, lr {}, batch {}",
        run.spec, run.optimizer, run.lr, run.batch
    )
}

/// Whole epochs from `first` to `last` to put ticks at: every one, or the multiples of 2, 5,
/// 10, 20, 50, … (the least step that leaves at most [`MAX_TICKS`] of them).
pub fn epoch_ticks(first: u64, last: u64) -> Vec<u64> {
    let (first, last) = (first.min(last), first.max(last));
    let multiples = |step: u64| last / step - first.saturating_sub(1) / step;
    let mut decade = 1u64;
    let step = loop {
        let fits = [1, 2, 5]
            .map(|m| m * decade)
            .into_iter()
            .find(|&s| multiples(s) <= MAX_TICKS);
        match fits {
            Some(step) => break step,
            None => decade = decade.saturating_mul(10),
        }
    };
    (first..=last).filter(|e| e % step == 0).collect()
}

/// The accuracy axis (percent) fitted to `values`: from their least to their greatest, with a
/// margin of a tenth of that span each side (at least half a point), kept within 0..100.
/// `0..100` when there are no finite values.
pub fn fitted(values: &[f64]) -> Range<f64> {
    let finite = values.iter().copied().filter(|v| v.is_finite());
    let (low, high) = finite.fold((f64::INFINITY, f64::NEG_INFINITY), |(l, h), v| {
        (l.min(v), h.max(v))
    });
    if low > high {
        return 0.0..100.0;
    }
    let margin = ((high - low) / 10.0).max(0.5);
    (low - margin).max(0.0)..(high + margin).min(100.0)
}

/// Whether points are marked: at most [`MARKED_EPOCHS`] of them.
pub fn marked(points: usize) -> bool {
    points <= MARKED_EPOCHS
}

/// Points `(epoch, value)`.
pub type Points = Vec<(f64, f64)>;

/// The series drawn: train and test loss, and test accuracy in percent, per epoch.
#[derive(Default)]
pub struct Curves {
    /// Mean train loss.
    pub train: Points,
    /// Test loss.
    pub test: Points,
    /// Test accuracy, percent.
    pub accuracy: Points,
}

impl Curves {
    /// The series of a run's epochs; an epoch without a test evaluation has no test points.
    pub fn of(reports: &[EpochReport]) -> Curves {
        let series = |f: &dyn Fn(&EpochReport) -> Option<f64>| -> Points {
            reports
                .iter()
                .filter_map(|r| Some((r.epoch as f64, f(r)?)))
                .collect()
        };
        Curves {
            train: series(&|r| Some(r.train_loss as f64)),
            test: series(&|r| Some(r.validation.as_ref()?.loss as f64)),
            accuracy: series(&|r| Some(100.0 * r.validation.as_ref()?.accuracy? as f64)),
        }
    }
}

/// Writes `curves` to `path` as SVG; nothing without a train point.
pub fn plot(path: &Path, run: &Run<'_>, curves: &Curves) -> Result<(), Box<dyn std::error::Error>> {
    let (Some(first), Some(last)) = (curves.train.first(), curves.train.last()) else {
        return Ok(());
    };
    let (first, last) = (first.0.max(0.0) as u64, last.0.max(0.0) as u64);
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)?;
    }
    let root = SVGBackend::new(path, (1000, 440)).into_drawing_area();
    root.fill(&WHITE)?;
    let root = root.titled(&title(run), ("sans-serif", 20))?;
    let (left, right) = root.split_horizontally(500);
    // The x axis counts half epochs, an integer axis, so that its ticks can be whole epochs
    // alone with half an epoch of room each side.
    let ticks: Vec<i64> = epoch_ticks(first, last)
        .into_iter()
        .map(|e| 2 * e as i64)
        .collect();
    let epochs = (2 * first as i64 - 1)..(2 * last as i64 + 1);
    let Curves {
        train,
        test,
        accuracy,
    } = curves;
    let top = train
        .iter()
        .chain(test.iter())
        .map(|p| p.1)
        .filter(|v| v.is_finite())
        .fold(0.0, f64::max);
    let top = if top > 0.0 { top * 1.1 } else { 1.0 };
    let mut losses = chart(&left, "loss", epochs.clone(), &ticks, 0.0..top)?;
    line(&mut losses, train.clone(), BLUE, Some("train"))?;
    line(&mut losses, test.clone(), RED, Some("test"))?;
    losses
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperRight)
        .background_style(WHITE.mix(0.8))
        .border_style(BLACK)
        .draw()?;
    let range = fitted(&accuracy.iter().map(|p| p.1).collect::<Vec<_>>());
    let mut right = chart(&right, "test accuracy (%)", epochs, &ticks, range)?;
    line(&mut right, accuracy.clone(), RED, None)?;
    root.present()?;
    Ok(())
}

type Chart<'a, 'b> =
    ChartContext<'a, SVGBackend<'b>, Cartesian2d<WithKeyPoints<RangedCoordi64>, RangedCoordf64>>;

/// One panel: whole-epoch ticks at `ticks`, the y axis described as `y`.
fn chart<'a, 'b>(
    area: &'a DrawingArea<SVGBackend<'b>, plotters::coord::Shift>,
    y: &str,
    epochs: Range<i64>,
    ticks: &[i64],
    values: Range<f64>,
) -> Result<Chart<'a, 'b>, Box<dyn std::error::Error>> {
    let mut chart = ChartBuilder::on(area)
        .margin(12)
        .x_label_area_size(40)
        .y_label_area_size(60)
        .build_cartesian_2d(epochs.with_key_points(ticks.to_vec()), values)?;
    chart
        .configure_mesh()
        .x_desc("epoch")
        .y_desc(y)
        .x_label_formatter(&|e| format!("{}", e / 2))
        .axis_desc_style(("sans-serif", 15))
        .draw()?;
    Ok(chart)
}

/// A curve, its points marked when there are few, with its legend entry if named.
fn line(
    chart: &mut Chart<'_, '_>,
    points: Points,
    color: RGBColor,
    name: Option<&str>,
) -> Result<(), Box<dyn std::error::Error>> {
    let points: Vec<(i64, f64)> = points
        .into_iter()
        .map(|(e, v)| ((2.0 * e) as i64, v))
        .collect();
    let marks = if marked(points.len()) {
        points.clone()
    } else {
        Vec::new()
    };
    let drawn = chart.draw_series(LineSeries::new(points, color.stroke_width(2)))?;
    if let Some(name) = name {
        drawn
            .label(name)
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], color));
    }
    chart.draw_series(marks.into_iter().map(|p| Circle::new(p, 4, color.filled())))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ticks_are_whole_epochs() {
        assert_eq!(epoch_ticks(1, 1), [1]);
        assert_eq!(epoch_ticks(1, 3), [1, 2, 3]);
        assert_eq!(epoch_ticks(1, 10), (1..=10).collect::<Vec<_>>());
        assert_eq!(epoch_ticks(1, 12), [2, 4, 6, 8, 10, 12]);
        assert_eq!(epoch_ticks(1, 30), [5, 10, 15, 20, 25, 30]);
        assert_eq!(epoch_ticks(4, 6), [4, 5, 6]);
        assert_eq!(
            epoch_ticks(1, 100),
            (1..=10).map(|k| 10 * k).collect::<Vec<_>>()
        );
        assert_eq!(epoch_ticks(1, 250).len(), 5);
    }

    /// Whether `fitted(values)` is `low..high`, to rounding.
    fn fits(values: &[f64], low: f64, high: f64) -> bool {
        let r = fitted(values);
        (r.start - low).abs() < 1e-9 && (r.end - high).abs() < 1e-9
    }

    #[test]
    fn accuracy_axis_fits_the_data() {
        assert!(fits(&[97.0, 98.0], 96.5, 98.5));
        assert!(fits(&[90.0, 98.0], 89.2, 98.8));
        assert!(fits(&[99.8], 99.3, 100.0));
        assert!(fits(&[0.2], 0.0, 0.7));
        assert!(fits(&[], 0.0, 100.0));
        assert!(fits(&[f64::NAN, 50.0], 49.5, 50.5));
    }

    /// Draws made-up curves to `target/curves-test.svg`: it is written and carries the title
    /// and the axes' descriptions.
    #[test]
    fn curves_are_drawn() {
        let accuracy = [91.2, 95.6, 96.9, 97.4, 97.8];
        let curves = Curves {
            train: (1..=5).map(|e| (e as f64, 1.0 / e as f64)).collect(),
            test: (1..=5).map(|e| (e as f64, 0.8 / e as f64)).collect(),
            accuracy: (1..=5).map(|e| (e as f64, accuracy[e - 1])).collect(),
        };
        let run = Run {
            spec: "784 -> relu 512 -> relu 512 -> 10 : nll",
            optimizer: "sgd",
            lr: 0.1,
            batch: 64,
        };
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/curves-test.svg");
        plot(&path, &run, &curves).unwrap();
        let svg = std::fs::read_to_string(&path).unwrap();
        for text in [
            "sgd, lr 0.1, batch 64",
            "epoch",
            "loss",
            "test accuracy (%)",
        ] {
            assert!(svg.contains(text), "{text}");
        }
    }

    #[test]
    fn few_points_are_marked() {
        assert!(marked(1));
        assert!(marked(MARKED_EPOCHS));
        assert!(!marked(MARKED_EPOCHS + 1));
    }

    #[test]
    fn the_title_names_the_run() {
        let run = Run {
            spec: "784 -> relu 512 -> 10 : nll",
            optimizer: "adam",
            lr: 0.001,
            batch: 128,
        };
        assert_eq!(
            title(&run),
            "784 -> relu 512 -> 10 : nll  ·  adam, lr 0.001, batch 128"
        );
    }
}
