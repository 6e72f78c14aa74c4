//! Organizations (with their branding) and organization groups.

use chrono::NaiveDateTime;
use gatehouse_core::ids::UserId;

use crate::listing::{like_pattern, Page};
use crate::users::{user_columns_u, UserRecord};
use crate::{
    live_rows, now_utc, on_pool, soft_delete, sql, LiveRows, Store, StoreError, StoreFuture,
};

#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct OrgRecord {
    pub id: i64,
    pub name: String,
    pub slug: String,
    pub company_logo_url: String,
    pub company_email_logo_url: String,
    pub font_family: String,
    pub font_url: String,
    pub layout_color: String,
    pub label_color: String,
    pub primary_button_color: String,
    pub primary_button_label_color: String,
    pub primary_button_border_color: String,
    pub secondary_button_color: String,
    pub secondary_button_label_color: String,
    pub secondary_button_border_color: String,
    pub critical_indicator_color: String,
    pub email_sender_name: String,
    pub terms_link: String,
    pub privacy_policy_link: String,
    pub allow_public_registration: bool,
    pub only_use_for_branding_override: bool,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

/// Changes to an organization: `None` leaves a field as it is.
#[derive(Debug, Clone, Default)]
pub struct OrgChanges {
    pub name: Option<String>,
    pub slug: Option<String>,
    pub company_logo_url: Option<String>,
    pub company_email_logo_url: Option<String>,
    pub font_family: Option<String>,
    pub font_url: Option<String>,
    pub layout_color: Option<String>,
    pub label_color: Option<String>,
    pub primary_button_color: Option<String>,
    pub primary_button_label_color: Option<String>,
    pub primary_button_border_color: Option<String>,
    pub secondary_button_color: Option<String>,
    pub secondary_button_label_color: Option<String>,
    pub secondary_button_border_color: Option<String>,
    pub critical_indicator_color: Option<String>,
    pub email_sender_name: Option<String>,
    pub terms_link: Option<String>,
    pub privacy_policy_link: Option<String>,
    pub allow_public_registration: Option<bool>,
    pub only_use_for_branding_override: Option<bool>,
}

#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct OrgGroupRecord {
    pub id: i64,
    pub org_id: i64,
    pub name: String,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

macro_rules! org_columns {
    () => {
        "id, name, slug, company_logo_url, company_email_logo_url, font_family, font_url, \
         layout_color, label_color, primary_button_color, primary_button_label_color, \
         primary_button_border_color, secondary_button_color, secondary_button_label_color, \
         secondary_button_border_color, critical_indicator_color, email_sender_name, terms_link, \
         privacy_policy_link, allow_public_registration, only_use_for_branding_override, \
         created_at, updated_at"
    };
}

const ORGS: LiveRows = live_rows!(org_columns, "orgs");

macro_rules! group_columns {
    () => {
        "id, org_id, name, created_at, updated_at"
    };
}

const GROUPS: LiveRows = live_rows!(group_columns, "org_groups");

