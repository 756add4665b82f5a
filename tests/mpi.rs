//! Data-parallel training on MPI (`--features mpi`; OpenMPI's `mpirun` on the PATH): each test
//! starts this test binary under `mpirun` (the ignored test `rank` is a rank), reads what every
//! rank wrote, and compares it with the same training in this one process.
#![cfg(feature = "mpi")]

use mlp_runtime::dataset::{Dataset, Targets};
use mlp_runtime::distributed::World;
use mlp_runtime::optim::Choice;
use mlp_runtime::train::replicas::{Replicas, shard};
use mlp_runtime::train::{Config, Model, Start, TargetsRef, fit_with};
use mlp_runtime::{Adam, Optimizer, Rng, Sgd};
use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

/// Counts the allocations of Rust code on each thread (MPI's own go to the C allocator,
/// uncounted). Per thread: a rank's steps run on its main thread (one kernel thread per rank),
/// while the watchdog thread's start may fall in any step.
struct Counting;

thread_local! {
    static ALLOCATIONS: Cell<usize> = const { Cell::new(0) };
}

fn count() {
    // `try_with`: a thread being torn down has no counter left.
    let _ = ALLOCATIONS.try_with(|n| n.set(n.get() + 1));
}

// SAFETY: forwards every call to the system allocator, only counting.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        count();
        // SAFETY: the caller's layout, as `GlobalAlloc::alloc` requires it.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` came from `System` with this layout (every allocation goes there).
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        count();
        // SAFETY: `ptr` came from `System` with this layout; the size is the caller's.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

mlp_runtime::mlp! {
    /// The network every rank trains.
    struct Net = 6 -> tanh 12 -> 3 : nll;
}

/// Global batch; 203 samples make 11 steps an epoch, the last of 3 samples, so that with 4
/// ranks one rank's shard of it is empty.
const BATCH: usize = 20;
const STEPS: u64 = 11;
const SAMPLES: usize = 203;

/// Samples whose class is the largest of three linear functions of the inputs.
fn data() -> Dataset {
    let mut rng = Rng::new(11);
    let inputs: Vec<f32> = (0..SAMPLES * 6).map(|_| rng.normal()).collect();
    let labels = inputs
        .chunks(6)
        .map(|x| {
            let score = |c: usize| {
                x.iter()
                    .enumerate()
                    .map(|(j, v)| v * ((j + c) % 3) as f32)
                    .sum::<f32>()
            };
            (0..3)
                .max_by(|&a, &b| score(a).total_cmp(&score(b)))
                .unwrap() as u32
        })
        .collect();
    Dataset {
        inputs,
        width: 6,
        targets: Targets::Labels(labels),
    }
}

fn optimizer(name: &str) -> Choice {
    match name {
        "adam" => Choice::Adam(Adam::new(0.01)),
        _ => Choice::Sgd(Sgd::new(0.2).momentum(0.9)),
    }
}

fn config(epochs: u64, checkpoint: Option<PathBuf>) -> Config {
    Config {
        epochs,
        batch: BATCH,
        seed: 5,
        checkpoint,
        progress: false,
        ..Config::default()
    }
}

