//! Contact details shared by tenants and customers.

use serde::{Deserialize, Serialize};

use super::validate::{ValidationError, check_email, check_opt_text};

/// Address and contact fields, flattened into the entity's JSON.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Contact {
    #[serde(default)]
    pub email: Option<String>,
    #[serde(default)]
    pub phone: Option<String>,
    #[serde(default)]
    pub country: Option<String>,
    #[serde(default)]
    pub state: Option<String>,
    #[serde(default)]
    pub city: Option<String>,
    #[serde(default)]
    pub address: Option<String>,
    #[serde(default)]
    pub address2: Option<String>,
    #[serde(default)]
    pub zip: Option<String>,
}

impl Contact {
    pub fn validate(&self) -> Result<(), ValidationError> {
        let fields = [
            ("email", &self.email),
            ("phone", &self.phone),
            ("country", &self.country),
            ("state", &self.state),
            ("city", &self.city),
            ("address", &self.address),
            ("address2", &self.address2),
            ("zip", &self.zip),
        ];
        for (name, value) in fields {
            check_opt_text(name, value.as_deref())?;
        }
        match self.email.as_deref() {
            Some(email) if !email.is_empty() => check_email(email),
            _ => Ok(()),
        }
    }
}
