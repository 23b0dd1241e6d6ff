//! The smallest set of held scopes that still covers what a principal needs.

use crate::suite::{Required, ScopeRules};

/// Above this many held scopes, subsets are not enumerated (2^16 at most):
/// scopes are dropped one at a time instead.
const MAX_EXHAUSTIVE: usize = 16;

/// The smallest subset of `held` whose closure meets every requirement in
/// `needs`, in `held`'s order. Among subsets of the same size the one whose
/// closure is smallest wins (least privilege), then the one of earlier scopes.
pub(super) fn smallest_cover(
    held: &[String],
    needs: &[&Required],
    rules: &ScopeRules,
) -> Vec<String> {
    let covers = |subset: &[&String]| {
        let closure = rules.closure(subset.iter().copied());
        needs.iter().all(|need| need.met_by(&closure).is_some())
    };
    let picked = |mask: u32| -> Vec<&String> {
        held.iter()
            .enumerate()
            .filter(|(i, _)| mask & (1 << i) != 0)
            .map(|(_, s)| s)
            .collect()
    };
    if held.len() > MAX_EXHAUSTIVE {
        // Drop the widest scopes first: what remains is a cover, if not always the smallest.
        let mut kept: Vec<&String> = held.iter().collect();
        let mut order: Vec<&String> = held.iter().collect();
        order.sort_by_key(|s| std::cmp::Reverse(rules.closure([*s]).len()));
        for scope in order {
            let without: Vec<&String> = kept.iter().copied().filter(|s| *s != scope).collect();
            if covers(&without) {
                kept = without;
            }
        }
        return kept.into_iter().cloned().collect();
    }
    let mut masks: Vec<u32> = (0..1u32 << held.len()).collect();
    masks.sort_by_key(|m| (m.count_ones(), std::cmp::Reverse(m.reverse_bits())));
    let mut best: Option<(usize, u32)> = None;
    for mask in masks {
        if best.is_some_and(|(_, b)| b.count_ones() < mask.count_ones()) {
            break;
        }
        let subset = picked(mask);
        if !covers(&subset) {
            continue;
        }
        let width = rules.closure(subset.iter().copied()).len();
        if best.is_none_or(|(w, _)| width < w) {
            best = Some((width, mask));
        }
    }
    best.map(|(_, mask)| picked(mask).into_iter().cloned().collect())
        .unwrap_or_else(|| held.to_vec())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    fn need(alternatives: &[&[&str]]) -> Required {
        Required {
            alternatives: alternatives.iter().map(|a| names(a)).collect(),
        }
    }

    #[test]
    fn keeps_the_narrowest_scope_that_still_covers() {
        let rules = ScopeRules {
            implies: [("ADMIN", "WRITE"), ("WRITE", "READ")]
                .iter()
                .map(|(k, v)| (k.to_string(), vec![v.to_string()]))
                .collect(),
            known: None,
        };
        let read = need(&[&["READ"]]);
        let held = names(&["ADMIN", "READ", "ACT_AS_USER"]);
        assert_eq!(smallest_cover(&held, &[&read], &rules), ["READ"]);
        let write = need(&[&["WRITE"]]);
        assert_eq!(smallest_cover(&held, &[&read, &write], &rules), ["ADMIN"]);
        let either = need(&[&["ACT_AS_USER"], &["ADMIN"]]);
        assert_eq!(
            smallest_cover(&held, &[&read, &either], &rules),
            ["ADMIN"],
            "one scope covers both"
        );
        assert!(smallest_cover(&held, &[], &rules).is_empty());
        let many: Vec<String> = (0..20).map(|i| format!("s{i}")).collect();
        let s7 = need(&[&["s7"]]);
        assert_eq!(smallest_cover(&many, &[&s7], &rules), ["s7"]);
    }
}
