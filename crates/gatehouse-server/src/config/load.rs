//! Reading the file and the environment into a validated `Config`.

use std::path::{Path, PathBuf};

use super::validate::validate;
use super::{env_name, Config, KEYS};

/// Where configuration comes from: an optional file and the process environment.
#[derive(Debug, Clone, Default)]
pub struct ConfigSource {
    /// A file named with `--config` must exist; the default `gatehouse.toml` is read only when
    /// present.
    pub file: Option<PathBuf>,
    pub file_required: bool,
    pub env: Vec<(String, String)>,
}

impl ConfigSource {
    /// `--config PATH` if given, else `gatehouse.toml` when it exists, plus the real environment.
    pub fn from_process(explicit_file: Option<PathBuf>) -> Self {
        let file_required = explicit_file.is_some();
        Self {
            file: explicit_file.or_else(|| Some(PathBuf::from("gatehouse.toml"))),
            file_required,
            env: std::env::vars().collect(),
        }
    }
}

/// A configuration that cannot be used, with the key (or file) at fault.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config file {path}: {reason}")]
    File { path: String, reason: String },
    #[error("config file {path} is not valid TOML: {reason}")]
    Syntax { path: String, reason: String },
    #[error("unknown config key `{key}` (from {origin})")]
    UnknownKey { key: String, origin: String },
    #[error("config key `{key}` (env {env}): {reason}")]
    Invalid {
        key: String,
        env: String,
        reason: String,
    },
}

impl ConfigError {
    /// `key` may be a path into a list (`oidc_auth_providers[0].name`); the variable is the list's.
    pub(super) fn invalid(key: &str, reason: impl Into<String>) -> Self {
        let root = key.split(['.', '[']).next().unwrap_or(key);
        ConfigError::Invalid {
            key: key.to_owned(),
            env: env_name(root),
            reason: reason.into(),
        }
    }
}

pub fn load(source: &ConfigSource) -> Result<Config, ConfigError> {
    let mut table = toml::Table::new();
    let mut origins = std::collections::HashMap::new();
    if let Some(path) = &source.file {
        if let Some(file_table) = read_file(path, source.file_required)? {
            for (key, value) in file_table {
                origins.insert(key.clone(), path.display().to_string());
                table.insert(key, value);
            }
        }
    }
    // Only the defaults' types are needed, to read string keys as raw text.
    let defaults = toml::Table::try_from(Config::default()).unwrap_or_default();
    for (name, raw) in &source.env {
        let Some(rest) = name.strip_prefix("GATEHOUSE_") else {
            continue;
        };
        let key = rest.to_ascii_lowercase();
        if !KEYS.iter().any(|k| k.name == key) {
            return Err(ConfigError::UnknownKey {
                key,
                origin: format!("environment variable {name}"),
            });
        }
        origins.insert(key.clone(), format!("environment variable {name}"));
        table.insert(key.clone(), env_value(&defaults, &key, raw));
    }
    for key in table.keys() {
        if !KEYS.iter().any(|k| k.name == key) {
            return Err(ConfigError::UnknownKey {
                key: key.clone(),
                origin: origins.get(key).cloned().unwrap_or_default(),
            });
        }
    }
    let config: Config =
        serde_path_to_error::deserialize(toml::Value::Table(table)).map_err(|err| {
            let path = err.path().to_string();
            let key = path.split(['.', '[']).next().unwrap_or_default().to_owned();
            ConfigError::Invalid {
                env: env_name(&key),
                key: path,
                reason: err.into_inner().to_string(),
            }
        })?;
    validate(&config)?;
    Ok(config)
}

fn read_file(path: &Path, required: bool) -> Result<Option<toml::Table>, ConfigError> {
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(err) if err.kind() == std::io::ErrorKind::NotFound && !required => return Ok(None),
        Err(err) => {
            return Err(ConfigError::File {
                path: path.display().to_string(),
                reason: err.to_string(),
            })
        }
    };
    text.parse::<toml::Table>()
        .map(Some)
        .map_err(|err| ConfigError::Syntax {
            path: path.display().to_string(),
            reason: err.to_string(),
        })
}

/// An environment value is TOML when it parses as TOML, otherwise a plain string — except for
/// keys whose type is a string, which always take the raw text (so `GATEHOUSE_LISTEN=1` is "1").
fn env_value(defaults: &toml::Table, key: &str, raw: &str) -> toml::Value {
    let is_string_key = match defaults.get(key) {
        Some(value) => value.is_str(),
        // Unset-by-default keys are numbers (thresholds); secrets default to "" and are strings.
        None => false,
    };
    if is_string_key {
        return toml::Value::String(raw.to_owned());
    }
    format!("v = {raw}")
        .parse::<toml::Table>()
        .ok()
        .and_then(|mut t| t.remove("v"))
        .unwrap_or_else(|| toml::Value::String(raw.to_owned()))
}

#[cfg(test)]
#[path = "load_tests.rs"]
mod tests;
