use gatehouse_core::admin::{AdminRuleError, ProtectedRoles};
use gatehouse_core::ids::UserId;
use gatehouse_store::{Store, UserChanges, UserStore};
use serde_json::{json, Value};

use super::*;
use crate::services::fixture;

fn refusal(err: ServiceError) -> AdminRuleError {
    match err {
        ServiceError::Rule(rule) => rule,
        other => panic!("expected a rule refusal, got {other:?}"),
    }
}

fn root() -> Authority {
    Authority::of_s2s(&["root".to_owned()])
}

fn not_root() -> Authority {
    Authority::of_s2s(&["write_role".to_owned()])
}

fn roles_with<'a>(store: &'a Store, privileged: &'a [String]) -> Roles<'a, Store> {
    Roles {
        store,
        protected: ProtectedRoles::new(privileged, &[], &[]),
    }
}

#[tokio::test]
async fn a_protected_role_is_created_renamed_and_deleted_only_by_root() {
    let store = fixture::store().await;
    let privileged = vec!["auditor".to_owned()];
    let roles = roles_with(&store, &privileged);

    let err = roles
        .create(&not_root(), "auditor", None)
        .await
        .unwrap_err();
    assert_eq!(refusal(err), AdminRuleError::PrivilegedRoleChangeNeedsRoot);
    let auditor = roles
        .create(&root(), "auditor", Some("reads logs"))
        .await
        .unwrap();
    let editor = roles.create(&not_root(), "editor", None).await.unwrap();

    // Into or out of a protected name: root only. A note alone is anyone's.
    let err = roles
        .update(&not_root(), editor.id, Some("auditor"), None)
        .await
        .unwrap_err();
    assert_eq!(refusal(err), AdminRuleError::PrivilegedRoleChangeNeedsRoot);
    let err = roles
        .update(&not_root(), auditor.id, Some("viewer"), None)
        .await
        .unwrap_err();
    assert_eq!(refusal(err), AdminRuleError::PrivilegedRoleChangeNeedsRoot);
    let noted = roles
        .update(&not_root(), auditor.id, None, Some("audits"))
        .await
        .unwrap();
    assert_eq!(
        (noted.name.as_str(), noted.note.as_str()),
        ("auditor", "audits")
    );

    let err = roles.delete(&not_root(), auditor.id).await.unwrap_err();
    assert_eq!(refusal(err), AdminRuleError::PrivilegedRoleChangeNeedsRoot);
    roles.delete(&root(), auditor.id).await.unwrap();
    let names: Vec<String> = roles
        .list()
        .await
        .unwrap()
        .into_iter()
        .map(|r| r.name)
        .collect();
    assert!(names.contains(&"editor".to_owned()) && !names.contains(&"auditor".to_owned()));
}

#[tokio::test]
async fn super_admin_is_built_in_even_for_root() {
    let store = fixture::store().await;
    let roles = roles_with(&store, &[]);
    let err = roles
        .create(&root(), "super_admin", None)
        .await
        .unwrap_err();
    assert_eq!(refusal(err), AdminRuleError::BuiltInRole);
    let plain = roles.create(&root(), "plain", None).await.unwrap();
    let err = roles
        .update(&root(), plain.id, Some("super_admin"), None)
        .await
        .unwrap_err();
    assert_eq!(refusal(err), AdminRuleError::BuiltInRole);
}

#[tokio::test]
async fn names_are_bounded_unique_and_missing_roles_are_not_found() {
    let store = fixture::store().await;
    let roles = roles_with(&store, &[]);
    let err = roles
        .create(&root(), &"r".repeat(51), None)
        .await
        .unwrap_err();
    assert!(matches!(
        refusal(err),
        AdminRuleError::Length {
            field: "name",
            max: 50
        }
    ));
    roles.create(&root(), "team", None).await.unwrap();
    match roles.create(&root(), "team", None).await.unwrap_err() {
        ServiceError::Conflict(message) => assert_eq!(message, TAKEN),
        other => panic!("expected a conflict, got {other:?}"),
    }
    for err in [
        roles.get(9_999).await.unwrap_err(),
        roles.users(9_999).await.unwrap_err(),
        roles
            .update(&root(), 9_999, Some("x"), None)
            .await
            .unwrap_err(),
        roles.delete(&root(), 9_999).await.unwrap_err(),
    ] {
        assert!(matches!(err, ServiceError::NotFound(NOT_FOUND)), "{err:?}");
    }
}

#[tokio::test]
async fn users_lists_the_holders_of_a_role() {
    let store = fixture::store().await;
    let roles = roles_with(&store, &[]);
    let team = roles.create(&root(), "team", None).await.unwrap();
    let passwords = fixture::passwords();
    let holder = fixture::user(&store, &passwords, "holder@example.com", None).await;
    fixture::user(&store, &passwords, "other@example.com", None).await;
    store
        .update_user(holder.id, &UserChanges::default(), Some(&[team.id]))
        .await
        .unwrap();
    let holders: Vec<UserId> = roles
        .users(team.id)
        .await
        .unwrap()
        .iter()
        .map(|u| u.id)
        .collect();
    assert_eq!(holders, vec![holder.id]);
}

fn row(id: i64, action: &str, fields: Value) -> fixture::AuditRow {
    fixture::audit_row("role", id, action, fields)
}

#[tokio::test]
async fn role_changes_are_recorded_with_what_they_changed() {
    let store = fixture::store().await;
    let roles = roles_with(&store, &[]);
    let role = roles
        .create(&root(), "editor", Some("edits"))
        .await
        .unwrap();
    roles
        .update(&root(), role.id, Some("writer"), Some("edits"))
        .await
        .unwrap();
    roles.delete(&root(), role.id).await.unwrap();
    assert_eq!(
        fixture::audit_trail(&store).await,
        [
            row(
                role.id,
                "created",
                json!({"name": [null, "editor"], "note": [null, "edits"]})
            ),
            row(role.id, "updated", json!({"name": ["editor", "writer"]})),
            row(role.id, "deleted", json!({"name": ["writer", null]})),
        ]
    );
}

#[tokio::test]
async fn refused_role_changes_record_nothing() {
    let store = fixture::store().await;
    let privileged = vec!["auditor".to_owned()];
    let roles = roles_with(&store, &privileged);
    let team = roles.create(&root(), "team", None).await.unwrap();
    let refused = [
        roles.create(&root(), "team", None).await.unwrap_err(),
        roles
            .create(&root(), "super_admin", None)
            .await
            .unwrap_err(),
        roles
            .create(&not_root(), "auditor", None)
            .await
            .unwrap_err(),
        roles
            .update(&root(), team.id, Some(&"r".repeat(51)), None)
            .await
            .unwrap_err(),
        roles
            .update(&root(), 9_999, Some("x"), None)
            .await
            .unwrap_err(),
        roles.delete(&root(), 9_999).await.unwrap_err(),
    ];
    assert_eq!(refused.len(), 6);
    assert_eq!(
        fixture::audit_trail(&store).await,
        [row(team.id, "created", json!({"name": [null, "team"]}))]
    );
}
