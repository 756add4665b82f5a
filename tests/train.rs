//! The training loop: it learns, logs and checkpoints each epoch, is deterministic, resumes
//! exactly, stops early and on interrupt, and rejects data that does not fit.

use mlp_runtime::dataset::{Dataset, Targets};
use mlp_runtime::optim::{Optimizer, State};
use mlp_runtime::train::{self, Config, Schedule, Start, Stop};
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
    // The steps are part of the epoch's training time; the evaluation is timed apart.
    for r in &reports {
        assert!(0.0 < r.step_seconds && r.step_seconds <= r.seconds, "{r:?}");
        assert!(r.evaluation_seconds > 0.0, "{r:?}");
    }
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
    let mut resumed_opt = Adam::new(0.01);
    let (mut saved, training, _) =
        Classifier::resume_training(dir.join("c.safetensors"), &mut resumed_opt).unwrap();
    assert_eq!(
        (training.epoch, training.position, training.ranks),
        (2, 1, 1),
        "2 epochs completed and 1 step of the third"
    );
    assert_eq!(
        saved.params(),
        net.params(),
        "the parameters at the interrupt"
    );
    // Resumed at the next step, the run ends where an uninterrupted one does.
    let (rest, stop) = train::fit(
        &mut saved,
        &mut resumed_opt,
        &train,
        None,
        &config,
        Start::from(&training),
        |_| {},
    )
    .unwrap();
    assert_eq!((stop, rest.len()), (Stop::Finished, 8));
    let (mut whole, mut opt) = (Classifier::new(2), Adam::new(0.01));
    let quiet = Config {
        checkpoint: None,
        ..config
    };
    train::fit(&mut whole, &mut opt, &train, None, &quiet, 0, |_| {}).unwrap();
    assert_eq!(
        saved.params(),
        whole.params(),
        "resumed mid-epoch, the run differs"
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

/// A step schedule run long enough multiplies its rate below what an `f32` holds; the rate
/// stays at the floor, which every optimizer accepts, and the run finishes.
#[test]
fn a_long_step_schedule_never_reaches_a_refused_rate() {
    let _run = one_run();
    let step = Schedule::Step {
        every: 10,
        gamma: 0.1,
    };
    assert_eq!(step.rate(0.1, 460, 1000), Schedule::MIN_RATE);
    let cos = Schedule::Cosine { min_lr: 0.0 };
    assert!(cos.rate(1e-30, 999_999, 1_000_000) >= Schedule::MIN_RATE);
    let train = blobs(32, 3);
    let mut net = Classifier::new(0);
    let mut opt = Adam::new(0.01);
    let config = Config {
        schedule: Schedule::Step {
            every: 1,
            gamma: 0.1,
        },
        ..quiet(60)
    };
    let (reports, stop) = train::fit(&mut net, &mut opt, &train, None, &config, 0, |_| {}).unwrap();
    assert_eq!((stop, reports.len()), (Stop::Finished, 60));
    assert_eq!(reports[59].lr, Schedule::MIN_RATE);
    // Impossible numbers in a schedule are an error, not a panic.
    let bad = Config {
        schedule: Schedule::Step {
            every: 1,
            gamma: f32::NAN,
        },
        ..quiet(2)
    };
    let err = train::fit(&mut net, &mut opt, &train, None, &bad, 0, |_| {}).unwrap_err();
    assert!(err.to_string().contains("`gamma` in (0, 1]"), "{err}");
}

/// A learning rate far too large: the run stops at the first loss that is not finite, names
/// the epoch and step, and the checkpoint of the last good epoch stays as it was.
#[test]
fn a_diverging_run_stops_and_keeps_the_last_good_checkpoint() {
    let _run = one_run();
    let dir = scratch("diverge");
    let path = dir.join("c.safetensors");
    let data = Dataset {
        inputs: (0..256).map(|k| (k % 7) as f32 / 7.0).collect(),
        width: 2,
        targets: Targets::Values {
            values: (0..128).map(|k| (k % 5) as f32).collect(),
            width: 1,
        },
    };
    // Batches of 8: 16 steps an epoch, and the error grows 2000-fold a step at lr 1000.
    let config = Config {
        checkpoint: Some(path.clone()),
        batch: 8,
        ..quiet(2)
    };
    let mut net = Regressor::new(0);
    let mut opt = Sgd::new(0.01);
    train::fit(&mut net, &mut opt, &data, None, &config, 0, |_| {}).unwrap();
    let good = std::fs::read(&path).unwrap();

    let mut opt = Sgd::new(1000.0);
    let config = Config {
        epochs: 5,
        ..config
    };
    let err = train::fit(&mut net, &mut opt, &data, None, &config, 2, |_| {}).unwrap_err();
    let message = err.to_string();
    assert!(
        matches!(err, train::TrainError::Diverged { epoch: 3, .. }),
        "{message}"
    );
    assert!(
        message.contains("training diverged at epoch 3, step ")
            && message.contains("try a smaller learning rate"),
        "{message}"
    );
    assert_eq!(
        std::fs::read(&path).unwrap(),
        good,
        "the good checkpoint is kept"
    );
    assert_eq!(opt.lr(), 1000.0, "the rate is back at its initial value");
}

/// A validation loss that is not a number is no improvement: early stopping stops after
/// `patience` epochs, back at the parameters the run started from.
#[test]
fn early_stopping_counts_nan_as_no_improvement() {
    let _run = one_run();
    let train = blobs(64, 4);
    let nan = Dataset {
        inputs: vec![0.5; 8],
        width: 2,
        targets: Targets::Values {
            values: vec![f32::NAN; 4],
            width: 1,
        },
    };
    let mut train_values = train.clone();
    train_values.targets = Targets::Values {
        values: vec![0.5; train.len()],
        width: 1,
    };
    let mut net = Regressor::new(3);
    let start = net.params().to_vec();
    let config = Config {
        patience: Some(2),
        ..quiet(10)
    };
    let mut opt = Sgd::new(0.05);
    let (reports, stop) = train::fit(
        &mut net,
        &mut opt,
        &train_values,
        Some(&nan),
        &config,
        0,
        |_| {},
    )
    .unwrap();
    assert_eq!(
        (stop, reports.len()),
        (Stop::EarlyStopped { best_epoch: 0 }, 2)
    );
    assert_eq!(net.params(), start.as_slice());
}

#[test]
fn an_empty_training_set_is_an_error() {
    let _run = one_run();
    let empty = Dataset {
        inputs: Vec::new(),
        width: 2,
        targets: Targets::Labels(Vec::new()),
    };
    let err = train::fit(
        &mut Classifier::new(0),
        &mut Sgd::new(0.1),
        &empty,
        None,
        &quiet(1),
        0,
        |_| {},
    )
    .unwrap_err();
    assert!(
        err.to_string().contains("the training set is empty"),
        "{err}"
    );
}

/// Ctrl-C is watched only by a run that asks (`ctrl_c`), and only while it runs: in a child
/// process (this test binary, run again on this test alone), SIGINT during `fit` stops the
/// run; after `fit` returns, SIGINT ends the process as it did before. Without `ctrl_c`,
/// SIGINT during `fit` ends the process too.
#[cfg(unix)]
#[test]
fn ctrl_c_is_watched_only_while_a_run_asks() {
    use std::os::unix::process::ExitStatusExt;
    if let Some(mode) = std::env::var_os("MLP_CTRL_C_CHILD") {
        return ctrl_c_child(mode == "watch");
    }
    for (mode, says) in [("watch", "fit returned Interrupted"), ("ignore", "")] {
        let out = std::process::Command::new(std::env::current_exe().unwrap())
            .args([
                "ctrl_c_is_watched_only_while_a_run_asks",
                "--exact",
                "--nocapture",
            ])
            .args(["--test-threads=1"])
            .env("MLP_CTRL_C_CHILD", mode)
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert_eq!(
            out.status.signal(),
            Some(nix::libc::SIGINT),
            "{mode}: {stdout}"
        );
        assert!(stdout.contains(says), "{mode}: {stdout}");
        assert!(!stdout.contains("survived"), "{mode}: {stdout}");
    }
}

/// In the child: SIGINT at the end of epoch 2, then again after `fit` returned.
#[cfg(unix)]
fn ctrl_c_child(watch: bool) {
    use nix::sys::signal::{SigHandler, Signal, raise, signal};
    use std::io::Write;
    // SIGINT's default action, whatever this process inherited: a shell starts background
    // jobs with SIGINT ignored, which `fit` would then rightly restore.
    // SAFETY: installs the default action, no handler code; no other thread handles signals.
    unsafe { signal(Signal::SIGINT, SigHandler::SigDfl) }.unwrap();
    let train = blobs(320, 9);
    let config = Config {
        ctrl_c: watch,
        ..quiet(10)
    };
    let (mut net, mut opt) = (Classifier::new(2), Adam::new(0.01));
    let (_, stop) = train::fit(&mut net, &mut opt, &train, None, &config, 0, |r| {
        if r.epoch == 2 {
            raise(Signal::SIGINT).unwrap();
        }
    })
    .unwrap();
    println!("fit returned {stop:?}");
    std::io::stdout().flush().unwrap();
    raise(Signal::SIGINT).unwrap();
    println!("survived");
}
