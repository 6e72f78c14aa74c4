//! The load of the fault test: client tasks whose every answer is recorded, and how an answer
//! is judged against the faults going on when it was given.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use super::{
    code_exchange, Gatehouse, BACKEND_PASSWORD, CB, DRIVER_WORDS, JOURNEY_USERS, RECOVERY,
};
use crate::flow::{authorize_url, form_fields, query_param, PASSWORD};
use crate::harness::{basic, BOOTSTRAP_ID, BOOTSTRAP_SECRET};

/// A service made to fail: when, when it was back, when every step had succeeded again after
/// that, and whether requests had to fail meanwhile. From `steady` on, nothing may fail.
pub(super) struct Fault {
    pub name: &'static str,
    pub down: Instant,
    pub back: Instant,
    pub steady: Instant,
    /// Whether the service was away (503s allowed) or only lost its data.
    pub outage: bool,
}

impl Fault {
    pub fn outage(name: &'static str, down: Instant, back: Instant, steady: Instant) -> Self {
        Self {
            name,
            down,
            back,
            steady,
            outage: true,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Step {
    Token,
    Invite,
    ReadUser,
    SignInPage,
    SignIn,
    Exchange,
    Userinfo,
    Refresh,
}

const STEPS: [Step; 8] = [
    Step::Token,
    Step::Invite,
    Step::ReadUser,
    Step::SignInPage,
    Step::SignIn,
    Step::Exchange,
    Step::Userinfo,
    Step::Refresh,
];

impl Step {
    /// A page for a browser (HTML), not a JSON answer.
    fn is_page(self) -> bool {
        matches!(self, Step::SignInPage | Step::SignIn)
    }

    /// A step that needs what an earlier step of its journey left in Redis (the sign-in
    /// transaction, the code), which a flush or an empty restart takes away.
    fn needs_redis_state(self) -> bool {
        matches!(self, Step::SignInPage | Step::SignIn | Step::Exchange)
    }
}

/// One answer the load got.
#[derive(Debug, Clone)]
pub(super) struct Outcome {
    step: Step,
    /// When the journey (sign-in) this request is part of began; the request's own start
    /// for the others.
    journey: Instant,
    pub started: Instant,
    pub took: Duration,
    /// 0 when no answer came (connection refused or reset, the client's timeout).
    status: u16,
    content_type: String,
    location: Option<String>,
    /// The body of a failure, for the checks and the report.
    body: String,
}

pub(super) enum Verdict {
    Success,
    /// A clean 503 during an outage.
    Outage,
    /// A clean refusal of state Redis lost (the user starts again).
    Lost,
    Wrong(String),
}

impl Outcome {
    fn succeeded(&self) -> bool {
        (200..400).contains(&self.status)
            && !self
                .location
                .as_deref()
                .is_some_and(|l| l.contains("error="))
    }

    /// `wipes`: the spans in which Redis lost what it held (from just before the command to
    /// its end).
    pub fn judge(&self, faults: &[Fault], wipes: &[(Instant, Instant)]) -> Verdict {
        if self.succeeded() {
            return Verdict::Success;
        }
        if let Some(leak) = self.leaked_words() {
            return Verdict::Wrong(format!("shows {leak:?}"));
        }
        let in_outage = faults
            .iter()
            .any(|f| f.outage && self.overlaps(f.down, f.steady));
        if self.status == 503 && in_outage {
            return match self.clean_body() {
                Ok(()) => Verdict::Outage,
                Err(why) => Verdict::Wrong(why),
            };
        }
        let ended = self.started + self.took;
        let lost_state = self.step.needs_redis_state()
            && wipes
                .iter()
                .any(|&(from, to)| self.journey < to && ended > from);
        if lost_state && matches!(self.status, 400 | 401 | 403 | 404) {
            return match self.clean_body() {
                Ok(()) => Verdict::Lost,
                Err(why) => Verdict::Wrong(why),
            };
        }
        Verdict::Wrong(if in_outage {
            "not a 503".into()
        } else {
            "no outage going on, or after recovery".into()
        })
    }

    /// Whether the request was under way at some time between `from` and `to`.
    pub fn overlaps(&self, from: Instant, to: Instant) -> bool {
        self.started <= to && self.started + self.took >= from
    }

    /// A page for a page, `{error, error_description}` JSON for the rest.
    fn clean_body(&self) -> Result<(), String> {
        if self.step.is_page() {
            return if !self.content_type.starts_with("text/html") || !self.body.contains("</html>")
            {
                Err(format!("not a page: {}", self.content_type))
            } else if self.status == 503 && !self.body.contains("Try again later") {
                Err("a 503 page that does not say to try again".into())
            } else {
                Ok(())
            };
        }
        let body: Value = serde_json::from_str(&self.body).map_err(|_| "not JSON".to_owned())?;
        match (body["error"].as_str(), body["error_description"].as_str()) {
            (Some(error), Some(description)) if !error.is_empty() && !description.is_empty() => {
                Ok(())
            }
            _ => Err("no error and error_description".into()),
        }
    }

    fn leaked_words(&self) -> Option<&'static str> {
        let body = self.body.to_lowercase();
        if body.contains(BACKEND_PASSWORD) {
            return Some("the backends' password");
        }
        DRIVER_WORDS.into_iter().find(|w| body.contains(w))
    }

    pub fn describe(&self, since: Instant) -> String {
        let body: String = self.body.chars().take(300).collect();
        format!(
            "{:?} at {:.2?} took {:.2?}: {} {} {}",
            self.step,
            self.started.saturating_duration_since(since),
            self.took,
            self.status,
            self.location.as_deref().unwrap_or_default(),
            body.replace('\n', " ")
        )
    }
}

/// What the load saw, per fault: answers by verdict and status, the slowest, the recovery.
pub(super) fn report(
    outcomes: &[Outcome],
    judged: &[(&Outcome, Verdict)],
    faults: &[Fault],
    started: Instant,
) -> String {
    let mut lines = vec![format!("{} answers in all", outcomes.len())];
    for fault in faults {
        // Under way while the service was away (or at the flush), and until recovered.
        let away: Vec<&Outcome> = judged
            .iter()
            .map(|(o, _)| *o)
            .filter(|o| o.overlaps(fault.down, fault.back))
            .collect();
        let after: Vec<&Outcome> = judged
            .iter()
            .map(|(o, _)| *o)
            .filter(|o| o.started > fault.back && o.started <= fault.steady)
            .collect();
        let by_step_and_status = |outcomes: &[&Outcome]| {
            let mut statuses: BTreeMap<(Step, u16), usize> = BTreeMap::new();
            for o in outcomes {
                *statuses.entry((o.step, o.status)).or_default() += 1;
            }
            statuses
        };
        let failed = |outcomes: &[&Outcome]| outcomes.iter().filter(|o| !o.succeeded()).count();
        let last_failure = away
            .iter()
            .chain(&after)
            .filter(|o| !o.succeeded())
            .map(|o| (o.started + o.took).saturating_duration_since(fault.back))
            .max()
            .unwrap_or_default();
        let slowest = away.iter().chain(&after).map(|o| o.took).max();
        lines.push(format!(
            "{} at {:.1?}, back after {:.2?}: while away {} answers, {} failed {:?}; from its return until every step succeeded again, {} answers, {} failed; the last failure ended {:.2?} after its return; slowest answer {:.2?}",
            fault.name,
            fault.down.saturating_duration_since(started),
            fault.back.saturating_duration_since(fault.down),
            away.len(),
            failed(&away),
            by_step_and_status(&away),
            after.len(),
            failed(&after),
            last_failure,
            slowest.unwrap_or_default(),
        ));
        for late in after.iter().filter(|o| !o.succeeded()).take(5) {
            lines.push(format!(
                "  failed after the return: {}",
                late.describe(started)
            ));
        }
    }
    lines.join("\n")
}

/// Client tasks sending requests until stopped, each answer recorded.
pub(super) struct Load {
    stop: Arc<AtomicBool>,
    outcomes: Arc<Mutex<Vec<Outcome>>>,
    acknowledged: Arc<Mutex<Vec<(String, String)>>>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

#[derive(Clone)]
struct Recorder {
    base: String,
    outcomes: Arc<Mutex<Vec<Outcome>>>,
}

/// An answer the load goes on with.
struct Answer {
    location: Option<String>,
    body: String,
}

impl Recorder {
    fn url(&self, path: &str) -> String {
        if path.starts_with("http") {
            path.to_owned()
        } else {
            format!("{}{path}", self.base)
        }
    }

    /// Sends `request`, records the outcome; the answer when it succeeded.
    async fn send(
        &self,
        step: Step,
        journey: Instant,
        request: reqwest::RequestBuilder,
    ) -> Option<Answer> {
        let started = Instant::now();
        let (status, content_type, location, body) = match request.send().await {
            Ok(response) => {
                let header = |name| {
                    response
                        .headers()
                        .get(name)
                        .and_then(|v| v.to_str().ok())
                        .map(str::to_owned)
                };
                let content_type = header(reqwest::header::CONTENT_TYPE).unwrap_or_default();
                let location = header(reqwest::header::LOCATION);
                let status = response.status().as_u16();
                let body = response
                    .text()
                    .await
                    .unwrap_or_else(|e| format!("(unreadable body: {e})"));
                (status, content_type, location, body)
            }
            Err(e) => (0, String::new(), None, format!("no answer: {e}")),
        };
        let mut outcome = Outcome {
            step,
            journey,
            started,
            took: started.elapsed(),
            status,
            content_type,
            location: location.clone(),
            body,
        };
        let succeeded = outcome.succeeded();
        let answer = succeeded.then(|| Answer {
            location,
            body: std::mem::take(&mut outcome.body),
        });
        self.outcomes.lock().unwrap().push(outcome);
        answer
    }
}

fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(15))
        .build()
        .unwrap()
}

impl Load {
    /// One task of client-credentials tokens, one of invitations and reads, and a sign-in
    /// journey per [`JOURNEY_USERS`].
    pub fn start(gatehouse: &Gatehouse, client_id: &str, admin: &str) -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let outcomes = Arc::new(Mutex::new(Vec::new()));
        let acknowledged = Arc::new(Mutex::new(Vec::new()));
        let recorder = Recorder {
            base: gatehouse.base.clone(),
            outcomes: Arc::clone(&outcomes),
        };
        let mut tasks = vec![
            tokio::spawn(tokens(recorder.clone(), Arc::clone(&stop))),
            tokio::spawn(invitations(
                recorder.clone(),
                Arc::clone(&stop),
                admin.to_owned(),
                Arc::clone(&acknowledged),
            )),
        ];
        for email in JOURNEY_USERS {
            tasks.push(tokio::spawn(journeys(
                recorder.clone(),
                Arc::clone(&stop),
                client_id.to_owned(),
                email,
            )));
        }
        Self {
            stop,
            outcomes,
            acknowledged,
            tasks,
        }
    }

