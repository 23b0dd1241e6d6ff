//! The `permatrix` command: parses the command line and environment into a
//! plain configuration, then calls the library. Nothing else reads argv or the environment.

use std::collections::BTreeMap;
use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Args, CommandFactory, Parser, Subcommand};
use permatrix::app::{self, CommandError, Finished, RunConfig, TargetChoice};
use permatrix::execute::ExecOptions;
use permatrix::explain::{self, ExplainConfig};
use permatrix::plan::Selection;
use permatrix::report::terminal::TerminalStyle;
use permatrix::report::{Format, ReportFile, WriteMode};
use permatrix::snapshot::SnapshotSettings;

/// Exit codes, shown under every command's help.
const EXIT_CODES: &str = "\
Exit codes:
  0    every cell passed or was skipped, no snapshot changed
  1    a cell failed or errored, a snapshot changed or is missing under CI,
       or a reached_without_scopes finding with --strict-scopes
  2    an invalid suite or usage, a target that could not be set up,
       a report that could not be written
  130  interrupted (Ctrl-C or SIGTERM)";

/// A declarative test-runner for endpoint permission matrices.
#[derive(Parser)]
#[command(
    name = "permatrix",
    version,
    about,
    after_help = format!("Example:\n  permatrix run suites/            every suite against its target (or the embedded mock)\n\n{EXIT_CODES}")
)]
struct Cli {
    /// Colour the output: auto (a terminal, NO_COLOR unset), always or never.
    #[arg(long, global = true, value_enum, default_value_t = ColorChoice::Auto, value_name = "WHEN")]
    color: ColorChoice,
    #[command(subcommand)]
    command: Command,
}

/// `--color`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
enum ColorChoice {
    /// When the output is a terminal and `NO_COLOR` is unset.
    Auto,
    /// Always, `NO_COLOR` or not.
    Always,
    /// Never.
    Never,
}

impl ColorChoice {
    /// Whether to colour a stream that `is_terminal` says is (or is not) a terminal.
    fn colors(self, is_terminal: bool, env: &BTreeMap<String, String>) -> bool {
        match self {
            ColorChoice::Always => true,
            ColorChoice::Never => false,
            ColorChoice::Auto => is_terminal && env.get("NO_COLOR").is_none_or(|v| v.is_empty()),
        }
    }
}

