//! Users: the list (server-side search and paging), creating a user, and the detail page. The
//! detail page's actions are in `user_actions`.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::routing::get;
use axum::Router;
use gatehouse_core::grant::AppType;
use gatehouse_core::signin::MfaType;
use gatehouse_store::{Page, RoleStore, UserRecord};
use serde::Deserialize;

use super::auth::{AdminForm, AdminUser};
use super::user_actions;
use super::view::{
    page_number, render, see_other, when, Detail, Frame, PageResult, Paging, PAGE_SIZE,
};
use crate::services::admin_accounts::{self, NewAccount};
use crate::services::{apps, users};
use crate::state::AppState;

pub(super) fn routes() -> Router<AppState> {
    Router::new()
        .route("/admin/users", get(list).post(create))
        .route("/admin/users/invitations", axum::routing::post(invite))
        .route("/admin/users/{auth_id}", get(detail))
        .merge(user_actions::routes())
}

/// A user as a row of the list.
struct UserRow {
    auth_id: String,
    email: String,
    name: String,
    active: bool,
    created: String,
}

impl From<&UserRecord> for UserRow {
    fn from(u: &UserRecord) -> Self {
        Self {
            auth_id: u.auth_id.clone(),
            email: u.email.clone().unwrap_or_default(),
            name: full_name(u),
            active: u.is_active,
            created: when(&u.created_at),
        }
    }
}

fn full_name(u: &UserRecord) -> String {
    [u.first_name.as_deref(), u.last_name.as_deref()]
        .into_iter()
        .flatten()
        .collect::<Vec<_>>()
        .join(" ")
}

#[derive(Template)]
#[template(path = "admin/users.html")]
struct UsersPage {
    f: Frame,
    search: String,
    rows: Vec<UserRow>,
    paging: Paging,
}

#[derive(Deserialize)]
pub(super) struct ListQuery {
    search: Option<String>,
    page: Option<u32>,
    created: Option<String>,
}

async fn list(
    State(state): State<AppState>,
    admin: AdminUser,
    Query(q): Query<ListQuery>,
) -> PageResult {
    let w = admin.words();
    let search = q.search.unwrap_or_default();
    let page = page_number(q.page);
    let found = users::search(
        &state.store,
        Some(search.as_str()).filter(|s| !s.trim().is_empty()),
        gatehouse_store::UserPage::Number(Page {
            size: PAGE_SIZE,
            number: page,
        }),
    )
    .await?;
    let query = |n: u32| {
        let q =
            serde_urlencoded::to_string([("search", search.as_str()), ("page", &n.to_string())])
                .unwrap_or_default();
        format!("/admin/users?{q}")
    };
    let notice = q.created.is_some().then(|| w.saved.to_owned());
    Ok(render(
        StatusCode::OK,
        &UsersPage {
            f: Frame::new(&admin, "users", w.users, "/admin/users").with_notice(notice),
            rows: found.users.iter().map(UserRow::from).collect(),
            paging: Paging::counted(w, page, found.count, found.count_is_estimate, query),
            search,
        },
    ))
}

#[derive(Default, Deserialize)]
#[serde(default)]
pub(super) struct CreateForm {
    email: String,
    password: String,
    first_name: Option<String>,
    last_name: Option<String>,
}

async fn create(posted: AdminForm<CreateForm>) -> PageResult {
    let AdminForm { state, form, .. } = posted;
    let input = NewAccount {
        email: form.email,
        password: form.password,
        first_name: form.first_name,
        last_name: form.last_name,
    };
    let checked = admin_accounts::check(input)?;
    let user =
        admin_accounts::create(&state.store, &state.passwords, &state.config, checked, &[]).await?;
    Ok(see_other(&format!("/admin/users/{}?done=1", user.auth_id)))
}

#[derive(Default, Deserialize)]
#[serde(default)]
pub(super) struct InviteForm {
    email: String,
    first_name: Option<String>,
    last_name: Option<String>,
}

