//! `mlp`: check, explain, expand and graph network specs written in the mlp DSL, and compile,
//! train, evaluate and run a specialized trainer for one.
#![warn(missing_docs)]

mod html;
mod precheck;
mod stored;
mod trainer;

use clap::{Args, Parser, Subcommand};
use mlp_compiler::ir::notation::Style;
use std::path::PathBuf;
use std::process::ExitCode;

/// Compile one line of network DSL into a specialized trainer, and show what it derives.
#[derive(Parser)]
#[command(name = "mlp", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Validate a spec (and derive its gradients, within the compiler's limits) and print its
    /// layers, shapes, parameter count and FLOPs per sample.
    Check(SpecSource),
    /// Print the Rust code `mlp!` generates for a spec.
    Expand {
        #[command(flatten)]
        source: SpecSource,
        /// The struct's name.
        #[arg(long, default_value = "Net")]
        name: String,
    },
    /// Derive the backward pass and print the derivation: chain, Jacobians, rules, kernels.
    Explain {
        #[command(flatten)]
        source: SpecSource,
        /// Print LaTeX instead of plain text.
        #[arg(long)]
        latex: bool,
        /// Only this parameter's gradient, e.g. `W2` or `b1`.
        #[arg(long)]
        param: Option<String>,
        /// Show every rewrite of every step, before → after, with its rule and identity.
        #[arg(long)]
        steps: bool,
        /// Write one self-contained HTML page (mathematics rendered by KaTeX, the generated
        /// Rust beside each equation) to this file instead.
        #[arg(long, value_name = "FILE", conflicts_with_all = ["latex", "param"])]
        html: Option<PathBuf>,
    },
    /// Compile a specialized trainer for a spec (cached) and train it: `mlp train SPEC --data
    /// DIR|FILE.csv [--epochs N --lr X --optimizer adam ...]`; `mlp train SPEC -- --help` lists
    /// the trainer's options. `--ranks N` trains data-parallel on N processes started by
    /// OpenMPI's `mpirun` (the trainer built with MPI; `--batch` is then the global batch).
    Train(Run),
    /// Evaluate a checkpoint: `mlp eval [SPEC] --checkpoint FILE --data DIR|FILE.csv` (the
    /// spec is read from the checkpoint when not given).
    Eval(Use),
    /// Print a checkpoint's outputs for a CSV file of inputs:
    /// `mlp predict [SPEC] --checkpoint FILE --input FILE.csv` (the spec is read from the
    /// checkpoint when not given).
    Predict(Use),
    /// Print the network and its derived backward data flow as Graphviz DOT
    /// (`mlp graph SPEC | dot -Tsvg > net.svg`).
    Graph {
        #[command(flatten)]
        source: SpecSource,
        /// Write to this file instead of standard output.
        #[arg(long, short)]
        output: Option<PathBuf>,
    },
}

/// A spec and the options passed to its trainer.
#[derive(Args)]
struct Run {
    /// The spec, e.g. "784 -> relu 512 -> 10 : nll" (or `@FILE` to read it from a file).
    spec: String,
    /// Options for the trainer (everything after the spec).
    #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
    options: Vec<String>,
}

/// A checkpoint's trainer: an optional spec, then the options passed to the trainer.
#[derive(Args)]
struct Use {
    /// The spec (or `@FILE`), if given; else the one the checkpoint records. Then the
    /// trainer's options, `--checkpoint FILE` among them.
    #[arg(
        trailing_var_arg = true,
        allow_hyphen_values = true,
        value_name = "[SPEC] OPTIONS"
    )]
    args: Vec<String>,
}

