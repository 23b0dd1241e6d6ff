//! `permatrix init`: a suite from an OpenAPI document, a HAR recording or a
//! GraphQL schema, checked like any suite before it is written, observed
//! first on request.

use std::path::{Path, PathBuf};

use super::compact::{self, Seen};
use super::draft::Draft;
use super::graphql::source::{self as graphql_source, Made as GraphqlMade};
use super::graphql::write::GraphqlChoices;
use super::observe::{self, ObserveError, ObserveOptions};
use super::principals::{self, PrincipalsError};
use crate::execute::ExecOptions;
use crate::openapi::{self, SpecError};
use crate::outcome::Tally;
use crate::report::terminal::TerminalStyle;
use crate::suite::{Diagnostic, LoadOptions};

/// Where the endpoints come from.
#[derive(Clone, Debug)]
pub enum Source {
    /// `--openapi SPEC`.
    OpenApi(PathBuf),
    /// `--har FILE [--host HOST]`.
    Har {
        /// The recording.
        file: PathBuf,
        /// `--host`: the host whose requests become endpoints.
        host: Option<String>,
    },
    /// `--graphql SCHEMA`: SDL or introspection JSON.
    Graphql(PathBuf),
    /// `--graphql-url URL`: the schema the server answers the introspection query with.
    GraphqlUrl(String),
}

/// Everything `permatrix init` needs, parsed from the command line.
#[derive(Clone, Debug)]
pub struct InitConfig {
    /// The document or recording.
    pub source: Source,
    /// `--out FILE`; stdout without it.
    pub out: Option<PathBuf>,
    /// `--force`: overwrite `--out`.
    pub force: bool,
    /// `--name`.
    pub name: Option<String>,
    /// `--base-url`.
    pub base_url: Option<String>,
    /// `--principals SUITE.yaml`.
    pub principals: Option<PathBuf>,
    /// `--observe`.
    pub observe: bool,
    /// `--include-mutations`: observe mutations too; with a GraphQL
    /// schema, write its mutation root fields too.
    pub include_mutations: bool,
    /// Engine settings and interpolation sources (for `--observe` and the final check).
    pub exec: ExecOptions,
    /// The progress bar while observing.
    pub style: TerminalStyle,
}

