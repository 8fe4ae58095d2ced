//! The customer entity and its rules.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::contact::Contact;
use super::ids::{CustomerId, TenantId};
use super::validate::{ValidationError, check_required};

/// Title ThingsBoard keeps for the public customer of dashboards.
pub const RESERVED_TITLE: &str = "Public";

/// A customer as stored and as sent on the wire.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Customer {
    pub id: CustomerId,
    pub created_time: i64,
    pub tenant_id: TenantId,
    pub title: String,
    /// Read-only copy of `title`, as ThingsBoard sends it.
    pub name: String,
    #[serde(flatten)]
    pub contact: Contact,
    pub additional_info: Option<Value>,
    pub external_id: Option<Value>,
    pub version: i64,
}

/// What a caller may send to create or update a customer.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CustomerInput {
    #[serde(default)]
    pub id: Option<CustomerId>,
    #[serde(default)]
    pub title: Option<String>,
    #[serde(flatten)]
    pub contact: Contact,
    #[serde(default)]
    pub additional_info: Option<Value>,
    #[serde(default)]
    pub external_id: Option<Value>,
    #[serde(default)]
    pub version: Option<i64>,
}

impl CustomerInput {
    /// Checks every field; the title is required.
    pub fn validate(&self) -> Result<&str, ValidationError> {
        let title = self.title.as_deref().unwrap_or("");
        check_required("title", title, "Customer title should be specified!")?;
        if title == RESERVED_TITLE {
            return Err(ValidationError::new(
                "'Public' title for customer is system reserved!",
            ));
        }
        self.contact.validate()?;
        check_additional_info(self.additional_info.as_ref())?;
        Ok(title)
    }
}

impl Customer {
    /// A new customer from validated input.
    pub fn create(tenant_id: TenantId, input: CustomerInput, now: i64) -> Self {
        let title = input.title.unwrap_or_default();
        Customer {
            id: CustomerId::new(),
            created_time: now,
            tenant_id,
            name: title.clone(),
            title,
            contact: input.contact,
            additional_info: input.additional_info,
            external_id: input.external_id,
            version: 1,
        }
    }

    /// This customer with the caller's changes; id, tenant and creation time stay.
    pub fn updated(&self, input: CustomerInput) -> Self {
        let title = input.title.unwrap_or_default();
        Customer {
            id: self.id,
            created_time: self.created_time,
            tenant_id: self.tenant_id,
            name: title.clone(),
            title,
            contact: input.contact,
            additional_info: input.additional_info,
            external_id: input.external_id.or_else(|| self.external_id.clone()),
            version: self.version + 1,
        }
    }

    pub fn is_public(&self) -> bool {
        self.additional_info
            .as_ref()
            .and_then(|i| i.get("isPublic"))
            .and_then(Value::as_bool)
            .unwrap_or(false)
    }
}

/// `additionalInfo` must be a JSON object (or absent); its text fields get the usual checks.
pub fn check_additional_info(info: Option<&Value>) -> Result<(), ValidationError> {
    match info {
        None | Some(Value::Null) => Ok(()),
        Some(Value::Object(map)) => {
            if let Some(Value::String(d)) = map.get("description")
                && d.contains('\0')
            {
                return Err(ValidationError::new(
                    "Validation error: description should not contain 0x00 symbol",
                ));
            }
            Ok(())
        }
        Some(_) => Err(ValidationError::new(
            "Validation error: additionalInfo must be a JSON object",
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input(title: &str) -> CustomerInput {
        CustomerInput {
            title: Some(title.into()),
            ..Default::default()
        }
    }

    #[test]
    fn title_is_required_and_public_is_reserved() {
        assert_eq!(
            input("  ").validate().unwrap_err().0,
            "Customer title should be specified!"
        );
        assert!(input("Public").validate().is_err());
        assert_eq!(input("Acme").validate().unwrap(), "Acme");
    }

    #[test]
    fn update_bumps_version_and_keeps_identity() {
        let c = Customer::create(TenantId::new(), input("A"), 10);
        let u = c.updated(input("B"));
        assert_eq!((u.id, u.created_time, u.tenant_id), (c.id, 10, c.tenant_id));
        assert_eq!(
            (u.title.as_str(), u.name.as_str(), u.version),
            ("B", "B", 2)
        );
    }

    #[test]
    fn wire_shape_has_flat_contact_fields_and_name() {
        let mut i = input("Acme");
        i.contact.city = Some("Kyiv".into());
        let json = serde_json::to_value(Customer::create(TenantId::new(), i, 1)).unwrap();
        assert_eq!(json["city"], "Kyiv");
        assert_eq!(json["name"], "Acme");
        assert_eq!(json["id"]["entityType"], "CUSTOMER");
    }
}
