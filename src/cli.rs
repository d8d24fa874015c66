//! The command line: arguments → project → subcommand, and the exit-code
//! discipline: 0 success or clean, 1 drift found, 2 any error. Errors print as
//! `error: …` with their cause chain and a `help:` line where a fix is known.

use std::io::{IsTerminal as _, Write as _};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anstyle::{AnsiColor, Style};
use anyhow::{Context as _, Result, bail};
use clap::{CommandFactory as _, Parser, Subcommand, ValueEnum};

use crate::diag::Diagnostics;
use crate::project::{self, MANIFEST_FILE, Project, State, Status};

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
    /// Print each file written and the time each stage took.
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
                Format::Human => print_human(&mut stdout, &statuses, out_color)?,
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

fn secrets(cli: &Cli, dry_run: bool, check: bool) -> Result<u8> {
    let dir = cwd(cli)?;
    let project = Project::locate(&dir, cli.manifest.as_deref())?;
    let text = std::fs::read_to_string(&project.manifest)
        .with_context(|| format!("reading {}", project.manifest.display()))?;
    let manifest = project::load_valid(text, &project.manifest_name)?;
    let model = crate::resolve::resolve(&manifest, &project.manifest_name);
    let plan = crate::secrets::run(&project.root, &model, dry_run)?;
    let pending = plan.dotenv.is_some()
        || !plan.files.is_empty()
        || plan.gitignore.is_some()
        || !plan.env_files.is_empty()
        || !plan.needed.is_empty();
    if cli.quiet {
        return Ok(u8::from(check && pending));
    }
    let would = |yes: &str, no: &str| {
        if dry_run {
            no.to_string()
        } else {
            yes.to_string()
        }
    };
    let mut lines = Vec::new();
    if plan.dotenv.is_some() {
        lines.push(format!(
            "{} .env (mode 0600): {} random, {} proposed, {} kept",
            would("wrote", "would write"),
            plan.generated.len(),
            plan.proposed.len(),
            plan.kept.len()
        ));
        if !plan.generated.is_empty() {
            lines.push(format!("  random: {}", plan.generated.join(", ")));
        }
        if !plan.proposed.is_empty() {
            lines.push(format!("  proposed: {}", plan.proposed.join(", ")));
        }
    } else {
        lines.push(format!(".env: every value set ({} kept)", plan.kept.len()));
    }
    for (path, _) in &plan.files {
        lines.push(format!("{} {path}", would("wrote", "would write")));
    }
    for path in &plan.files_kept {
        lines.push(format!("{path}: exists, kept"));
    }
    for path in &plan.env_files {
        lines.push(format!(
            "{} {path} (empty env_file of a service, mode 0600; put its settings there)",
            would("created", "would create")
        ));
    }
    if plan.gitignore.is_some() {
        lines.push(format!(
            "{} .gitignore: ignore .env, secrets/ and env_files",
            would("updated", "would update")
        ));
    }
    if !plan.needed.is_empty() {
        lines.push("still needed, only you can provide these:".into());
        for (what, how) in &plan.needed {
            lines.push(format!("  - {what}: {how}"));
        }
    }
    if plan
        .generated
        .iter()
        .any(|v| v == crate::components::prometheus::login::PASSWORD_VAR)
        && !dry_run
    {
        lines.push(format!(
            "next: run `obsgen generate` so {} gets the hash of the new {}",
            crate::components::prometheus::login::WEB_FILE,
            crate::components::prometheus::login::PASSWORD_VAR
        ));
    }
    for l in lines {
        outln!("{l}");
    }
    Ok(u8::from(check && pending))
}

fn state_style(state: State) -> Style {
    let c = match state {
        State::Ok => AnsiColor::Green,
        State::Stale | State::Missing => AnsiColor::Yellow,
        State::Modified | State::Orphaned => AnsiColor::Red,
    };
    Style::new().fg_color(Some(c.into())).bold()
}

fn write_diff(out: &mut impl std::io::Write, s: &Status, color: bool) -> Result<()> {
    let diff = project::unified_diff(s);
    for line in diff.lines() {
        let style = if line.starts_with("+++") || line.starts_with("---") {
            Style::new().bold()
        } else if line.starts_with('+') {
            Style::new().fg_color(Some(AnsiColor::Green.into()))
        } else if line.starts_with('-') {
            Style::new().fg_color(Some(AnsiColor::Red.into()))
        } else if line.starts_with("@@") {
            Style::new().fg_color(Some(AnsiColor::Cyan.into()))
        } else {
            Style::new()
        };
        writeln!(out, "{}", paint(color, style, line))?;
    }
    Ok(())
}

