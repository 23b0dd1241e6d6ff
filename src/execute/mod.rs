//! The async engine: every selected cell of every suite through one bounded
//! pipeline, with per-principal clients, auth, pacing and retries.

mod before_after;
mod canary;
mod cell;
mod certificate;
mod compare;
mod curl;
mod items;
mod pace;
mod probe;
mod send;
pub mod steps;
mod tls;
mod trace;
mod transport;
mod verify;

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use futures::stream;
use tokio::sync::Semaphore;
use url::Url;

use crate::auth::{self, Auth, AuthEnv, AuthError};
use crate::outcome::{CellId, CellOutcome};
use crate::redact::Redactor;
use crate::suite::Suite;
use crate::suite::template::Captured;
use pace::Pacer;

/// Why the engine could not set a principal up.
#[derive(Debug, thiserror::Error)]
pub enum ExecError {
    /// A suite's TLS settings make no configuration.
    #[error("suite `{suite}`: {source}")]
    Tls {
        /// The suite's name.
        suite: String,
        /// Why.
        source: tls::TlsError,
    },
    /// The HTTP client could not be built.
    #[error("cannot create an HTTP client: {0}")]
    Client(#[from] reqwest::Error),
}

/// Where one suite's requests go.
#[derive(Clone, Debug)]
pub struct ResolvedTarget {
    /// The effective base URL (`${BASE_URL}`).
    pub base_url: Url,
    /// Whether it is permatrix's own mock (mutations are always allowed there).
    pub is_mock: bool,
}

/// What the session prepared for each suite, by suite index: where its
/// requests go, and what its setup steps captured.
#[derive(Clone, Copy, Debug)]
pub struct Prepared<'a> {
    /// Each suite's target.
    pub targets: &'a [ResolvedTarget],
    /// Each suite's captured values.
    pub captured: &'a [Captured],
}

/// Run-wide settings from the command line.
#[derive(Clone, Debug, Default)]
pub struct ExecOptions {
    /// `--concurrency`: overrides every suite's `concurrency`.
    pub concurrency: Option<usize>,
    /// `--timeout`: overrides every suite's `timeout`.
    pub timeout: Option<Duration>,
    /// `--allow-mutations`.
    pub allow_mutations: bool,
    /// `--var NAME=VALUE`.
    pub cli_vars: BTreeMap<String, String>,
    /// The environment, captured once.
    pub env: BTreeMap<String, String>,
    /// Record each cell's whole exchange (for `explain`).
    pub trace: bool,
    /// Build each cell's curl command (`--curl`, a JSON report, `explain
    /// --curl`); with `trace`, also keep the credential a signed or fetched
    /// auth mode put in the request, for `explain --curl`.
    pub curl: bool,
    /// `PERMATRIX_PROXY_LOOPBACK=1`: send loopback targets through the
    /// environment's proxies too (the embedded mock never goes through one).
    pub proxy_loopback: bool,
    /// A DNS resolver to use instead of the system's (tests inject one).
    pub resolver: Option<Resolver>,
    /// `--record`: keep each response's headers and body for the recording.
    pub record: Option<RecordLimits>,
    /// `--probes`: the tamper probes every principal gets, overriding the suites'.
    pub probes: Option<crate::suite::probe::ProbeChoice>,
}

/// What `--record` keeps of each response.
#[derive(Clone, Debug)]
pub struct RecordLimits {
    /// Headers kept besides Content-Type, WWW-Authenticate, Location and
    /// Retry-After (`--record-headers`), lower case.
    pub headers: Vec<String>,
    /// Bodies longer than this many bytes are cut with a marker (`--record-max-body`).
    pub max_body: usize,
}

/// The headers every recording keeps: those that matter for authorization.
pub const RECORDED_HEADERS: &[&str] = &[
    "content-type",
    "www-authenticate",
    "location",
    "retry-after",
];

/// A DNS resolver for every principal's client.
#[derive(Clone)]
pub struct Resolver(pub Arc<dyn reqwest::dns::Resolve>);

impl std::fmt::Debug for Resolver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Resolver")
    }
}

