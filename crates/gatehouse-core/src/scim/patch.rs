//! PATCH (RFC 7644 §3.5.2): operations, their paths, and applying them to a resource held as a
//! JSON object. The server reads the patched object back, so every rule of an ordinary update
//! still applies to what a PATCH changes.

use serde_json::{Map, Value};

use super::filter::{parse_value_filter, CompareOp, Filter};
use super::{key_of, strip_core_urn, ScimError, PATCH_OP_SCHEMA};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PatchOpKind {
    Add,
    Remove,
    Replace,
}

/// `attribute`, `attribute.sub`, `attribute[filter]` or `attribute[filter].sub`; an extension's
/// attributes are `urn…:User:employeeNumber`, kept as the URN and a sub-attribute.
#[derive(Debug, Clone, PartialEq)]
pub struct PatchPath {
    pub attribute: String,
    pub filter: Option<Filter>,
    pub sub_attribute: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct PatchOp {
    pub op: PatchOpKind,
    pub path: Option<PatchPath>,
    pub value: Option<Value>,
}

pub fn parse_patch_path(raw: &str) -> Result<PatchPath, ScimError> {
    let raw = strip_core_urn(raw.trim());
    let invalid = || ScimError::invalid_path(format!("Invalid path: {raw}"));
    if raw.to_ascii_lowercase().starts_with("urn:") {
        let (urn, attribute) = raw.rsplit_once(':').ok_or_else(invalid)?;
        return Ok(PatchPath {
            attribute: urn.to_owned(),
            filter: None,
            sub_attribute: Some(attribute.to_owned()).filter(|a| !a.is_empty()),
        });
    }
    let (head, filter, tail) = match raw.find('[') {
        Some(open) => {
            let close = raw.rfind(']').filter(|c| *c > open).ok_or_else(invalid)?;
            let filter = parse_value_filter(&raw[open + 1..close])?;
            (&raw[..open], Some(filter), &raw[close + 1..])
        }
        None => (raw, None, ""),
    };
    let (attribute, sub_attribute) = match (filter.is_some(), head.split_once('.')) {
        (false, Some((a, s))) => (a, Some(s)),
        (true, Some(_)) => return Err(invalid()),
        (_, None) => match tail.strip_prefix('.') {
            Some(s) => (head, Some(s)),
            None if tail.is_empty() => (head, None),
            None => return Err(invalid()),
        },
    };
    let valid = |s: &str| {
        !s.is_empty()
            && s.chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '$'))
    };
    if !valid(attribute) || sub_attribute.is_some_and(|s| !valid(s)) {
        return Err(invalid());
    }
    Ok(PatchPath {
        attribute: attribute.to_owned(),
        filter,
        sub_attribute: sub_attribute.map(str::to_owned),
    })
}

/// Reads a PatchOp message.
pub fn parse_patch_request(body: &Value) -> Result<Vec<PatchOp>, ScimError> {
    let schemas = body.get("schemas").and_then(Value::as_array);
    if !schemas.is_some_and(|s| s.iter().any(|s| s.as_str() == Some(PATCH_OP_SCHEMA))) {
        return Err(ScimError::invalid_syntax(format!(
            "schemas must contain {PATCH_OP_SCHEMA}"
        )));
    }
    let operations = super::get_attr(body, "Operations")
        .and_then(Value::as_array)
        .ok_or_else(|| ScimError::invalid_syntax("Operations must be an array"))?;
    operations
        .iter()
        .map(|operation| {
            let op = match super::get_attr(operation, "op").and_then(Value::as_str) {
                Some(o) if o.eq_ignore_ascii_case("add") => PatchOpKind::Add,
                Some(o) if o.eq_ignore_ascii_case("remove") => PatchOpKind::Remove,
                Some(o) if o.eq_ignore_ascii_case("replace") => PatchOpKind::Replace,
                _ => {
                    return Err(ScimError::invalid_syntax(
                        "op must be add, remove or replace",
                    ))
                }
            };
            let path = match super::get_attr(operation, "path") {
                None | Some(Value::Null) => None,
                Some(Value::String(p)) => Some(parse_patch_path(p)?),
                Some(_) => return Err(ScimError::invalid_path("path must be a string")),
            };
            let value = super::get_attr(operation, "value").cloned();
            if op != PatchOpKind::Remove && value.is_none() {
                return Err(ScimError::invalid_syntax("add and replace need a value"));
            }
            Ok(PatchOp { op, path, value })
        })
        .collect()
}

