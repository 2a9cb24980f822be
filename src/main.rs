//! `flytectx`: conformance verdicts for ports of flytekit's context stack.

use clap::{Parser, Subcommand, ValueEnum};
use flytectx_conformance::conform::{conform, new_report, CorpusSource, Plan};
use flytectx_conformance::corpus;
use flytectx_conformance::error::UsageError;
use flytectx_conformance::impl_port::ImplPort;
use flytectx_conformance::port::Port;
use flytectx_conformance::process::ProcessPort;
use flytectx_conformance::report::{render, PortFailureReport, Report, Verdict};
use flytectx_model::serve::ServeOptions;
use flytectx_model::{Claim, FeatureSet, Profile, Release};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

#[derive(Parser)]
#[command(
    name = "flytectx",
    version,
    about = "Conformance of ports of flytekit's FlyteContextManager to its executable specification"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Clone, Copy, ValueEnum)]
enum ProfileArg {
    Compat,
    Isolated,
}

impl From<ProfileArg> for Profile {
    fn from(p: ProfileArg) -> Profile {
        match p {
            ProfileArg::Compat => Profile::Compat,
            ProfileArg::Isolated => Profile::Isolated,
        }
    }
}

#[derive(Subcommand)]
enum Command {
    /// Check a port against the model: the golden corpus, then random traces.
    /// Exit 0: no divergence; 1: a divergence (shrunk and printed); 2: usage
    /// error, invalid trace, or a port that failed the protocol.
    Conform {
        /// Shell command starting an external port (spec.md section 14).
        /// Without it, the built-in implementation (the `flytectx` crate) is checked.
        #[arg(long)]
        port: Option<String>,
        #[arg(long, value_enum, default_value = "isolated")]
        profile: ProfileArg,
        /// How many random traces to run.
        #[arg(long, default_value_t = 2000)]
        traces: u32,
        /// Seed of the random traces; printed in the report so a run can be repeated.
        #[arg(long)]
        seed: Option<u64>,
        /// Most moves in one random trace.
        #[arg(long, default_value_t = 40)]
        max_len: usize,
        /// Directory of golden traces (`*.jsonl`); without it, the corpus
        /// built into this binary (the repository's conformance/corpus/).
        #[arg(long)]
        corpus: Option<PathBuf>,
        /// Skip the corpus.
        #[arg(long)]
        no_corpus: bool,
        /// Print the report as JSON on standard output
        /// (conformance/report.schema.json describes it).
        #[arg(long)]
        json: bool,
        /// Also write the report as JUnit XML to this file.
        #[arg(long)]
        junit: Option<PathBuf>,
        /// Per-operation time limit for an external port, in milliseconds.
        #[arg(long, default_value_t = 10_000)]
        op_timeout_ms: u64,
        /// How long an external port may take to start and answer its
        /// hello, in milliseconds; the per-operation limit when not given.
        #[arg(long)]
        hello_timeout_ms: Option<u64>,
        /// Most candidate runs spent shrinking a divergence.
        #[arg(long, default_value_t = 5_000)]
        shrink_budget: u32,
        /// Check no more than these features (comma-separated, e.g.
        /// `stack,with`); the port's own declaration narrows them further.
        #[arg(long, value_parser = FeatureSet::parse_list)]
        features: Option<FeatureSet>,
    },
    /// Print random traces with the model's expected answers, as corpus files
    /// (one after another), for replaying elsewhere.
    Generate {
        #[arg(long, value_enum, default_value = "isolated")]
        profile: ProfileArg,
        #[arg(long, default_value_t = 1)]
        count: u32,
        #[arg(long, default_value_t = 0)]
        seed: u64,
        #[arg(long, default_value_t = 40)]
        max_len: usize,
    },
    /// Fill in the `expect` fields of corpus files from the model.
    Bless { files: Vec<PathBuf> },
    /// For every clause of spec.md: its model rule, tests, corpus traces, and
    /// whether the flytekit run covers it. With --check, exit 1 on any gap.
    Coverage {
        #[arg(long)]
        check: bool,
        #[arg(long)]
        json: bool,
    },
    /// Serve the model as an external port on stdin/stdout (the reference port).
    ServeModel {
        /// Declare and implement only these features (comma-separated); the
        /// others are answered `unsupported`.
        #[arg(long, value_parser = FeatureSet::parse_list)]
        features: Option<FeatureSet>,
        /// Follow this flytekit release, and declare it.
        #[arg(long, value_parser = parse_release)]
        release: Option<Release>,
        /// The newest protocol version to answer in (1: no features, no release).
        #[arg(long, default_value_t = flytectx_model::protocol::NEWEST_VERSION,
              value_parser = clap::value_parser!(u64).range(1..=2))]
        protocol_version: u64,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Conform {
            port,
            profile,
            traces,
            seed,
            max_len,
            corpus,
            no_corpus,
            json,
            junit,
            op_timeout_ms,
            hello_timeout_ms,
            shrink_budget,
            features,
        } => {
            let profile: Profile = profile.into();
            let pinned = seed.is_some();
            let seed = seed.unwrap_or_else(|| {
                std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map(|d| d.as_nanos() as u64)
                    .unwrap_or(0)
            });
            let plan = Plan {
                profile,
                corpus: (!no_corpus)
                    .then(|| corpus.map_or(CorpusSource::BuiltIn, CorpusSource::Dir)),
                traces,
                seed,
                max_len,
                shrink_budget,
                features,
            };
            let mut port: Box<dyn Port> = match &port {
                Some(cmd) => {
                    let timeout = Duration::from_millis(op_timeout_ms);
                    let hello = Duration::from_millis(hello_timeout_ms.unwrap_or(op_timeout_ms));
                    match ProcessPort::spawn(cmd, profile, timeout, hello) {
                        Ok(p) => Box::new(p),
                        Err(f) => {
                            let output = Output { json, junit };
                            return finish_failure_at_start(cmd, &plan, f, &output);
                        }
                    }
                }
                // [PROF-2]: the implementation is the isolated profile.
                None if profile == Profile::Isolated => Box::new(ImplPort::new()),
                None => {
                    return usage(UsageError::Other(
                        "the built-in implementation implements the isolated profile only; \
                         give --port for another port, or --profile isolated"
                            .to_string(),
                    ))
                }
            };
            let mut progress = |s: &str| eprintln!("flytectx conform: {s}");
            let replay = replay_command(seed);
            if !pinned {
                eprintln!("flytectx conform: seed {seed}; to run the same traces again: {replay}");
            }
            match conform(port.as_mut(), &plan, &mut progress) {
                Ok(mut report) => {
                    report.replay = Some(replay);
                    Output { json, junit }.emit(&report)
                }
                Err(e) => usage(e),
            }
        }
        Command::Generate {
            profile,
            count,
            seed,
            max_len,
        } => {
            let profile: Profile = profile.into();
            for (i, ops) in flytectx_conformance::generate::sample(profile, seed, max_len, count)
                .into_iter()
                .enumerate()
            {
                let exp = flytectx_conformance::run::expect(profile, &ops)
                    .expect("generated traces are valid");
                let answers: Vec<_> = exp.answers[1..].iter().map(|a| a.to_value()).collect();
                let clauses = flytectx_conformance::generate::clauses_of(&exp.wire[1..]);
                print!(
                    "{}",
                    corpus::render_file(
                        &format!("random trace {i} of seed {seed}"),
                        &[profile],
                        &clauses,
                        &exp.wire[1..],
                        &answers
                    )
                );
            }
            ExitCode::SUCCESS
        }
        Command::Bless { files } => {
            for f in &files {
                match corpus::bless(f) {
                    Ok(n) => eprintln!("{}: {n} operations blessed", f.display()),
                    Err(e) => return usage(e),
                }
            }
            ExitCode::SUCCESS
        }
        Command::Coverage { check, json } => {
            let rows = match flytectx_conformance::coverage::coverage(std::path::Path::new(".")) {
                Ok(r) => r,
                Err(e) => return usage(UsageError::Other(format!("reading the repository: {e}"))),
            };
            if json {
                println!(
                    "{}",
                    serde_json::to_string_pretty(&rows).expect("rows serialize")
                );
            } else {
                print!("{}", flytectx_conformance::coverage::render(&rows));
            }
            let gaps: Vec<_> = rows.iter().filter(|r| !r.gaps().is_empty()).collect();
            if check && !gaps.is_empty() {
                for g in gaps {
                    eprintln!("flytectx coverage: {}: {}", g.id, g.gaps().join("; "));
                }
                return ExitCode::from(1);
            }
            ExitCode::SUCCESS
        }
        Command::ServeModel {
            features,
            release,
            protocol_version,
        } => {
            let options = ServeOptions {
                version: protocol_version,
                features: features
                    .unwrap_or(FeatureSet::ALL)
                    .union(FeatureSet::only(flytectx_model::Feature::Stack)),
                release: release.unwrap_or(Release::REFERENCE),
            };
            let stdin = std::io::stdin();
            match flytectx_model::serve::serve(
                stdin.lock(),
                std::io::stdout().lock(),
                std::io::stderr(),
                &options,
            ) {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => {
                    eprintln!("flytectx serve-model: {e}");
                    ExitCode::from(2)
                }
            }
        }
    }
}

