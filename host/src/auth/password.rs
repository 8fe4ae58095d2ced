//! Argon2id password hashes and the configurable password policy.

use argon2::Argon2;
use argon2::password_hash::phc::PasswordHash;
use argon2::password_hash::{PasswordHasher, PasswordVerifier};
use serde::{Deserialize, Serialize};

/// ThingsBoard's password policy fields, with its defaults.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct PasswordPolicy {
    pub minimum_length: usize,
    pub maximum_length: usize,
    pub minimum_uppercase_letters: usize,
    pub minimum_lowercase_letters: usize,
    pub minimum_digits: usize,
    pub minimum_special_characters: usize,
    pub allow_whitespaces: bool,
}

impl Default for PasswordPolicy {
    fn default() -> Self {
        PasswordPolicy {
            minimum_length: 6,
            maximum_length: 72,
            minimum_uppercase_letters: 0,
            minimum_lowercase_letters: 0,
            minimum_digits: 0,
            minimum_special_characters: 0,
            allow_whitespaces: true,
        }
    }
}

impl PasswordPolicy {
    /// Checks a new password; the error is the message shown to the user.
    pub fn check(&self, password: &str) -> Result<(), String> {
        let len = password.chars().count();
        if len < self.minimum_length {
            return Err(format!(
                "Password must be at least {} characters long.",
                self.minimum_length
            ));
        }
        if len > self.maximum_length {
            return Err(format!(
                "Password must be no more than {} characters in length.",
                self.maximum_length
            ));
        }
        let count = |f: fn(&char) -> bool| password.chars().filter(f).count();
        let rules: [(usize, usize, &str); 4] = [
            (
                self.minimum_uppercase_letters,
                count(|c| c.is_uppercase()),
                "uppercase",
            ),
            (
                self.minimum_lowercase_letters,
                count(|c| c.is_lowercase()),
                "lowercase",
            ),
            (self.minimum_digits, count(|c| c.is_ascii_digit()), "digit"),
            (
                self.minimum_special_characters,
                count(|c| !c.is_alphanumeric() && !c.is_whitespace()),
                "special",
            ),
        ];
        for (min, have, kind) in rules {
            if have < min {
                return Err(format!(
                    "Password must contain at least {min} {kind} character(s)."
                ));
            }
        }
        if !self.allow_whitespaces && password.chars().any(char::is_whitespace) {
            return Err("Password contains whitespaces".to_owned());
        }
        Ok(())
    }
}

/// Hashes with Argon2id and a random salt. CPU- and memory-heavy: call it
/// off the async executor.
pub fn hash(password: &str) -> Result<String, String> {
    Argon2::default()
        .hash_password(password.as_bytes())
        .map(|h| h.to_string())
        .map_err(|e| e.to_string())
}

/// Checks a password against a stored PHC string; a malformed hash never matches.
pub fn verify(password: &str, phc: &str) -> bool {
    PasswordHash::new(phc)
        .map(|parsed| {
            Argon2::default()
                .verify_password(password.as_bytes(), &parsed)
                .is_ok()
        })
        .unwrap_or(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_verify_only_the_right_password() {
        let h = hash("s3cret!").unwrap();
        assert!(h.starts_with("$argon2id$"));
        assert!(verify("s3cret!", &h));
        assert!(!verify("s3cret?", &h));
        assert!(!verify("s3cret!", "not a hash"));
    }

    #[test]
    fn policy_counts_each_class() {
        let strict = PasswordPolicy {
            minimum_length: 8,
            minimum_uppercase_letters: 1,
            minimum_digits: 2,
            minimum_special_characters: 1,
            allow_whitespaces: false,
            ..Default::default()
        };
        assert!(strict.check("short").unwrap_err().contains("at least 8"));
        assert!(strict.check("abcdefgh").unwrap_err().contains("uppercase"));
        assert!(strict.check("Abcdefg1").unwrap_err().contains("digit"));
        assert!(strict.check("Abcdef12").unwrap_err().contains("special"));
        assert!(
            strict
                .check("Abc def12!")
                .unwrap_err()
                .contains("whitespace")
        );
        assert!(strict.check("Abcdef12!").is_ok());
        assert!(PasswordPolicy::default().check(&"x".repeat(73)).is_err());
    }
}
