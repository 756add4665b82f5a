//! Per-class metrics of a classifier, as scikit-learn's `classification_report` computes them:
//! precision, recall, F1 and support of each class, their macro and weighted averages, and
//! the confusion matrix they come from. Pure arithmetic on counts; nothing here runs a network.
//!
//! A class never predicted has no precision (0 / 0): it counts as 0 and is listed in
//! [`ClassReport::never_predicted`], as scikit-learn's `zero_division="warn"` does; a class
//! with no samples has no recall, likewise 0 and listed in [`ClassReport::never_true`]. Every
//! class of the network is reported, present in the data or not, as with scikit-learn's
//! `labels=range(n)`.

/// The metrics of one class (or one output, or an average of them).
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct ClassMetrics {
    /// Of the samples predicted as the class, the fraction that are (`tp / (tp + fp)`).
    pub precision: f64,
    /// Of the samples of the class, the fraction predicted as it (`tp / (tp + fn)`).
    pub recall: f64,
    /// The harmonic mean of precision and recall (`2·tp / (2·tp + fp + fn)`).
    pub f1: f64,
    /// The samples of the class (`tp + fn`); for an average, of all classes.
    pub support: u64,
}

impl ClassMetrics {
    /// The metrics of counts of true positives, false positives and false negatives; a ratio
    /// with nothing to divide by is 0.
    pub fn from_counts(tp: u64, fp: u64, fn_: u64) -> Self {
        let ratio = |num: u64, den: u64| {
            if den == 0 {
                0.0
            } else {
                num as f64 / den as f64
            }
        };
        ClassMetrics {
            precision: ratio(tp, tp + fp),
            recall: ratio(tp, tp + fn_),
            f1: ratio(2 * tp, 2 * tp + fp + fn_),
            support: tp + fn_,
        }
    }
}

/// The report of a classifier on a dataset, or of each output of a multi-label (`bce`)
/// network.
#[derive(Clone, Debug, PartialEq)]
pub struct ClassReport {
    /// Each class's (or output's) metrics, in order.
    pub classes: Vec<ClassMetrics>,
    /// The unweighted mean of the classes' metrics; its support is the total.
    pub macro_avg: ClassMetrics,
    /// The mean of the classes' metrics weighted by their support (0 when there is none).
    pub weighted_avg: ClassMetrics,
    /// The classes never predicted: their precision is 0 by convention (0 / 0).
    pub never_predicted: Vec<usize>,
    /// The classes with no sample: their recall is 0 by convention (0 / 0).
    pub never_true: Vec<usize>,
}

impl ClassReport {
    /// The report of one class per row of `confusion`, a square matrix whose
    /// `confusion[t][p]` counts the samples of class `t` predicted as `p`.
    pub fn from_confusion(confusion: &[Vec<u64>]) -> Self {
        let n = confusion.len();
        let cell = |t: usize, p: usize| confusion[t].get(p).copied().unwrap_or(0);
        let counts = (0..n).map(|k| {
            let tp = cell(k, k);
            let predicted: u64 = (0..n).map(|t| cell(t, k)).sum();
            let support: u64 = confusion[k].iter().sum();
            (tp, predicted - tp, support - tp)
        });
        Self::from_counts(counts)
    }

    /// The report of independent binary outputs, each given as its counts of true positives,
    /// false positives and false negatives (the positive class of each output).
    pub fn from_counts(counts: impl IntoIterator<Item = (u64, u64, u64)>) -> Self {
        let mut report = ClassReport {
            classes: Vec::new(),
            macro_avg: ClassMetrics::default(),
            weighted_avg: ClassMetrics::default(),
            never_predicted: Vec::new(),
            never_true: Vec::new(),
        };
        for (k, (tp, fp, fn_)) in counts.into_iter().enumerate() {
            if tp + fp == 0 {
                report.never_predicted.push(k);
            }
            if tp + fn_ == 0 {
                report.never_true.push(k);
            }
            report.classes.push(ClassMetrics::from_counts(tp, fp, fn_));
        }
        let total: u64 = report.classes.iter().map(|c| c.support).sum();
        let n = report.classes.len().max(1) as f64;
        let mean = |weight: &dyn Fn(&ClassMetrics) -> f64, den: f64| {
            let sum = |f: fn(&ClassMetrics) -> f64| {
                let s: f64 = report.classes.iter().map(|c| weight(c) * f(c)).sum();
                if den == 0.0 { 0.0 } else { s / den }
            };
            ClassMetrics {
                precision: sum(|c| c.precision),
                recall: sum(|c| c.recall),
                f1: sum(|c| c.f1),
                support: total,
            }
        };
        let macro_avg = mean(&|_| 1.0, n);
        let weighted_avg = mean(&|c| c.support as f64, total as f64);
        report.macro_avg = macro_avg;
        report.weighted_avg = weighted_avg;
        report
    }
}

