//! The sign-in transaction (melody.md §4): after the first factor, which step comes next.
//!
//! A transaction records what has been proven so far; [`next_step`] looks at it and at the facts
//! about the user, the app and the server, and names the one page still owed, or none. Steps are
//! asked in a fixed order and each at most once, so later capabilities plug in by adding facts.

pub mod context;
mod next_step;
mod proof;
mod steps;
#[cfg(test)]
mod tests;

pub use next_step::{
    check_secured, next_step, offers_link, pending_mfa, LinkCandidate, MfaRequirement, NotSecured,
    StepFacts,
};
pub use proof::{AtStep, Progress, Proof, Subject};
pub use steps::{
    policy_names, FirstFactor, MfaType, MfaTypes, SignInError, Step, SIGN_IN_OR_SIGN_UP,
};
