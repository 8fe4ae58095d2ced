//! Field checks shared by every entity, with ThingsBoard's messages.

use thiserror::Error;

/// Longest string ThingsBoard accepts in a name or contact field.
pub const MAX_FIELD_LEN: usize = 255;

/// A rule the input broke; the message is what the caller reads.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("{0}")]
pub struct ValidationError(pub String);

impl ValidationError {
    pub fn new(msg: impl Into<String>) -> Self {
        Self(msg.into())
    }
}

/// Length, NUL bytes and markup: the checks every free-text field gets.
pub fn check_text(field: &str, value: &str) -> Result<(), ValidationError> {
    if value.chars().count() > MAX_FIELD_LEN {
        return Err(ValidationError(format!(
            "Validation error: {field} length must be equal or less than {MAX_FIELD_LEN}"
        )));
    }
    if value.contains('\0') {
        return Err(ValidationError(format!(
            "Validation error: {field} should not contain 0x00 symbol"
        )));
    }
    if looks_like_markup(value) {
        return Err(ValidationError(format!(
            "Validation error: {field} is malformed"
        )));
    }
    Ok(())
}

/// Same checks for an optional field; `None` and "" pass.
pub fn check_opt_text(field: &str, value: Option<&str>) -> Result<(), ValidationError> {
    value.map_or(Ok(()), |v| check_text(field, v))
}

/// A field that must be present and not blank.
pub fn check_required(field: &str, value: &str, missing: &str) -> Result<(), ValidationError> {
    if value.trim().is_empty() {
        return Err(ValidationError(missing.to_owned()));
    }
    check_text(field, value)
}

/// ThingsBoard rejects anything an HTML sanitiser would change ("NoXss").
/// A tag opener (`<` then a letter, `/`, `!` or `?`) or a `javascript:` URL
/// is what such a sanitiser strips, so that is what is refused; a lone `<`
/// as in "a < b" is plain text.
fn looks_like_markup(value: &str) -> bool {
    let bytes = value.as_bytes();
    let tag = bytes.windows(2).any(|w| {
        w[0] == b'<' && (w[1].is_ascii_alphabetic() || matches!(w[1], b'/' | b'!' | b'?'))
    });
    tag || value.to_ascii_lowercase().contains("javascript:")
}

/// ThingsBoard's e-mail pattern:
/// `^[A-Z0-9_!#$%&'*+/=?`{|}~^.-]+@[A-Z0-9.-]+\.[A-Z]{2,}$`, case-insensitive.
pub fn is_valid_email(email: &str) -> bool {
    let Some((local, domain)) = email.split_once('@') else {
        return false;
    };
    let local_ok = !local.is_empty()
        && local
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"_!#$%&'*+/=?`{|}~^.-".contains(&b));
    let Some((host, tld)) = domain.rsplit_once('.') else {
        return false;
    };
    let host_ok = !host.is_empty()
        && host
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'-');
    let tld_ok = tld.len() >= 2 && tld.bytes().all(|b| b.is_ascii_alphabetic());
    local_ok && host_ok && tld_ok
}

pub fn check_email(value: &str) -> Result<(), ValidationError> {
    if !is_valid_email(value) || value.len() > MAX_FIELD_LEN {
        return Err(ValidationError(format!(
            "Invalid email address format '{value}'!"
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails_follow_thingsboards_pattern() {
        for ok in [
            "a@b.io",
            "first.last+tag@sub.example.com",
            "X_Y@EXAMPLE.ORG",
        ] {
            assert!(is_valid_email(ok), "{ok}");
        }
        for bad in [
            "", "a", "a@b", "a@b.c", "@b.io", "a b@c.io", "a@b.i0", "a@@b.io",
        ] {
            assert!(!is_valid_email(bad), "{bad}");
        }
    }

    #[test]
    fn markup_is_refused_but_comparisons_are_text() {
        assert!(check_text("title", "<script>alert(1)</script>").is_err());
        assert!(check_text("title", "<img src=x onerror=y>").is_err());
        assert!(check_text("title", "javascript:alert(1)").is_err());
        assert!(check_text("title", "a < b and c > d").is_ok());
    }

    #[test]
    fn long_and_nul_strings_are_refused() {
        assert!(check_text("title", &"x".repeat(255)).is_ok());
        let err = check_text("title", &"x".repeat(256)).unwrap_err();
        assert!(err.0.contains("255"));
        assert!(check_text("title", "a\0b").is_err());
    }
}
