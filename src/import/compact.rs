//! A matrix of expectations made short enough to review: per endpoint the
//! most frequent value as `"*"` and the exceptions by principal (a group
//! when its members agree), and a principal's value common to every
//! endpoint lifted into `defaults.expect`.

use super::draft::Cell;

/// One cell before compaction.
#[derive(Clone, Debug, PartialEq)]
pub struct Seen {
    /// The expectation (`200`, `deny`, `any`).
    pub value: String,
    /// A note for the reader; a cell with one is always written on its own line.
    pub comment: Option<String>,
}

impl Seen {
    /// A cell without comment.
    pub fn plain(value: impl Into<String>) -> Seen {
        Seen {
            value: value.into(),
            comment: None,
        }
    }
}

/// The compacted matrix: `defaults.expect` and each endpoint's `expect`.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Compacted {
    /// `defaults.expect`.
    pub defaults: Vec<Cell>,
    /// Each endpoint's `expect`, in endpoint order.
    pub endpoints: Vec<Vec<Cell>>,
}

/// Compacts `rows` (endpoint × principal, principals in `principals` order).
/// `lift_defaults`: move a principal whose value is the same on every
/// endpoint into `defaults.expect`.
pub fn compact(
    rows: &[Vec<Seen>],
    principals: &[String],
    groups: &[(String, Vec<String>)],
    lift_defaults: bool,
) -> Compacted {
    let mut lifted = vec![false; principals.len()];
    let mut defaults = Vec::new();
    if lift_defaults && rows.len() >= 2 {
        for (p, name) in principals.iter().enumerate() {
            let first = &rows[0][p];
            if first.comment.is_none() && rows.iter().all(|row| row[p] == *first) {
                lifted[p] = true;
                defaults.push(Cell::new(name.clone(), first.value.clone()));
            }
        }
        if lifted.iter().all(|l| *l) {
            // Everyone lifted: the whole matrix is one line per principal, or one `*`.
            if defaults.iter().all(|c| c.value == defaults[0].value) {
                defaults = vec![Cell::new("*", defaults[0].value.clone())];
            }
            return Compacted {
                defaults,
                endpoints: vec![Vec::new(); rows.len()],
            };
        }
    }
    let endpoints = rows
        .iter()
        .map(|row| compact_row(row, principals, groups, &lifted))
        .collect();
    Compacted {
        defaults,
        endpoints,
    }
}

fn compact_row(
    row: &[Seen],
    principals: &[String],
    groups: &[(String, Vec<String>)],
    lifted: &[bool],
) -> Vec<Cell> {
    let open: Vec<usize> = (0..principals.len()).filter(|p| !lifted[*p]).collect();
    // The most frequent uncommented value; ties go to the one seen first.
    let mut counts: Vec<(&str, usize)> = Vec::new();
    for &p in &open {
        if row[p].comment.is_some() {
            continue;
        }
        match counts.iter_mut().find(|(v, _)| *v == row[p].value) {
            Some((_, n)) => *n += 1,
            None => counts.push((&row[p].value, 1)),
        }
    }
    let mut best: Option<(&str, usize)> = None;
    for &(value, n) in &counts {
        if best.is_none_or(|(_, m)| n > m) {
            best = Some((value, n));
        }
    }
    let star = best.map(|(v, _)| v.to_string());
    let mut cells = Vec::new();
    if let Some(star) = &star {
        cells.push(Cell::new("*", star.clone()));
    }
    let mut exceptions: Vec<usize> = open
        .iter()
        .copied()
        .filter(|&p| row[p].comment.is_some() || Some(&row[p].value) != star.as_ref())
        .collect();
    for (group, members) in groups {
        let indices: Vec<usize> = members
            .iter()
            .filter_map(|m| principals.iter().position(|p| p == m))
            .filter(|p| !lifted[*p])
            .collect();
        let agree = indices.len() >= 2
            && indices.iter().all(|p| exceptions.contains(p))
            && indices
                .iter()
                .all(|&p| row[p].comment.is_none() && row[p].value == row[indices[0]].value);
        if agree {
            cells.push(Cell::new(group.clone(), row[indices[0]].value.clone()));
            exceptions.retain(|p| !indices.contains(p));
        }
    }
    for p in exceptions {
        cells.push(Cell {
            key: principals[p].clone(),
            value: row[p].value.clone(),
            comment: row[p].comment.clone(),
        });
    }
    cells
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    fn row(values: &[&str]) -> Vec<Seen> {
        values.iter().map(|v| Seen::plain(*v)).collect()
    }

    fn line(cells: &[Cell]) -> String {
        cells
            .iter()
            .map(|c| format!("{}={}", c.key, c.value))
            .collect::<Vec<_>>()
            .join(" ")
    }

    #[test]
    fn the_most_frequent_status_is_star_and_a_constant_principal_a_default() {
        let principals = names(&["anonymous", "admin", "app", "bot"]);
        let groups = vec![("apps".to_string(), names(&["app", "bot"]))];
        let rows = vec![
            row(&["401", "200", "403", "403"]),
            row(&["401", "200", "200", "200"]),
            row(&["401", "404", "404", "200"]),
            row(&["401", "200", "500", "500"]),
        ];
        let c = compact(&rows, &principals, &groups, true);
        assert_eq!(line(&c.defaults), "anonymous=401");
        assert_eq!(line(&c.endpoints[0]), "*=403 admin=200");
        assert_eq!(line(&c.endpoints[1]), "*=200");
        assert_eq!(line(&c.endpoints[2]), "*=404 bot=200");
        assert_eq!(line(&c.endpoints[3]), "*=500 admin=200");
        let rows = vec![row(&["401", "200", "403", "403", "403"])];
        let five = names(&["anonymous", "admin", "app", "bot", "x"]);
        let c = compact(
            &rows,
            &five,
            &[("apps".into(), names(&["app", "bot"]))],
            true,
        );
        assert_eq!(line(&c.endpoints[0]), "*=403 anonymous=401 admin=200");
        let rows = vec![row(&["401", "200", "403", "403", "200"])];
        let c = compact(
            &rows,
            &five,
            &[("apps".into(), names(&["app", "bot"]))],
            true,
        );
        assert_eq!(line(&c.endpoints[0]), "*=200 apps=403 anonymous=401");
    }

    #[test]
    fn commented_cells_stay_on_their_own_and_a_uniform_matrix_is_one_star() {
        let principals = names(&["a", "b"]);
        let mut rows = vec![row(&["200", "200"]), row(&["200", "200"])];
        assert_eq!(
            line(&compact(&rows, &principals, &[], true).defaults),
            "*=200"
        );
        rows[1][1] = Seen {
            value: "any".into(),
            comment: Some("error: refused".into()),
        };
        let c = compact(&rows, &principals, &[], true);
        assert_eq!(line(&c.defaults), "a=200");
        assert_eq!(line(&c.endpoints[0]), "*=200");
        assert_eq!(line(&c.endpoints[1]), "b=any");
        assert_eq!(c.endpoints[1][0].comment.as_deref(), Some("error: refused"));
    }
}
