//! Who asks for a management change, as a guard established it: an S2S caller (`root` when its
//! token holds the `root` scope) or an admin panel user (`root` when they hold `super_admin`).
//! The role and user services take an `Authority` for every change that can touch a protected
//! role, and ask [`Authority::allows`], which applies the core's one rule.

use gatehouse_core::admin::{
    admin_acts_as_root, authorize_change, ManagementChange, ProtectedRoles,
};
use gatehouse_core::scope::ROOT_SCOPE;

use crate::config::Config;
use crate::error::ServiceError;

#[derive(Debug, Clone, Copy)]
pub struct Authority {
    root: bool,
}

impl Authority {
    /// Built by the S2S guard from the token's (current) scopes.
    pub(crate) fn of_s2s(scopes: &[String]) -> Self {
        Self {
            root: scopes.iter().any(|s| s == ROOT_SCOPE),
        }
    }

    /// Built for a panel admin from their current roles.
    pub(crate) fn of_panel_admin(roles: &[String]) -> Self {
        Self {
            root: admin_acts_as_root(roles),
        }
    }

    pub fn is_root(&self) -> bool {
        self.root
    }

    /// Refuses a change this caller may not make to a protected role or its holder.
    pub fn allows(
        &self,
        protected: ProtectedRoles<'_>,
        change: ManagementChange<'_>,
    ) -> Result<(), ServiceError> {
        Ok(authorize_change(self.root, protected, change)?)
    }
}

/// The configured roles only `root` may touch (and `super_admin`).
pub fn protected_roles(config: &Config) -> ProtectedRoles<'_> {
    ProtectedRoles::new(
        &config.privileged_roles,
        &config.impersonation_roles,
        &config.admin_panel_roles,
    )
}