#[derive(Subcommand)]
enum Command {
    /// Run suites and check every endpoint × principal cell.
    #[command(after_help = format!("Examples:\n  permatrix run suites/ --json report.json --junit report.xml\n  permatrix run suites/jira-cloud.yaml --principal app --filter permissions\n\n{EXIT_CODES}"))]
    Run(Box<RunArgs>),
    /// Run one cell verbosely: the request as sent, JWTs decoded, the qsh, the
    /// token exchange, the response, and what the result means.
    #[command(
        after_help = "Example:\n  permatrix explain suites/jira-cloud.yaml --endpoint \"GET /rest/api/2/permissions\" --principal app-as-admin\n\nExit codes: 0 the cell passed, 1 it failed or errored, 2 invalid usage or suite."
    )]
    Explain(ExplainArgs),
    /// Serve a mock definition until interrupted.
    #[command(
        after_help = "Example:\n  permatrix mock suites/mocks/jira-cloud.yaml --port 8080\n\nExit codes: 0 stopped by Ctrl-C or SIGTERM, 2 an invalid definition or a port in use."
    )]
    Mock {
        /// The mock definition (YAML).
        file: PathBuf,
        /// Port to listen on (0: a free one).
        #[arg(long, default_value_t = 0)]
        port: u16,
        /// Address to listen on.
        #[arg(long, default_value = "127.0.0.1")]
        host: String,
    },
    /// Load and validate suites without sending anything; prints every problem.
    #[command(
        after_help = "Example:\n  permatrix check suites/ --var JIRA_BASE_URL=https://example.atlassian.net\n\nExit codes: 0 every suite is valid, 2 a problem was found (each is printed with file:line:column)."
    )]
    Check {
        /// Suite files, or folders of *.yaml suites.
        #[arg(default_value = "suites")]
        paths: Vec<PathBuf>,
        /// Set a variable (repeatable): takes precedence over vars and the environment.
        #[arg(long = "var", value_name = "NAME=VALUE", value_parser = parse_var)]
        vars: Vec<(String, String)>,
    },
    /// Which operations of an OpenAPI description the suites' endpoints cover.
    #[command(
        after_help = "Example:\n  permatrix coverage --openapi openapi.json suites/ --min 80 --json -\n\nExit codes: 0 measured (and at least --min), 1 below --min, 2 an unreadable description or invalid suite."
    )]
    Coverage(CoverageArgs),
    /// Write a suite from an OpenAPI document, a HAR recording or a GraphQL schema.
    #[command(
        after_help = "Examples:\n  permatrix init --openapi openapi.yaml --out suites/api.yaml\n  permatrix init --har session.har --observe --out suites/app.yaml\n  permatrix init --graphql schema.graphql --base-url http://localhost:4000/graphql\n  permatrix init --graphql-url https://api.example.com/graphql --principals suites/api.yaml\n\nExit codes: 0 the suite was written (it loads), 2 an unreadable input (a schema with a syntax error, a server that refuses introspection), an existing --out without --force, or a failed observation."
    )]
    Init(Box<InitArgs>),
    /// Which endpoints a scope set reaches, from the suite's last snapshot (or --run).
    #[command(
        after_help = "Example:\n  permatrix reach suites/jira-cloud.yaml --scopes READ,ACT_AS_USER --json -\n\nExit codes: 0 answered, 2 an invalid suite, an unknown scope, or no snapshot (pass --run)."
    )]
    Reach(ReachArgs),
    /// Compare two recordings (or two snapshots): the cells whose status differs, classified.
    #[command(
        after_help = "Examples:\n  permatrix diff recordings/production.yaml recordings/staging.yaml\n  permatrix diff before.snap snapshots/notes.snap --json diff.json\n\nExit codes: 0 no cell differs, 1 some cells differ, 2 an unreadable file."
    )]
    Diff {
        /// The matrix before: a recording (`run --record`) or a snapshot (`.snap`).
        a: PathBuf,
        /// The matrix after.
        b: PathBuf,
        /// Write the differences as JSON to FILE (`-`: stdout).
        #[arg(long, value_name = "FILE")]
        json: Option<PathBuf>,
    },
    /// Print a shell completion script: bash, zsh, fish, elvish or powershell.
    #[command(
        after_help = "Examples:\n  permatrix completions bash > ~/.local/share/bash-completion/completions/permatrix\n  permatrix completions zsh > \"${fpath[1]}/_permatrix\"\n  permatrix completions fish > ~/.config/fish/completions/permatrix.fish"
    )]
    Completions {
        /// The shell.
        shell: clap_complete::Shell,
    },
    /// Print the manual page (roff), or write one page per command with --dir.
    #[command(
        after_help = "Examples:\n  permatrix man | man -l -\n  permatrix man --dir /usr/local/share/man/man1"
    )]
    Man {
        /// Write permatrix.1, permatrix-run.1, … into this folder instead.
        #[arg(long, value_name = "DIR")]
        dir: Option<PathBuf>,
    },
}

#[derive(Args)]
struct ReachArgs {
    /// The suite file.
    #[arg(default_value = "suites")]
    paths: Vec<PathBuf>,
    /// The scope set, comma-separated (e.g. READ,ACT_AS_USER); "" for no scope.
    #[arg(long, value_name = "A,B")]
    scopes: String,
    /// Where snapshots are kept (`<DIR>/<suite>.snap`).
    #[arg(long, value_name = "DIR", default_value = "snapshots")]
    snapshots: PathBuf,
    /// Run the suite first and answer from that run (no snapshot is written).
    #[arg(long)]
    run: bool,
    /// With --run: send the requests here instead of the suite's target.
    #[arg(long, value_name = "URL", conflicts_with = "mock", requires = "run")]
    base_url: Option<String>,
    /// With --run: send them to the suite's mock, whatever its base URL.
    #[arg(long, requires = "run")]
    mock: bool,
    /// Set a variable (repeatable): takes precedence over vars and the environment.
    #[arg(long = "var", value_name = "NAME=VALUE", value_parser = parse_var)]
    vars: Vec<(String, String)>,
    /// Write the answer as JSON to FILE.
    #[arg(long, value_name = "FILE")]
    json: Option<PathBuf>,
    /// Write the answer as Markdown to FILE.
    #[arg(long, value_name = "FILE")]
    markdown: Option<PathBuf>,
}

