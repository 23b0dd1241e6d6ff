//! `valid_credentials_rejected`: a principal whose credentials work (it
//! reached an endpoint that refused someone else, so its answer depended on
//! who it is) gets 401 where another authenticated principal got 2xx or 403:
//! the server answers 401 for something other than missing or bad
//! credentials.

use super::{Caller, Observed, Shape};

pub(super) fn find(observed: &Observed<'_>) -> Vec<Shape> {
    let authenticated: Vec<usize> = observed
        .principals()
        .filter(|&p| observed.caller(p) == Caller::Authenticated)
        .collect();
    let mut shapes = Vec::new();
    for &p in &authenticated {
        // Its credentials work where it reached an endpoint that refused
        // someone else (401, 403 or 404): its answer depended on who it is.
        // A public endpoint proves nothing: wrong credentials reach it too.
        let checks = |e: usize| {
            observed
                .principals()
                .any(|q| q != p && matches!(observed.status(e, q), Some(401 | 403 | 404)))
        };
        let Some(works) = observed
            .endpoints()
            .find(|&e| observed.reached(e, p) && checks(e))
        else {
            continue;
        };
        for e in observed.endpoints() {
            if observed.status(e, p) != Some(401) {
                continue;
            }
            let others: Vec<usize> = authenticated
                .iter()
                .copied()
                .filter(|&q| q != p)
                .filter(|&q| observed.reached(e, q) || observed.status(e, q) == Some(403))
                .collect();
            let Some(&other) = others.first() else {
                continue;
            };
            let mut witnesses: Vec<_> = [observed.witness(e, p), observed.witness(works, p)]
                .into_iter()
                .flatten()
                .collect();
            witnesses.extend(others.iter().filter_map(|&q| observed.witness(e, q)));
            shapes.push(Shape::new(
                witnesses,
                format!(
                    "{p_name}'s credentials work ({p_name} reached {works_name}), yet {e_name} answered it 401 while {other_name} got {other_status}: this server answers 401 for something other than missing or bad credentials, most often a scope the token was not granted (Jira answers an app's impersonation token 401 where its scopes do not cover the endpoint), or an auth mode the endpoint does not accept",
                    p_name = observed.name(p),
                    works_name = observed.endpoint_name(works),
                    e_name = observed.endpoint_name(e),
                    other_name = observed.name(other),
                    other_status = observed.status(e, other).unwrap_or_default(),
                ),
            ));
        }
    }
    shapes
}