/// Applies `ops` in order; attributes named in `read_only` may not be targeted by a path (they
/// are skipped inside a path-less value, which clients often send whole resources as).
pub fn apply_patch(
    resource: &mut Value,
    ops: &[PatchOp],
    read_only: &[&str],
) -> Result<(), ScimError> {
    let object = resource
        .as_object_mut()
        .ok_or_else(|| ScimError::status(500, "The resource is not an object"))?;
    for op in ops {
        match &op.path {
            Some(path) => {
                if read_only
                    .iter()
                    .any(|r| r.eq_ignore_ascii_case(&path.attribute))
                {
                    return Err(ScimError::mutability(format!(
                        "{} cannot be changed",
                        path.attribute
                    )));
                }
                apply_at(object, op.op, path, op.value.as_ref())?;
            }
            None => {
                if op.op == PatchOpKind::Remove {
                    return Err(ScimError::no_target("remove needs a path"));
                }
                let Some(Value::Object(values)) = &op.value else {
                    return Err(ScimError::invalid_value(
                        "Without a path, value must be an object",
                    ));
                };
                for (name, value) in values {
                    if read_only.iter().any(|r| r.eq_ignore_ascii_case(name)) || name == "schemas" {
                        continue;
                    }
                    let path = if name.to_ascii_lowercase().starts_with("urn:") {
                        // An extension's attributes, each patched on its own.
                        if let Value::Object(members) = value {
                            for (member, v) in members {
                                let path = PatchPath {
                                    attribute: name.clone(),
                                    filter: None,
                                    sub_attribute: Some(member.clone()),
                                };
                                apply_at(object, op.op, &path, Some(v))?;
                            }
                            continue;
                        }
                        parse_patch_path(name)?
                    } else {
                        parse_patch_path(name)?
                    };
                    apply_at(object, op.op, &path, Some(value))?;
                }
            }
        }
    }
    Ok(())
}

fn apply_at(
    object: &mut Map<String, Value>,
    op: PatchOpKind,
    path: &PatchPath,
    value: Option<&Value>,
) -> Result<(), ScimError> {
    let key = key_of(object, &path.attribute).unwrap_or_else(|| path.attribute.clone());
    match (&path.filter, &path.sub_attribute) {
        (None, None) => {
            match (op, value) {
                (PatchOpKind::Remove, _) | (_, None | Some(Value::Null)) => {
                    object.remove(&key);
                }
                (_, Some(value)) => set_whole(object, &key, op, value.clone()),
            }
            Ok(())
        }
        (None, Some(sub)) => {
            let target = object
                .entry(key.clone())
                .or_insert_with(|| Value::Object(Map::new()));
            match target {
                Value::Array(items) => {
                    for item in items.iter_mut().filter_map(Value::as_object_mut) {
                        set_sub(item, sub, op, value);
                    }
                }
                Value::Object(item) => set_sub(item, sub, op, value),
                other => *other = Value::Object(Map::new()),
            }
            if object
                .get(&key)
                .is_some_and(|v| v.as_object().is_some_and(Map::is_empty))
            {
                object.remove(&key);
            }
            Ok(())
        }
        (Some(filter), sub) => {
            let items = match object
                .entry(key.clone())
                .or_insert_with(|| Value::Array(Vec::new()))
            {
                Value::Array(items) => items,
                _ => {
                    return Err(ScimError::invalid_path(format!(
                        "{key} is not multi-valued"
                    )))
                }
            };
            let matching: Vec<usize> = (0..items.len())
                .filter(|i| filter.matches(&items[*i]))
                .collect();
            if op == PatchOpKind::Remove {
                if matching.is_empty() {
                    return Err(ScimError::no_target(format!(
                        "No {key} value matches the filter"
                    )));
                }
                match sub {
                    Some(sub) => {
                        for i in matching {
                            if let Some(item) = items[i].as_object_mut() {
                                set_sub(item, sub, op, None);
                            }
                        }
                    }
                    None => {
                        let mut index = 0;
                        items.retain(|_| {
                            index += 1;
                            !matching.contains(&(index - 1))
                        });
                    }
                }
            } else if matching.is_empty() {
                // `emails[type eq "work"].value` on a user without one adds a work email.
                let Some(mut created) = seed_of(filter) else {
                    return Err(ScimError::no_target(format!(
                        "No {key} value matches the filter"
                    )));
                };
                match (sub, value) {
                    (Some(sub), _) => set_sub(&mut created, sub, op, value),
                    (None, Some(Value::Object(members))) => {
                        created.extend(members.clone());
                    }
                    _ => return Err(ScimError::invalid_value("value must be an object")),
                }
                items.push(Value::Object(created));
            } else {
                for i in matching {
                    match (sub, value, &mut items[i]) {
                        (Some(sub), _, Value::Object(item)) => set_sub(item, sub, op, value),
                        (None, Some(Value::Object(members)), Value::Object(item)) => {
                            item.extend(members.clone());
                        }
                        (None, Some(v), item) => *item = v.clone(),
                        _ => {
                            return Err(ScimError::invalid_path(format!(
                                "{key} has no sub-attributes"
                            )))
                        }
                    }
                }
            }
            if items.is_empty() {
                object.remove(&key);
            }
            Ok(())
        }
    }
}