#[derive(Args)]
#[command(group(clap::ArgGroup::new("source").required(true).args(["openapi", "har", "graphql", "graphql_url"])))]
#[command(group(clap::ArgGroup::new("mutations_wanted").multiple(true).args(["observe", "graphql", "graphql_url"])))]
struct InitArgs {
    /// An OpenAPI 2.0, 3.0, 3.1 or 3.2 document (JSON or YAML): one endpoint per operation.
    #[arg(long, value_name = "SPEC")]
    openapi: Option<PathBuf>,
    /// With an OpenAPI document: match request paths starting with FROM as if
    /// they started with TO (repeatable), as `coverage --map` does.
    #[arg(long = "openapi-map", value_name = "FROM=TO", value_parser = permatrix::coverage::parse_map)]
    openapi_maps: Vec<permatrix::coverage::PathMap>,
    /// A HAR 1.2 recording (browser devtools, a proxy): one endpoint per distinct request.
    #[arg(long, value_name = "FILE")]
    har: Option<PathBuf>,
    /// A GraphQL schema, SDL or introspection JSON: one endpoint per query root field.
    #[arg(long, value_name = "SCHEMA")]
    graphql: Option<PathBuf>,
    /// A GraphQL server: its schema read by an introspection query (sent as the first --principals principal with credentials).
    #[arg(long, value_name = "URL")]
    graphql_url: Option<String>,
    /// With --har: the host whose requests become endpoints (default: the most frequent).
    #[arg(long, value_name = "HOST", requires = "har")]
    host: Option<String>,
    /// Write the suite to FILE instead of stdout.
    #[arg(long, value_name = "FILE")]
    out: Option<PathBuf>,
    /// Overwrite --out if it exists.
    #[arg(long, requires = "out")]
    force: bool,
    /// The suite's name (default: the document's title, the recording's or URL's host, the schema file's name).
    #[arg(long, value_name = "SUITE")]
    name: Option<String>,
    /// The target's base URL (default: the document's server, behind a variable); for GraphQL, the server's URL (its origin is the target, its path the request's).
    #[arg(long, value_name = "URL")]
    base_url: Option<String>,
    /// Take principals, groups, target, vars and default headers from this suite.
    #[arg(long, value_name = "SUITE.yaml")]
    principals: Option<PathBuf>,
    /// Run the matrix against the target and write the statuses it answers as expectations.
    #[arg(long)]
    observe: bool,
    /// With --observe: send POST/PUT/PATCH/DELETE too (the mutation guard still applies); with --graphql(-url): write the mutation root fields too.
    #[arg(long, requires = "mutations_wanted")]
    include_mutations: bool,
    /// With --include-mutations: send them to a real target too, like `run --allow-mutations`.
    #[arg(long, requires = "include_mutations")]
    allow_mutations: bool,
    /// Cells in flight at once while observing, overriding the suite's `concurrency`.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u16).range(1..=1024))]
    concurrency: Option<u16>,
    /// Per-request timeout while observing (e.g. 5s, 500ms).
    #[arg(long, value_name = "DUR", value_parser = parse_duration)]
    timeout: Option<Duration>,
    /// Set a variable (repeatable): takes precedence over vars and the environment.
    #[arg(long = "var", value_name = "NAME=VALUE", value_parser = parse_var)]
    vars: Vec<(String, String)>,
}

#[derive(Args)]
struct CoverageArgs {
    /// The OpenAPI 2.0, 3.0, 3.1 or 3.2 description (JSON or YAML).
    #[arg(long, value_name = "SPEC")]
    openapi: PathBuf,
    /// Suite files, or folders of *.yaml suites.
    #[arg(default_value = "suites")]
    paths: Vec<PathBuf>,
    /// Write the result as JSON to FILE.
    #[arg(long, value_name = "FILE")]
    json: Option<PathBuf>,
    /// Exit 1 when less than PCT percent of the operations are covered.
    #[arg(long, value_name = "PCT", value_parser = permatrix::coverage::MinPercent::parse)]
    min: Option<permatrix::coverage::MinPercent>,
    /// Match request paths starting with FROM as if they started with TO (repeatable).
    #[arg(long = "map", value_name = "FROM=TO", value_parser = permatrix::coverage::parse_map)]
    maps: Vec<permatrix::coverage::PathMap>,
    /// Set a variable (repeatable): suites load with it, as with `check`.
    #[arg(long = "var", value_name = "NAME=VALUE", value_parser = parse_var)]
    vars: Vec<(String, String)>,
}