fn usage(e: UsageError) -> ExitCode {
    eprintln!("flytectx: {e}");
    ExitCode::from(2)
}

/// This command line, with `--seed` pinned: it runs the same traces again.
fn replay_command(seed: u64) -> String {
    let quote = |a: &str| {
        let plain = !a.is_empty()
            && a.chars()
                .all(|c| c.is_ascii_alphanumeric() || "-_./=:,@%+".contains(c));
        if plain {
            a.to_string()
        } else {
            format!("'{}'", a.replace('\'', "'\\''"))
        }
    };
    let mut args: Vec<String> = vec!["flytectx".into()];
    args.extend(std::env::args().skip(1).map(|a| quote(&a)));
    if !args
        .iter()
        .any(|a| a == "--seed" || a.starts_with("--seed="))
    {
        args.push(format!("--seed {seed}"));
    }
    args.join(" ")
}

fn parse_release(s: &str) -> Result<Release, String> {
    Release::parse(s).ok_or_else(|| format!("`{s}` is not a flytekit release such as 1.10.7"))
}

/// A port that fails its hello still gets a report ([PROTO-4]).
fn finish_failure_at_start(
    cmd: &str,
    plan: &Plan,
    f: flytectx_conformance::port::PortFailure,
    output: &Output,
) -> ExitCode {
    use flytectx_conformance::port::Declaration;
    let declared = Declaration {
        features: FeatureSet::EMPTY,
        ..Declaration::default()
    };
    let claim = Claim::new(plan.profile.into(), FeatureSet::EMPTY);
    let mut report = new_report(cmd.to_string(), plan, &declared, &claim);
    report.random.counts.not_run = plan.traces;
    report.verdict = Verdict::PortFailure;
    report.port_failure = Some(PortFailureReport {
        failure: f,
        during: "start-up (hello)".to_string(),
        trace: Vec::new(),
    });
    output.emit(&report)
}

/// Where the report goes: text or JSON on standard output, and JUnit XML.
struct Output {
    json: bool,
    junit: Option<PathBuf>,
}

impl Output {
    /// Write the report; the exit status is the verdict's, or 2 when the
    /// JUnit file cannot be written.
    fn emit(&self, report: &Report) -> ExitCode {
        if self.json {
            println!(
                "{}",
                serde_json::to_string_pretty(report).expect("reports serialize")
            );
        } else {
            print!("{}", render(report));
        }
        if let Some(path) = &self.junit {
            let written = flytectx_conformance::junit::render(report)
                .map_err(|e| e.to_string())
                .and_then(|xml| std::fs::write(path, xml).map_err(|e| e.to_string()));
            if let Err(e) = written {
                eprintln!("flytectx: writing {}: {e}", path.display());
                return ExitCode::from(2);
            }
        }
        ExitCode::from(report.verdict.exit_code() as u8)
    }
}