pub trait OrgStore {
    fn list_orgs(&self) -> impl StoreFuture<Vec<OrgRecord>>;
    fn org_by_id(&self, id: i64) -> impl StoreFuture<Option<OrgRecord>>;
    /// A live org with that name or slug is a `Conflict`.
    fn insert_org(
        &self,
        name: &str,
        slug: &str,
        allow_public_registration: bool,
        only_use_for_branding_override: bool,
    ) -> impl StoreFuture<OrgRecord>;
    /// Applies the changes; a new slug is written to every user whose active org it was.
    fn update_org(&self, id: i64, changes: &OrgChanges) -> impl StoreFuture<Option<OrgRecord>>;
    /// How many live users have this org active.
    fn count_users_in_org(&self, slug: &str) -> impl StoreFuture<i64>;
    /// Soft-deletes the org with its groups and memberships; whether it existed.
    fn delete_org(&self, id: i64) -> impl StoreFuture<bool>;
    /// Users whose active org is `slug`, optionally filtered by name or email, and the total.
    fn users_with_active_org(
        &self,
        slug: &str,
        search: Option<&str>,
        page: Option<Page>,
    ) -> impl StoreFuture<(Vec<UserRecord>, i64)>;
    /// Every member of the org, and the total.
    fn org_members(
        &self,
        org_id: i64,
        page: Option<Page>,
    ) -> impl StoreFuture<(Vec<UserRecord>, i64)>;
    fn list_org_groups(&self, org_id: Option<i64>) -> impl StoreFuture<Vec<OrgGroupRecord>>;
    fn org_group_by_id(&self, id: i64) -> impl StoreFuture<Option<OrgGroupRecord>>;
    fn insert_org_group(&self, org_id: i64, name: &str) -> impl StoreFuture<OrgGroupRecord>;
    fn rename_org_group(&self, id: i64, name: &str) -> impl StoreFuture<Option<OrgGroupRecord>>;
    fn delete_org_group(&self, id: i64) -> impl StoreFuture<bool>;
    fn org_group_members(&self, id: i64) -> impl StoreFuture<Vec<UserRecord>>;
    fn org_by_slug(&self, slug: &str) -> impl StoreFuture<Option<OrgRecord>>;
    /// `(group id, group name)` of the groups the user is in.
    fn user_org_groups(&self, user_id: UserId) -> impl StoreFuture<Vec<(i64, String)>>;
    /// The organizations the user is a member of (branding-only ones left out).
    fn user_orgs(&self, user_id: UserId) -> impl StoreFuture<Vec<OrgRecord>>;
    /// Replaces the user's memberships; clears the active org (to a single space, as Melody
    /// does) when it is no longer among them.
    fn set_user_orgs(&self, user_id: UserId, org_ids: &[i64]) -> impl StoreFuture<()>;
    /// Adds (or with `member = false` removes) the user to an org group.
    fn set_org_group_member(
        &self,
        user_id: UserId,
        group_id: i64,
        member: bool,
    ) -> impl StoreFuture<()>;
    /// Whether the user is a member of the org.
    fn is_org_member(&self, user_id: UserId, org_id: i64) -> impl StoreFuture<bool>;
}

impl OrgStore for Store {
    async fn list_orgs(&self) -> Result<Vec<OrgRecord>, StoreError> {
        self.fetch_all(ORGS.all, ()).await
    }

    async fn org_by_id(&self, id: i64) -> Result<Option<OrgRecord>, StoreError> {
        self.fetch_optional(ORGS.by_id, (id,)).await
    }

    async fn insert_org(
        &self,
        name: &str,
        slug: &str,
        allow_public_registration: bool,
        only_use_for_branding_override: bool,
    ) -> Result<OrgRecord, StoreError> {
        const INSERT: &str = concat!(
            "INSERT INTO orgs (name, slug, allow_public_registration, only_use_for_branding_override, \
             created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $5) RETURNING ",
            org_columns!()
        );
        self.fetch_one(
            INSERT,
            (
                name,
                slug,
                allow_public_registration,
                only_use_for_branding_override,
                now_utc(),
            ),
        )
        .await
    }