/// The confusion matrix of `classes` classes from pairs of (true class, predicted class);
/// a pair naming a class past the last is left out.
pub fn confusion(pairs: impl IntoIterator<Item = (usize, usize)>, classes: usize) -> Vec<Vec<u64>> {
    let mut m = vec![vec![0u64; classes]; classes];
    for (t, p) in pairs {
        if let Some(c) = m.get_mut(t).and_then(|row| row.get_mut(p)) {
            *c += 1;
        }
    }
    m
}

/// The index of a row's largest value, the first of equals (0 for an empty row; a NaN is
/// never the largest).
pub fn argmax(row: &[f32]) -> usize {
    row.iter()
        .enumerate()
        .fold((0, f32::NEG_INFINITY), |best, (k, &v)| {
            if v > best.1 { (k, v) } else { best }
        })
        .0
}

#[cfg(test)]
mod tests {
    use super::{ClassMetrics, ClassReport, argmax, confusion};

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < 1e-12
    }

    /// y_true = [0, 0, 0, 1, 1, 2, 2, 2, 2, 2], y_pred = [0, 1, 0, 1, 1, 2, 1, 2, 0, 2].
    /// By hand, as `sklearn.metrics.classification_report(y_true, y_pred)` prints it:
    ///
    /// ```text
    ///               precision    recall  f1-score   support
    ///            0       0.67      0.67      0.67         3   (tp 2, fp 1, fn 1)
    ///            1       0.50      1.00      0.67         2   (tp 2, fp 2, fn 0)
    ///            2       1.00      0.60      0.75         5   (tp 3, fp 0, fn 2)
    ///     accuracy                           0.70        10
    ///    macro avg       0.72      0.76      0.69        10
    /// weighted avg       0.78      0.70      0.71        10
    /// ```
    ///
    /// macro precision (2/3 + 1/2 + 1)/3 = 13/18; macro recall (2/3 + 1 + 3/5)/3 = 34/45;
    /// macro F1 (2/3 + 2/3 + 3/4)/3 = 25/36; weighted precision (3·2/3 + 2·1/2 + 5·1)/10 =
    /// 8/10; weighted recall (2 + 2 + 3)/10 = 7/10; weighted F1 (2 + 4/3 + 15/4)/10 = 85/120.
    #[test]
    fn three_classes_match_scikit_learn() {
        let t = [0, 0, 0, 1, 1, 2, 2, 2, 2, 2];
        let p = [0, 1, 0, 1, 1, 2, 1, 2, 0, 2];
        let m = confusion(t.into_iter().zip(p), 3);
        assert_eq!(m, [vec![2, 1, 0], vec![0, 2, 0], vec![1, 1, 3]]);
        let r = ClassReport::from_confusion(&m);
        let want = [
            (2.0 / 3.0, 2.0 / 3.0, 2.0 / 3.0, 3),
            (0.5, 1.0, 2.0 / 3.0, 2),
            (1.0, 0.6, 0.75, 5),
        ];
        for (c, (p, r, f, s)) in r.classes.iter().zip(want) {
            assert!(
                close(c.precision, p) && close(c.recall, r) && close(c.f1, f),
                "{c:?}"
            );
            assert_eq!(c.support, s);
        }
        let (m, w) = (r.macro_avg, r.weighted_avg);
        assert!(close(m.precision, 13.0 / 18.0), "{m:?}");
        assert!(close(m.recall, 34.0 / 45.0), "{m:?}");
        assert!(close(m.f1, 25.0 / 36.0), "{m:?}");
        assert!(close(w.precision, 0.8), "{w:?}");
        assert!(close(w.recall, 0.7), "{w:?}");
        assert!(close(w.f1, 85.0 / 120.0), "{w:?}");
        assert_eq!((m.support, w.support), (10, 10));
        assert!(r.never_predicted.is_empty() && r.never_true.is_empty());
    }

    /// y_true = [0, 1, 2, 2], y_pred = [0, 0, 0, 2] with labels [0, 1, 2, 3]: class 1 is
    /// never predicted and class 3 neither predicted nor present. scikit-learn (with
    /// `zero_division="warn"`, which warns and counts 0) gives class 0: P 1/3, R 1, F1 1/2;
    /// class 1: 0, 0, 0; class 2: P 1, R 1/2, F1 2/3; class 3: 0, 0, 0, support 0; macro
    /// P (1/3 + 1)/4 = 1/3, R (1 + 1/2)/4 = 3/8, F1 (1/2 + 2/3)/4 = 7/24; weighted
    /// P (1/3 + 2)/4 = 7/12, R (1 + 1)/4 = 1/2, F1 (1/2 + 4/3)/4 = 11/24.
    #[test]
    fn classes_never_predicted_count_zero_and_are_flagged() {
        let m = confusion([(0, 0), (1, 0), (2, 0), (2, 2)], 4);
        let r = ClassReport::from_confusion(&m);
        assert_eq!(r.never_predicted, [1, 3]);
        assert_eq!(r.never_true, [3]);
        assert_eq!(r.classes[1], ClassMetrics::from_counts(0, 0, 1));
        assert_eq!(r.classes[1].precision, 0.0);
        assert_eq!(r.classes[3], ClassMetrics::default());
        assert!(close(r.classes[0].f1, 0.5) && close(r.classes[2].f1, 2.0 / 3.0));
        assert!(close(r.macro_avg.precision, 1.0 / 3.0), "{:?}", r.macro_avg);
        assert!(close(r.macro_avg.recall, 3.0 / 8.0));
        assert!(close(r.macro_avg.f1, 7.0 / 24.0));
        assert!(close(r.weighted_avg.precision, 7.0 / 12.0));
        assert!(close(r.weighted_avg.recall, 0.5));
        assert!(close(r.weighted_avg.f1, 11.0 / 24.0));
    }

    /// Two outputs of a multi-label network, as scikit-learn's report of a multilabel
    /// indicator matrix: output 0 with tp 3, fp 1, fn 0 (P 3/4, R 1, F1 6/7, support 3);
    /// output 1 with tp 1, fp 0, fn 1 (P 1, R 1/2, F1 2/3, support 2).
    #[test]
    fn independent_outputs_are_reported_one_by_one() {
        let r = ClassReport::from_counts([(3, 1, 0), (1, 0, 1)]);
        assert!(close(r.classes[0].f1, 6.0 / 7.0) && close(r.classes[1].recall, 0.5));
        assert!(close(r.macro_avg.precision, 7.0 / 8.0));
        assert!(close(r.weighted_avg.recall, (3.0 + 1.0) / 5.0));
        assert_eq!(r.weighted_avg.support, 5);
    }

    #[test]
    fn nothing_to_report_is_zeros_not_nan() {
        let r = ClassReport::from_confusion(&[vec![0, 0], vec![0, 0]]);
        assert_eq!(r.macro_avg, ClassMetrics::default());
        assert_eq!(r.weighted_avg, ClassMetrics::default());
        assert_eq!(r.never_predicted, [0, 1]);
        let empty = ClassReport::from_confusion(&[]);
        assert!(empty.classes.is_empty() && !empty.macro_avg.f1.is_nan());
    }

    #[test]
    fn argmax_takes_the_first_of_equals_and_skips_nan() {
        assert_eq!(argmax(&[1.0, 3.0, 3.0]), 1);
        assert_eq!(argmax(&[f32::NAN, 0.5]), 1);
        assert_eq!(argmax(&[]), 0);
        assert_eq!(confusion([(0, 5), (1, 1)], 2), [vec![0, 0], vec![0, 1]]);
    }
}
