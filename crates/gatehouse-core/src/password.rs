//! The password rule: what a new password must look like.

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum PasswordError {
    #[error("Password must be at least 8 characters and contain an uppercase letter, a lowercase letter, a number and a symbol")]
    TooWeak,
    #[error("Password must be at most 128 characters")]
    TooLong,
}

/// Melody's strong-password rule (8+ characters with upper, lower, digit and symbol), with an
/// upper bound so a hash input stays small.
pub fn check_new_password(password: &str) -> Result<(), PasswordError> {
    if password.chars().count() > 128 {
        return Err(PasswordError::TooLong);
    }
    let long_enough = password.chars().count() >= 8;
    let upper = password.chars().any(char::is_uppercase);
    let lower = password.chars().any(char::is_lowercase);
    let digit = password.chars().any(|c| c.is_ascii_digit());
    let symbol = password
        .chars()
        .any(|c| !c.is_alphanumeric() && !c.is_whitespace());
    if long_enough && upper && lower && digit && symbol {
        Ok(())
    } else {
        Err(PasswordError::TooWeak)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strong_passwords_pass_and_weak_ones_say_why() {
        assert_eq!(check_new_password("Passw0rd!"), Ok(()));
        assert_eq!(check_new_password("Pässw0rd!"), Ok(()));
        for weak in [
            "",
            "Pa0!",
            "password0!",
            "PASSWORD0!",
            "Password!!",
            "Password00",
        ] {
            assert_eq!(
                check_new_password(weak),
                Err(PasswordError::TooWeak),
                "{weak}"
            );
        }
        assert_eq!(
            check_new_password(&format!("Aa0!{}", "x".repeat(125))),
            Err(PasswordError::TooLong)
        );
    }
}