impl Use {
    /// The spec and options to run: the spec given, else the one `--checkpoint` records; a
    /// spec given that is not the checkpoint's is an error naming both.
    fn resolve(&self) -> Result<Run, String> {
        let (given, options) = match self.args.split_first() {
            Some((first, rest)) if !first.starts_with('-') => (Some(first.clone()), rest),
            _ => (None, &self.args[..]),
        };
        let words: Vec<&str> = options.iter().map(String::as_str).collect();
        let checkpoint = precheck::option(&words, "--checkpoint").map(PathBuf::from);
        let recorded = match &checkpoint {
            Some(path) => stored::spec(path)?,
            None => None,
        };
        let spec = match (given, recorded) {
            (Some(given), Some(recorded)) => {
                let path = checkpoint.expect("the recorded spec came from it");
                check_same(&given, &recorded, &path)?;
                given
            }
            (Some(given), None) => given,
            (None, Some(recorded)) => recorded,
            (None, None) => {
                return Err(match checkpoint {
                    Some(path) => format!(
                        "{} records no spec (written by PyTorch?): give the spec before the options",
                        path.display()
                    ),
                    None => "give a spec, or --checkpoint FILE to read it from".to_string(),
                });
            }
        };
        Ok(Run {
            spec,
            options: options.to_vec(),
        })
    }
}

/// Checks that the spec `given` (text or `@FILE`) is the network `recorded` in `checkpoint`;
/// a spec that does not compile is left for the trainer command to report.
fn check_same(given: &str, recorded: &str, checkpoint: &std::path::Path) -> Result<(), String> {
    let text = match given.strip_prefix('@') {
        Some(file) => {
            std::fs::read_to_string(file).map_err(|e| format!("cannot read {file}: {e}"))?
        }
        None => given.to_string(),
    };
    let (Ok(given), Ok(recorded)) = (
        mlp_compiler::compile_spec(&text),
        mlp_compiler::compile_spec(recorded),
    ) else {
        return Ok(());
    };
    let (given, recorded) = (given.spec(), recorded.spec());
    if given == recorded {
        return Ok(());
    }
    Err(format!(
        "{} holds the network `{recorded}`, not `{given}`",
        checkpoint.display()
    ))
}

/// Where the spec comes from: the argument, or a file.
#[derive(Args)]
struct SpecSource {
    /// The spec: any `act` definitions, then one network, e.g. "784 -> relu 512 -> 10 : nll".
    #[arg(required_unless_present = "file", conflicts_with = "file")]
    spec: Option<String>,
    /// Read the spec from this file instead (`//` comments allowed).
    #[arg(long, short)]
    file: Option<PathBuf>,
}

impl SpecSource {
    /// The spec's text and the name to show in error messages.
    fn read(&self) -> Result<(String, String), String> {
        match (&self.spec, &self.file) {
            (Some(text), _) => Ok((text.clone(), "<spec>".to_owned())),
            (None, Some(path)) => std::fs::read_to_string(path)
                .map(|text| (text, path.display().to_string()))
                .map_err(|e| format!("cannot read {}: {e}", path.display())),
            (None, None) => Err("give a spec or --file".to_owned()),
        }
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Check(source) => check(&source),
        Command::Explain {
            source,
            steps,
            html: Some(file),
            ..
        } => explain_html(&source, steps, &file),
        Command::Explain {
            source,
            latex,
            param,
            steps,
            html: None,
        } => explain(&source, latex, param.as_deref(), steps),
        Command::Expand { source, name } => expand(&source, &name),
        Command::Graph { source, output } => graph(&source, output.as_deref()),
        Command::Train(run) => trainer_command("train", &run),
        Command::Eval(using) => match using.resolve() {
            Ok(run) => trainer_command("eval", &run),
            Err(e) => fail(&e),
        },
        Command::Predict(using) => match using.resolve() {
            Ok(run) => trainer_command("predict", &run),
            Err(e) => fail(&e),
        },
    }
}

fn fail(message: &str) -> ExitCode {
    eprintln!("error: {message}");
    ExitCode::FAILURE
}

