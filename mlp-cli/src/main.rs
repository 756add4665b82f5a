//! `mlp`: check, explain and expand network specs written in the mlp DSL.

use clap::{Args, Parser, Subcommand};
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
    /// Validate a spec and print its layers, shapes, parameter count and FLOPs per sample.
    Check(SpecSource),
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
    }
}

fn check(source: &SpecSource) -> ExitCode {
    let (text, origin) = match source.read() {
        Ok(read) => read,
        Err(message) => {
            eprintln!("error: {message}");
            return ExitCode::FAILURE;
        }
    };
    match mlp_compiler::compile_spec(&text) {
        Ok(net) => {
            print!("{}", mlp_compiler::summary::describe(&net));
            ExitCode::SUCCESS
        }
        Err(diags) => {
            eprint!("{}", diags.render(&origin, &text));
            ExitCode::FAILURE
        }
    }
}
