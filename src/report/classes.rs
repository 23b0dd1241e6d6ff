//! The classes a run presents (cell outcomes, failed steps, snapshot
//! changes, findings) and which of them fail it: the default, or what
//! `--fail-on` (or a suite's `fail_on:`) names.

use super::RunReport;
use crate::scopes::FindingKind;

/// The class a cell's verdict counts as (`None`: passed or skipped).
pub(crate) fn verdict_class(verdict: crate::outcome::Verdict) -> Option<&'static str> {
    use crate::outcome::Verdict;
    match verdict {
        Verdict::Failed => Some("mismatch"),
        Verdict::Error | Verdict::CredentialsRejected => Some("error"),
        Verdict::AcceptedTampered => Some("accepted_tampered"),
        Verdict::DeniedButApplied => Some("denied_but_applied"),
        Verdict::Passed | Verdict::Skipped => None,
    }
}

impl RunReport<'_> {
    /// Whether the run fails: a class present in a suite that its policy
    /// fails on (by default a cell, a step, a snapshot, or a finding under
    /// `--strict-scopes`).
    pub fn fails_run(&self) -> bool {
        (0..self.suites.len()).any(|s| {
            self.classes_of(s)
                .keys()
                .any(|class| self.class_fails(s, class))
        })
    }

    /// Whether `class` fails the run in suite `s`.
    pub fn class_fails(&self, s: usize, class: &str) -> bool {
        let strict = self.strict_scopes && class == FindingKind::ReachedWithoutScopes.as_str();
        strict
            || match self.fail_on.get(s).and_then(Option::as_ref) {
                Some(fail_on) => fail_on.fails(class),
                None => crate::suite::lints::DEFAULT_FAILING.contains(&class),
            }
    }

    /// Whether any suite has a `--fail-on` (or `fail_on:`).
    pub fn has_fail_on(&self) -> bool {
        self.fail_on.iter().any(Option::is_some)
    }

    /// The classes present in suite `s`, with how many of each: its cells'
    /// outcomes, its failed steps (`error`), its snapshot's changes and its
    /// findings (accepted ones left out).
    pub fn classes_of(&self, s: usize) -> std::collections::BTreeMap<&'static str, usize> {
        use crate::snapshot::SnapshotOutcome;
        let mut classes = std::collections::BTreeMap::new();
        let mut add = |class: &'static str| *classes.entry(class).or_insert(0) += 1;
        for outcome in self.outcomes.iter().filter(|o| o.id.suite == s) {
            if let Some(class) = verdict_class(outcome.verdict) {
                add(class);
            }
        }
        for _ in self
            .steps
            .iter()
            .filter(|st| st.suite == s && st.fails_run())
        {
            add("error");
        }
        match self.snapshots.get(s).and_then(Option::as_ref) {
            Some(SnapshotOutcome::Changed { changes, .. }) if changes.is_empty() => add("changed"),
            Some(SnapshotOutcome::Changed { changes, .. }) => {
                for change in changes {
                    add(change.class.as_str());
                }
            }
            Some(SnapshotOutcome::MissingInCi(_)) => add("snapshot-missing"),
            _ => {}
        }
        for finding in self.findings_of(s).iter().filter(|f| f.accepted.is_none()) {
            add(finding.kind.as_str());
        }
        classes
    }

    /// With a `--fail-on`, what failed the run and what was reported only:
    /// `exit 1: 1 widened; reported: 2 narrowed, 3 lint findings`.
    pub fn fail_on_line(&self) -> Option<String> {
        if !self.has_fail_on() {
            return None;
        }
        let mut failing: std::collections::BTreeMap<&str, usize> = Default::default();
        let mut reported: std::collections::BTreeMap<&str, usize> = Default::default();
        let mut lints = 0;
        for s in 0..self.suites.len() {
            for (class, n) in self.classes_of(s) {
                if self.class_fails(s, class) {
                    *failing.entry(class).or_default() += n;
                } else if crate::suite::lints::LintId::parse(class).is_some() {
                    lints += n;
                } else {
                    *reported.entry(class).or_default() += n;
                }
            }
        }
        let list = |classes: &std::collections::BTreeMap<&str, usize>| {
            classes
                .iter()
                .map(|(class, n)| format!("{n} {class}"))
                .collect::<Vec<_>>()
        };
        let mut line = match failing.is_empty() {
            true => "exit 0".to_string(),
            false => format!("exit 1: {}", list(&failing).join(", ")),
        };
        let mut others = list(&reported);
        if lints > 0 {
            others.push(format!(
                "{lints} lint finding{}",
                if lints == 1 { "" } else { "s" }
            ));
        }
        if !others.is_empty() {
            line.push_str(&format!("; reported: {}", others.join(", ")));
        }
        Some(line)
    }
}

#[cfg(test)]
mod class_tests {
    use crate::outcome::Verdict;
    use crate::snapshot::ChangeClass;
    use crate::suite::lints::{DEFAULT_FAILING, FAIL_CLASSES, LintId};

    /// What fails by default is every cell outcome that fails and every
    /// snapshot change, and every class a run can present is one
    /// `--fail-on` may name.
    #[test]
    fn the_default_is_every_failing_outcome_and_snapshot_change() {
        let outcomes = [
            Verdict::Failed,
            Verdict::Error,
            Verdict::CredentialsRejected,
            Verdict::AcceptedTampered,
            Verdict::DeniedButApplied,
        ];
        let changes = [
            ChangeClass::Widened,
            ChangeClass::AuthBroken,
            ChangeClass::Narrowed,
            ChangeClass::Changed,
            ChangeClass::Added,
            ChangeClass::Removed,
            ChangeClass::FindingAdded,
            ChangeClass::FindingRemoved,
        ];
        let mut expected: Vec<&str> = outcomes
            .iter()
            .filter_map(|v| super::verdict_class(*v))
            .chain(changes.iter().map(|c| c.as_str()))
            .chain(["snapshot-missing"])
            .collect();
        expected.sort_unstable();
        expected.dedup();
        let mut default = DEFAULT_FAILING.to_vec();
        default.sort_unstable();
        assert_eq!(default, expected);
        assert_eq!(super::verdict_class(Verdict::Passed), None);
        for id in LintId::ALL {
            assert!(FAIL_CLASSES.contains(&id.as_str()), "{}", id.as_str());
        }
    }
}