fn print_human(out: &mut impl std::io::Write, statuses: &[Status], color: bool) -> Result<()> {
    for s in statuses {
        let state = paint(
            color,
            state_style(s.state),
            &format!("{:<9}", s.state.as_str()),
        );
        if s.detail.is_empty() {
            writeln!(out, "{state} {}", s.path)?;
        } else {
            writeln!(out, "{state} {}  ({})", s.path, s.detail)?;
        }
    }
    for s in statuses
        .iter()
        .filter(|s| s.state == State::Stale && s.path != crate::lock::LOCK_FILE)
    {
        writeln!(out)?;
        write_diff(out, s, color)?;
    }
    let drift: Vec<&Status> = statuses.iter().filter(|s| s.state != State::Ok).collect();
    writeln!(out)?;
    if drift.is_empty() {
        writeln!(out, "check: all {} files up to date", statuses.len())?;
    } else {
        let edited = drift.iter().any(|s| s.state == State::Modified);
        writeln!(
            out,
            "check: {} of {} files drifted; run `obsgen generate`{}",
            drift.len(),
            statuses.len(),
            if edited {
                " (hand edits: move them into the manifest first, then --force)"
            } else {
                ""
            }
        )?;
    }
    Ok(())
}

fn init(
    cli: &Cli,
    defaults: bool,
    set: &[String],
    answers: Option<&Path>,
    force: bool,
) -> Result<u8> {
    let dir = cwd(cli)?;
    let target = match &cli.manifest {
        Some(p) if p.is_absolute() => p.clone(),
        Some(p) => dir.join(p),
        None => dir.join(MANIFEST_FILE),
    };
    if std::fs::symlink_metadata(&target).is_ok() && !force {
        bail!(
            "{} already exists\nhelp: pass --force to overwrite it",
            target.display()
        );
    }
    let answers_file = match answers {
        Some(p) => {
            let text = std::fs::read_to_string(dir.join(p))
                .with_context(|| format!("reading {}", p.display()))?;
            Some((p.display().to_string(), text))
        }
        None => None,
    };
    let env = crate::init::env_sets(std::env::vars())?;
    let given = crate::init::gather_all(
        answers_file.as_ref().map(|(n, t)| (n.as_str(), t.clone())),
        &env,
        set,
    )?;
    let folder = target.parent().unwrap_or(&dir).to_path_buf();
    let found = crate::detect::scan(&folder);
    let proposed = crate::init::proposals(&found, &folder);
    let interactive = !defaults
        && std::io::stdin().is_terminal()
        && std::io::stderr().is_terminal()
        && std::env::var_os("CI").is_none_or(|v| v.is_empty());
    let name = target
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| MANIFEST_FILE.into());
    let wizard = if interactive {
        crate::wizard::install_ctrlc();
        Some(crate::wizard::Wizard::new(use_color(
            cli.color,
            std::io::stderr().is_terminal(),
        )))
    } else {
        None
    };
    let all = match &wizard {
        Some(w) => w.ask(&given, &proposed, &found)?,
        None => {
            for w in &found.warnings {
                if !cli.quiet {
                    errln!("warning: {w}");
                }
            }
            let all = crate::init::answers_over(given, proposed);
            let missing = crate::init::missing(&all);
            if !defaults && !missing.is_empty() {
                return Err(crate::init::missing_error(&missing));
            }
            all
        }
    };
    let mut filled = crate::init::fill(&all, &folder)?;
    let moves = crate::init::settle_ports(&mut filled)?;
    if !cli.quiet && wizard.is_none() {
        for m in &moves {
            errln!("note: {m}");
        }
    }
    let text = crate::init::render_filled(&filled)?;
    // The manifest must be valid before it is written.
    project::load_valid(text.clone(), &format!("{name} (from your answers)"))?;
    if let Some(w) = &wizard {
        let generated = project::generate_from(&text, &name, cli.templates.as_deref())?;
        let files: Vec<String> = generated.files.iter().map(|f| f.path.clone()).collect();
        let locked: Vec<String> = project::read_lock(&folder)
            .ok()
            .flatten()
            .map(|l| l.files.into_iter().map(|f| f.path).collect())
            .unwrap_or_default();
        let mut summary = crate::wizard::summary(&filled);
        summary.extend(moves.iter().map(|m| format!("note: {m}")));
        for f in files
            .iter()
            .filter(|f| folder.join(f).exists() && !locked.contains(f))
        {
            summary.push(format!(
                "note: {f} exists and was not written by obsgen: `generate` leaves it alone until you move it away (or pass --force)"
            ));
        }
        if !w.confirm(&summary, &files, &name)? {
            w.say("nothing written")?;
            return Ok(0);
        }
    }
    std::fs::create_dir_all(&folder).with_context(|| format!("creating {}", folder.display()))?;
    crate::wizard::WRITING.store(true, std::sync::atomic::Ordering::SeqCst);
    let written = write_atomically(&folder, &target, &text);
    crate::wizard::WRITING.store(false, std::sync::atomic::Ordering::SeqCst);
    written?;
    if !cli.quiet {
        outln!("wrote {}", target.display());
    }
    if let Some(w) = &wizard
        && w.offer_generate()?
    {
        let project = Project::locate(&folder, Some(&target))?;
        return generate(cli, &project, false, false);
    }
    if !cli.quiet {
        outln!("next: edit it, then run `obsgen generate`");
    }
    Ok(0)
}