#[derive(Args)]
struct ExplainArgs {
    /// The suite file.
    suite: PathBuf,
    /// The endpoint's name (its `name:`, or its request line as written).
    #[arg(long, value_name = "NAME")]
    endpoint: String,
    /// The principal's name.
    #[arg(long, value_name = "NAME")]
    principal: String,
    /// Send the request here instead of the suite's target.
    #[arg(long, value_name = "URL", conflicts_with = "mock")]
    base_url: Option<String>,
    /// Send the request to the suite's mock, whatever its base URL.
    #[arg(long)]
    mock: bool,
    /// Set a variable (repeatable): takes precedence over vars and the environment.
    #[arg(long = "var", value_name = "NAME=VALUE", value_parser = parse_var)]
    vars: Vec<(String, String)>,
    /// Per-request timeout, overriding the suite's `timeout`.
    #[arg(long, value_name = "DUR", value_parser = parse_duration)]
    timeout: Option<Duration>,
    /// Send POST/PUT/PATCH/DELETE to a real target too.
    #[arg(long)]
    allow_mutations: bool,
    /// End with a curl command that re-sends the request; a signed or fetched
    /// credential is set in a variable to the one just used (it expires soon).
    #[arg(long)]
    curl: bool,
    /// Where the suite's snapshot is: the lints over it, with this cell's new
    /// answer, say which findings the cell is a witness of.
    #[arg(long, value_name = "DIR", default_value = "snapshots")]
    snapshots: PathBuf,
}

#[derive(Args)]
struct RunArgs {
    /// Suite files, or folders of *.yaml suites.
    #[arg(default_value = "suites")]
    paths: Vec<PathBuf>,
    /// Send every suite's requests here instead of its target.
    #[arg(long, value_name = "URL", conflicts_with = "mock")]
    base_url: Option<String>,
    /// Send every suite to its mock (`target.mock`), whatever its base URL.
    #[arg(long)]
    mock: bool,
    /// Set a variable (repeatable): takes precedence over vars and the environment.
    #[arg(long = "var", value_name = "NAME=VALUE", value_parser = parse_var)]
    vars: Vec<(String, String)>,
    /// Only cells whose endpoint or principal name contains TEXT.
    #[arg(long, value_name = "TEXT")]
    filter: Option<String>,
    /// Only this principal (repeatable).
    #[arg(long = "principal", value_name = "NAME")]
    principals: Vec<String>,
    /// Cells in flight at once, overriding every suite's `concurrency`.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u16).range(1..=1024))]
    concurrency: Option<u16>,
    /// Per-request timeout, overriding every suite's `timeout` (e.g. 5s, 500ms).
    #[arg(long, value_name = "DUR", value_parser = parse_duration)]
    timeout: Option<Duration>,
    /// Send POST/PUT/PATCH/DELETE to real targets too.
    #[arg(long)]
    allow_mutations: bool,
    /// Write the run as JSON to FILE.
    #[arg(long, value_name = "FILE")]
    json: Option<PathBuf>,
    /// Write a JUnit XML report to FILE.
    #[arg(long, value_name = "FILE")]
    junit: Option<PathBuf>,
    /// Where snapshots are kept (`<DIR>/<suite>.snap`).
    #[arg(long, value_name = "DIR", default_value = "snapshots")]
    snapshots: PathBuf,
    /// Write changed snapshots instead of failing on them.
    #[arg(long)]
    accept: bool,
    /// Neither compare nor write snapshots.
    #[arg(long)]
    no_snapshot: bool,
    /// Write the matrix and each principal's reach as Markdown to FILE.
    #[arg(long, value_name = "FILE")]
    markdown: Option<PathBuf>,
    /// Write the matrix as one self-contained HTML page to FILE.
    #[arg(long, value_name = "FILE")]
    html: Option<PathBuf>,
    /// Print only failing cells and the closing line.
    #[arg(long, short)]
    quiet: bool,
    /// Fail the run when a principal reaches an endpoint without the scopes its `scopes:` documents.
    #[arg(long)]
    strict_scopes: bool,
    /// Under each failing or erroring cell, a curl command that re-sends its request
    /// (credentials as shell variables, never their values).
    #[arg(long)]
    curl: bool,
    /// After each matrix, who can see each object: every id of the suite's
    /// lists (`items:`) with the principals and endpoints that saw it.
    #[arg(long)]
    by_object: bool,
    /// Tamper probes for every principal, overriding the suites' `probes:`:
    /// comma-separated names, `all`, or `none` to turn them off.
    #[arg(long, value_name = "LIST", value_parser = parse_probes)]
    probes: Option<permatrix::suite::probe::ProbeChoice>,
    /// Which lints run over the observed matrix, overriding the suites'
    /// `lints:`: `all`, `none`, or comma-separated lint ids.
    #[arg(long, value_name = "LIST", value_parser = permatrix::suite::lints::LintChoice::parse)]
    lints: Option<permatrix::suite::lints::LintChoice>,
    /// Which classes make the exit code 1, overriding the suites' `fail_on:`
    /// (default: every mismatch, error and snapshot change); the others are
    /// reported only. Comma-separated: mismatch, error, widened, auth-broken,
    /// narrowed, changed, added, removed, finding-added, a finding kind or a lint id.
    #[arg(long, value_name = "CLASSES", value_parser = permatrix::suite::lints::FailOn::parse)]
    fail_on: Option<permatrix::suite::lints::FailOn>,
    /// An OpenAPI document: endpoints it does not list that answer 2xx are
    /// `undocumented_reachable` findings (overrides the suites' `openapi:`).
    #[arg(long, value_name = "SPEC")]
    openapi: Option<PathBuf>,
    /// With an OpenAPI document: match request paths starting with FROM as if
    /// they started with TO (repeatable), as `coverage --map` does.
    #[arg(long = "openapi-map", value_name = "FROM=TO", value_parser = permatrix::coverage::parse_map)]
    openapi_maps: Vec<permatrix::coverage::PathMap>,
    /// Record the run into FILE, a mock definition that replays it offline
    /// (`target.mock: FILE` and --mock); with --filter or --principal it is
    /// merged into FILE.
    #[arg(long, value_name = "FILE")]
    record: Option<PathBuf>,
    /// With --record: response headers to keep besides Content-Type,
    /// WWW-Authenticate, Location and Retry-After.
    #[arg(
        long,
        value_name = "NAME,...",
        value_delimiter = ',',
        requires = "record"
    )]
    record_headers: Vec<String>,
    /// With --record: bodies longer than this are cut with a marker.
    #[arg(
        long,
        value_name = "BYTES",
        default_value_t = 65536,
        requires = "record"
    )]
    record_max_body: usize,
}