/// Runs `ranks` ranks of the test `rank` with `vars`, killing them after `limit`.
fn mpirun(ranks: usize, vars: &[(&str, String)], limit: Duration) -> (Output, Duration) {
    let mut cmd = Command::new("mpirun");
    cmd.args([
        "-np",
        &ranks.to_string(),
        "--oversubscribe",
        "--bind-to",
        "none",
    ]);
    for (name, value) in vars {
        cmd.args(["-x", name]).env(name, value);
    }
    cmd.arg(std::env::current_exe().expect("the test binary"))
        .args([
            "--ignored",
            "--exact",
            "rank",
            "--nocapture",
            "--test-threads=1",
        ])
        .env("OMPI_ALLOW_RUN_AS_ROOT", "1")
        .env("OMPI_ALLOW_RUN_AS_ROOT_CONFIRM", "1")
        .env("OMPI_MCA_btl_vader_single_copy_mechanism", "none")
        .env("MLP_THREADS", "1")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let started = Instant::now();
    let mut child = cmd.spawn().expect("mpirun runs (OpenMPI's openmpi-bin)");
    while child.try_wait().expect("mpirun's status").is_none() {
        if started.elapsed() > limit {
            let _ = child.kill();
            panic!("mpirun ran longer than {limit:?}: a rank hangs");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let out = child.wait_with_output().expect("mpirun's output");
    (out, started.elapsed())
}

/// What a rank left: its parameters, or the error that ended its run.
fn results(dir: &Path, ranks: usize) -> Vec<Result<Vec<f32>, String>> {
    (0..ranks)
        .map(|r| {
            let text = std::fs::read_to_string(dir.join(format!("rank{r}")))
                .unwrap_or_else(|e| panic!("rank {r} left no result: {e}"));
            match text.strip_prefix("error: ") {
                Some(e) => Err(e.to_string()),
                None => Ok(text
                    .split_whitespace()
                    .map(|w| f32::from_bits(w.parse().unwrap()))
                    .collect()),
            }
        })
        .collect()
}

fn text(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr)
}

/// A scratch folder for one test.
fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("mlp-mpi-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Trains `ranks` ranks for `epochs` and returns every rank's parameters, all checked equal.
fn train_ranks(
    ranks: usize,
    epochs: u64,
    opt: &str,
    dir: &Path,
    extra: &[(&str, String)],
) -> Vec<f32> {
    let mut vars = vec![
        ("MLP_MPI_OUT", dir.display().to_string()),
        ("MLP_MPI_EPOCHS", epochs.to_string()),
        ("MLP_MPI_OPT", opt.to_string()),
    ];
    vars.extend(extra.iter().cloned());
    let (out, _) = mpirun(ranks, &vars, Duration::from_secs(120));
    assert!(out.status.success(), "mpirun failed:\n{}", text(&out));
    let got = results(dir, ranks);
    let first = got[0].clone().expect("rank 0 trained");
    for (r, params) in got.into_iter().enumerate() {
        let params = params.unwrap_or_else(|e| panic!("rank {r}: {e}"));
        assert!(
            params
                .iter()
                .zip(&first)
                .all(|(a, b)| a.to_bits() == b.to_bits()),
            "rank {r}'s parameters differ from rank 0's"
        );
    }
    first
}

/// The data-parallel steps of `ranks` ranks, emulated in this process: each shard's gradient
/// scaled by its share of the batch, the shards' sums added in rank order, one step.
fn emulated(ranks: usize, epochs: u64, opt: &str) -> Vec<f32> {
    let (train, mut net, mut opt) = (data(), Net::new(100), optimizer(opt));
    let labels = match &train.targets {
        Targets::Labels(l) => l.clone(),
        _ => unreachable!(),
    };
    let mut sum = vec![0.0f32; Net::PARAMS];
    let mut grad = vec![0.0f32; Net::PARAMS];
    for epoch in 0..epochs {
        for idx in train.order(5, epoch).chunks(BATCH) {
            for r in 0..ranks {
                let part = &idx[shard(idx.len(), r, ranks)];
                grad.fill(0.0);
                if !part.is_empty() {
                    let xs: Vec<f32> = part
                        .iter()
                        .flat_map(|&i| train.inputs[i * 6..][..6].to_vec())
                        .collect();
                    let ts: Vec<u32> = part.iter().map(|&i| labels[i]).collect();
                    Model::gradient(&net, &xs, TargetsRef::Labels(&ts), &mut grad);
                    let share = part.len() as f32 / idx.len() as f32;
                    if share != 1.0 {
                        grad.iter_mut().for_each(|g| *g *= share);
                    }
                }
                match r {
                    0 => sum.copy_from_slice(&grad),
                    _ => sum.iter_mut().zip(&grad).for_each(|(s, g)| *s += g),
                }
            }
            opt.step(net.params_mut(), &sum);
        }
    }
    net.params().to_vec()
}

/// The largest difference over the largest value.
fn relative(a: &[f32], b: &[f32]) -> f32 {
    let diff = a
        .iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f32::max);
    diff / b.iter().map(|y| y.abs()).fold(0.0, f32::max)
}

/// Checks that no rank's step allocated after the first epoch (each rank wrote its count).
fn no_step_allocated(dir: &Path, ranks: usize) {
    for r in 0..ranks {
        let allocating = std::fs::read_to_string(dir.join(format!("allocating{r}"))).unwrap();
        assert_eq!(
            allocating, "0",
            "rank {r}: steps after the first epoch that allocated"
        );
    }
}

/// Checks parameters after 5 epochs (55 steps) against one process with whole batches.
fn close_to_one_process(params: &[f32], opt: &str, what: &str) {
    let off = relative(params, &emulated(1, 5, opt));
    eprintln!(
        "{what} ({opt}) against one process with whole batches, after 55 steps: {off:.2e} relative"
    );
    assert!(off <= 1e-5, "{what}: {off:e} relative after 55 steps");
}

#[test]
fn two_ranks_equal_one_process_and_each_other() {
    let dir = scratch("two");
    // 5 epochs of 11 steps.
    let ranks2 = train_ranks(2, 5, "sgd", &dir, &[]);
    let shards = emulated(2, 5, "sgd");
    assert_eq!(
        ranks2.iter().map(|v| v.to_bits()).collect::<Vec<_>>(),
        shards.iter().map(|v| v.to_bits()).collect::<Vec<_>>(),
        "2 ranks differ from their steps emulated in one process"
    );
    no_step_allocated(&dir, 2);
    close_to_one_process(&ranks2, "sgd", "2 ranks");
}

#[test]
fn four_ranks_stay_identical_with_an_empty_shard() {
    let dir = scratch("four");
    let ranks4 = train_ranks(4, 5, "adam", &dir, &[]);
    no_step_allocated(&dir, 4);
    close_to_one_process(&ranks4, "adam", "4 ranks");
}

#[test]
fn a_resumed_run_equals_an_uninterrupted_one() {
    let dir = scratch("resume");
    let whole = train_ranks(2, 4, "adam", &dir, &[]);
    let checkpoint = dir.join("run.safetensors").display().to_string();
    train_ranks(
        2,
        2,
        "adam",
        &dir,
        &[("MLP_MPI_CHECKPOINT", checkpoint.clone())],
    );
    let resumed = train_ranks(2, 4, "adam", &dir, &[("MLP_MPI_RESUME", checkpoint)]);
    assert!(
        whole
            .iter()
            .zip(&resumed)
            .all(|(a, b)| a.to_bits() == b.to_bits()),
        "resumed after 2 of 4 epochs, the parameters differ"
    );
}

#[test]
fn a_run_interrupted_mid_epoch_resumes_exactly() {
    let dir = scratch("midway");
    let whole = train_ranks(2, 4, "adam", &dir, &[]);
    let checkpoint = dir.join("run.safetensors");
    let path = checkpoint.display().to_string();
    // Rank 1 is interrupted in step 16, the 5th of epoch 2: every rank stops after it.
    let stopped = train_ranks(
        2,
        4,
        "adam",
        &dir,
        &[
            ("MLP_MPI_CHECKPOINT", path.clone()),
            ("MLP_MPI_FAULT", "interrupt".into()),
        ],
    );
    assert_ne!(stopped, whole);
    let (_, training, _) = Net::resume_training(&checkpoint, &mut optimizer("adam")).unwrap();
    assert_eq!(
        (training.epoch, training.position, training.ranks),
        (1, 5, 2)
    );
    let resumed = train_ranks(2, 4, "adam", &dir, &[("MLP_MPI_RESUME", path)]);
    assert!(
        whole
            .iter()
            .zip(&resumed)
            .all(|(a, b)| a.to_bits() == b.to_bits()),
        "resumed at step 6 of epoch 2, the parameters differ"
    );
}

#[test]
fn ranks_that_disagree_stop_with_a_message() {
    let dir = scratch("skew");
    let vars = [
        ("MLP_MPI_OUT", dir.display().to_string()),
        ("MLP_MPI_EPOCHS", "3".to_string()),
        ("MLP_MPI_FAULT", "skew".to_string()),
    ];
    let (out, _) = mpirun(2, &vars, Duration::from_secs(120));
    assert!(out.status.success(), "{}", text(&out));
    for (r, got) in results(&dir, 2).into_iter().enumerate() {
        let e = got.expect_err("the run stops");
        assert!(
            e.contains("parameters diverged at step 11 (epoch 1)"),
            "rank {r}: {e}"
        );
    }
}

/// A rank that fails at step 5 ends the whole job within seconds, with a message.
fn fault_ends_the_job(fault: &str, expect: &str) {
    let dir = scratch(fault);
    let vars = [
        ("MLP_MPI_OUT", dir.display().to_string()),
        ("MLP_MPI_EPOCHS", "3".to_string()),
        ("MLP_MPI_FAULT", fault.to_string()),
        ("MLP_MPI_WATCHDOG", "2".to_string()),
    ];
    let (out, took) = mpirun(2, &vars, Duration::from_secs(60));
    let text = text(&out);
    assert!(!out.status.success(), "{fault}: mpirun succeeded:\n{text}");
    assert!(text.contains(expect), "{fault}: no `{expect}` in:\n{text}");
    eprintln!(
        "{fault}: mpirun ended in {:.1} s, {}",
        took.as_secs_f64(),
        out.status
    );
}

#[test]
fn a_panicking_rank_aborts_the_job() {
    fault_ends_the_job(
        "panic",
        "rank 1 of 2 panicked: ending every rank (MPI_Abort)",
    );
}

#[test]
fn a_rank_killed_by_a_signal_ends_the_job() {
    fault_ends_the_job("abort", "signal");
}

#[test]
fn a_stuck_rank_is_ended_by_the_watchdog() {
    fault_ends_the_job("hang", "step 5 has not finished after 2 s");
}

/// A rank with an injected fault on rank 1 (`MLP_MPI_FAULT`): at step 5 a panic, an abort
/// (SIGABRT) or a hang; an interrupt in step 16; or (`skew`) sums that differ on rank 1.
/// It also counts the steps after the first epoch that allocated (from one step's start to
/// the next one's, within an epoch).
struct Faulty<'a> {
    world: &'a World,
    fault: String,
    /// The last step begun and the allocation count then.
    last: Cell<Option<(u64, usize)>>,
    allocating: Cell<u64>,
}