/// A principal ready to send: its own connections and auth mode.
struct PrincipalRuntime {
    transport: transport::Transport,
    auth: Result<Arc<dyn Auth>, AuthError>,
}

/// Everything a cell needs, shared by all cells of the run.
struct Shared<'a> {
    suites: &'a [Suite],
    /// By suite: what its setup steps captured.
    captured: &'a [Captured],
    targets: &'a [ResolvedTarget],
    options: &'a ExecOptions,
    redactor: Arc<Redactor>,
    /// By suite, then principal; set up for those with cells in the run.
    principals: Vec<Vec<Option<PrincipalRuntime>>>,
    /// By suite, then endpoint: the URL, when no variable goes into it, so
    /// each of its cells clones it instead of building it again.
    fixed_urls: Vec<Vec<Option<(Url, ::http::Uri)>>>,
    pacers: Vec<Option<Arc<Pacer>>>,
    /// By suite: its target's origin.
    origins: Vec<String>,
    /// By suite: its target's run-wide retry budget (shared by suites with one target).
    retry_budgets: Vec<Arc<crate::retry::RetryBudget>>,
    /// What the run has to say once, whatever the cells (a target that kept refusing).
    notices: std::sync::Mutex<Vec<String>>,
    /// By suite: cells that timed out before a connection was made.
    connect_timeouts: Vec<std::sync::atomic::AtomicUsize>,
    in_flight: Semaphore,
}

impl Shared<'_> {
    /// The variables `id`'s principal renders its requests in: `--var`, the
    /// principal's and the suite's vars, the environment, `${BASE_URL}` and
    /// what the steps `captured`.
    fn scope_of<'s>(&'s self, id: CellId, captured: &'s Captured) -> crate::suite::Scope<'s> {
        self.scope_for(id, id.principal, captured)
    }

    /// [`Shared::scope_of`], with `${own.…}` naming principal `own`'s captures.
    fn scope_for<'s>(
        &'s self,
        id: CellId,
        own: usize,
        captured: &'s Captured,
    ) -> crate::suite::Scope<'s> {
        let suite = &self.suites[id.suite];
        let base_url = self.targets[id.suite]
            .base_url
            .as_str()
            .trim_end_matches('/');
        suite
            .scope(&self.options.cli_vars, &self.options.env, Some(base_url))
            .for_principal(&suite.principals[id.principal].vars)
            .with_captured(captured, Some(suite.own_name(own)))
    }

    /// Records something the run says once.
    fn notice(&self, text: String) {
        if let Ok(mut notices) = self.notices.lock() {
            notices.push(text);
        }
    }
}

/// Installs the TLS crypto provider once per process (reqwest needs one).
fn ensure_crypto_provider() {
    // An error only means another part of the process installed one first.
    let _ = rustls::crypto::ring::default_provider().install_default();
}

/// A reqwest client for a request sent outside the cell pipeline (`init
/// --graphql-url` asking for the schema), set up as a principal's is: no
/// redirects, permatrix's User-Agent, the suite's TLS settings, the injected
/// resolver. `direct`: the environment's proxies are left out, as they are
/// for a cell to a loopback target (unless `PERMATRIX_PROXY_LOOPBACK`).
pub(crate) fn client_outside_cells(
    suite: &Suite,
    options: &ExecOptions,
    direct: bool,
) -> Result<reqwest::Client, ExecError> {
    ensure_crypto_provider();
    let tls = tls::client_config(&suite.target.tls).map_err(|source| ExecError::Tls {
        suite: suite.name.clone(),
        source,
    })?;
    let mut builder = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .user_agent(transport::USER_AGENT_VALUE)
        .tls_backend_preconfigured(tls);
    if direct {
        builder = builder.no_proxy();
    }
    if let Some(resolver) = &options.resolver {
        builder = builder.dns_resolver(resolver.0.clone());
    }
    Ok(builder.build()?)
}

/// Whether a request to `url` goes straight to it, past the environment's
/// proxies, as a cell's does: a loopback target, unless `PERMATRIX_PROXY_LOOPBACK`.
pub(crate) fn goes_direct(url: &Url, options: &ExecOptions) -> bool {
    !options.proxy_loopback && transport::is_loopback(url)
}