/// Why `init` wrote nothing.
#[derive(Debug, thiserror::Error)]
pub enum InitError {
    /// The document is not one.
    #[error(transparent)]
    Spec(#[from] SpecError),
    /// The recording is not one.
    #[error(transparent)]
    Har(#[from] super::har::HarError),
    /// The GraphQL schema could not be read or fetched.
    #[error(transparent)]
    Graphql(#[from] super::graphql::GraphqlError),
    /// The `--principals` suite could not be used.
    #[error(transparent)]
    Principals(#[from] PrincipalsError),
    /// `--base-url` is not a base URL.
    #[error("--base-url: {0}")]
    BaseUrl(crate::suite::base_url::BaseUrlError),
    /// `--out` exists and `--force` was not given.
    #[error("{} exists: pass --force to overwrite it", .0.display())]
    Exists(PathBuf),
    /// The suite could not be written.
    #[error("cannot write {}: {source}", file.display())]
    Write {
        /// The file.
        file: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The suite made does not pass `check` (a bug, or a `--principals` suite that does not).
    #[error("the suite made does not load:\n{}", .0.iter().map(ToString::to_string).collect::<Vec<_>>().join("\n"))]
    Invalid(Vec<Diagnostic>),
    /// `--observe` failed.
    #[error(transparent)]
    Observe(#[from] ObserveError),
}

/// What `init` made.
#[derive(Debug)]
pub struct Made {
    /// The suite's text.
    pub text: String,
    /// Warnings and what the observation found, for stderr.
    pub notes: Vec<String>,
}

/// Makes the suite, checks it and writes it to `--out` (or returns it for stdout).
pub fn init(config: &InitConfig) -> Result<Made, InitError> {
    if let Some(url) = &config.base_url {
        crate::suite::parse_base_url(url).map_err(InitError::BaseUrl)?;
    }
    if let Some(out) = &config.out
        && out.exists()
        && !config.force
    {
        return Err(InitError::Exists(out.clone()));
    }
    let out_dir = match config.out.as_deref().and_then(Path::parent) {
        Some(dir) if !dir.as_os_str().is_empty() => dir.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let Drafted {
        mut draft,
        rows,
        mut notes,
        literals,
    } = made(config, &out_dir)?;
    // The credentials `--principals` wrote as they are stay out of the file;
    // observing and checking get them as `--var`s would.
    let mut exec = config.exec.clone();
    for (var, value) in literals {
        exec.cli_vars.entry(var).or_insert(value);
    }
    let principal_names = draft.principal_names();
    let (rows, lift) = if config.observe {
        let observed = observe::observe(
            &draft,
            &out_dir,
            &ObserveOptions {
                exec: &exec,
                include_mutations: config.include_mutations,
                style: config.style,
            },
        )?;
        notes.push(observed_line(&observed.tally));
        notes.extend(like_anonymous(&draft, &rows, &observed.rows));
        for (endpoint, why) in draft.endpoints.iter_mut().zip(&observed.unobserved) {
            endpoint.comments.extend(why.clone());
        }
        notes.extend(
            observed
                .notices
                .into_iter()
                .map(|n| format!("warning: {n}")),
        );
        draft.expectations = "Expectations are the statuses observed; review them before committing: each is what the target answered, not what it should answer.".into();
        (observed.rows, true)
    } else {
        (rows, false)
    };
    let text = settle(&mut draft, &rows, lift);
    check(&text, config.out.as_deref(), &exec, &out_dir)?;
    if let Some(out) = &config.out {
        crate::atomic_file::write_atomically(out, text.as_bytes()).map_err(|e| {
            InitError::Write {
                file: e.path,
                source: e.source,
            }
        })?;
        notes.push(format!(
            "wrote {} ({} endpoints × {} principals)",
            out.display(),
            draft.endpoints.len(),
            principal_names.len()
        ));
    }
    Ok(Made { text, notes })
}

/// Writes the compacted matrix into the draft as its expectations and renders it;
/// `lift`: a principal's value common to every endpoint goes to `defaults.expect`.
fn settle(draft: &mut Draft, rows: &[Vec<Seen>], lift: bool) -> String {
    let compacted = compact::compact(rows, &draft.principal_names(), &draft.groups, lift);
    draft.default_expect = compacted.defaults;
    for (endpoint, cells) in draft.endpoints.iter_mut().zip(compacted.endpoints) {
        endpoint.expect = cells;
    }
    draft.render()
}

/// The suite `init --openapi SPEC` writes for a document held in memory (no
/// `--principals`, no `--observe`, not checked): for the fuzz target and the benchmark.
pub fn openapi_text(file: &Path, text: &str) -> Result<String, InitError> {
    let root = crate::document::parse(file, text).map_err(SpecError::from)?;
    let spec = openapi::from_value(file, &root)?;
    let Drafted {
        mut draft, rows, ..
    } = from_spec(&spec, file, None, None, None);
    Ok(settle(&mut draft, &rows, false))
}

/// The suite `init --har FILE` writes for a recording held in memory (no
/// `--principals`, no `--observe`, not checked): for the fuzz target.
pub fn har_text(file: &Path, bytes: &[u8]) -> Result<String, InitError> {
    let choices = super::har::HarChoices {
        source: file_name(file),
        ..super::har::HarChoices::default()
    };
    let mut made = super::har::draft_from_bytes(file, bytes, &choices)?;
    Ok(settle(&mut made.draft, &made.rows, false))
}

/// The suite `init --graphql SCHEMA` writes for a schema held in memory (no
/// `--principals`, no `--observe`, not checked): for tests.
pub fn graphql_text(file: &Path, text: &str, include_mutations: bool) -> Result<String, InitError> {
    let choices = GraphqlChoices {
        include_mutations,
        ..Default::default()
    };
    let mut made = graphql_source::from_text(file, text, &choices)?;
    Ok(settle(&mut made.draft, &made.rows, false))
}

/// A source's draft, its matrix (endpoint × principal) and its warnings.
struct Drafted {
    draft: Draft,
    rows: Vec<Vec<Seen>>,
    notes: Vec<String>,
    /// Credentials a `--principals` suite wrote as they are, now variables.
    literals: Vec<(String, String)>,
}

fn made(config: &InitConfig, out_dir: &Path) -> Result<Drafted, InitError> {
    match &config.source {
        Source::OpenApi(file) => {
            let spec = openapi::load(file)?;
            let set = match &config.principals {
                Some(suite) => Some(principals::from_suite(suite, &spec.schemes, out_dir)?),
                None => None,
            };
            Ok(from_spec(
                &spec,
                file,
                set,
                config.name.clone(),
                config.base_url.clone(),
            ))
        }
        Source::Har { file, host } => {
            let mut set = match &config.principals {
                Some(suite) => Some(principals::from_suite(suite, &[], out_dir)?),
                None => None,
            };
            let literals = set
                .as_mut()
                .map(|set| std::mem::take(&mut set.literals))
                .unwrap_or_default();
            let made = super::har::draft(
                file,
                &super::har::HarChoices {
                    host: host.clone(),
                    name: config.name.clone(),
                    base_url: config.base_url.clone(),
                    source: file_name(file),
                    principals: set,
                },
            )?;
            Ok(Drafted {
                draft: made.draft,
                rows: made.rows,
                notes: made.notes,
                literals,
            })
        }
        Source::Graphql(file) => {
            let (choices, set) = graphql_inputs(config, out_dir)?;
            let made = graphql_source::from_file(file, &choices, set)?;
            Ok(made.into())
        }
        Source::GraphqlUrl(url) => {
            let (choices, set) = graphql_inputs(config, out_dir)?;
            let made = super::graphql::source::from_url(url, &choices, set, &config.exec, out_dir)?;
            Ok(made.into())
        }
    }
}

/// What a GraphQL source is made with: the command line's choices and the `--principals` suite's.
fn graphql_inputs(
    config: &InitConfig,
    out_dir: &Path,
) -> Result<(GraphqlChoices, Option<principals::PrincipalSet>), InitError> {
    let set = match &config.principals {
        Some(suite) => Some(principals::from_suite(suite, &[], out_dir)?),
        None => None,
    };
    let choices = GraphqlChoices {
        name: config.name.clone(),
        base_url: config.base_url.clone(),
        include_mutations: config.include_mutations,
        ..Default::default()
    };
    Ok((choices, set))
}

impl From<GraphqlMade> for Drafted {
    fn from(made: GraphqlMade) -> Drafted {
        Drafted {
            draft: made.draft,
            rows: made.rows,
            notes: made.notes,
            literals: made.literals,
        }
    }
}

/// The draft of a document: principals from `set`, else one per security scheme.
fn from_spec(
    spec: &openapi::Spec,
    file: &Path,
    set: Option<principals::PrincipalSet>,
    name: Option<String>,
    base_url: Option<String>,
) -> Drafted {
    let mut set = set.unwrap_or_else(|| {
        let suite = super::from_openapi::suite_name(name.as_deref(), spec.title.as_deref());
        let prefix = super::draft::var_name(&suite).to_ascii_uppercase();
        principals::from_schemes(&spec.schemes, &prefix)
    });
    let literals = std::mem::take(&mut set.literals);
    let choices = super::from_openapi::OpenApiChoices {
        name,
        base_url,
        source: file_name(file),
    };
    let (draft, rows) = super::from_openapi::draft(spec, set, &choices);
    let notes = spec
        .warnings
        .iter()
        .map(|w| format!("warning: {}: {w}", file.display()))
        .collect();
    Drafted {
        draft,
        rows,
        notes,
        literals,
    }
}

fn file_name(file: &Path) -> String {
    file.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| file.display().to_string())
}

/// Loads the text as `check` would, from where it will be written.
fn check(
    text: &str,
    out: Option<&Path>,
    exec: &crate::execute::ExecOptions,
    out_dir: &Path,
) -> Result<(), InitError> {
    let file = match out {
        Some(out) => out.to_path_buf(),
        None => out_dir.join("suite.yaml"),
    };
    let options = LoadOptions {
        cli_vars: exec.cli_vars.clone(),
        env: exec.env.clone(),
        base_url: None,
        force_mock: false,
        mock_where_defined: false,
        probes: None,
    };
    crate::suite::load_str(&file, text, &options)
        .map(|_| ())
        .map_err(InitError::Invalid)
}

/// A warning for each principal with credentials that got what a principal
/// without any got from every endpoint observed, among them one the source
/// says it may reach (or, when the source says nothing, one where the other
/// was refused): its credentials are most likely unset (an empty
/// environment variable). `expected` is the source's matrix, `observed` the answers.
fn like_anonymous(draft: &Draft, expected: &[Vec<Seen>], observed: &[Vec<Seen>]) -> Vec<String> {
    use super::yaml_out::Yaml;
    let sends_nothing = |p: &super::draft::Principal| {
        p.body.iter().any(|e| {
            e.key == "auth" && matches!(&e.value, Yaml::Str(v) | Yaml::Raw(v) if v == "none")
        })
    };
    let Some(anonymous) = draft.principals.iter().position(sends_nothing) else {
        return Vec::new();
    };
    let answered = |seen: &Seen| seen.comment.is_none() && seen.value.parse::<u16>().is_ok();
    let refused = |seen: &Seen| matches!(seen.value.as_str(), "401" | "403");
    draft
        .principals
        .iter()
        .enumerate()
        .filter(|(p, principal)| *p != anonymous && !sends_nothing(principal))
        .filter(|(p, _)| {
            let both: Vec<usize> = (0..observed.len())
                .filter(|&e| answered(&observed[e][*p]) && answered(&observed[e][anonymous]))
                .collect();
            let same = !both.is_empty()
                && both
                    .iter()
                    .all(|&e| observed[e][*p].value == observed[e][anonymous].value);
            let source_says = expected.iter().any(|row| row[*p].value != "any");
            // The document's `allow`, or a recording's 2xx.
            let reaches = |seen: &Seen| seen.value == "allow" || seen.value.starts_with('2');
            let telling = both.iter().any(|&e| match source_says {
                true => reaches(&expected[e][*p]) && !reaches(&expected[e][anonymous]),
                false => refused(&observed[e][anonymous]),
            });
            same && telling
        })
        .map(|(_, principal)| {
            format!(
                "warning: `{}` got what `{}` got from every endpoint: are its credentials set? (the suite pins those statuses)",
                principal.name, draft.principals[anonymous].name
            )
        })
        .collect()
}

fn observed_line(tally: &Tally) -> String {
    let answered = tally.passed + tally.failed;
    let mut line = format!("observed {answered} cell(s)");
    if tally.errors > 0 {
        line.push_str(&format!(
            ", {} errored (written as `any` with the error quoted)",
            tally.errors
        ));
    }
    if tally.skipped > 0 {
        line.push_str(&format!(", {} not sent (mutation guard)", tally.skipped));
    }
    line
}