/// Adds or replaces a whole attribute: adding to a multi-valued one appends, a complex one merges.
fn set_whole(object: &mut Map<String, Value>, key: &str, op: PatchOpKind, value: Value) {
    match (object.get_mut(key), value) {
        (Some(Value::Array(items)), Value::Array(new)) if op == PatchOpKind::Add => {
            for v in new {
                if !items.contains(&v) {
                    items.push(v);
                }
            }
        }
        (Some(Value::Array(items)), single) if op == PatchOpKind::Add && !single.is_array() => {
            if !items.contains(&single) {
                items.push(single);
            }
        }
        (Some(Value::Object(current)), Value::Object(new)) => {
            for (k, v) in new {
                let k = key_of(current, &k).unwrap_or(k);
                if v.is_null() {
                    current.remove(&k);
                } else {
                    current.insert(k, v);
                }
            }
        }
        (_, value) => {
            object.insert(key.to_owned(), value);
        }
    }
}

fn set_sub(item: &mut Map<String, Value>, sub: &str, op: PatchOpKind, value: Option<&Value>) {
    let key = key_of(item, sub).unwrap_or_else(|| sub.to_owned());
    match (op, value) {
        (PatchOpKind::Remove, _) | (_, None | Some(Value::Null)) => {
            item.remove(&key);
        }
        (_, Some(v)) => {
            item.insert(key, v.clone());
        }
    }
}