/// Runs the pipeline with a progress spinner (stderr is a terminal and not `-q`) and,
/// with `-v`, the time each stage took.
fn run_pipeline(cli: &Cli, project: &Project) -> Result<project::Generated> {
    let bar = if std::io::stderr().is_terminal() && !cli.quiet {
        let b = indicatif::ProgressBar::new(7);
        b.set_style(
            indicatif::ProgressStyle::with_template("{spinner} [{bar:20}] {msg}")
                .expect("valid template")
                .progress_chars("=> "),
        );
        b.enable_steady_tick(std::time::Duration::from_millis(100));
        b
    } else {
        indicatif::ProgressBar::hidden()
    };
    let start = std::time::Instant::now();
    let mut last: Option<(&'static str, std::time::Instant)> = None;
    let mut timings: Vec<(&'static str, std::time::Duration)> = Vec::new();
    let result =
        project::generate_project_stages(project, cli.templates.as_deref(), &mut |stage| {
            let now = std::time::Instant::now();
            if let Some((name, t)) = last.take() {
                timings.push((name, now - t));
            }
            last = Some((stage, now));
            bar.set_message(stage);
            bar.inc(1);
        });
    if let Some((name, t)) = last {
        timings.push((name, t.elapsed()));
    }
    bar.finish_and_clear();
    let generated = result?;
    if cli.verbose {
        for (name, took) in &timings {
            errln!("stage {name:<8} {:>8.1} ms", took.as_secs_f64() * 1000.0);
        }
        errln!(
            "pipeline: {} files in {:.1} ms",
            generated.files.len(),
            start.elapsed().as_secs_f64() * 1000.0
        );
    }
    Ok(generated)
}

fn generate(cli: &Cli, project: &Project, dry_run: bool, force: bool) -> Result<u8> {
    // One run at a time (before anything is read); interrupted, it removes its
    // temporary files.
    let held = project::lock_project(&project.root)?;
    project::clean_up_on_interrupt();
    let generated = run_pipeline(cli, project)?;
    let t = std::time::Instant::now();
    let outcome = project::emit(&project.root, &held, &generated, force, dry_run)?;
    if cli.verbose {
        errln!(
            "stage {:<8} {:>8.1} ms",
            "write",
            t.elapsed().as_secs_f64() * 1000.0
        );
    }
    if cli.quiet {
        return Ok(0);
    }
    if outcome.leftovers > 0 {
        outln!(
            "{} {} leftover temporary file{} of an interrupted run",
            if dry_run { "would remove" } else { "removed" },
            outcome.leftovers,
            if outcome.leftovers == 1 { "" } else { "s" }
        );
    }
    let verb = if dry_run { "would write" } else { "wrote" };
    for p in &outcome.written {
        outln!("{verb} {p}");
    }
    let verb = if dry_run { "would remove" } else { "removed" };
    for p in &outcome.removed {
        outln!("{verb} {p}");
    }
    if cli.verbose {
        let written: std::collections::BTreeSet<&String> = outcome.written.iter().collect();
        for f in generated
            .files
            .iter()
            .filter(|f| !written.contains(&f.path))
        {
            outln!("unchanged {}", f.path);
        }
    }
    outln!(
        "{}: {} written, {} removed, {} unchanged{}",
        if dry_run { "dry run" } else { "generate" },
        outcome.written.len(),
        outcome.removed.len(),
        outcome.unchanged,
        if dry_run {
            " (nothing was written)"
        } else {
            ""
        }
    );
    Ok(0)
}

fn write_atomically(folder: &Path, target: &Path, text: &str) -> Result<()> {
    let mut tmp = tempfile::Builder::new()
        .prefix(".obsgen-")
        .tempfile_in(folder)?;
    tmp.write_all(text.as_bytes())?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        std::fs::set_permissions(tmp.path(), std::fs::Permissions::from_mode(0o644))?;
    }
    tmp.persist(target)
        .map_err(|e| anyhow::anyhow!("writing {}: {}", target.display(), e.error))?;
    Ok(())
}

fn validate(cli: &Cli, color: bool) -> Result<u8> {
    use crate::validators::{Outcome, checks, run};
    let dir = cwd(cli)?;
    let project = Project::locate(&dir, cli.manifest.as_deref())?;
    let Some(lock) = project::read_lock(&project.root)? else {
        bail!(
            "{} has no obsgen.lock: nothing was generated yet\nhelp: run `obsgen generate` first",
            project.root.display()
        );
    };
    let generated: Vec<String> = lock.files.iter().map(|f| f.path.clone()).collect();
    let checks = checks(&project.root, &generated);
    let bar = if std::io::stderr().is_terminal() && !cli.quiet {
        let b = indicatif::ProgressBar::new(checks.len() as u64);
        b.set_style(
            indicatif::ProgressStyle::with_template("{spinner} [{bar:30}] {pos}/{len} {msg}")
                .expect("valid template")
                .progress_chars("=> "),
        );
        b
    } else {
        indicatif::ProgressBar::hidden()
    };
    let mut rows = Vec::new();
    for c in &checks {
        bar.set_message(c.name.clone());
        rows.push(run(&project.root, c));
        bar.inc(1);
    }
    bar.finish_and_clear();
    let mut out = std::io::stdout().lock();
    let width = rows
        .iter()
        .map(|r| r.check.name.len())
        .max()
        .unwrap_or(10)
        .min(70);
    // With -q only the failures are printed.
    for r in rows
        .iter()
        .filter(|r| !cli.quiet || matches!(r.outcome, Outcome::Failed(_)))
    {
        let (text, style) = match &r.outcome {
            Outcome::Ok => ("ok", state_style(State::Ok)),
            Outcome::Failed(_) => ("FAILED", state_style(State::Modified)),
            Outcome::NotFound => ("not found", state_style(State::Missing)),
        };
        writeln!(
            out,
            "{:<9} {:<width$}  {:>6} ms",
            paint(color, style, text),
            r.check.name,
            r.took.as_millis()
        )?;
    }
    let failed: Vec<_> = rows
        .iter()
        .filter(|r| matches!(r.outcome, Outcome::Failed(_)))
        .collect();
    let missing: std::collections::BTreeMap<&str, &str> = rows
        .iter()
        .filter(|r| r.outcome == Outcome::NotFound)
        .map(|r| {
            (
                r.check
                    .needs
                    .filter(|n| crate::validators::find(n).is_none())
                    .unwrap_or(r.check.tool),
                r.check.install,
            )
        })
        .collect();
    for r in &failed {
        if let Outcome::Failed(text) = &r.outcome {
            writeln!(
                out,
                "\n--- {} ({} {}):\n{}",
                r.check.name,
                r.check.tool,
                r.check.args.join(" "),
                text.trim_end()
            )?;
        }
    }
    if cli.quiet {
        return Ok(u8::from(!failed.is_empty()));
    }
    if !missing.is_empty() {
        writeln!(out)?;
        for (tool, install) in &missing {
            writeln!(out, "not found: {tool} (install: {install})")?;
        }
    }
    let ok = rows.iter().filter(|r| r.outcome == Outcome::Ok).count();
    writeln!(
        out,
        "\nvalidate: {ok} passed, {} failed, {} not run (validator not found)",
        failed.len(),
        rows.len() - ok - failed.len()
    )?;
    Ok(u8::from(!failed.is_empty()))
}
