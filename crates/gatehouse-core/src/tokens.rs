//! The claims of tokens issued to users: access token and ID token.

use serde::{Deserialize, Serialize};

use crate::jwt::AccessTokenClaims;

/// Claims of an ID token (OIDC Core §2) with Melody's extras (`first_name`, `roles`…).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IdTokenClaims {
    pub iss: String,
    pub sub: String,
    pub aud: String,
    pub azp: String,
    pub exp: i64,
    pub iat: i64,
    pub auth_time: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nonce: Option<String>,
    pub at_hash: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sid: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email_verified: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub locale: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone_number: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone_number_verified: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub address: Option<crate::claims::Address>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub given_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub family_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub roles: Option<Vec<String>>,
    /// Custom attributes flagged for ID tokens (present only when attributes are enabled).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attributes: Option<std::collections::BTreeMap<String, String>>,
    /// The level the sign-in reached and how (OIDC Core §2, RFC 8176), when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub acr: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub amr: Option<Vec<String>>,
}

/// What the user-token claims are made from.
#[derive(Debug, Clone)]
pub struct UserTokenFacts<'a> {
    pub issuer: &'a str,
    pub client_id: &'a str,
    pub auth_id: &'a str,
    pub scopes: &'a [String],
    pub roles: &'a [String],
    pub now: i64,
    pub access_lifetime: i64,
    pub jti: String,
    pub impersonated_by: Option<String>,
    /// The ID token's shape: standard claims only (by scope and `claims` request), or Melody's.
    pub id_token_shape: IdTokenShape<'a>,
    /// Claims the `claims` request parameter asked for at userinfo, carried by the access token.
    pub userinfo_claims: &'a [String],
}

/// Which claims an ID token shows beyond the protocol ones.
#[derive(Debug, Clone, Copy, Default)]
pub struct IdTokenShape<'a> {
    /// OIDC's rules only: each claim with its scope (OIDC Core §5.4) or when asked by name;
    /// no roles, no `first_name`/`last_name`. Off: Melody's shape (roles and locale always,
    /// email and names with `profile` or `email`).
    pub standard: bool,
    /// Claims the `claims` request parameter asked for (OIDC Core §5.5).
    pub requested: &'a [String],
}

impl IdTokenShape<'_> {
    /// Whether the claim `name`, which `scope` releases, is shown.
    fn shows(&self, scopes: &[String], scope: &str, name: &str) -> bool {
        let has = |s: &str| scopes.iter().any(|held| held == s);
        let by_scope = if self.standard {
            has(scope)
        } else {
            // Melody shows email and names with either `profile` or `email`.
            has(scope) || (matches!(scope, "profile" | "email") && (has("profile") || has("email")))
        };
        by_scope || self.requested.iter().any(|r| r == name)
    }
}

pub fn user_access_token_claims(f: &UserTokenFacts<'_>) -> AccessTokenClaims {
    AccessTokenClaims {
        iss: f.issuer.to_owned(),
        sub: f.auth_id.to_owned(),
        azp: f.client_id.to_owned(),
        aud: f.issuer.to_owned(),
        scope: f.scopes.join(" "),
        iat: f.now,
        exp: f.now + f.access_lifetime,
        jti: f.jti.clone(),
        roles: Some(f.roles.to_vec()),
        impersonated_by: f.impersonated_by.clone(),
        userinfo_claims: (!f.userinfo_claims.is_empty()).then(|| f.userinfo_claims.to_vec()),
        cnf: None,
    }
}

/// The profile part of an ID token, from the user record.
#[derive(Debug, Clone, Default)]
pub struct IdTokenProfile {
    pub email: Option<String>,
    pub email_verified: bool,
    pub locale: String,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    /// The phone number, and whether this server verified it (by SMS).
    pub phone_number: Option<String>,
    pub phone_number_verified: bool,
    pub address: Option<crate::claims::Address>,
}

