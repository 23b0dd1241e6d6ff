//! Where a schema comes from, a file (SDL or introspection JSON, told by its
//! content) or a server (`--graphql-url`), and the draft made of it.

use std::path::Path;

use super::write::{self, GraphqlChoices};
use super::{GraphqlError, Schema, fetch, introspection, sdl};
use crate::document::DocumentError;
use crate::execute::ExecOptions;
use crate::import::compact::Seen;
use crate::import::draft::Draft;
use crate::import::principals::PrincipalSet;

/// What a schema file holds, told by its content: a JSON object is the
/// result of an introspection query, anything else SDL.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// Schema definition language.
    Sdl,
    /// Introspection JSON.
    Introspection,
}

impl Format {
    /// How the header comment names it.
    pub fn describe(self) -> &'static str {
        match self {
            Format::Sdl => "SDL",
            Format::Introspection => "introspection JSON",
        }
    }
}

/// Reads the schema in `file`, SDL or introspection JSON.
pub fn load(file: &Path) -> Result<(Schema, Format), GraphqlError> {
    let bytes = std::fs::read(file).map_err(|source| DocumentError::Read {
        file: file.to_path_buf(),
        source,
    })?;
    let text = String::from_utf8(bytes).map_err(|e| DocumentError::NotADocument {
        file: file.to_path_buf(),
        message: format!("not UTF-8 text (byte {})", e.utf8_error().valid_up_to()),
    })?;
    parse(file, text.trim_start_matches('\u{feff}'))
}

/// [`load`] on text already in memory; `file` names it in messages.
pub fn parse(file: &Path, text: &str) -> Result<(Schema, Format), GraphqlError> {
    if text.trim_start().starts_with('{') {
        let root = crate::document::parse(file, text)?;
        Ok((
            introspection::from_value(file, &root)?,
            Format::Introspection,
        ))
    } else {
        Ok((sdl::from_text(file, text)?, Format::Sdl))
    }
}

/// What a GraphQL source made.
pub struct Made {
    /// The draft.
    pub draft: Draft,
    /// Its matrix, endpoint × principal.
    pub rows: Vec<Vec<Seen>>,
    /// Warnings for stderr.
    pub notes: Vec<String>,
    /// Credentials the `--principals` suite wrote as they are, now variables.
    pub literals: Vec<(String, String)>,
}

/// The draft of the schema in `file`, principals from `set` (`--principals`).
pub fn from_file(
    file: &Path,
    choices: &GraphqlChoices,
    set: Option<PrincipalSet>,
) -> Result<Made, GraphqlError> {
    let (schema, format) = load(file)?;
    let choices = file_choices(file, format, choices);
    Ok(made(&schema, &file.display().to_string(), set, &choices))
}

/// [`from_file`] for a schema held in memory, without `--principals`.
pub fn from_text(file: &Path, text: &str, choices: &GraphqlChoices) -> Result<Made, GraphqlError> {
    let (schema, format) = parse(file, text)?;
    let choices = file_choices(file, format, choices);
    Ok(made(&schema, &file.display().to_string(), None, &choices))
}

/// The draft of the schema the server at `url` answers the introspection
/// query with, asked as the first principal of `set` with credentials;
/// `out_dir` is where the suite will be written.
pub fn from_url(
    url: &str,
    choices: &GraphqlChoices,
    set: Option<PrincipalSet>,
    exec: &ExecOptions,
    out_dir: &Path,
) -> Result<Made, GraphqlError> {
    // The credentials written as they are ask for the schema, as they observe.
    let mut exec = exec.clone();
    for (var, value) in set.iter().flat_map(|s| &s.literals) {
        exec.cli_vars
            .entry(var.clone())
            .or_insert_with(|| value.clone());
    }
    let asked = fetch::introspect(url, set.as_ref(), &exec, out_dir)?;
    let schema = introspection::from_value(Path::new(url), &asked.root)?;
    let parsed = url::Url::parse(url).ok();
    let choices = GraphqlChoices {
        title: parsed.as_ref().and_then(write::host_title),
        url: parsed,
        source: match &asked.sent_as {
            Some(who) => format!("{url} (introspected as `{who}`)"),
            None => format!("{url} (introspected without credentials)"),
        },
        flag: "--graphql-url",
        ..choices.clone()
    };
    Ok(made(&schema, url, set, &choices))
}

/// `choices` for a schema file: the file names the suite and the header.
fn file_choices(file: &Path, format: Format, choices: &GraphqlChoices) -> GraphqlChoices {
    let name = file.file_name().map_or_else(
        || file.display().to_string(),
        |n| n.to_string_lossy().into_owned(),
    );
    GraphqlChoices {
        title: file.file_stem().map(|s| s.to_string_lossy().into_owned()),
        source: format!("{name} ({})", format.describe()),
        flag: "--graphql",
        ..choices.clone()
    }
}

/// The draft of `schema`; `source` names it in warnings.
fn made(
    schema: &Schema,
    source: &str,
    mut set: Option<PrincipalSet>,
    choices: &GraphqlChoices,
) -> Made {
    let literals = set
        .as_mut()
        .map(|set| std::mem::take(&mut set.literals))
        .unwrap_or_default();
    let (draft, rows) = write::draft(schema, set, choices);
    let notes = schema
        .warnings
        .iter()
        .map(|w| format!("warning: {source}: {w}"))
        .collect();
    Made {
        draft,
        rows,
        notes,
        literals,
    }
}