impl Replicas for Faulty<'_> {
    fn rank(&self) -> usize {
        self.world.rank()
    }
    fn size(&self) -> usize {
        self.world.size()
    }
    fn sum(&self, send: &[f32], recv: &mut [f32]) {
        self.world.sum(send, recv);
        if self.fault == "skew" && self.rank() == 1 && send[0] != 0.0 {
            recv[0] += 1e-3;
        }
    }
    fn broadcast(&self, values: &mut [f32]) {
        self.world.broadcast(values)
    }
    fn broadcast_bytes(&self, bytes: &mut Vec<u8>) {
        self.world.broadcast_bytes(bytes)
    }
    fn min_max(&self, value: u64) -> (u64, u64) {
        self.world.min_max(value)
    }
    fn beat(&self, step: Option<u64>) {
        let now = ALLOCATIONS.with(Cell::get);
        if let (Some((k, then)), Some(s)) = (self.last.get(), step)
            && s == k + 1
            && k > STEPS
            && k % STEPS != 0
            && now != then
        {
            self.allocating.set(self.allocating.get() + 1);
        }
        self.last.set(step.map(|s| (s, now)));
        self.world.beat(step);
        if step == Some(5) && self.rank() == 1 {
            match self.fault.as_str() {
                "panic" => panic!("injected fault at step 5"),
                "abort" => std::process::abort(),
                "hang" => std::thread::sleep(Duration::from_secs(3600)),
                _ => {}
            }
        }
        if step == Some(16) && self.rank() == 1 && self.fault == "interrupt" {
            mlp_runtime::train::interrupt();
        }
    }
}

