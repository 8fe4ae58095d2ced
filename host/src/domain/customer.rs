//! The customer entity and its rules.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::contact::Contact;
use super::ids::{CustomerId, EntityGroupId, EntityId, EntityType, TenantId, owner_of};
use super::info::EntityInfo;
use super::validate::{ValidationError, check_required};

/// Title ThingsBoard keeps for the public customer of dashboards.
pub const RESERVED_TITLE: &str = "Public";

/// A customer as stored and as sent on the wire (which adds `ownerId`, see
/// the `Serialize` impl).
#[derive(Debug, Clone, PartialEq, Deserialize)]
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
    /// The customer that owns this one; `None` when the tenant does.
    /// Changed only through [`Customer::moved_to`] (the change-owner
    /// endpoint), never by a save.
    #[serde(default)]
    pub parent_customer_id: Option<CustomerId>,
}

/// The wire shape: the stored fields plus `ownerId`, which ThingsBoard
/// Professional Edition derives from the parent (or the tenant) and clients
/// read. Deserialising ignores it; the parent is the one stored truth.
impl Serialize for Customer {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        #[derive(Serialize)]
        #[serde(rename_all = "camelCase")]
        struct Wire<'a> {
            id: CustomerId,
            created_time: i64,
            tenant_id: TenantId,
            title: &'a str,
            name: &'a str,
            #[serde(flatten)]
            contact: &'a Contact,
            additional_info: &'a Option<Value>,
            external_id: &'a Option<Value>,
            version: i64,
            parent_customer_id: Option<CustomerId>,
            owner_id: EntityId,
        }
        Wire {
            id: self.id,
            created_time: self.created_time,
            tenant_id: self.tenant_id,
            title: &self.title,
            name: &self.name,
            contact: &self.contact,
            additional_info: &self.additional_info,
            external_id: &self.external_id,
            version: self.version,
            parent_customer_id: self.parent_customer_id,
            owner_id: self.owner_id(),
        }
        .serialize(serializer)
    }
}

/// A customer with its owner's name and the named groups it is in
/// (ThingsBoard PE's `CustomerInfo`).
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CustomerInfo {
    #[serde(flatten)]
    pub customer: Customer,
    pub owner_name: String,
    /// Its owner's groups it is in, by name; never "All".
    pub groups: Vec<EntityInfo>,
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
    /// The owner to create under (ThingsBoard PE): either field may say it.
    #[serde(default)]
    pub parent_customer_id: Option<CustomerId>,
    #[serde(default)]
    pub owner_id: Option<EntityId>,
    /// Named groups of its owner to put a new customer in (ThingsBoard
    /// PE's `entityGroupId` / `entityGroupIds` query parameters); it is in
    /// its owner's "All" group anyway.
    #[serde(skip)]
    pub entity_groups: Vec<EntityGroupId>,
}

impl CustomerInput {
    /// Whether the input says who owns the customer at all.
    pub fn names_owner(&self) -> bool {
        self.parent_customer_id.is_some() || self.owner_id.is_some()
    }

    /// The parent customer the input names (`None`: the tenant), from
    /// `parentCustomerId` or `ownerId`; the null customer id means the
    /// tenant, as ThingsBoard sends it. Both given must agree.
    pub fn parent(&self) -> Result<Option<CustomerId>, ValidationError> {
        let from_parent = self.parent_customer_id.filter(|c| !c.is_null());
        let from_owner = match self.owner_id {
            None => None,
            Some(o) if o.entity_type == EntityType::Tenant => Some(None),
            Some(o) if o.entity_type == EntityType::Customer => {
                Some(Some(CustomerId(o.id)).filter(|c| !c.is_null()))
            }
            Some(o) => {
                return Err(ValidationError::new(format!(
                    "A customer's owner must be a tenant or a customer, not {}",
                    o.entity_type
                )));
            }
        };
        match (from_parent, from_owner) {
            (parent, None) => Ok(parent),
            (None, Some(owner)) => Ok(owner),
            (Some(parent), Some(owner)) if Some(parent) == owner => Ok(owner),
            _ => Err(ValidationError::new(
                "parentCustomerId and ownerId name different owners",
            )),
        }
    }

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
    /// A new customer from validated input, owned by `parent` (or the tenant).
    pub fn create(
        tenant_id: TenantId,
        parent: Option<CustomerId>,
        input: CustomerInput,
        now: i64,
    ) -> Self {
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
            parent_customer_id: parent,
        }
    }

    /// The public customer of an owner (ThingsBoard PE): "Public" under the
    /// tenant, "[<owner's title>] Public" under a customer (`parent`, with
    /// `parent_title`), marked `additionalInfo.isPublic`.
    pub fn new_public(tenant_id: TenantId, parent: Option<(CustomerId, &str)>, now: i64) -> Self {
        let title = match parent {
            None => RESERVED_TITLE.to_owned(),
            Some((_, owner)) => format!("[{owner}] {RESERVED_TITLE}"),
        };
        let input = CustomerInput {
            title: Some(title),
            additional_info: Some(serde_json::json!({ "isPublic": true })),
            ..Default::default()
        };
        Customer::create(tenant_id, parent.map(|(id, _)| id), input, now)
    }

    /// Who owns it: its parent customer, or its tenant.
    pub fn owner_id(&self) -> EntityId {
        owner_of(
            self.tenant_id,
            self.parent_customer_id.unwrap_or(CustomerId::NULL),
        )
    }

    /// This customer under a new owner (`None`: the tenant), one version on.
    pub fn moved_to(&self, parent: Option<CustomerId>) -> Self {
        Customer {
            parent_customer_id: parent,
            version: self.version + 1,
            ..self.clone()
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
            parent_customer_id: self.parent_customer_id,
        }
    }

    pub fn is_public(&self) -> bool {
        info_flag(self.additional_info.as_ref(), "isPublic")
    }
}