/// The suite's per-request timeout after `--timeout`.
fn timeout_of(suite: &Suite, options: &ExecOptions) -> Duration {
    options.timeout.unwrap_or(suite.target.timeout)
}

/// Runs `cells` and returns their outcomes in suite order; `on_outcome` sees
/// each as it finishes (in completion order), for progress display.
pub async fn execute(
    suites: &[Suite],
    prepared: Prepared<'_>,
    cells: &[CellId],
    options: &ExecOptions,
    redactor: Arc<Redactor>,
    on_outcome: impl FnMut(&CellOutcome),
) -> Result<Vec<CellOutcome>, ExecError> {
    let mut outcomes = Vec::with_capacity(cells.len());
    execute_into(
        suites,
        prepared,
        cells,
        options,
        redactor,
        &mut outcomes,
        &mut Written::default(),
        on_outcome,
    )
    .await?;
    Ok(outcomes)
}

/// [`execute`] into `outcomes`, which holds every finished cell even when the
/// run is dropped part-way (Ctrl-C): what finished can still be reported;
/// `written` likewise holds what the restore steps captured and which failed,
/// as they go. Returns what the run has to say once.
#[allow(clippy::too_many_arguments)] // the two out-parameters survive a dropped run
pub async fn execute_into(
    suites: &[Suite],
    prepared: Prepared<'_>,
    cells: &[CellId],
    options: &ExecOptions,
    redactor: Arc<Redactor>,
    outcomes: &mut Vec<CellOutcome>,
    written: &mut Written,
    mut on_outcome: impl FnMut(&CellOutcome),
) -> Result<Executed, ExecError> {
    let Prepared { targets, captured } = prepared;
    let mut needed: Vec<(usize, usize)> = cells.iter().map(|c| (c.suite, c.principal)).collect();
    needed.extend(verify::senders(suites, cells));
    let shared = shared_state(suites, prepared, &needed, options, redactor)?;
    let global_limit = shared.in_flight.available_permits();
    let shared = &shared;
    // The secrets requests carry are known before any cell runs: an echo of
    // one in an earlier cell's answer is masked whatever the order.
    for cell in cells {
        let suite = &suites[cell.suite];
        let base_url = targets[cell.suite].base_url.as_str().trim_end_matches('/');
        let principal = &suite.principals[cell.principal];
        let scope = suite
            .scope(&options.cli_vars, &options.env, Some(base_url))
            .for_principal(&principal.vars)
            .with_captured(&captured[cell.suite], Some(suite.own_name(cell.principal)));
        cell::register_request_secrets(&shared.redactor, &suite.endpoints[cell.endpoint], &scope);
        verify::register_secrets(shared, *cell);
    }
    // Canaries run first: their result decides how the principal's denials read.
    let (canaries, rest) = canary::split(suites, cells);
    run_phase(shared, &canaries, outcomes, &mut |outcome| {
        on_outcome(outcome)
    })
    .await;
    let rejected = canary::failures(suites, outcomes);
    // Tamper probes wait for their principal's cells: they run only where it got in.
    let (probe_cells, rest): (Vec<CellId>, Vec<CellId>) = rest
        .into_iter()
        .partition(|c| suites[c.suite].principals[c.principal].probe.is_some());
    // Cells whose writes are checked run last, one at a time.
    let (writes, rest): (Vec<CellId>, Vec<CellId>) = rest
        .into_iter()
        .partition(|c| verify::checks_writes(suites, *c));
    let (probe_writes, probe_cells): (Vec<CellId>, Vec<CellId>) = probe_cells
        .into_iter()
        .partition(|c| verify::checks_writes(suites, *c));
    // Cells whose body is compared report once their reference has finished.
    let mut waiting: Vec<CellOutcome> = Vec::new();
    let mut finish = |outcome: &mut CellOutcome| {
        canary::apply(outcome, &rejected);
        probe::judge(suites, outcome);
        if compare::waits(suites, outcome) || items::waits(suites, outcome) {
            waiting.push(outcome.clone());
        } else {
            on_outcome(outcome)
        }
    };
    run_phase(shared, &rest, outcomes, &mut finish).await;
    let probe_cells = probe::runnable(suites, outcomes, probe_cells);
    run_phase(shared, &probe_cells, outcomes, &mut finish).await;
    if !writes.is_empty() || !probe_writes.is_empty() {
        // What restore steps capture (a recreated object's id) is what the
        // later cells, and teardown, use: kept outside this future, so a
        // Ctrl-C in the middle still tears down what was recreated.
        let Written {
            captured: kept,
            failed_restores: failed,
        } = written;
        let captured = kept.insert(captured.to_vec());
        verify::run(shared, &writes, captured, outcomes, failed, &mut finish).await;
        let probe_writes = probe::runnable(suites, outcomes, probe_writes);
        verify::run(
            shared,
            &probe_writes,
            captured,
            outcomes,
            failed,
            &mut finish,
        )
        .await;
    }
    compare::apply(suites, outcomes);
    items::apply(shared, outcomes);
    for held in &waiting {
        if let Some(done) = outcomes.iter().find(|o| o.id == held.id) {
            on_outcome(done);
        }
    }
    outcomes.sort_unstable_by_key(|o| o.id);
    saturation_notices(shared, cells, global_limit);
    let notices = shared
        .notices
        .lock()
        .map(|mut n| std::mem::take(&mut *n))
        .unwrap_or_default();
    Ok(Executed { notices })
}