/// One rank of a run started by the tests above.
#[test]
#[ignore = "a rank of a run the other tests start under mpirun"]
fn rank() {
    let var = |name: &str| std::env::var(name).ok();
    let Some(out) = var("MLP_MPI_OUT") else {
        return;
    };
    let world = World::init().expect("MPI starts");
    if let Some(secs) = var("MLP_MPI_WATCHDOG") {
        world.set_watchdog(Duration::from_secs(secs.parse().unwrap()));
    }
    let epochs = var("MLP_MPI_EPOCHS").unwrap().parse().unwrap();
    let mut opt = optimizer(&var("MLP_MPI_OPT").unwrap_or_default());
    let (mut net, start) = match var("MLP_MPI_RESUME") {
        Some(path) => {
            let (net, training, _) = world
                .reopen::<Net>(Path::new(&path), &mut opt)
                .expect("resumes");
            (net, Start::from(&training))
        }
        // Every rank starts elsewhere: rank 0's parameters must reach the others.
        None => (Net::new(100 + world.rank() as u64), Start::default()),
    };
    let faulty = Faulty {
        world: &world,
        fault: var("MLP_MPI_FAULT").unwrap_or_default(),
        last: Cell::new(None),
        allocating: Cell::new(0),
    };
    let train = data();
    let config = config(epochs, var("MLP_MPI_CHECKPOINT").map(PathBuf::from));
    let result = fit_with(
        &faulty,
        &mut net,
        &mut opt,
        &train,
        None,
        &config,
        start,
        |_| {},
    );
    let text = match result {
        Ok(_) => net
            .params()
            .iter()
            .map(|v| v.to_bits().to_string())
            .collect::<Vec<_>>()
            .join(" "),
        Err(e) => format!("error: {e}"),
    };
    let out = Path::new(&out);
    std::fs::write(out.join(format!("rank{}", world.rank())), text).unwrap();
    let allocating = faulty.allocating.get().to_string();
    std::fs::write(out.join(format!("allocating{}", world.rank())), allocating).unwrap();
}