/// Builds (or finds) the trainer for `run.spec` and runs its `command` with the options.
fn trainer_command(command: &str, run: &Run) -> ExitCode {
    let source = match run.spec.strip_prefix('@') {
        Some(file) => SpecSource {
            spec: None,
            file: Some(PathBuf::from(file)),
        },
        None => SpecSource {
            spec: Some(run.spec.clone()),
            file: None,
        },
    };
    let (text, origin) = match read(&source) {
        Ok(read) => read,
        Err(code) => return code,
    };
    // Derived here, not only in the trainer's build, so that a spec past a derivation limit
    // is refused under its text before any cargo runs.
    let compiled = match mlp_compiler::compile(&text) {
        Ok(compiled) => compiled,
        Err(diags) => {
            eprint!("{}", diags.render(&origin, &text));
            return ExitCode::FAILURE;
        }
    };
    let (ranks, options) = match ranks(command, &run.options) {
        Ok(split) => split,
        Err(e) => return fail(&e),
    };
    if command == "train"
        && let Err(e) = precheck::data_fits(&compiled.network, &compiled.network.spec(), &options)
    {
        return fail(&e);
    }
    let exe = match trainer::executable(&compiled.network.spec(), ranks.is_some()) {
        Ok(exe) => exe,
        Err(e) => return fail(&e),
    };
    let mut cmd = match ranks {
        // Each rank keeps every core it is given for its kernel threads: no binding to one.
        Some(n) => {
            let mut cmd = std::process::Command::new("mpirun");
            cmd.args(["-np", &n.to_string(), "--bind-to", "none"])
                .arg(&exe);
            cmd
        }
        None => std::process::Command::new(&exe),
    };
    match cmd.arg(command).args(options).status() {
        Ok(status) => trainer::exit_code(status),
        Err(e) if ranks.is_some() => fail(&format!(
            "cannot run mpirun: {e}; --ranks needs OpenMPI (Debian: openmpi-bin)"
        )),
        Err(e) => fail(&format!("cannot run {}: {e}", exe.display())),
    }
}

/// `--ranks N` (or `--ranks=N`) taken out of `train`'s options: the number of MPI processes,
/// and the options left for the trainer.
fn ranks<'a>(
    command: &str,
    options: &'a [String],
) -> Result<(Option<usize>, Vec<&'a str>), String> {
    let mut rest = Vec::new();
    let mut ranks = None;
    let mut it = options.iter();
    while let Some(o) = it.next() {
        let value = match o.strip_prefix("--ranks") {
            Some("") => it
                .next()
                .map(String::as_str)
                .ok_or("--ranks needs a number of processes")?,
            Some(v) if v.starts_with('=') => &v[1..],
            _ => {
                rest.push(o.as_str());
                continue;
            }
        };
        if command != "train" {
            return Err(format!(
                "--ranks is an option of `mlp train`, not of `mlp {command}`"
            ));
        }
        match value.parse::<usize>() {
            Ok(n) if n >= 1 => ranks = Some(n),
            _ => {
                return Err(format!(
                    "--ranks needs a number of processes (1 or more), found `{value}`"
                ));
            }
        }
    }
    Ok((ranks, rest))
}

fn graph(source: &SpecSource, output: Option<&std::path::Path>) -> ExitCode {
    let compiled = match derive(source) {
        Ok(c) => c,
        Err(code) => return code,
    };
    let text = mlp_compiler::emit::graph::graph(&compiled);
    match output {
        None => {
            print!("{text}");
            ExitCode::SUCCESS
        }
        Some(path) => match std::fs::write(path, text) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("error: cannot write {}: {e}", path.display());
                ExitCode::FAILURE
            }
        },
    }
}

/// The spec's text and the name to show, or the exit code after reporting why not.
fn read(source: &SpecSource) -> Result<(String, String), ExitCode> {
    source.read().map_err(|message| {
        eprintln!("error: {message}");
        ExitCode::FAILURE
    })
}