    /// Waits until every step has succeeded in a request begun after `since`, at most
    /// [`RECOVERY`]; when that was.
    pub async fn wait_for_successes(&self, since: Instant, what: &str) -> Instant {
        let deadline = since + RECOVERY;
        loop {
            let missing: Vec<Step> = {
                let outcomes = self.outcomes.lock().unwrap();
                STEPS
                    .into_iter()
                    .filter(|step| {
                        !outcomes
                            .iter()
                            .any(|o| o.step == *step && o.started >= since && o.succeeded())
                    })
                    .collect()
            };
            if missing.is_empty() {
                println!(
                    "{what}: every step succeeded again after {:?}",
                    since.elapsed()
                );
                return Instant::now();
            }
            if Instant::now() > deadline {
                let outcomes = self.outcomes.lock().unwrap();
                let recent: Vec<String> = outcomes
                    .iter()
                    .filter(|o| o.started >= since && !o.succeeded())
                    .take(20)
                    .map(|o| o.describe(since))
                    .collect();
                panic!(
                    "waiting for {what}: no success of {missing:?} in {:?}; failures:\n{}",
                    since.elapsed(),
                    recent.join("\n")
                );
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    pub async fn finish(self) -> (Vec<Outcome>, Vec<(String, String)>) {
        self.stop.store(true, Ordering::SeqCst);
        for task in self.tasks {
            task.await.unwrap();
        }
        let outcomes = self.outcomes.lock().unwrap().clone();
        let acknowledged = self.acknowledged.lock().unwrap().clone();
        (outcomes, acknowledged)
    }
}

/// Pauses a task after a failed request, so an outage is not a busy loop.
async fn breathe(failed: bool) {
    if failed {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn tokens(recorder: Recorder, stop: Arc<AtomicBool>) {
    let http = client();
    while !stop.load(Ordering::SeqCst) {
        let request = http
            .post(recorder.url("/oauth2/v1/token"))
            .header("Authorization", basic(BOOTSTRAP_ID, BOOTSTRAP_SECRET))
            .form(&[("grant_type", "client_credentials"), ("scope", "root")]);
        let answer = recorder.send(Step::Token, Instant::now(), request).await;
        breathe(answer.is_none()).await;
        // Tokens are cheap: without a pause they would crowd the other tasks out.
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

/// Invites a new user each round (a write), then reads the last acknowledged one back.
async fn invitations(
    recorder: Recorder,
    stop: Arc<AtomicBool>,
    admin: String,
    acknowledged: Arc<Mutex<Vec<(String, String)>>>,
) {
    let http = client();
    let mut n = 0;
    while !stop.load(Ordering::SeqCst) {
        n += 1;
        let email = format!("fault-{n}@example.com");
        let request = http
            .post(recorder.url("/api/v1/users/invitations"))
            .bearer_auth(&admin)
            .json(&json!({ "email": email }));
        let answer = recorder.send(Step::Invite, Instant::now(), request).await;
        if let Some(answer) = &answer {
            let body: Value = serde_json::from_str(&answer.body).unwrap();
            let auth_id = body["user"]["authId"]
                .as_str()
                .unwrap_or_else(|| panic!("no authId: {body}"));
            acknowledged
                .lock()
                .unwrap()
                .push((auth_id.to_owned(), email));
        }
        let last = acknowledged.lock().unwrap().last().cloned();
        let mut read = None;
        if let Some((auth_id, _)) = last {
            let request = http
                .get(recorder.url(&format!("/api/v1/users/{auth_id}")))
                .bearer_auth(&admin);
            read = recorder.send(Step::ReadUser, Instant::now(), request).await;
        }
        breathe(answer.is_none() || read.is_none()).await;
    }
}

async fn journeys(recorder: Recorder, stop: Arc<AtomicBool>, client_id: String, email: &str) {
    while !stop.load(Ordering::SeqCst) {
        let done = journey(&recorder, &client_id, email).await;
        breathe(done.is_none()).await;
    }
}

/// One sign-in from a fresh browser: the sign-in page, the password, the code exchanged,
/// userinfo with the access token, a refresh. `None` at the first step that fails.
async fn journey(recorder: &Recorder, client_id: &str, email: &str) -> Option<()> {
    let started = Instant::now();
    let http = reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(15))
        .build()
        .unwrap();
    let mut next = authorize_url(client_id, CB, &[]);
    let mut page = None;
    for _ in 0..5 {
        let answer = recorder
            .send(Step::SignInPage, started, http.get(recorder.url(&next)))
            .await?;
        match answer.location {
            Some(location) => next = location,
            None => {
                page = Some(answer.body);
                break;
            }
        }
    }
    let page = page.expect("the sign-in page within five redirects");
    let fields = form_fields(&page, &[("email", email), ("password", PASSWORD)]);
    let mut answer = recorder
        .send(
            Step::SignIn,
            started,
            http.post(recorder.url("/identity/v1/view/authorize"))
                .form(&fields),
        )
        .await?;
    let mut code = None;
    for _ in 0..5 {
        let request = match &answer.location {
            Some(location) if location.starts_with(CB) => {
                code = query_param(location, "code");
                break;
            }
            Some(location) => http.get(recorder.url(location)),
            None if answer.body.contains("consent-form") => {
                let accept = form_fields(&answer.body, &[("decision", "accept")]);
                http.post(recorder.url("/identity/v1/view/consent"))
                    .form(&accept)
            }
            None => panic!("a sign-in stopped on a page: {}", answer.body),
        };
        answer = recorder.send(Step::SignIn, started, request).await?;
    }
    let code = code.expect("a code within five steps");
    let exchange = http
        .post(recorder.url("/oauth2/v1/token"))
        .form(&code_exchange(client_id, &code));
    let tokens: Value =
        serde_json::from_str(&recorder.send(Step::Exchange, started, exchange).await?.body)
            .unwrap();
    let access = tokens["access_token"].as_str().unwrap();
    let refresh = tokens["refresh_token"].as_str().unwrap();
    let userinfo = http
        .get(recorder.url("/oauth2/v1/userinfo"))
        .bearer_auth(access);
    recorder.send(Step::Userinfo, started, userinfo).await?;
    let refreshed = http
        .post(recorder.url("/oauth2/v1/token"))
        .form(&[("grant_type", "refresh_token"), ("refresh_token", refresh)]);
    recorder.send(Step::Refresh, started, refreshed).await?;
    Some(())
}