/// What an execution has to say besides its outcomes.
#[derive(Debug, Default)]
pub struct Executed {
    /// What the run has to say once (a target that kept refusing).
    pub notices: Vec<String>,
}

/// What the cells that check their writes left, filled as they run (so an
/// interrupted run keeps it).
#[derive(Debug, Default)]
pub struct Written {
    /// By suite, the captured values after the restore steps that replaced
    /// some (`None`: no cell checked its writes, the values are as setup left them).
    pub captured: Option<Vec<Captured>>,
    /// The restore steps that failed (the state a cell changed may remain): they fail the run.
    pub failed_restores: Vec<crate::outcome::StepRecord>,
}

/// What cells and steps share: each needed principal set up (its client and
/// auth mode), pacing, retry budgets and the run's concurrency.
fn shared_state<'a>(
    suites: &'a [Suite],
    prepared: Prepared<'a>,
    needed: &[(usize, usize)],
    options: &'a ExecOptions,
    redactor: Arc<Redactor>,
) -> Result<Shared<'a>, ExecError> {
    ensure_crypto_provider();
    let Prepared { targets, captured } = prepared;
    let tls_configs: Vec<_> = suites
        .iter()
        .map(|suite| tls::client_config(&suite.target.tls))
        .collect();
    let mut principals: Vec<Vec<Option<PrincipalRuntime>>> = suites
        .iter()
        .map(|suite| suite.principals.iter().map(|_| None).collect())
        .collect();
    for &key in needed {
        let slot = &mut principals[key.0][key.1];
        if slot.is_none() {
            *slot = Some(principal_runtime(
                suites,
                prepared,
                options,
                &redactor,
                &tls_configs,
                key,
            )?);
        }
    }
    let global_limit = options
        .concurrency
        .unwrap_or_else(|| {
            suites
                .iter()
                .map(|s| s.target.concurrency)
                .max()
                .unwrap_or(1)
        })
        .max(1);
    let origins = origins(targets);
    let cells: Vec<CellId> = needed
        .iter()
        .map(|&(suite, principal)| CellId {
            suite,
            endpoint: 0,
            principal,
        })
        .collect();
    Ok(Shared {
        suites,
        captured,
        targets,
        options,
        redactor,
        principals,
        fixed_urls: fixed_urls(suites, targets, options),
        pacers: pacers(suites, &origins),
        retry_budgets: retry_budgets(&origins, &cells),
        origins,
        notices: std::sync::Mutex::default(),
        connect_timeouts: suites.iter().map(|_| Default::default()).collect(),
        in_flight: Semaphore::new(global_limit),
    })
}

