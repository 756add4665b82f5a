//! The training loop: it learns, logs and checkpoints each epoch, is deterministic, resumes
//! exactly, stops early and on interrupt, and rejects data that does not fit.

use mlp_runtime::dataset::{Dataset, Targets};
use mlp_runtime::optim::{Optimizer, State};
use mlp_runtime::train::{self, Config, Schedule, Stop};
use mlp_runtime::{Adam, Sgd};
use std::path::PathBuf;

mlp_runtime::mlp! {
    /// A classifier.
    pub struct Classifier = 2 -> tanh 16 -> 3 : nll;
    /// A regressor.
    pub struct Regressor = 2 -> tanh 8 -> 1 : mse;
}

/// Three classes by angle around the origin, `n` points.
fn blobs(n: usize, seed: u32) -> Dataset {
    let mut inputs = Vec::new();
    let mut labels = Vec::new();
    for k in 0..n as u32 {
        let h = k.wrapping_mul(2654435761).wrapping_add(seed);
        let class = h % 3;
        let angle = class as f32 * 2.1 + ((h >> 8) % 100) as f32 / 200.0;
        let r = 1.0 + ((h >> 16) % 100) as f32 / 100.0;
        inputs.extend([r * angle.cos(), r * angle.sin()]);
        labels.push(class);
    }
    Dataset {
        inputs,
        width: 2,
        targets: Targets::Labels(labels),
    }
}

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("mlp-train-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Held by every test that trains: an interrupt is process-wide (as Ctrl-C is), so the test
/// that interrupts must not run beside another run.
static ONE_RUN: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn one_run() -> std::sync::MutexGuard<'static, ()> {
    ONE_RUN.lock().unwrap_or_else(|e| e.into_inner())
}

fn quiet(epochs: u64) -> Config {
    Config {
        epochs,
        batch: 32,
        progress: false,
        ..Config::default()
    }
}

#[test]
fn it_learns_logs_and_checkpoints() {
    let _run = one_run();
    let dir = scratch("learn");
    let (train, val) = (blobs(600, 1), blobs(200, 2));
    let mut net = Classifier::new(0);
    let mut opt = Adam::new(0.01);
    let config = Config {
        log: Some(dir.join("log.csv")),
        checkpoint: Some(dir.join("ckpt.safetensors")),
        ..quiet(6)
    };
    let mut seen = 0;
    let (reports, stop) = train::fit(&mut net, &mut opt, &train, Some(&val), &config, 0, |_| {
        seen += 1
    })
    .unwrap();
    assert_eq!((stop, seen, reports.len()), (Stop::Finished, 6, 6));
    let first = reports[0].validation.as_ref().unwrap();
    let last = reports[5].validation.as_ref().unwrap();
    assert!(
        last.loss < first.loss * 0.8,
        "{} → {}",
        first.loss,
        last.loss
    );
    assert!(last.accuracy.unwrap() > 0.9, "accuracy {:?}", last.accuracy);
    let confusion = last.confusion.as_ref().unwrap();
    assert_eq!(confusion.iter().flatten().sum::<u64>(), 200);
    let diagonal: u64 = (0..3).map(|k| confusion[k][k]).sum();
    assert_eq!(diagonal as f32 / 200.0, last.accuracy.unwrap());

    let log = std::fs::read_to_string(dir.join("log.csv")).unwrap();
    let lines: Vec<&str> = log.lines().collect();
    assert_eq!(
        lines[0],
        "epoch,lr,train_loss,validation_loss,validation_accuracy,seconds"
    );
    assert_eq!(lines.len(), 7);
    assert!(lines[6].starts_with("6,0.01,"), "{}", lines[6]);
    let (restored, epoch) =
        Classifier::resume(dir.join("ckpt.safetensors"), &mut Adam::new(0.01)).unwrap();
    assert_eq!((restored.params(), epoch), (net.params(), 6));
}

fn config(dir: &std::path::Path) -> Config {
    Config {
        schedule: Schedule::Cosine { min_lr: 0.001 },
        checkpoint: Some(dir.join("every-epoch.safetensors")),
        ..quiet(5)
    }
}

/// Two runs with one seed give the same bits; and a run that crashes after epoch 2 (the
/// checkpoint of that epoch copied aside, as a crash would leave it) resumes from it to the
/// same parameters as the uninterrupted run.
#[test]
fn runs_are_deterministic_and_resume_exactly() {
    let _run = one_run();
    let dir = scratch("resume");
    let train = blobs(300, 5);
    let run = |after: &mut dyn FnMut(u64)| {
        let (mut net, mut opt) = (Classifier::new(4), Adam::new(0.02));
        train::fit(&mut net, &mut opt, &train, None, &config(&dir), 0, |r| {
            after(r.epoch)
        })
        .unwrap();
        net
    };
    let crash = dir.join("after-epoch-2.safetensors");
    let whole = run(&mut |epoch| {
        if epoch == 2 {
            std::fs::copy(dir.join("every-epoch.safetensors"), &crash).unwrap();
        }
    });
    assert_eq!(run(&mut |_| {}).params(), whole.params(), "deterministic");

    let mut opt = Adam::new(0.02);
    let (mut net, epoch) = Classifier::resume(&crash, &mut opt).unwrap();
    assert_eq!(epoch, 2);
    let (reports, _) = train::fit(
        &mut net,
        &mut opt,
        &train,
        None,
        &config(&dir),
        epoch,
        |_| {},
    )
    .unwrap();
    assert_eq!(
        reports.iter().map(|r| r.epoch).collect::<Vec<_>>(),
        [3, 4, 5]
    );
    assert_eq!(net.params(), whole.params(), "bit for bit");
}