/// An inactive user emailed a link to accept (the S2S API's invitation).
async fn invite(posted: AdminForm<InviteForm>) -> PageResult {
    let AdminForm { state, admin, form } = posted;
    let blank = |v: Option<String>| v.filter(|v| !v.trim().is_empty());
    let invitation = crate::services::users::Invitation {
        email: form.email,
        first_name: blank(form.first_name),
        last_name: blank(form.last_name),
        locale: None,
        org_slug: None,
        roles: Vec::new(),
        sign_in_url: None,
    };
    let made = users::invite(&state, &admin.authority(), invitation).await?;
    Ok(see_other(&format!(
        "/admin/users/{}?done=1",
        made.user.auth_id
    )))
}

/// A labelled line of the detail page.
struct Fact {
    label: &'static str,
    value: String,
}

#[derive(Template)]
#[template(path = "admin/user.html")]
struct UserPage {
    f: Frame,
    auth_id: String,
    active: bool,
    invited: bool,
    facts: Vec<Fact>,
    /// (role name, held).
    roles: Vec<(String, bool)>,
    /// (mfa type, label, enrolled).
    mfa: Vec<(&'static str, &'static str, bool)>,
    /// (session id, description).
    sessions: Vec<(String, String)>,
    locked_ips: Vec<String>,
    /// (passkey id, description).
    passkeys: Vec<(i64, String)>,
    /// (identity id, "provider · subject · linked at") of each linked provider identity.
    identities: Vec<(i64, String)>,
    consented: Vec<(i64, String)>,
    /// (app id, name) of the browser apps impersonation can use.
    spa_apps: Vec<(i64, String)>,
    linked: Option<String>,
    /// With `enable_user_attribute`: (attribute id, name, the user's value) of every attribute.
    attributes: Option<Vec<(i64, String, String)>>,
    /// The contact phone number and the address members (OIDC Core §5.1.1), as stored.
    phone_number: String,
    address: gatehouse_core::claims::Address,
    /// The latest changes recorded about the user.
    rows: Vec<super::audit::AuditRow>,
    /// With `enable_org`: (org id, name, member) of every organization, and (group id, name,
    /// member) of the active organization's groups.
    orgs: Option<Vec<(i64, String, bool)>>,
    groups: Vec<(i64, String, bool)>,
    /// The token an impersonation just made (shown once), and its expiry.
    impersonation: Option<(String, String)>,
}

async fn detail(
    State(state): State<AppState>,
    Detail { admin, notice }: Detail,
    Path(auth_id): Path<String>,
) -> PageResult {
    user_page(&state, &admin, &auth_id, notice, None).await
}