/// Runs `cells` through the pipeline, each suite bounded by its concurrency.
async fn run_phase(
    shared: &Shared<'_>,
    cells: &[CellId],
    outcomes: &mut Vec<CellOutcome>,
    on_outcome: &mut impl FnMut(&mut CellOutcome),
) {
    let mut per_suite: Vec<_> = (0..shared.suites.len())
        .filter(|&s| cells.iter().any(|c| c.suite == s))
        .map(|s| {
            let limit = shared
                .options
                .concurrency
                .unwrap_or(shared.suites[s].target.concurrency)
                .max(1);
            let mine: Vec<CellId> = cells.iter().copied().filter(|c| c.suite == s).collect();
            stream::iter(mine)
                .map(move |id| cell::run(shared, id))
                .buffer_unordered(limit)
                .boxed_local()
        })
        .collect();
    // `select_all` allocates per item; one suite (the usual run) needs none of it.
    let mut all = match per_suite.len() {
        1 => per_suite.remove(0),
        _ => stream::select_all(per_suite).boxed_local(),
    };
    while let Some(mut outcome) = all.next().await {
        on_outcome(&mut outcome);
        outcomes.push(outcome);
    }
}

fn principal_runtime(
    suites: &[Suite],
    Prepared { targets, captured }: Prepared<'_>,
    options: &ExecOptions,
    redactor: &Arc<Redactor>,
    tls_configs: &[Result<rustls::ClientConfig, tls::TlsError>],
    (s, p): (usize, usize),
) -> Result<PrincipalRuntime, ExecError> {
    let suite = &suites[s];
    let principal = &suite.principals[p];
    let mut builder = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .user_agent(transport::USER_AGENT_VALUE);
    let tls = tls_configs[s].as_ref().map_err(|e| ExecError::Tls {
        suite: suite.name.clone(),
        source: e.clone(),
    })?;
    builder = builder.tls_backend_preconfigured(tls.clone());
    // The embedded mock is always reached directly, its logins and token
    // fetches too; a loopback target's cells too unless asked, while their
    // setup requests may go to another origin that only a proxy reaches.
    let target = &targets[s];
    let proxies =
        !target.is_mock && (options.proxy_loopback || !transport::is_loopback(&target.base_url));
    if target.is_mock {
        builder = builder.no_proxy();
    }
    if let Some(resolver) = &options.resolver {
        builder = builder.dns_resolver(resolver.0.clone());
    }
    let client = builder.build()?;
    let base_url = targets[s]
        .base_url
        .as_str()
        .trim_end_matches('/')
        .to_string();
    let scope = suite
        .scope(&options.cli_vars, &options.env, Some(&base_url))
        .for_principal(&principal.vars)
        .with_captured(&captured[s], Some(suite.own_name(p)));
    // Extra principal headers are credentials too ("headers: may add more").
    for (_, template) in &principal.headers {
        if let Ok(value) = template.render(&scope) {
            redactor.add(&value);
        }
    }
    let env = AuthEnv {
        scope,
        client: client.clone(),
        base_url: targets[s].base_url.clone(),
        timeout: timeout_of(suite, options),
        redactor: redactor.clone(),
        mock_only: targets[s].is_mock,
    };
    let transport = transport::Transport::new(
        &targets[s].base_url,
        tls,
        options.resolver.as_ref(),
        &env.client,
        proxies,
    );
    let auth = auth::build(&principal.auth, &env).and_then(|built| match principal.probe {
        Some(of) => auth::tamper::wrap(built, of.probe, &principal.auth, &env),
        None => Ok(built),
    });
    let auth = auth.map_err(|e| AuthError(redactor.mask(&e.0)));
    Ok(PrincipalRuntime { transport, auth })
}

/// Sets the body facts of the compared cells among `outcomes`, for the cells
/// an interrupted run finished (a finished run has done it already).
pub fn compare_bodies(suites: &[Suite], outcomes: &mut [CellOutcome]) {
    compare::apply(suites, outcomes);
}