    async fn update_org(&self, id: i64, c: &OrgChanges) -> Result<Option<OrgRecord>, StoreError> {
        let _changed = self.writing_user_data();
        const UPDATE: &str = concat!(
            "UPDATE orgs SET name = COALESCE($2, name), slug = COALESCE($3, slug), \
             company_logo_url = COALESCE($4, company_logo_url), \
             company_email_logo_url = COALESCE($5, company_email_logo_url), \
             font_family = COALESCE($6, font_family), font_url = COALESCE($7, font_url), \
             layout_color = COALESCE($8, layout_color), label_color = COALESCE($9, label_color), \
             primary_button_color = COALESCE($10, primary_button_color), \
             primary_button_label_color = COALESCE($11, primary_button_label_color), \
             primary_button_border_color = COALESCE($12, primary_button_border_color), \
             secondary_button_color = COALESCE($13, secondary_button_color), \
             secondary_button_label_color = COALESCE($14, secondary_button_label_color), \
             secondary_button_border_color = COALESCE($15, secondary_button_border_color), \
             critical_indicator_color = COALESCE($16, critical_indicator_color), \
             email_sender_name = COALESCE($17, email_sender_name), \
             terms_link = COALESCE($18, terms_link), \
             privacy_policy_link = COALESCE($19, privacy_policy_link), \
             allow_public_registration = COALESCE($20, allow_public_registration), \
             only_use_for_branding_override = COALESCE($21, only_use_for_branding_override), \
             updated_at = $22 WHERE id = $1 AND deleted_at IS NULL RETURNING ",
            org_columns!()
        );
        const RESLUG: &str = "UPDATE users SET org_slug = $2, updated_at = $3 \
            WHERE org_slug = $1 AND deleted_at IS NULL";
        let now = now_utc();
        on_pool!(self, |pool| {
            let mut tx = pool.begin_write().await?;
            let old_slug: Option<(String,)> = sql::fetch_optional(
                &mut *tx,
                "SELECT slug FROM orgs WHERE id = $1 AND deleted_at IS NULL",
                (id,),
            )
            .await?;
            let record: Option<OrgRecord> = sql::fetch_optional(
                &mut *tx,
                UPDATE,
                (
                    id,
                    &c.name,
                    &c.slug,
                    &c.company_logo_url,
                    &c.company_email_logo_url,
                    &c.font_family,
                    &c.font_url,
                    &c.layout_color,
                    &c.label_color,
                    &c.primary_button_color,
                    &c.primary_button_label_color,
                    &c.primary_button_border_color,
                    &c.secondary_button_color,
                    &c.secondary_button_label_color,
                    &c.secondary_button_border_color,
                    &c.critical_indicator_color,
                    &c.email_sender_name,
                    &c.terms_link,
                    &c.privacy_policy_link,
                    c.allow_public_registration,
                    c.only_use_for_branding_override,
                    now,
                ),
            )
            .await?;
            if let (Some(record), Some((old,))) = (&record, old_slug) {
                if record.slug != old {
                    sql::execute(&mut *tx, RESLUG, (&old, &record.slug, now)).await?;
                }
            }
            self.commit(tx).await?;
            Ok(record)
        })
    }

    async fn count_users_in_org(&self, slug: &str) -> Result<i64, StoreError> {
        const SQL: &str = "SELECT COUNT(*) FROM users WHERE org_slug = $1 AND deleted_at IS NULL";
        let (n,): (i64,) = self.fetch_one(SQL, (slug,)).await?;
        Ok(n)
    }

    async fn delete_org(&self, id: i64) -> Result<bool, StoreError> {
        self.soft_delete_cascade(
            ORGS.delete,
            &[
                "UPDATE user_org_groups SET deleted_at = $2, updated_at = $2 WHERE deleted_at IS NULL \
                 AND org_group_id IN (SELECT id FROM org_groups WHERE org_id = $1)",
                soft_delete!("org_groups", "org_id"),
                soft_delete!("user_orgs", "org_id"),
            ],
            id,
        )
        .await
    }

