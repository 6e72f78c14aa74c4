//! Organizations: the list, creating one, the branding fields with a live preview (a small
//! script of the panel's own updates it as you type; without it the preview shows what is
//! saved), members, and the organization's groups.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::Router;
use gatehouse_store::{OrgChanges, OrgGroupRecord, OrgRecord, Page, UserRecord};
use serde::Deserialize;

use super::auth::NoFields;
use super::feature::{FeatureAdmin, FeatureForm};
use super::i18n::Words;
use super::view::{buttons, page_number, render, see_other, Frame, PageResult, Paging, PAGE_SIZE};
use crate::http::api::OrgFeature;
use crate::http::identity::pages::Chrome;
use crate::services::orgs;
use crate::services::signin::Branding;
use crate::state::AppState;

pub(super) fn routes() -> Router<AppState> {
    Router::new()
        .route("/admin/orgs", get(list).post(create))
        .route("/admin/orgs/{id}", get(detail).post(update))
        .route("/admin/orgs/{id}/delete", post(delete))
        .route("/admin/orgs/{id}/groups", post(create_group))
        .route("/admin/orgs/{id}/groups/{group_id}", post(rename_group))
        .route(
            "/admin/orgs/{id}/groups/{group_id}/delete",
            post(delete_group),
        )
}

/// The pages' guard: an admin, with organizations (`enable_org`) switched on.
type Orgs<T = NoFields> = FeatureForm<OrgFeature, T>;

#[derive(Template)]
#[template(path = "admin/orgs.html")]
struct OrgsPage {
    f: Frame,
    orgs: Vec<OrgRecord>,
}

async fn list(State(state): State<AppState>, page: FeatureAdmin<OrgFeature>) -> PageResult {
    let admin = page.admin;
    let w = admin.words();
    let orgs = orgs::list(&state.store).await?;
    let f = Frame::new(&admin, "orgs", w.orgs, "/admin/orgs");
    Ok(render(StatusCode::OK, &OrgsPage { f, orgs }))
}

#[derive(Default, Deserialize)]
#[serde(default)]
struct NewOrgForm {
    name: String,
    slug: String,
    allow_public_registration: Option<String>,
}

async fn create(posted: Orgs<NewOrgForm>) -> PageResult {
    let FeatureForm { state, form, .. } = posted;
    let org = orgs::create(
        &state.store,
        &form.name,
        &form.slug,
        form.allow_public_registration.is_some(),
        false,
    )
    .await?;
    Ok(see_other(&format!("/admin/orgs/{}?done=1", org.id)))
}

/// (form field, label, value) of each branding text field.
type BrandingField = (&'static str, &'static str, String);

fn branding_fields(w: &Words, org: &OrgRecord) -> Vec<BrandingField> {
    // The form field, its label and the record's field share one name.
    macro_rules! same_name {
        ($($field:ident),* $(,)?) => {
            [$((stringify!($field), w.$field, org.$field.clone())),*]
        };
    }
    let mut fields = vec![
        ("company_logo_url", w.logo_url, org.company_logo_url.clone()),
        (
            "company_email_logo_url",
            w.email_logo_url,
            org.company_email_logo_url.clone(),
        ),
    ];
    fields.extend(same_name![
        font_family,
        font_url,
        layout_color,
        label_color,
        primary_button_color,
        primary_button_label_color,
        primary_button_border_color,
        secondary_button_color,
        secondary_button_label_color,
        secondary_button_border_color,
        critical_indicator_color,
        email_sender_name,
        terms_link,
        privacy_policy_link,
    ]);
    fields
}

#[derive(Template)]
#[template(path = "admin/org.html")]
struct OrgPage<'a> {
    f: Frame,
    org: OrgRecord,
    fields: Vec<BrandingField>,
    /// The org's branding over the server's, as its sign-in pages show it (a value that fails
    /// the branding rules shows the server's there, and here too).
    preview: Chrome<'a>,
    groups: Option<Vec<OrgGroupRecord>>,
    members: Vec<UserRecord>,
    paging: Paging,
}

