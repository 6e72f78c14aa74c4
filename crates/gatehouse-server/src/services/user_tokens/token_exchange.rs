//! `grant_type=urn:ietf:params:oauth:grant-type:token-exchange` (RFC 8693): an app with a
//! secret trades a user's access token it may use for a token to an API that lets it, with the
//! same or fewer scopes, acting for the user (`act`). What is allowed is decided in
//! `gatehouse_core::grant::token_exchange`.

use gatehouse_core::grant::token_exchange::{
    self, Actor, ExchangeParams, Subject, Target, ACCESS_TOKEN_TYPE,
};
use gatehouse_core::grant::AppType;
use gatehouse_core::resource::{ResourceAccessTokenClaims, ACCESS_TOKEN_TYP};
use gatehouse_core::scope::parse_scope_list;
use gatehouse_core::TokenError;
use gatehouse_store::UserStore;
use serde::Serialize;

use super::introspection::stands_for;
use super::revocation::{read_token, ReadToken};
use super::IdentifiedClient;
use crate::crypto::random_hex;
use crate::error::ServiceError;
use crate::services::resource_servers;
use crate::state::AppState;

/// The exchange's answer (RFC 8693 §2.2.1). No refresh token: the caller exchanges again.
#[derive(Debug, Serialize)]
pub struct ExchangedToken {
    pub access_token: String,
    pub issued_token_type: &'static str,
    pub token_type: &'static str,
    pub expires_in: i64,
    pub scope: String,
}

/// An exchange as the token endpoint received it.
#[derive(Debug, Clone, Copy, Default)]
pub struct ExchangeRequest<'a> {
    pub subject_token: &'a str,
    pub params: ExchangeParams<'a>,
    /// The target API: `resource` or `audience` (its identifier either way); none keeps the
    /// subject token's API.
    pub resource: Option<&'a str>,
    pub audience: Option<&'a str>,
    /// The thumbprint of the DPoP key the request proved, to which the new token is bound.
    pub dpop: Option<&'a str>,
}

pub async fn exchange_token(
    state: &AppState,
    client: Option<&IdentifiedClient>,
    request: ExchangeRequest<'_>,
    now: i64,
) -> Result<ExchangedToken, ServiceError> {
    let client = client.ok_or(TokenError::ClientAuthenticationRequired)?;
    if client.app.app_type == AppType::Spa || !client.authenticated {
        return Err(TokenError::GrantNotAllowed("token-exchange").into());
    }
    crate::services::dpop::check_required(&client.app, request.dpop)?;
    if request.subject_token.is_empty() {
        return Err(TokenError::MissingParameter("subject_token").into());
    }
    let caller = client.app.client_id.as_str();
    // What the subject token says of the sign-in and its actors carries over.
    let (subject, auth_time, context, earlier_actor) =
        match read_token(state, request.subject_token, now).await? {
            Some(ReadToken::Resource(rs)) => {
                let (auth_time, act) = (rs.auth_time, rs.act.clone());
                let context = (rs.acr.clone(), rs.amr.clone());
                (
                    ReadToken::Resource(rs).into_claims(),
                    auth_time,
                    context,
                    act,
                )
            }
            Some(ReadToken::Own(own)) => {
                let iat = own.iat;
                (own, iat, (None, None), None)
            }
            None => return Err(TokenError::InvalidSubjectToken.into()),
        };
    // Only a user's token, of a user still active, is exchanged.
    let user_token = subject.sub != subject.azp;
    let user = state.store.user_by_auth_id(&subject.sub).await?;
    if !user_token || !user.is_some_and(|u| u.is_active) {
        return Err(TokenError::InvalidSubjectToken.into());
    }
    let target = match (request.resource, request.audience) {
        (Some(r), Some(a)) if !r.is_empty() && !a.is_empty() && r != a => {
            return Err(TokenError::TwoTargets.into())
        }
        (Some(r), _) if !r.is_empty() => r.to_owned(),
        (_, Some(a)) if !a.is_empty() => a.to_owned(),
        _ if subject.aud != state.config.issuer => subject.aud.clone(),
        _ => return Err(TokenError::MissingParameter("resource").into()),
    };
    let api = resource_servers::named(state, &target).await?;
    let usable = subject.azp == caller || stands_for(state, caller, &subject.aud).await?;
    let (held, defined) = (parse_scope_list(&subject.scope), api.scope_names());
    let granted = token_exchange::decide(
        &request.params,
        &Subject {
            scopes: &held,
            usable_by_caller: usable,
        },
        &Target {
            scopes: &defined,
            allows_caller: api.exchange_client_ids().iter().any(|c| c == caller),
        },
    )?;
    let lifetime = api
        .access_token_expires_in
        .unwrap_or(state.config.spa_access_token_expires_in as i64);
    // Never longer than the token it came from.
    let exp = (now + lifetime).min(subject.exp);
    let claims = ResourceAccessTokenClaims {
        iss: state.config.issuer.clone(),
        sub: subject.sub,
        aud: api.identifier,
        client_id: caller.to_owned(),
        scope: granted.join(" "),
        iat: now,
        exp,
        jti: random_hex::<16>(),
        auth_time,
        acr: context.0,
        amr: context.1,
        act: Some(Actor {
            sub: caller.to_owned(),
            act: earlier_actor.map(Box::new),
        }),
        cnf: request.dpop.map(gatehouse_core::jwt::Confirmation::of),
    };
    let alg = api.signing_algorithm.as_deref();
    let access_token = state.keys.sign_for(alg, &claims, ACCESS_TOKEN_TYP).await?;
    state.metrics.token_issued("token_exchange");
    Ok(ExchangedToken {
        access_token,
        issued_token_type: ACCESS_TOKEN_TYPE,
        token_type: crate::services::client_credentials::token_type(request.dpop),
        expires_in: exp - now,
        scope: claims.scope,
    })
}