    async fn users_with_active_org(
        &self,
        slug: &str,
        search: Option<&str>,
        page: Option<Page>,
    ) -> Result<(Vec<UserRecord>, i64), StoreError> {
        const FILTER: &str = " FROM users u WHERE u.org_slug = $1 AND u.deleted_at IS NULL \
            AND ($2 = '' OR LOWER(COALESCE(u.first_name, '') || ' ' || COALESCE(u.last_name, '') \
            || ' ' || COALESCE(u.email, '')) LIKE $2 ESCAPE '\\')";
        // A NUL is in no name or email, and PostgreSQL refuses one in text: nothing matches.
        if search.is_some_and(|s| s.contains('\0')) {
            return Ok((Vec::new(), 0));
        }
        let pattern = search
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(like_pattern)
            .unwrap_or_default();
        let (limit, offset) = Page::limit_offset(page);
        let rows_sql = format!(
            "SELECT {}{FILTER} ORDER BY u.id LIMIT $3 OFFSET $4",
            user_columns_u!()
        );
        let count_sql = format!("SELECT COUNT(*){FILTER}");
        self.fetch_page(
            (&rows_sql, (slug, &pattern, limit, offset)),
            (&count_sql, (slug, &pattern)),
        )
        .await
    }

    async fn org_members(
        &self,
        org_id: i64,
        page: Option<Page>,
    ) -> Result<(Vec<UserRecord>, i64), StoreError> {
        const ROWS: &str = concat!(
            "SELECT ",
            user_columns_u!(),
            " FROM users u JOIN user_orgs m ON m.user_id = u.id WHERE m.org_id = $1 \
             AND m.deleted_at IS NULL AND u.deleted_at IS NULL ORDER BY u.id LIMIT $2 OFFSET $3"
        );
        const COUNT: &str = "SELECT COUNT(*) FROM users u JOIN user_orgs m ON m.user_id = u.id \
            WHERE m.org_id = $1 AND m.deleted_at IS NULL AND u.deleted_at IS NULL";
        let (limit, offset) = Page::limit_offset(page);
        self.fetch_page((ROWS, (org_id, limit, offset)), (COUNT, (org_id,)))
            .await
    }

    async fn list_org_groups(
        &self,
        org_id: Option<i64>,
    ) -> Result<Vec<OrgGroupRecord>, StoreError> {
        const SQL: &str = concat!(
            "SELECT ",
            group_columns!(),
            " FROM org_groups WHERE deleted_at IS NULL AND ($1 = 0 OR org_id = $1) ORDER BY id"
        );
        self.fetch_all(SQL, (org_id.unwrap_or(0),)).await
    }

    async fn org_group_by_id(&self, id: i64) -> Result<Option<OrgGroupRecord>, StoreError> {
        self.fetch_optional(GROUPS.by_id, (id,)).await
    }

    async fn insert_org_group(
        &self,
        org_id: i64,
        name: &str,
    ) -> Result<OrgGroupRecord, StoreError> {
        const INSERT: &str = concat!(
            "INSERT INTO org_groups (org_id, name, created_at, updated_at) VALUES ($1, $2, $3, $3) RETURNING ",
            group_columns!()
        );
        self.fetch_one(INSERT, (org_id, name, now_utc())).await
    }

    async fn rename_org_group(
        &self,
        id: i64,
        name: &str,
    ) -> Result<Option<OrgGroupRecord>, StoreError> {
        const SQL: &str = concat!(
            "UPDATE org_groups SET name = $2, updated_at = $3 WHERE id = $1 AND deleted_at IS NULL RETURNING ",
            group_columns!()
        );
        self.fetch_optional(SQL, (id, name, now_utc())).await
    }

    async fn delete_org_group(&self, id: i64) -> Result<bool, StoreError> {
        self.soft_delete_cascade(
            GROUPS.delete,
            &[soft_delete!("user_org_groups", "org_group_id")],
            id,
        )
        .await
    }

    async fn org_group_members(&self, id: i64) -> Result<Vec<UserRecord>, StoreError> {
        const SQL: &str = concat!(
            "SELECT ",
            user_columns_u!(),
            " FROM users u JOIN user_org_groups g ON g.user_id = u.id WHERE g.org_group_id = $1 \
             AND g.deleted_at IS NULL AND u.deleted_at IS NULL ORDER BY u.id"
        );
        self.fetch_all(SQL, (id,)).await
    }