/// A `--var` that is not `NAME=VALUE`.
#[derive(Debug, thiserror::Error)]
#[error("`{0}` is not NAME=VALUE")]
struct NotAVar(String);

fn parse_probes(
    text: &str,
) -> Result<permatrix::suite::probe::ProbeChoice, permatrix::suite::probe::UnknownProbe> {
    permatrix::suite::probe::ProbeChoice::from_flag(text)
}

fn parse_var(text: &str) -> Result<(String, String), NotAVar> {
    match text.split_once('=') {
        Some((name, value)) if !name.is_empty() => Ok((name.to_string(), value.to_string())),
        _ => Err(NotAVar(text.to_string())),
    }
}

fn parse_duration(text: &str) -> Result<Duration, permatrix::suite::read::DurationError> {
    permatrix::suite::read::parse_duration(text)
}

/// The terminal's width in columns, when stdout is one.
fn terminal_width() -> Option<usize> {
    let (_, columns) = console::Term::stdout().size_checked()?;
    Some(usize::from(columns))
}

fn environment() -> BTreeMap<String, String> {
    std::env::vars_os()
        .filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?)))
        .collect()
}

fn exec_options(vars: Vec<(String, String)>, env: BTreeMap<String, String>) -> ExecOptions {
    ExecOptions {
        cli_vars: vars.into_iter().collect(),
        proxy_loopback: env
            .get("PERMATRIX_PROXY_LOOPBACK")
            .is_some_and(|v| !v.is_empty() && v != "0" && v != "false"),
        env,
        ..ExecOptions::default()
    }
}

