//! `privilege_inversion`: a lower principal reaches an endpoint on which a
//! higher one is denied. The order is the suite's `ranks:` (lowest first,
//! peers in one rank), else the strict subset order of the principals' scope
//! closures (a principal holding fewer scopes is lower).

use super::{Observed, Shape, names};

pub(super) fn find(observed: &Observed<'_>) -> Vec<Shape> {
    let suite = observed.suite;
    let order = Order::of(observed);
    let mut shapes = Vec::new();
    for e in observed.endpoints() {
        for high in observed.principals().filter(|&h| observed.denied(e, h)) {
            let lower: Vec<usize> = observed
                .principals()
                .filter(|&l| observed.reached(e, l) && order.below(l, high))
                .collect();
            if lower.is_empty() {
                continue;
            }
            let mut witnesses: Vec<_> = observed.witness(e, high).into_iter().collect();
            witnesses.extend(lower.iter().filter_map(|&l| observed.witness(e, l)));
            let whom: Vec<&str> = lower.iter().map(|&l| observed.name(l)).collect();
            shapes.push(Shape::new(
                witnesses,
                format!(
                    "{} {} {}, yet {} (higher{}) is refused: a check that a stronger principal fails, or an order that does not hold here",
                    names(&whom),
                    if whom.len() == 1 { "reaches" } else { "reach" },
                    observed.endpoint_name(e),
                    observed.name(high),
                    if suite.lint_settings.ranks.is_some() { " in `ranks`" } else { ": its scopes include theirs" }
                ),
            ));
        }
    }
    shapes
}

/// How principals compare.
enum Order {
    /// By rank (`None`: left out of `ranks`, compared with nobody).
    Ranks(Vec<Option<usize>>),
    /// By scope closure (`None`: declares no `scopes:`).
    Scopes(Vec<Option<std::collections::BTreeSet<String>>>),
}

impl Order {
    fn of(observed: &Observed<'_>) -> Order {
        let suite = observed.suite;
        match &suite.lint_settings.ranks {
            Some(ranks) => {
                let mut rank = vec![None; suite.principals.len()];
                for (i, members) in ranks.iter().enumerate() {
                    for &p in members {
                        rank[p] = Some(i);
                    }
                }
                Order::Ranks(rank)
            }
            None => Order::Scopes(crate::scopes::closures(suite)),
        }
    }

    /// Whether `low` is strictly below `high`.
    fn below(&self, low: usize, high: usize) -> bool {
        match self {
            Order::Ranks(rank) => matches!((rank[low], rank[high]), (Some(l), Some(h)) if l < h),
            Order::Scopes(closures) => match (&closures[low], &closures[high]) {
                (Some(l), Some(h)) => l.len() < h.len() && l.is_subset(h),
                _ => false,
            },
        }
    }
}
