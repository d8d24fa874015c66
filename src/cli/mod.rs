//! The command line: arguments → project → subcommand, and the exit-code
//! discipline: 0 success or clean, 1 drift found, 2 any error. Errors print as
//! `error: …` with their cause chain and a `help:` line where a fix is known.
//!
//! This module holds the arguments, the output macros and the dispatch; the longer
//! subcommands are in `init`, `generate`, `secrets` and `validate`, the printing of file
//! states in `report`.

use std::io::{IsTerminal as _, Write as _};
use std::path::PathBuf;
use std::process::ExitCode;

use anstyle::{AnsiColor, Style};
use anyhow::{Context as _, Result};
use clap::{CommandFactory as _, Parser, Subcommand, ValueEnum};

use crate::diag::Diagnostics;
use crate::project::{self, Project, State};
use generate::{generate, run_pipeline};
use init::init;
use report::{print_human, write_diff};
use secrets::secrets;
use validate::validate;

/// `println!` that returns an error instead of panicking when stdout is closed
/// (`obsgen templates list | head`).
macro_rules! outln {
    () => {
        writeln!(std::io::stdout())?
    };
    ($($t:tt)*) => {
        writeln!(std::io::stdout(), $($t)*)?
    };
}

/// `print!` that returns an error instead of panicking.
macro_rules! out {
    ($($t:tt)*) => {
        write!(std::io::stdout(), $($t)*)?
    };
}

/// `eprintln!` that never panics: a closed stderr (`obsgen … 2>&1 | head`) loses the
/// message but not the exit code.
macro_rules! errln {
    ($($t:tt)*) => {
        let _ = writeln!(std::io::stderr(), $($t)*);
    };
}

/// `eprint!` that never panics.
macro_rules! err {
    ($($t:tt)*) => {
        let _ = write!(std::io::stderr(), $($t)*);
    };
}

mod generate;
mod init;
mod report;
mod secrets;
mod validate;