fn run_config(args: RunArgs, color: ColorChoice, env: BTreeMap<String, String>) -> RunConfig {
    let ci_is_set = env
        .get("CI")
        .is_some_and(|v| !v.is_empty() && v != "false" && v != "0");
    let width = env
        .get("COLUMNS")
        .and_then(|c| c.parse::<usize>().ok())
        .or_else(|| terminal_width().filter(|_| std::io::stdout().is_terminal()));
    let style = TerminalStyle {
        color: color.colors(std::io::stdout().is_terminal(), &env),
        progress: std::io::stderr().is_terminal() && !args.quiet,
        quiet: args.quiet,
        width,
        curl: args.curl,
        by_object: args.by_object,
    };
    let replace = |format, path: Option<PathBuf>| {
        path.map(|path| ReportFile {
            format,
            mode: if path.as_os_str() == "-" {
                WriteMode::Stdout
            } else {
                WriteMode::Replace
            },
            path,
        })
    };
    let step_summary = env
        .get("GITHUB_STEP_SUMMARY")
        .filter(|p| !p.is_empty())
        .map(|path| ReportFile {
            format: Format::Markdown,
            path: PathBuf::from(path),
            mode: WriteMode::Append,
        });
    let reports: Vec<ReportFile> = [
        replace(Format::Json, args.json),
        replace(Format::Junit, args.junit),
        replace(Format::Markdown, args.markdown),
        replace(Format::Html, args.html),
        step_summary,
    ]
    .into_iter()
    .flatten()
    .collect();
    let annotations = env.get("GITHUB_ACTIONS").is_some_and(|v| v == "true");
    let mut exec = exec_options(args.vars, env);
    exec.concurrency = args.concurrency.map(usize::from);
    exec.timeout = args.timeout;
    exec.allow_mutations = args.allow_mutations;
    exec.probes = args.probes;
    // The command is built only where it is shown: under failing lines, or in the JSON.
    exec.curl = args.curl
        || reports
            .iter()
            .any(|r: &ReportFile| r.format == Format::Json);
    exec.record = args
        .record
        .is_some()
        .then(|| permatrix::execute::RecordLimits {
            headers: args
                .record_headers
                .iter()
                .map(|h| h.trim().to_ascii_lowercase())
                .filter(|h| !h.is_empty())
                .collect(),
            max_body: args.record_max_body,
        });
    RunConfig {
        record: args.record,
        paths: args.paths,
        target: TargetChoice {
            base_url: args.base_url,
            force_mock: args.mock,
        },
        exec,
        selection: Selection {
            filter: args.filter,
            principals: args.principals,
        },
        snapshots: (!args.no_snapshot).then_some(SnapshotSettings {
            dir: args.snapshots,
            accept: args.accept,
            ci: ci_is_set,
        }),
        reports,
        annotations,
        style,
        strict_scopes: args.strict_scopes,
        lints: args.lints,
        fail_on: args.fail_on,
        openapi: args.openapi,
        openapi_maps: args.openapi_maps,
    }
}

/// Writes `text` to stdout; a reader that went away (`| head`) ends the
/// output quietly rather than the process.
fn say(text: &str) {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    let _ = out.write_all(text.as_bytes()).and_then(|()| out.flush());
}

/// [`say`] for stderr.
fn complain(text: &str) {
    use std::io::Write;
    let _ = std::io::stderr().lock().write_all(text.as_bytes());
}

/// Shows what a command has to say: its summary on stdout; its notes, or
/// why it could not do its work, on stderr.
fn show(result: &Result<Finished, CommandError>) {
    match result {
        Ok(finished) => {
            for line in &finished.lines {
                say(&format!("{line}\n"));
            }
            for note in &finished.notes {
                complain(&format!("{note}\n"));
            }
        }
        Err(CommandError::Invalid { diagnostics, then }) => {
            complain(&permatrix::report::terminal::diagnostics(diagnostics, then));
        }
        Err(error) => complain(&format!("error: {error}\n")),
    }
}

