//! The five operations of the mix, as one load client (a worker) performs them. Tokens are
//! used on another instance than the one that issued them whenever there are several, so
//! every instance keeps checking the others' tokens.

use std::fs::File;
use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::client::{Client, Outcome};
use super::record::Recorder;
use crate::password_sign_in::{PASSWORD, REDIRECT, VERIFIER};
use crate::{basic_header, TOKEN_BODY};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Operation {
    ClientCredentials,
    Userinfo,
    Refresh,
    PasswordSignIn,
    CreateUser,
}

impl Operation {
    pub(super) const ALL: [Operation; 5] = [
        Operation::ClientCredentials,
        Operation::Userinfo,
        Operation::Refresh,
        Operation::PasswordSignIn,
        Operation::CreateUser,
    ];

    pub(super) fn name(self) -> &'static str {
        match self {
            Operation::ClientCredentials => "client_credentials",
            Operation::Userinfo => "userinfo",
            Operation::Refresh => "refresh",
            Operation::PasswordSignIn => "password_sign_in",
            Operation::CreateUser => "create_user",
        }
    }

    /// The operation of the `n`th request: a fixed cycle of 10 with the mix's shares (30 %
    /// client credentials, 30 % userinfo, 20 % refresh, 10 % sign-ins, 10 % user creation).
    pub(super) fn nth(n: u64) -> Operation {
        const CYCLE: [Operation; 10] = {
            use Operation::*;
            [
                ClientCredentials,
                Userinfo,
                Refresh,
                ClientCredentials,
                Userinfo,
                PasswordSignIn,
                ClientCredentials,
                Userinfo,
                Refresh,
                CreateUser,
            ]
        };
        CYCLE[(n % 10) as usize]
    }
}

/// What every worker shares: the apps to use, where to write created users, the recorder.
pub(super) struct Shared {
    pub(super) spa_client_id: String,
    /// A PKCE challenge for [`VERIFIER`] (S256).
    pub(super) challenge: String,
    pub(super) run_id: String,
    pub(super) created: Option<Mutex<File>>,
    pub(super) recorder: Recorder,
}

/// One load client: a keep-alive connection to each instance and the tokens it holds.
pub(super) struct Worker {
    pub(super) index: usize,
    pub(super) email: String,
    pub(super) clients: Vec<Client>,
    pub(super) shared: Arc<Shared>,
    s2s_token: Option<String>,
    /// The signed-in user's access and refresh tokens, and the instance that issued them.
    user_tokens: Option<(String, String, usize)>,
    created: u64,
}

impl Worker {
    pub(super) fn new(
        index: usize,
        email: String,
        urls: &[String],
        timeout: Duration,
        shared: Arc<Shared>,
    ) -> Self {
        Self {
            index,
            email,
            clients: urls.iter().map(|a| Client::new(a, timeout)).collect(),
            shared,
            s2s_token: None,
            user_tokens: None,
            created: 0,
        }
    }

    /// Performs request number `n` (its operation and instance follow from `n`).
    pub(super) fn perform(&mut self, n: u64) {
        let instance = (n / 20 + n) as usize % self.clients.len();
        match Operation::nth(n) {
            Operation::ClientCredentials => {
                self.client_credentials(instance);
            }
            Operation::Userinfo => self.userinfo(instance),
            Operation::Refresh => self.refresh(instance),
            Operation::PasswordSignIn => {
                self.sign_in(instance);
            }
            Operation::CreateUser => self.create_user(instance),
        }
    }

    fn timed(
        &mut self,
        operation: Operation,
        instance: usize,
        action: impl FnOnce(&mut Client) -> Outcome,
    ) -> Outcome {
        let start = Instant::now();
        let outcome = action(&mut self.clients[instance]);
        self.shared
            .recorder
            .record(operation, instance, start, &outcome);
        outcome
    }

    /// Another instance than `instance` (the same one when there is only one).
    fn other(&self, instance: usize) -> usize {
        (instance + 1) % self.clients.len()
    }

    fn client_credentials(&mut self, instance: usize) -> bool {
        let auth = format!("Authorization: {}\r\n", basic_header());
        let outcome = self.timed(Operation::ClientCredentials, instance, |c| {
            c.post_form("/oauth2/v1/token", &auth, TOKEN_BODY)
        });
        if let Some(token) = outcome
            .is_success()
            .then(|| field(outcome.body(), "/access_token"))
            .flatten()
        {
            self.s2s_token = Some(token);
        }
        outcome.is_success()
    }