#[derive(Debug, Parser)]
#[command(
    name = "obsgen",
    version,
    about = "Turn obsgen.toml into a verified observability and delivery stack"
)]
pub struct Cli {
    /// Manifest to use (default: obsgen.toml in the current folder or a parent).
    #[arg(long, global = true, value_name = "PATH")]
    pub manifest: Option<PathBuf>,
    /// Run as if started in DIR.
    #[arg(short = 'C', global = true, value_name = "DIR")]
    pub dir: Option<PathBuf>,
    /// When to use colours (NO_COLOR is respected under `auto`).
    #[arg(long, global = true, value_enum, default_value_t = ColorChoice::Auto)]
    pub color: ColorChoice,
    /// Lay the templates in DIR over the embedded ones, file by file.
    #[arg(long, global = true, value_name = "DIR")]
    pub templates: Option<PathBuf>,
    /// Print nothing but errors (the exit code tells the rest).
    #[arg(short, long, global = true, conflicts_with = "verbose")]
    pub quiet: bool,
    /// Print each file written (`check`: every file, not only those that drifted) and the
    /// time each stage took.
    #[arg(short, long, global = true)]
    pub verbose: bool,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ColorChoice {
    Auto,
    Always,
    Never,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    Human,
    Json,
    Github,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Write a commented obsgen.toml: a wizard on a terminal, proposing what it finds in
    /// the folder; no prompts with --defaults, without a terminal or under CI.
    /// `OBSGEN_<KEY>` variables answer too (`OBSGEN_PROJECT_NAME=shop`);
    /// precedence: --set > OBSGEN_* > --answers > what the folder holds > defaults.
    Init {
        /// Use the default answer for everything not given.
        #[arg(long)]
        defaults: bool,
        /// Answer one question, as a manifest key (`project.name=shop`, `service.port=8080`).
        #[arg(long = "set", value_name = "KEY=VALUE")]
        set: Vec<String>,
        /// Read answers from a TOML file with the same keys.
        #[arg(long, value_name = "FILE")]
        answers: Option<PathBuf>,
        /// Overwrite an existing manifest.
        #[arg(long)]
        force: bool,
    },
    /// Render and write every file (atomically), and obsgen.lock.
    Generate {
        /// Show what would be written or removed; write nothing.
        #[arg(long)]
        dry_run: bool,
        /// Overwrite files edited by hand.
        #[arg(long)]
        force: bool,
    },
    /// CI gate: exit 0 when the output is up to date, 1 on drift, 2 on error.
    Check {
        #[arg(long, value_enum, default_value_t = Format::Human)]
        format: Format,
    },
    /// Unified diff of what `generate` would change (exit 1 when there is any).
    Diff,
    /// Fill .env (mode 0600) and secrets/ with strong random values where they are
    /// missing; never replaces a value; makes sure git ignores both.
    Secrets {
        /// Say what would be written; write nothing.
        #[arg(long)]
        dry_run: bool,
        /// Write nothing; exit 1 when a value is missing or would be written.
        #[arg(long)]
        check: bool,
    },
    /// Run the real validators found on PATH over the generated files (exit 1 if one fails).
    Validate,
    /// Print the JSON Schema of obsgen.toml.
    Schema,
    /// Print the man page (roff): `obsgen man > obsgen.1`.
    Man,
    /// Print a shell completion script.
    Completions {
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Where a service, an alert or a generated file comes from: manifest lines, profile
    /// values, templates and what depends on it.
    Explain {
        /// A service or database name, `alert <AlertName>`, or a generated file path.
        #[arg(required = true, num_args = 1..=2, value_name = "WHAT")]
        what: Vec<String>,
    },
    /// Template sets embedded in this obsgen.
    Templates {
        #[command(subcommand)]
        command: TemplatesCommand,
    },
}

#[derive(Debug, Subcommand)]
pub enum TemplatesCommand {
    /// List template-set versions: content hash, what changed, files.
    List,
}

/// Whether to colour output on a stream.
fn use_color(choice: ColorChoice, is_terminal: bool) -> bool {
    match choice {
        ColorChoice::Always => true,
        ColorChoice::Never => false,
        ColorChoice::Auto => {
            is_terminal && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
        }
    }
}

fn paint(color: bool, style: Style, text: &str) -> String {
    if color {
        format!("{}{text}{}", style.render(), style.render_reset())
    } else {
        text.to_string()
    }
}

/// Runs obsgen with the process arguments; returns the exit code.
pub fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let code = if e.use_stderr() { 2 } else { 0 };
            let _ = e.print();
            return ExitCode::from(code);
        }
    };
    let err_color = use_color(cli.color, std::io::stderr().is_terminal());
    match run(&cli) {
        Ok(code) => ExitCode::from(code),
        // A closed stdout (`obsgen … | head`) ends the output quietly, as for any Unix tool.
        Err(e)
            if e.chain().any(|c| {
                c.downcast_ref::<std::io::Error>()
                    .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
            }) =>
        {
            ExitCode::from(0)
        }
        Err(e) if e.downcast_ref::<crate::wizard::Cancelled>().is_some() => {
            errln!("\n{e}");
            ExitCode::from(130)
        }
        Err(e) => {
            if let Some(d) = e.downcast_ref::<Diagnostics>() {
                err!("{}", d.render(err_color));
            } else {
                let red = Style::new().bold().fg_color(Some(AnsiColor::Red.into()));
                let mut text = format!("{e}");
                for cause in e.chain().skip(1) {
                    text.push_str(&format!("\n  caused by: {cause}"));
                }
                // A `help:` line inside the message goes last, after the causes.
                let (main, help) = match text.split_once("\nhelp: ") {
                    Some((m, h)) => (m.to_string(), Some(h.to_string())),
                    None => (text, None),
                };
                errln!("{}: {main}", paint(err_color, red, "error"));
                if let Some(h) = help {
                    let cyan = Style::new().bold().fg_color(Some(AnsiColor::Cyan.into()));
                    errln!("{}: {h}", paint(err_color, cyan, "help"));
                }
            }
            ExitCode::from(2)
        }
    }
}

fn cwd(cli: &Cli) -> Result<PathBuf> {
    let here = std::env::current_dir().context("reading the current folder")?;
    Ok(match &cli.dir {
        Some(d) if d.is_absolute() => d.clone(),
        Some(d) => here.join(d),
        None => here,
    })
}