/// ID-token claims; `email` claims only with the `profile` or `email` scope, the phone number
/// with `phone`, the address with `address` (OIDC Core §5.4).
#[allow(clippy::too_many_arguments)]
pub fn id_token_claims(
    f: &UserTokenFacts<'_>,
    profile: &IdTokenProfile,
    id_lifetime: i64,
    auth_time: i64,
    nonce: Option<String>,
    at_hash: String,
    sid: Option<String>,
) -> IdTokenClaims {
    let shape = f.id_token_shape;
    let shows = |scope: &str, name: &str| shape.shows(f.scopes, scope, name);
    let melody = !shape.standard;
    let names = |v: &Option<String>, name: &str| v.clone().filter(|_| shows("profile", name));
    let phone = profile
        .phone_number
        .clone()
        .filter(|_| shows("phone", "phone_number"));
    IdTokenClaims {
        iss: f.issuer.to_owned(),
        sub: f.auth_id.to_owned(),
        aud: f.client_id.to_owned(),
        azp: f.client_id.to_owned(),
        exp: f.now + id_lifetime,
        iat: f.now,
        auth_time,
        nonce,
        at_hash,
        sid,
        email: profile.email.clone().filter(|_| shows("email", "email")),
        email_verified: shows("email", "email_verified").then_some(profile.email_verified),
        locale: (melody || shows("profile", "locale")).then(|| profile.locale.clone()),
        first_name: names(&profile.first_name, "first_name").filter(|_| melody),
        last_name: names(&profile.last_name, "last_name").filter(|_| melody),
        phone_number_verified: phone.as_ref().map(|_| profile.phone_number_verified),
        phone_number: phone,
        address: profile
            .address
            .clone()
            .filter(|_| shows("address", "address")),
        given_name: names(&profile.first_name, "given_name"),
        family_name: names(&profile.last_name, "family_name"),
        roles: (melody || shape.requested.iter().any(|r| r == "roles")).then(|| f.roles.to_vec()),
        attributes: None,
        acr: None,
        amr: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn facts(scopes: &[String]) -> UserTokenFacts<'_> {
        UserTokenFacts {
            issuer: "https://id.example",
            client_id: "spa1",
            auth_id: "user-1",
            scopes,
            roles: &[],
            now: 1000,
            access_lifetime: 60,
            jti: "j".into(),
            impersonated_by: None,
            id_token_shape: IdTokenShape::default(),
            userinfo_claims: &[],
        }
    }

    fn profile() -> IdTokenProfile {
        IdTokenProfile {
            email: Some("a@b.c".into()),
            email_verified: true,
            locale: "en".into(),
            first_name: Some("Ada".into()),
            last_name: None,
            phone_number: Some("+14155550123".into()),
            phone_number_verified: true,
            address: Some(crate::claims::Address {
                locality: Some("Springfield".into()),
                ..Default::default()
            }),
        }
    }

    #[test]
    fn the_standard_shape_shows_each_claim_with_its_scope_or_when_asked() {
        let scopes = vec!["openid".to_owned(), "profile".to_owned()];
        let requested = vec!["email".to_owned(), "roles".to_owned()];
        let mut f = facts(&scopes);
        f.id_token_shape = IdTokenShape {
            standard: true,
            requested: &[],
        };
        let plain = id_token_claims(&f, &profile(), 30, 900, None, "h".into(), None);
        assert_eq!(plain.given_name.as_deref(), Some("Ada"));
        assert_eq!(plain.locale.as_deref(), Some("en"));
        assert!(plain.email.is_none() && plain.roles.is_none() && plain.first_name.is_none());
        f.id_token_shape.requested = &requested;
        let asked = id_token_claims(&f, &profile(), 30, 900, None, "h".into(), None);
        assert_eq!(asked.email.as_deref(), Some("a@b.c"));
        assert_eq!(asked.roles, Some(vec![]));
        // Melody's shape: roles and locale always, email with `profile`.
        let melody = id_token_claims(&facts(&scopes), &profile(), 30, 900, None, "h".into(), None);
        assert_eq!(melody.email.as_deref(), Some("a@b.c"));
        assert!(melody.roles.is_some() && melody.first_name.is_some());
        let bare = vec!["openid".to_owned()];
        let melody = id_token_claims(&facts(&bare), &profile(), 30, 900, None, "h".into(), None);
        assert!(melody.roles.is_some() && melody.locale.is_some() && melody.email.is_none());
    }

    #[test]
    fn phone_and_address_come_with_their_scopes_only() {
        let scopes = |list: &[&str]| list.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
        let claims = |list: &[String]| {
            id_token_claims(&facts(list), &profile(), 30, 900, None, "h".into(), None)
        };
        let none = claims(&scopes(&["openid"]));
        assert!(none.phone_number.is_none() && none.phone_number_verified.is_none());
        assert!(none.address.is_none());
        let both = claims(&scopes(&["openid", "phone", "address"]));
        assert_eq!(both.phone_number.as_deref(), Some("+14155550123"));
        assert_eq!(both.phone_number_verified, Some(true));
        let json = serde_json::to_value(&both).unwrap();
        assert_eq!(
            json["address"],
            serde_json::json!({"locality": "Springfield"})
        );
        // `email` alone shows the email, as `profile` does.
        let email = claims(&scopes(&["openid", "email"]));
        assert_eq!(email.email.as_deref(), Some("a@b.c"));
    }

    #[test]
    fn access_token_names_user_client_and_expiry() {
        let scopes = vec!["openid".to_owned()];
        let c = user_access_token_claims(&facts(&scopes));
        assert_eq!(
            (c.sub.as_str(), c.azp.as_str(), c.exp),
            ("user-1", "spa1", 1060)
        );
        assert_eq!(c.roles, Some(vec![]));
    }

    #[test]
    fn id_token_shows_profile_claims_only_with_profile_scope() {
        let with = vec!["openid".to_owned(), "profile".to_owned()];
        let c = id_token_claims(
            &facts(&with),
            &profile(),
            30,
            900,
            Some("n".into()),
            "h".into(),
            None,
        );
        assert_eq!(c.aud, "spa1");
        assert_eq!(c.email.as_deref(), Some("a@b.c"));
        assert_eq!(c.given_name.as_deref(), Some("Ada"));
        assert_eq!((c.exp, c.auth_time), (1030, 900));
        let without = vec!["openid".to_owned()];
        let c = id_token_claims(
            &facts(&without),
            &profile(),
            30,
            900,
            None,
            "h".into(),
            None,
        );
        assert_eq!(c.email, None);
        assert_eq!(c.email_verified, None);
        let json = serde_json::to_value(&c).unwrap();
        assert!(json.get("nonce").is_none());
    }
}