/// The spec read, validated and differentiated, or the exit code after reporting why not.
fn derive(source: &SpecSource) -> Result<mlp_compiler::Plan, ExitCode> {
    let (text, origin) = read(source)?;
    mlp_compiler::compile(&text).map_err(|diags| {
        eprint!("{}", diags.render(&origin, &text));
        ExitCode::FAILURE
    })
}

/// The generated code for `compiled`, formatted, as `mlp expand` prints it.
fn generated_code(
    compiled: &mlp_compiler::Plan,
    name: &proc_macro2::Ident,
) -> Result<String, String> {
    let tokens =
        mlp_compiler::emit::network_item(compiled, quote::quote!(), quote::quote!(pub), name)
            .map_err(|limit| limit.to_string())?;
    match syn::parse2::<syn::File>(tokens.clone()) {
        Ok(file) => Ok(prettyplease::unparse(&file)),
        Err(e) => Err(format!(
            "the generated code does not parse ({e}); the raw tokens:\n{tokens}"
        )),
    }
}

fn expand(source: &SpecSource, name: &str) -> ExitCode {
    let compiled = match derive(source) {
        Ok(c) => c,
        Err(code) => return code,
    };
    let Ok(name) = syn::parse_str::<proc_macro2::Ident>(name) else {
        eprintln!("error: `{name}` is not a Rust identifier");
        return ExitCode::FAILURE;
    };
    match generated_code(&compiled, &name) {
        Ok(code) => {
            print!("{code}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

fn explain(source: &SpecSource, latex: bool, param: Option<&str>, steps: bool) -> ExitCode {
    let compiled = match derive(source) {
        Ok(c) => c,
        Err(code) => return code,
    };
    let d = &compiled.derivation;
    let only = match param {
        None => None,
        Some(name) => match d.param(name) {
            Some(p) => Some(p),
            None => {
                let names: Vec<String> = d
                    .params
                    .iter()
                    .map(|p| format!("{}{}", p.param.letter, p.param.layer.unwrap_or(0)))
                    .collect();
                eprintln!(
                    "error: no parameter `{name}`; this network has {}",
                    names.join(", ")
                );
                return ExitCode::FAILURE;
            }
        },
    };
    let style = if latex { Style::Latex } else { Style::Text };
    if steps {
        print!("{}", d.with_rewrites(only, style));
    } else {
        print!("{}", d.render(only, style));
    }
    ExitCode::SUCCESS
}

/// `mlp explain SPEC --html FILE`: the page of [`html::page`].
fn explain_html(source: &SpecSource, steps: bool, file: &std::path::Path) -> ExitCode {
    let compiled = match derive(source) {
        Ok(c) => c,
        Err(code) => return code,
    };
    let name = proc_macro2::Ident::new("Net", proc_macro2::Span::call_site());
    let page =
        generated_code(&compiled, &name).and_then(|code| html::page(&compiled, steps, &code));
    let written = page.and_then(|page| {
        std::fs::write(file, page).map_err(|e| format!("cannot write {}: {e}", file.display()))
    });
    match written {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

fn check(source: &SpecSource) -> ExitCode {
    // Derived as well as validated, so that `check` refuses what `mlp!` would (a derivation
    // past the compiler's limits).
    match derive(source) {
        Ok(compiled) => {
            print!(
                "{}",
                mlp_compiler::model::summary::describe(&compiled.network)
            );
            let constant: Vec<String> = compiled
                .derived
                .program
                .params()
                .filter(|p| compiled.derived.is_zero(p.var))
                .map(|p| p.var.ascii())
                .collect();
            if !constant.is_empty() {
                let (gradient, it) = match constant.len() {
                    1 => ("its gradient is", "it"),
                    _ => ("their gradients are", "them"),
                };
                println!(
                    "note: the loss does not depend on {}: {gradient} identically zero, and training leaves {it} as initialized",
                    constant.join(", ")
                );
            }
            ExitCode::SUCCESS
        }
        Err(code) => code,
    }
}