/// Runs one parsed command; `Ok(code)` is the exit code (0 or 1).
pub fn run(cli: &Cli) -> Result<u8> {
    let out_color = use_color(cli.color, std::io::stdout().is_terminal());
    match &cli.command {
        Command::Schema => {
            out!("{}", crate::manifest::json_schema());
            Ok(0)
        }
        Command::Man => {
            let mut out = Vec::new();
            clap_mangen::Man::new(Cli::command()).render(&mut out)?;
            std::io::stdout().write_all(&out)?;
            Ok(0)
        }
        Command::Completions { shell } => {
            // Into a buffer first: clap_complete panics when its writer fails.
            let mut buf = Vec::new();
            clap_complete::generate(*shell, &mut Cli::command(), "obsgen", &mut buf);
            std::io::stdout().write_all(&buf)?;
            Ok(0)
        }
        Command::Templates {
            command: TemplatesCommand::List,
        } => {
            for v in crate::assets::template_versions() {
                outln!("v{v}  {}", crate::assets::template_set_hash(&v));
                match crate::assets::template_changes(&v) {
                    Some(changes) => {
                        for line in changes.lines() {
                            outln!("{line}");
                        }
                    }
                    None => outln!("  (no entry in templates/CHANGES.toml)"),
                }
                outln!("  files:");
                for (name, _) in crate::assets::template_set(&v) {
                    outln!("    {name}");
                }
            }
            Ok(0)
        }
        Command::Init {
            defaults,
            set,
            answers,
            force,
        } => init(cli, *defaults, set, answers.as_deref(), *force),
        Command::Generate { dry_run, force } => {
            let dir = cwd(cli)?;
            let project = Project::locate(&dir, cli.manifest.as_deref())?;
            generate(cli, &project, *dry_run, *force)
        }
        Command::Check { format } => {
            let dir = cwd(cli)?;
            let project = Project::locate(&dir, cli.manifest.as_deref())?;
            let generated = run_pipeline(cli, &project)?;
            let statuses = project::status(&project.root, &generated)?;
            let drift = statuses.iter().filter(|s| s.state != State::Ok).count();
            if cli.quiet {
                return Ok(u8::from(drift > 0));
            }
            let mut stdout = std::io::stdout().lock();
            match format {
                Format::Human => print_human(&mut stdout, &statuses, out_color, cli.verbose)?,
                Format::Json => {
                    let report = serde_json::json!({ "clean": drift == 0, "drifted": drift, "files": statuses });
                    writeln!(stdout, "{}", serde_json::to_string_pretty(&report)?)?;
                }
                Format::Github => {
                    for s in statuses.iter().filter(|s| s.state != State::Ok) {
                        writeln!(
                            stdout,
                            "::error file={},title=obsgen check: {}::{} is {}: {}. Run `obsgen generate` (and commit) to fix.",
                            s.path,
                            s.state.as_str(),
                            s.path,
                            s.state.as_str(),
                            s.detail
                        )?;
                    }
                    writeln!(
                        stdout,
                        "obsgen check: {drift} of {} files drifted",
                        statuses.len()
                    )?;
                }
            }
            Ok(u8::from(drift > 0))
        }
        Command::Validate => validate(cli, out_color),
        Command::Secrets { dry_run, check } => secrets(cli, *dry_run || *check, *check),
        Command::Explain { what } => {
            let dir = cwd(cli)?;
            let project = Project::locate(&dir, cli.manifest.as_deref())?;
            let text = crate::explain::explain(&project, cli.templates.as_deref(), what)?;
            out!("{text}");
            Ok(0)
        }
        Command::Diff => {
            let dir = cwd(cli)?;
            let project = Project::locate(&dir, cli.manifest.as_deref())?;
            let generated = run_pipeline(cli, &project)?;
            let statuses = project::status(&project.root, &generated)?;
            let mut stdout = std::io::stdout().lock();
            let mut changed = 0;
            for s in statuses.iter().filter(|s| s.state != State::Ok) {
                changed += 1;
                if !cli.quiet {
                    write_diff(&mut stdout, s, out_color)?;
                }
            }
            Ok(u8::from(changed > 0))
        }
    }
}