    async fn org_by_slug(&self, slug: &str) -> Result<Option<OrgRecord>, StoreError> {
        const SQL: &str = concat!(
            "SELECT ",
            org_columns!(),
            " FROM orgs WHERE slug = $1 AND deleted_at IS NULL"
        );
        self.fetch_optional(SQL, (slug,)).await
    }

    async fn user_org_groups(&self, user_id: UserId) -> Result<Vec<(i64, String)>, StoreError> {
        const SQL: &str = "SELECT g.id, g.name FROM user_org_groups m JOIN org_groups g \
            ON g.id = m.org_group_id WHERE m.user_id = $1 AND m.deleted_at IS NULL \
            AND g.deleted_at IS NULL ORDER BY g.id";
        self.fetch_all(SQL, (user_id,)).await
    }

    async fn is_org_member(&self, user_id: UserId, org_id: i64) -> Result<bool, StoreError> {
        const SQL: &str = "SELECT COUNT(*) FROM user_orgs WHERE user_id = $1 AND org_id = $2 \
            AND deleted_at IS NULL";
        let (n,): (i64,) = self.fetch_one(SQL, (user_id, org_id)).await?;
        Ok(n > 0)
    }

    async fn user_orgs(&self, user_id: UserId) -> Result<Vec<OrgRecord>, StoreError> {
        const SQL: &str = concat!(
            "SELECT ",
            org_columns!(),
            " FROM orgs WHERE deleted_at IS NULL AND only_use_for_branding_override = (1 = 0) \
             AND id IN (SELECT org_id FROM user_orgs WHERE user_id = $1 AND deleted_at IS NULL) \
             ORDER BY id"
        );
        self.fetch_all(SQL, (user_id,)).await
    }

    async fn set_user_orgs(&self, user_id: UserId, org_ids: &[i64]) -> Result<(), StoreError> {
        let _changed = self.writing_user_data();
        const DROP: &str = "UPDATE user_orgs SET deleted_at = $2, updated_at = $2 \
            WHERE user_id = $1 AND deleted_at IS NULL";
        const ADD: &str = "INSERT INTO user_orgs (user_id, org_id, created_at, updated_at) \
            VALUES ($1, $2, $3, $3)";
        const CLEAR_ACTIVE: &str =
            "UPDATE users SET org_slug = ' ', updated_at = $2 WHERE id = $1 \
            AND org_slug NOT IN ('', ' ') AND org_slug NOT IN (SELECT o.slug FROM orgs o \
            JOIN user_orgs m ON m.org_id = o.id WHERE m.user_id = $1 AND m.deleted_at IS NULL \
            AND o.deleted_at IS NULL)";
        let now = now_utc();
        on_pool!(self, |pool| {
            let mut tx = pool.begin_write().await?;
            sql::execute(&mut *tx, DROP, (user_id, now)).await?;
            for org_id in org_ids {
                sql::execute(&mut *tx, ADD, (user_id, org_id, now)).await?;
            }
            sql::execute(&mut *tx, CLEAR_ACTIVE, (user_id, now)).await?;
            self.commit(tx).await?;
            Ok(())
        })
    }

    async fn set_org_group_member(
        &self,
        user_id: UserId,
        group_id: i64,
        member: bool,
    ) -> Result<(), StoreError> {
        const DROP: &str = "UPDATE user_org_groups SET deleted_at = $3, updated_at = $3 \
            WHERE user_id = $1 AND org_group_id = $2 AND deleted_at IS NULL";
        const ADD: &str =
            "INSERT INTO user_org_groups (user_id, org_group_id, created_at, updated_at) \
            VALUES ($1, $2, $3, $3)";
        let now = now_utc();
        on_pool!(self, |pool| {
            let mut tx = pool.begin_write().await?;
            sql::execute(&mut *tx, DROP, (user_id, group_id, now)).await?;
            if member {
                sql::execute(&mut *tx, ADD, (user_id, group_id, now)).await?;
            }
            self.commit(tx).await?;
            Ok(())
        })
    }
}