fn init(
    args: InitArgs,
    color: ColorChoice,
    env: BTreeMap<String, String>,
) -> Result<Finished, CommandError> {
    use permatrix::import::init::Source;
    let source = match (args.openapi, args.har, args.graphql, args.graphql_url) {
        (Some(spec), ..) => Source::OpenApi(spec),
        (None, Some(file), ..) => Source::Har {
            file,
            host: args.host,
        },
        (None, None, Some(schema), _) => Source::Graphql(schema),
        (None, None, None, Some(url)) => Source::GraphqlUrl(url),
        (None, None, None, None) => {
            return Err(CommandError::Usage(
                "give --openapi SPEC, --har FILE, --graphql SCHEMA or --graphql-url URL".into(),
            ));
        }
    };
    let color = color.colors(std::io::stderr().is_terminal(), &env);
    let mut exec = exec_options(args.vars, env);
    exec.concurrency = args.concurrency.map(usize::from);
    exec.timeout = args.timeout;
    exec.allow_mutations = args.allow_mutations;
    app::init(&permatrix::import::init::InitConfig {
        source,
        out: args.out,
        force: args.force,
        name: args.name,
        base_url: args.base_url,
        principals: args.principals,
        observe: args.observe,
        include_mutations: args.include_mutations,
        exec,
        style: TerminalStyle {
            color,
            progress: std::io::stderr().is_terminal(),
            quiet: true,
            width: None,
            curl: false,
            by_object: false,
        },
    })
}

/// A command that printed its own output and has nothing more to say.
fn quiet_success() -> Finished {
    Finished {
        ending: app::Ending::Passed,
        lines: Vec::new(),
        notes: Vec::new(),
    }
}

/// `permatrix man`: the top page on stdout, or every page into `dir`.
fn man(dir: Option<&std::path::Path>) -> Result<Finished, CommandError> {
    let failed = |e: std::io::Error| CommandError::Setup(format!("cannot write the manual: {e}"));
    match dir {
        Some(dir) => {
            clap_mangen::generate_to(Cli::command(), dir).map_err(failed)?;
            Ok(Finished {
                notes: vec![format!("manual pages written to {}", dir.display())],
                ..quiet_success()
            })
        }
        None => {
            let mut page = Vec::new();
            clap_mangen::Man::new(Cli::command())
                .render(&mut page)
                .map_err(failed)?;
            say(&String::from_utf8_lossy(&page));
            Ok(quiet_success())
        }
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let env = environment();
    let result = match cli.command {
        Command::Run(args) => app::run(&run_config(*args, cli.color, env)),
        Command::Check { paths, vars } => app::check(&paths, &exec_options(vars, env)),
        Command::Coverage(args) => {
            permatrix::coverage::coverage(&permatrix::coverage::CoverageConfig {
                openapi: args.openapi,
                paths: args.paths,
                json: args.json,
                min: args.min,
                maps: args.maps,
                exec: exec_options(args.vars, env),
            })
        }
        Command::Init(args) => init(*args, cli.color, env),
        Command::Reach(args) => {
            let color = cli.color.colors(std::io::stdout().is_terminal(), &env);
            permatrix::reach::reach_command(&permatrix::reach::ReachConfig {
                paths: args.paths,
                scopes: permatrix::reach::parse_scopes(&args.scopes),
                snapshots: args.snapshots,
                run: args.run,
                json: args.json,
                markdown: args.markdown,
                target: TargetChoice {
                    base_url: args.base_url,
                    force_mock: args.mock,
                },
                exec: exec_options(args.vars, env),
                color,
            })
        }
        Command::Diff { a, b, json } => permatrix::diff::diff(&permatrix::diff::DiffConfig {
            before: a,
            after: b,
            json,
        }),
        Command::Completions { shell } => {
            let mut out = std::io::stdout();
            clap_complete::generate(shell, &mut Cli::command(), "permatrix", &mut out);
            Ok(quiet_success())
        }
        Command::Man { dir } => man(dir.as_deref()),
        Command::Mock { file, port, host } => app::serve_mock(&file, &host, port, |name, bound| {
            say(&format!(
                "mock `{name}` serving on http://{bound}/ (Ctrl-C stops it)\n"
            ));
        }),
        Command::Explain(args) => {
            let mut exec = exec_options(args.vars, env);
            exec.timeout = args.timeout;
            exec.allow_mutations = args.allow_mutations;
            explain::explain(&ExplainConfig {
                suite: args.suite,
                endpoint: args.endpoint,
                principal: args.principal,
                target: TargetChoice {
                    base_url: args.base_url,
                    force_mock: args.mock,
                },
                exec,
                curl: args.curl,
                snapshots: Some(args.snapshots),
            })
        }
    };
    show(&result);
    ExitCode::from(app::exit_code(&result))
}