/// A boolean flag of an `additionalInfo` (`isPublic`, `gateway`): false
/// when absent or not a boolean, as ThingsBoard reads them.
pub fn info_flag(info: Option<&Value>, key: &str) -> bool {
    info.and_then(|i| i.get(key))
        .and_then(Value::as_bool)
        .unwrap_or(false)
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
    fn a_public_customer_is_named_after_its_owner_and_marked_public() {
        let t = TenantId::new();
        let tenants = Customer::new_public(t, None, 1);
        assert_eq!(tenants.title, "Public");
        assert!(tenants.is_public());
        assert_eq!(tenants.owner_id(), t.entity_id());
        let acme = CustomerId::new();
        let below = Customer::new_public(t, Some((acme, "Acme")), 1);
        assert_eq!(below.title, "[Acme] Public");
        assert_eq!(below.name, below.title);
        assert_eq!(below.owner_id(), acme.entity_id());
        assert!(below.is_public());
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
        let c = Customer::create(TenantId::new(), None, input("A"), 10);
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
        let json = serde_json::to_value(Customer::create(TenantId::new(), None, i, 1)).unwrap();
        assert_eq!(json["city"], "Kyiv");
        assert_eq!(json["name"], "Acme");
        assert_eq!(json["id"]["entityType"], "CUSTOMER");
        assert_eq!(json["ownerId"]["entityType"], "TENANT");
        assert_eq!(json["parentCustomerId"], Value::Null);
    }

    #[test]
    fn the_owner_is_the_parent_or_the_tenant_and_survives_a_round_trip() {
        let t = TenantId::new();
        let parent = CustomerId::new();
        let c = Customer::create(t, Some(parent), input("Child"), 1);
        let json = serde_json::to_value(&c).unwrap();
        assert_eq!(json["ownerId"]["id"], parent.0.to_string());
        assert_eq!(json["parentCustomerId"]["id"], parent.0.to_string());
        let back: Customer = serde_json::from_value(json).unwrap();
        assert_eq!(back, c);
        let moved = c.moved_to(None);
        assert_eq!(moved.owner_id().id, t.0);
        assert_eq!(moved.version, c.version + 1);
    }

    #[test]
    fn the_requested_parent_comes_from_either_field_and_both_must_agree() {
        let p = CustomerId::new();
        let with = |parent: Option<CustomerId>, owner: Option<EntityId>| CustomerInput {
            parent_customer_id: parent,
            owner_id: owner,
            ..input("X")
        };
        let tenant = EntityId {
            entity_type: EntityType::Tenant,
            id: uuid::Uuid::new_v4(),
        };
        assert_eq!(with(None, None).parent().unwrap(), None);
        assert_eq!(with(Some(p), None).parent().unwrap(), Some(p));
        assert_eq!(with(None, Some(p.entity_id())).parent().unwrap(), Some(p));
        assert_eq!(
            with(Some(CustomerId::NULL), Some(tenant)).parent().unwrap(),
            None
        );
        assert!(with(Some(p), Some(tenant)).parent().is_err());
        let device = EntityId {
            entity_type: EntityType::Device,
            id: p.0,
        };
        assert!(with(None, Some(device)).parent().is_err());
    }
}