#[derive(Deserialize)]
pub(super) struct DetailQuery {
    done: Option<String>,
    page: Option<u32>,
}

async fn detail(
    State(state): State<AppState>,
    page: FeatureAdmin<OrgFeature>,
    Path(id): Path<i64>,
    Query(q): Query<DetailQuery>,
) -> PageResult {
    let admin = page.admin;
    let w = admin.words();
    let org = orgs::get(&state.store, id).await?;
    let page = page_number(q.page);
    let (members, total) = orgs::members(
        &state.store,
        id,
        Some(Page {
            size: PAGE_SIZE,
            number: page,
        }),
    )
    .await?;
    let groups = if state.config.enable_org_group {
        Some(orgs::list_groups(&state.store, Some(id)).await?)
    } else {
        None
    };
    let notice = q.done.is_some().then(|| w.saved.to_owned());
    let here = format!("/admin/orgs/{id}");
    let branding = Branding::from(org.clone());
    let page = OrgPage {
        f: Frame::new(&admin, "orgs", &org.name, &here).with_notice(notice),
        fields: branding_fields(w, &org),
        preview: Chrome::new(&state.config, &admin.locale, None).branded(Some(&branding)),
        paging: Paging::new(w, page, total, |n| format!("{here}?page={n}")),
        groups,
        members,
        org,
    };
    Ok(render(StatusCode::OK, &page))
}

/// The edit form posts every field; a blank branding field falls back to the server's value.
async fn update(Path(id): Path<i64>, posted: Orgs<Vec<(String, String)>>) -> PageResult {
    let FeatureForm { state, form, .. } = posted;
    let text = |name: &str| {
        Some(
            form.iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.trim().to_owned())
                .unwrap_or_default(),
        )
    };
    let on = |name: &str| Some(form.iter().any(|(k, v)| k == name && v == "on"));
    let changes = OrgChanges {
        name: text("name"),
        slug: text("slug"),
        company_logo_url: text("company_logo_url"),
        company_email_logo_url: text("company_email_logo_url"),
        font_family: text("font_family"),
        font_url: text("font_url"),
        layout_color: text("layout_color"),
        label_color: text("label_color"),
        primary_button_color: text("primary_button_color"),
        primary_button_label_color: text("primary_button_label_color"),
        primary_button_border_color: text("primary_button_border_color"),
        secondary_button_color: text("secondary_button_color"),
        secondary_button_label_color: text("secondary_button_label_color"),
        secondary_button_border_color: text("secondary_button_border_color"),
        critical_indicator_color: text("critical_indicator_color"),
        email_sender_name: text("email_sender_name"),
        terms_link: text("terms_link"),
        privacy_policy_link: text("privacy_policy_link"),
        allow_public_registration: on("allow_public_registration"),
        only_use_for_branding_override: on("only_use_for_branding_override"),
    };
    orgs::update(&state.config, &state.store, id, changes).await?;
    Ok(see_other(&format!("/admin/orgs/{id}?done=1")))
}

buttons! {
    delete(state, id => i64, _ => Orgs) { orgs::delete(&state.store, id) } => "/admin/orgs";
    delete_group(state, (id, group_id) => (i64, i64), _ => Orgs) {
        orgs::delete_group(&state.store, group_id)
    } => format!("/admin/orgs/{id}?done=1");
}

#[derive(Default, Deserialize)]
#[serde(default)]
struct GroupForm {
    name: String,
}

async fn create_group(Path(id): Path<i64>, posted: Orgs<GroupForm>) -> PageResult {
    let FeatureForm { state, form, .. } = posted;
    orgs::create_group(&state.store, id, &form.name).await?;
    Ok(see_other(&format!("/admin/orgs/{id}?done=1")))
}

async fn rename_group(
    Path((id, group_id)): Path<(i64, i64)>,
    posted: Orgs<GroupForm>,
) -> PageResult {
    let FeatureForm { state, form, .. } = posted;
    orgs::rename_group(&state.store, group_id, &form.name).await?;
    Ok(see_other(&format!("/admin/orgs/{id}?done=1")))
}