/// Each endpoint's URL where its path and query take no variable.
fn fixed_urls(
    suites: &[Suite],
    targets: &[ResolvedTarget],
    options: &ExecOptions,
) -> Vec<Vec<Option<(Url, ::http::Uri)>>> {
    let fixed = |template: &crate::suite::Template| template.names().next().is_none();
    suites
        .iter()
        .zip(targets)
        .map(|(suite, target)| {
            // The text needs no variable; the scope is there for the signature.
            let scope = suite.scope(&options.cli_vars, &options.env, None);
            suite
                .endpoints
                .iter()
                .map(|endpoint| {
                    let literal = fixed(&endpoint.request.target)
                        && endpoint.query.iter().all(|(_, value)| fixed(value));
                    let url = literal.then(|| cell::url_of(endpoint, target, &scope).ok())??;
                    let uri = send::uri_of(&url).ok()?;
                    Some((url, uri))
                })
                .collect()
        })
        .collect()
}

/// Each suite's target origin (`scheme://host:port`): pacing, retry budgets
/// and saturation notices are per origin, shared by suites with one target.
fn origins(targets: &[ResolvedTarget]) -> Vec<String> {
    targets
        .iter()
        .map(|t| t.base_url.origin().ascii_serialization())
        .collect()
}

/// How many of `cells` go to each origin.
fn cells_by_origin<'o>(origins: &'o [String], cells: &[CellId]) -> HashMap<&'o str, usize> {
    let mut by_suite = vec![0usize; origins.len()];
    for cell in cells {
        by_suite[cell.suite] += 1;
    }
    let mut counts: HashMap<&str, usize> = HashMap::new();
    for (origin, n) in origins.iter().zip(by_suite) {
        *counts.entry(origin.as_str()).or_default() += n;
    }
    counts
}

/// For each target where cells timed out before they could connect (its
/// backlog full: more cells in flight than it accepts), one notice with the
/// count and the concurrency to lower.
fn saturation_notices(shared: &Shared<'_>, cells: &[CellId], concurrency: usize) {
    use std::sync::atomic::Ordering;
    let totals = cells_by_origin(&shared.origins, cells);
    let mut timed_out: std::collections::BTreeMap<&str, usize> = Default::default();
    for (origin, count) in shared.origins.iter().zip(&shared.connect_timeouts) {
        *timed_out.entry(origin).or_default() += count.load(Ordering::Relaxed);
    }
    for (origin, timed_out) in timed_out.into_iter().filter(|(_, n)| *n > 0) {
        let total = totals.get(origin).copied().unwrap_or_default();
        shared.notice(format!(
            "target saturated: {timed_out} of {total} cells to {origin} timed out while connecting; lower --concurrency (it was {concurrency}) or the suite's `concurrency`"
        ));
    }
}

/// One retry budget per distinct target origin, sized by the cells sent there.
fn retry_budgets(origins: &[String], cells: &[CellId]) -> Vec<Arc<crate::retry::RetryBudget>> {
    let budgets: HashMap<&str, Arc<crate::retry::RetryBudget>> = cells_by_origin(origins, cells)
        .into_iter()
        .map(|(origin, n)| (origin, Arc::new(crate::retry::RetryBudget::for_cells(n))))
        .collect();
    origins
        .iter()
        .map(|origin| budgets[origin.as_str()].clone())
        .collect()
}

/// One pacer per distinct target origin, at the slowest rate any suite asks for it.
fn pacers(suites: &[Suite], origins: &[String]) -> Vec<Option<Arc<Pacer>>> {
    let mut rates: HashMap<&str, f64> = HashMap::new();
    for (suite, origin) in suites.iter().zip(origins) {
        if let Some(rate) = suite.target.rate_limit {
            let slot = rates.entry(origin).or_insert(rate);
            *slot = slot.min(rate);
        }
    }
    let shared: HashMap<&str, Arc<Pacer>> = rates
        .into_iter()
        .map(|(origin, rate)| (origin, Arc::new(Pacer::new(rate))))
        .collect();
    origins
        .iter()
        .map(|origin| shared.get(origin.as_str()).cloned())
        .collect()
}