/// The element a filter such as `type eq "work"` describes, to create when none matches.
fn seed_of(filter: &Filter) -> Option<Map<String, Value>> {
    match filter {
        Filter::Compare {
            path,
            op: CompareOp::Eq,
            value,
        } if path.sub_attribute.is_none() => {
            let mut seed = Map::new();
            seed.insert(path.attribute.clone(), value.clone());
            Some(seed)
        }
        Filter::And(a, b) => {
            let mut seed = seed_of(a)?;
            seed.extend(seed_of(b)?);
            Some(seed)
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn user() -> Value {
        json!({
            "id": "1", "userName": "b@example.com", "active": true,
            "name": {"givenName": "Barbara", "familyName": "Jensen"},
            "emails": [{"value": "b@example.com", "type": "work", "primary": true}],
        })
    }

    fn patch(resource: &mut Value, operations: Value) -> Result<(), ScimError> {
        let ops =
            parse_patch_request(&json!({"schemas": [PATCH_OP_SCHEMA], "Operations": operations}))?;
        apply_patch(resource, &ops, &["id", "meta"])
    }

    #[test]
    fn paths_parse_with_filters_and_sub_attributes() {
        let path = parse_patch_path(r#"emails[type eq "work"].value"#).unwrap();
        assert_eq!(path.attribute, "emails");
        assert_eq!(path.sub_attribute.as_deref(), Some("value"));
        assert!(path.filter.is_some());
        let path = parse_patch_path("name.givenName").unwrap();
        assert_eq!(
            (path.attribute.as_str(), path.sub_attribute.as_deref()),
            ("name", Some("givenName"))
        );
        let path = parse_patch_path(
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber",
        )
        .unwrap();
        assert_eq!(path.sub_attribute.as_deref(), Some("employeeNumber"));
        let path = parse_patch_path("urn:ietf:params:scim:schemas:core:2.0:User:active").unwrap();
        assert_eq!(path.attribute, "active");
        for bad in ["emails[type eq", "emails[type eq \"work\"]x", "", "a b"] {
            assert!(parse_patch_path(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn replace_active_and_a_name_part() {
        let mut u = user();
        patch(
            &mut u,
            json!([
                {"op": "Replace", "path": "active", "value": false},
                {"op": "replace", "path": "name.givenName", "value": "Babs"},
            ]),
        )
        .unwrap();
        assert_eq!(u["active"], false);
        assert_eq!(
            u["name"],
            json!({"givenName": "Babs", "familyName": "Jensen"})
        );
    }

    #[test]
    fn pathless_values_merge_complex_attributes() {
        let mut u = user();
        patch(&mut u, json!([{"op": "replace", "value": {"active": false, "name": {"familyName": "J"}, "id": "x"}}])).unwrap();
        assert_eq!(u["active"], false);
        assert_eq!(u["id"], "1");
        assert_eq!(
            u["name"],
            json!({"givenName": "Barbara", "familyName": "J"})
        );
    }

    #[test]
    fn filtered_paths_change_matching_elements_or_create_one() {
        let mut u = user();
        patch(&mut u, json!([{"op": "replace", "path": "emails[type eq \"work\"].value", "value": "c@example.com"}])).unwrap();
        assert_eq!(u["emails"][0]["value"], "c@example.com");
        patch(&mut u, json!([{"op": "add", "path": "emails[type eq \"home\"].value", "value": "h@example.com"}])).unwrap();
        assert_eq!(
            u["emails"][1],
            json!({"type": "home", "value": "h@example.com"})
        );
        patch(
            &mut u,
            json!([{"op": "remove", "path": "emails[type eq \"home\"]"}]),
        )
        .unwrap();
        assert_eq!(u["emails"].as_array().unwrap().len(), 1);
    }

    #[test]
    fn members_are_added_and_removed() {
        let mut group = json!({"id": "7", "displayName": "editors", "members": [{"value": "a"}]});
        patch(
            &mut group,
            json!([{"op": "add", "path": "members", "value": [{"value": "b"}, {"value": "a"}]}]),
        )
        .unwrap();
        assert_eq!(group["members"], json!([{"value": "a"}, {"value": "b"}]));
        patch(
            &mut group,
            json!([{"op": "remove", "path": "members[value eq \"a\"]"}]),
        )
        .unwrap();
        assert_eq!(group["members"], json!([{"value": "b"}]));
        patch(&mut group, json!([{"op": "remove", "path": "members"}])).unwrap();
        assert!(group.get("members").is_none());
    }

    #[test]
    fn refusals_name_their_scim_type() {
        let mut u = user();
        let err = patch(
            &mut u,
            json!([{"op": "replace", "path": "id", "value": "2"}]),
        )
        .unwrap_err();
        assert_eq!(err.scim_type, Some("mutability"));
        let err = patch(&mut u, json!([{"op": "remove"}])).unwrap_err();
        assert_eq!(err.scim_type, Some("noTarget"));
        let err = patch(
            &mut u,
            json!([{"op": "remove", "path": "emails[type eq \"other\"]"}]),
        )
        .unwrap_err();
        assert_eq!(err.scim_type, Some("noTarget"));
        let err = patch(&mut u, json!([{"op": "move", "path": "active"}])).unwrap_err();
        assert_eq!(err.scim_type, Some("invalidSyntax"));
        let err = parse_patch_request(&json!({"Operations": []})).unwrap_err();
        assert_eq!(err.scim_type, Some("invalidSyntax"));
    }
}