/// An optimizer that descends for `good` steps, then climbs.
struct Sabotage {
    inner: Sgd,
    good: u64,
    steps: u64,
}

impl Optimizer for Sabotage {
    fn step(&mut self, params: &mut [f32], grad: &[f32]) {
        self.steps += 1;
        if self.steps <= self.good {
            self.inner.step(params, grad);
        } else {
            let up: Vec<f32> = grad.iter().map(|g| -g).collect();
            self.inner.step(params, &up);
        }
    }
    fn lr(&self) -> f32 {
        self.inner.lr()
    }
    fn set_lr(&mut self, lr: f32) {
        self.inner.set_lr(lr)
    }
    fn state(&self) -> State {
        self.inner.state()
    }
}

#[test]
fn early_stopping_restores_the_best_epoch() {
    let _run = one_run();
    let (train, val) = (blobs(320, 7), blobs(100, 8));
    let mut net = Classifier::new(1);
    // 10 steps per epoch: three good epochs, then uphill.
    let mut opt = Sabotage {
        inner: Sgd::new(0.2),
        good: 30,
        steps: 0,
    };
    let config = Config {
        patience: Some(2),
        ..quiet(20)
    };
    let (reports, stop) =
        train::fit(&mut net, &mut opt, &train, Some(&val), &config, 0, |_| {}).unwrap();
    let losses: Vec<f32> = reports
        .iter()
        .map(|r| r.validation.as_ref().unwrap().loss)
        .collect();
    let best = losses.iter().enumerate().fold(
        (0, f32::MAX),
        |b, (k, l)| if *l < b.1 { (k, *l) } else { b },
    );
    assert_eq!(
        stop,
        Stop::EarlyStopped {
            best_epoch: best.0 as u64 + 1
        },
        "{losses:?}"
    );
    assert_eq!(
        reports.len(),
        best.0 + 3,
        "stops after `patience` epochs without improvement"
    );
    // The parameters are back at the best epoch's: their validation loss is the best.
    let now = train::evaluate(&net, &val, 100).unwrap().loss;
    assert_eq!(now, best.1);
}

#[test]
fn an_interrupt_stops_after_a_step_and_checkpoints() {
    let _run = one_run();
    let dir = scratch("interrupt");
    let train = blobs(320, 9);
    let mut net = Classifier::new(2);
    let mut opt = Adam::new(0.01);
    let config = Config {
        checkpoint: Some(dir.join("c.safetensors")),
        ..quiet(10)
    };
    let (reports, stop) = train::fit(&mut net, &mut opt, &train, None, &config, 0, |r| {
        if r.epoch == 2 {
            train::interrupt();
        }
    })
    .unwrap();
    assert_eq!((stop, reports.len()), (Stop::Interrupted, 2));
    let (saved, epoch) =
        Classifier::resume(dir.join("c.safetensors"), &mut Adam::new(0.01)).unwrap();
    assert_eq!(epoch, 2, "the completed epochs");
    assert_eq!(
        saved.params(),
        net.params(),
        "the parameters at the interrupt"
    );
}

#[test]
fn schedules_follow_pytorch() {
    let step = Schedule::Step {
        every: 2,
        gamma: 0.5,
    };
    let rates: Vec<f32> = (0..5).map(|e| step.rate(0.1, e, 5)).collect();
    assert_eq!(rates, [0.1, 0.1, 0.05, 0.05, 0.025]);
    let cos = Schedule::Cosine { min_lr: 0.0 };
    assert_eq!(cos.rate(0.1, 0, 4), 0.1);
    assert!((cos.rate(0.1, 2, 4) - 0.05).abs() < 1e-7);
    assert!(cos.rate(0.1, 3, 4) < 0.02);
}

#[test]
fn data_that_does_not_fit_is_rejected() {
    let _run = one_run();
    let mut net = Classifier::new(0);
    let mut opt = Sgd::new(0.1);
    let wide = Dataset {
        inputs: vec![0.0; 6],
        width: 3,
        targets: Targets::Labels(vec![0, 1]),
    };
    let err = train::fit(&mut net, &mut opt, &wide, None, &quiet(1), 0, |_| {}).unwrap_err();
    assert!(
        err.to_string()
            .contains("the training samples have 3 values, the network takes 2"),
        "{err}"
    );
    let bad = Dataset {
        inputs: vec![0.0; 4],
        width: 2,
        targets: Targets::Labels(vec![0, 3]),
    };
    let err = train::fit(&mut net, &mut opt, &bad, None, &quiet(1), 0, |_| {}).unwrap_err();
    assert!(
        err.to_string()
            .contains("training sample 1 has label 3, the network has 3 classes"),
        "{err}"
    );
    let values = Dataset {
        inputs: vec![0.0; 4],
        width: 2,
        targets: Targets::Values {
            values: vec![0.0; 2],
            width: 1,
        },
    };
    let err = train::fit(&mut net, &mut opt, &values, None, &quiet(1), 0, |_| {}).unwrap_err();
    assert!(err.to_string().contains("trains on class labels"), "{err}");
    // A regressor trains on values.
    let mut reg = Regressor::new(0);
    let (reports, _) = train::fit(&mut reg, &mut opt, &values, None, &quiet(2), 0, |_| {}).unwrap();
    assert_eq!(reports.len(), 2);
}