/// The detail page; `impersonation` is a refresh token to show once.
pub(super) async fn user_page(
    state: &AppState,
    admin: &AdminUser,
    auth_id: &str,
    notice: Option<String>,
    impersonation: Option<(String, String)>,
) -> PageResult {
    let w = admin.words();
    let detail = users::detail(state, auth_id).await?;
    let all_roles = state.store.list_roles().await?;
    let listed = users::active_sessions(&state.store, auth_id).await?;
    let locked_ips = users::locked_ips(state, auth_id).await?;
    let passkeys = users::passkeys(&state.store, auth_id).await?;
    let identities = users::linked_identities(&state.store, auth_id).await?;
    let consented = users::consented_apps(&state.store, auth_id).await?;
    let spa_apps = apps::list(state)
        .await?
        .into_iter()
        .filter(|a| a.app_type == AppType::Spa && a.is_active)
        .map(|a| (a.id, a.name))
        .collect();
    let (orgs, groups) = if state.config.enable_org {
        let held = users::orgs(&state.store, auth_id).await?;
        let all = crate::services::orgs::list(&state.store).await?;
        let groups = match &detail.org {
            Some(Some(active)) if state.config.enable_org_group => {
                crate::services::orgs::list_groups(&state.store, Some(active.id)).await?
            }
            _ => Vec::new(),
        };
        let in_group = |id: i64| detail.org_groups.iter().flatten().any(|(g, _)| *g == id);
        (
            Some(
                all.into_iter()
                    .map(|o| {
                        let member = held.iter().any(|h| h.id == o.id);
                        (o.id, o.name, member)
                    })
                    .collect(),
            ),
            groups
                .into_iter()
                .map(|g| (g.id, g.name, in_group(g.id)))
                .collect(),
        )
    } else {
        (None, Vec::new())
    };
    let attributes = match &detail.attributes {
        Some(values) => Some(
            crate::services::user_attributes::list(&state.store)
                .await?
                .into_iter()
                .map(|a| {
                    let value = values.get(&a.name).cloned().unwrap_or_default();
                    (a.id, a.name, value)
                })
                .collect(),
        ),
        None => None,
    };
    let user = &detail.user;
    let yes_no = |b: bool| if b { w.yes } else { w.no }.to_owned();
    let mut facts = vec![
        Fact {
            label: w.email,
            value: user.email.clone().unwrap_or_default(),
        },
        Fact {
            label: w.name,
            value: full_name(user),
        },
        Fact {
            label: w.status,
            value: if user.is_active { w.active } else { w.disabled }.to_owned(),
        },
        Fact {
            label: w.email_verified,
            value: yes_no(user.email_verified),
        },
        Fact {
            label: w.sign_in_count,
            value: user.login_count.to_string(),
        },
        Fact {
            label: w.locale,
            value: user.locale.clone(),
        },
        Fact {
            label: w.created,
            value: when(&user.created_at),
        },
    ];
    if user.invitation_token.is_some() {
        facts.push(Fact {
            label: w.invitation,
            value: user
                .invitation_expires_at
                .as_ref()
                .map(when)
                .unwrap_or_default(),
        });
    }
    if let Some(Some(org)) = &detail.org {
        facts.push(Fact {
            label: w.orgs,
            value: org.name.clone(),
        });
    }
    let enrolled = |kind: MfaType| user.mfa_types.contains(&kind);
    let mut sessions: Vec<(String, String)> = listed
        .browser_sessions
        .iter()
        .map(|s| {
            (
                format!("{}{}", users::BROWSER_SESSION_PREFIX, s.id),
                format!(
                    "{} · {} · {}",
                    when(&s.last_seen_at),
                    s.ip.clone().unwrap_or_default(),
                    s.user_agent
                        .clone()
                        .unwrap_or_default()
                        .chars()
                        .take(60)
                        .collect::<String>()
                ),
            )
        })
        .collect();
    sessions.extend(listed.token_sessions.iter().map(|s| {
        let by = s
            .impersonated_by
            .as_deref()
            .map(|b| format!(" · {} {b}", w.impersonate))
            .unwrap_or_default();
        (
            s.family_id.clone(),
            format!("{} · {}{by}", s.client_id, when(&s.expires_at)),
        )
    }));
    let page = UserPage {
        f: Frame::new(
            admin,
            "users",
            &user.email.clone().unwrap_or_else(|| auth_id.to_owned()),
            &format!("/admin/users/{auth_id}"),
        )
        .with_notice(notice),
        auth_id: user.auth_id.clone(),
        active: user.is_active,
        invited: user.invitation_token.is_some(),
        roles: all_roles
            .into_iter()
            .map(|r| {
                let held = detail.roles.contains(&r.name);
                (r.name, held)
            })
            .collect(),
        mfa: vec![
            ("otp", "TOTP", enrolled(MfaType::Otp) || user.otp_verified),
            ("email", "Email", enrolled(MfaType::Email)),
            (
                "sms",
                "SMS",
                enrolled(MfaType::Sms) || user.sms_phone_number_verified,
            ),
        ],
        sessions,
        locked_ips,
        passkeys: passkeys
            .iter()
            .map(|p| {
                (
                    p.id,
                    format!(
                        "{} · {}",
                        p.credential_id.chars().take(16).collect::<String>(),
                        when(&p.created_at)
                    ),
                )
            })
            .collect(),
        identities: identities
            .iter()
            .map(|i| {
                (
                    i.id,
                    format!("{} · {} · {}", i.provider, i.subject, when(&i.created_at)),
                )
            })
            .collect(),
        consented,
        spa_apps,
        linked: user.linked_auth_id.clone(),
        phone_number: user.phone_number.clone().unwrap_or_default(),
        address: user.postal_address().unwrap_or_default(),
        attributes,
        impersonation,
        orgs,
        groups,
        facts,
        rows: super::audit::user_history(state, auth_id).await?,
    };
    Ok(render(StatusCode::OK, &page))
}