    /// A password sign-in through the embedded API (initiate, sign-in, token exchange), all on
    /// `instance`: counted as one operation, failed at the first step that fails.
    fn sign_in(&mut self, instance: usize) -> bool {
        let shared = Arc::clone(&self.shared);
        let email = self.email.clone();
        let mut tokens = None;
        let outcome = self.timed(Operation::PasswordSignIn, instance, |c| {
            let initiated = c.post_json(
                "/embedded-auth/v1/initiate",
                "",
                &serde_json::json!({"clientId": shared.spa_client_id, "redirectUri": REDIRECT,
                    "codeChallenge": shared.challenge, "codeChallengeMethod": "S256",
                    "scopes": ["openid", "profile", "offline_access"], "locale": "en"}),
            );
            let Some(session) = field_of(&initiated, "/sessionId") else {
                return initiated;
            };
            let signed_in = c.post_json(
                &format!("/embedded-auth/v1/{session}/sign-in"),
                "",
                &serde_json::json!({"email": email, "password": PASSWORD}),
            );
            if !signed_in.is_success() {
                return signed_in;
            }
            let exchanged = c.post_json(
                "/embedded-auth/v1/token-exchange",
                "",
                &serde_json::json!({"sessionId": session, "codeVerifier": VERIFIER}),
            );
            tokens =
                field_of(&exchanged, "/access_token").zip(field_of(&exchanged, "/refresh_token"));
            exchanged
        });
        self.user_tokens = tokens.map(|(access, refresh)| (access, refresh, instance));
        outcome.is_success()
    }

    fn userinfo(&mut self, instance: usize) {
        let Some(access) = self.user_access(instance) else {
            return;
        };
        let issuer = self.user_tokens.as_ref().map_or(instance, |t| t.2);
        let at = self.other(issuer);
        let auth = format!("Authorization: Bearer {access}\r\n");
        self.timed(Operation::Userinfo, at, |c| {
            c.get("/oauth2/v1/userinfo", &auth)
        });
    }

    /// The rotating refresh grant. A refresh token whose answer was lost is never sent again
    /// (that would revoke its family, as reuse must): after any failure the next use signs in.
    fn refresh(&mut self, instance: usize) {
        if self.user_access(instance).is_none() {
            return;
        }
        let Some((_, refresh, issuer)) = self.user_tokens.take() else {
            return;
        };
        let at = self.other(issuer);
        let body = format!(
            "grant_type=refresh_token&client_id={}&refresh_token={refresh}",
            self.shared.spa_client_id
        );
        let outcome = self.timed(Operation::Refresh, at, |c| {
            c.post_form("/oauth2/v1/token", "", &body)
        });
        self.user_tokens = field_of(&outcome, "/access_token")
            .zip(field_of(&outcome, "/refresh_token"))
            .map(|(access, refresh)| (access, refresh, at));
    }

    /// The user's access token, signing in on `instance` first when there is none.
    fn user_access(&mut self, instance: usize) -> Option<String> {
        if self.user_tokens.is_none() && !self.sign_in(instance) {
            return None;
        }
        self.user_tokens.as_ref().map(|t| t.0.clone())
    }

    /// Invites a new user through the S2S API (a write that also sends an email); the ones
    /// answered 2xx are written to the created-users file.
    fn create_user(&mut self, instance: usize) {
        if self.s2s_token.is_none() && !self.client_credentials(instance) {
            return;
        }
        let token = self.s2s_token.clone().unwrap_or_default();
        self.created += 1;
        let email = format!(
            "ml-{}-w{}-{}@example.com",
            self.shared.run_id, self.index, self.created
        );
        let auth = format!("Authorization: Bearer {token}\r\n");
        let at = self.other(instance);
        let outcome = self.timed(Operation::CreateUser, at, |c| {
            c.post_json(
                "/api/v1/users/invitations",
                &auth,
                &serde_json::json!({"email": email, "firstName": "Mixed", "lastName": "Load"}),
            )
        });
        if outcome.is_success() {
            let auth_id = field_of(&outcome, "/user/authId").unwrap_or_default();
            if let Some(file) = &self.shared.created {
                if let Ok(mut file) = file.lock() {
                    let _ = writeln!(file, "{auth_id} {email}");
                    let _ = file.flush();
                }
            }
        } else if matches!(outcome, Outcome::Answered(401, _)) {
            self.s2s_token = None;
        }
    }
}

fn field(body: &str, pointer: &str) -> Option<String> {
    crate::string_at(body, pointer).ok()
}

/// The string at `pointer` of a successful answer.
fn field_of(outcome: &Outcome, pointer: &str) -> Option<String> {
    outcome
        .is_success()
        .then(|| field(outcome.body(), pointer))
        .flatten()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cycle_has_the_mix_shares() {
        let count = |op| (0..20).filter(|n| Operation::nth(*n) == op).count();
        assert_eq!(count(Operation::ClientCredentials), 6);
        assert_eq!(count(Operation::Userinfo), 6);
        assert_eq!(count(Operation::Refresh), 4);
        assert_eq!(count(Operation::PasswordSignIn), 2);
        assert_eq!(count(Operation::CreateUser), 2);
    }
}
