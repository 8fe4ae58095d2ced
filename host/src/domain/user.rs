//! Users, their authority, and the credentials kept beside them.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::customer::check_additional_info;
use super::ids::{CustomerId, EntityGroupId, EntityId, TenantId, UserId, owner_of};
use super::info::EntityInfo;
use super::validate::{ValidationError, check_email, check_opt_text};

/// What kind of user this is; fixed at creation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Authority {
    SysAdmin,
    TenantAdmin,
    CustomerUser,
}

impl Authority {
    pub fn as_str(self) -> &'static str {
        match self {
            Authority::SysAdmin => "SYS_ADMIN",
            Authority::TenantAdmin => "TENANT_ADMIN",
            Authority::CustomerUser => "CUSTOMER_USER",
        }
    }
}

/// A user as stored and as sent on the wire (which adds `ownerId`, see
/// its `Serialize`).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct User {
    pub id: UserId,
    pub created_time: i64,
    pub tenant_id: TenantId,
    pub customer_id: CustomerId,
    pub email: String,
    /// Read-only copy of `email`, as ThingsBoard sends it.
    pub name: String,
    pub authority: Authority,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub phone: Option<String>,
    pub additional_info: Option<Value>,
    pub version: i64,
}

/// The wire shape: the stored fields plus `ownerId` (its customer, or for
/// a tenant administrator its tenant), which ThingsBoard Professional
/// Edition sends and its clients read. Deserialising ignores it: the
/// customer is the one stored truth.
impl Serialize for User {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        #[derive(Serialize)]
        #[serde(rename_all = "camelCase")]
        struct Wire<'a> {
            id: UserId,
            created_time: i64,
            tenant_id: TenantId,
            customer_id: CustomerId,
            email: &'a str,
            name: &'a str,
            authority: Authority,
            first_name: &'a Option<String>,
            last_name: &'a Option<String>,
            phone: &'a Option<String>,
            additional_info: &'a Option<Value>,
            version: i64,
            owner_id: EntityId,
        }
        Wire {
            id: self.id,
            created_time: self.created_time,
            tenant_id: self.tenant_id,
            customer_id: self.customer_id,
            email: &self.email,
            name: &self.name,
            authority: self.authority,
            first_name: &self.first_name,
            last_name: &self.last_name,
            phone: &self.phone,
            additional_info: &self.additional_info,
            version: self.version,
            owner_id: self.owner_id(),
        }
        .serialize(serializer)
    }
}

/// A user with its owner's name and the named groups it is in
/// (ThingsBoard PE's `UserInfo`; the owner's id is the user's `ownerId`).
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct UserInfo {
    #[serde(flatten)]
    pub user: User,
    pub owner_name: String,
    /// Its owner's user groups it is in, by name; never "All".
    pub groups: Vec<EntityInfo>,
}

/// What a caller may send to create or update a user.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UserInput {
    #[serde(default)]
    pub id: Option<UserId>,
    #[serde(default)]
    pub tenant_id: Option<TenantId>,
    #[serde(default)]
    pub customer_id: Option<CustomerId>,
    #[serde(default)]
    pub email: Option<String>,
    #[serde(default)]
    pub authority: Option<Authority>,
    #[serde(default)]
    pub first_name: Option<String>,
    #[serde(default)]
    pub last_name: Option<String>,
    #[serde(default)]
    pub phone: Option<String>,
    #[serde(default)]
    pub additional_info: Option<Value>,
    #[serde(default)]
    pub version: Option<i64>,
    /// User groups of its owner to put a new user in (ThingsBoard PE's
    /// `entityGroupId` / `entityGroupIds` query parameters); none: its
    /// owner's default one.
    #[serde(skip)]
    pub entity_groups: Vec<EntityGroupId>,
}

impl UserInput {
    /// Checks the fields and returns the normalised (lower-case) e-mail.
    pub fn validate(&self) -> Result<String, ValidationError> {
        let email = self.email.as_deref().unwrap_or("").trim();
        if email.is_empty() {
            return Err(ValidationError::new("User email should be specified!"));
        }
        check_email(email)?;
        check_opt_text("firstName", self.first_name.as_deref())?;
        check_opt_text("lastName", self.last_name.as_deref())?;
        check_opt_text("phone", self.phone.as_deref())?;
        check_additional_info(self.additional_info.as_ref())?;
        Ok(email.to_lowercase())
    }
}

impl User {
    pub fn create(
        tenant_id: TenantId,
        customer_id: CustomerId,
        authority: Authority,
        email: String,
        input: UserInput,
        now: i64,
    ) -> Self {
        User {
            id: UserId::new(),
            created_time: now,
            tenant_id,
            customer_id,
            name: email.clone(),
            email,
            authority,
            first_name: input.first_name,
            last_name: input.last_name,
            phone: input.phone,
            additional_info: input.additional_info,
            version: 1,
        }
    }

    /// Who owns it: its customer, or its tenant.
    pub fn owner_id(&self) -> EntityId {
        owner_of(self.tenant_id, self.customer_id)
    }

    /// This user with the caller's changes; tenant, customer and authority never change.
    pub fn updated(&self, email: String, input: UserInput) -> Self {
        User {
            name: email.clone(),
            email,
            first_name: input.first_name,
            last_name: input.last_name,
            phone: input.phone,
            additional_info: input.additional_info,
            version: self.version + 1,
            ..self.clone()
        }
    }
}

/// Secrets and login state of one user; never sent on the wire.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Credentials {
    pub enabled: bool,
    /// Argon2id PHC string; `None` until the user is activated.
    pub password_hash: Option<String>,
    /// SHA-256 of the pending activation token, with its expiry (ms).
    pub activation: Option<PendingToken>,
    /// SHA-256 of the pending password-reset token, with its expiry (ms).
    pub reset: Option<PendingToken>,
    pub failed_logins: u32,
    /// Locked out by the security policy until this time (ms).
    pub locked_until: Option<i64>,
    /// Carried in every JWT; bumping it revokes every token issued before
    /// (password change or reset, disabling).
    pub generation: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PendingToken {
    pub hash: String,
    pub expires_at: i64,
}

impl Credentials {
    pub fn is_activated(&self) -> bool {
        self.password_hash.is_some()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn email_is_required_checked_and_lowercased() {
        let mut i = UserInput::default();
        assert!(i.validate().is_err());
        i.email = Some("not-an-email".into());
        assert!(i.validate().unwrap_err().0.contains("Invalid email"));
        i.email = Some("Jane.Doe@Example.COM".into());
        assert_eq!(i.validate().unwrap(), "jane.doe@example.com");
    }

    #[test]
    fn authority_is_kept_on_update() {
        let u = User::create(
            TenantId::new(),
            CustomerId::new(),
            Authority::CustomerUser,
            "a@b.io".into(),
            UserInput::default(),
            5,
        );
        let v = u.updated("c@d.io".into(), UserInput::default());
        assert_eq!(v.authority, Authority::CustomerUser);
        assert_eq!((v.version, v.name.as_str()), (2, "c@d.io"));
    }

    #[test]
    fn the_wire_names_the_owner_and_reading_it_back_ignores_it() {
        let (t, c) = (TenantId::new(), CustomerId::new());
        let input = UserInput::default();
        let user = User::create(t, c, Authority::CustomerUser, "a@b.io".into(), input, 5);
        let json = serde_json::to_value(&user).unwrap();
        assert_eq!(json["ownerId"]["entityType"], "CUSTOMER");
        assert_eq!(json["ownerId"]["id"], c.0.to_string());
        assert_eq!(serde_json::from_value::<User>(json).unwrap(), user);

        let input = UserInput::default();
        let admin = User::create(
            t,
            CustomerId::NULL,
            Authority::TenantAdmin,
            "x@y.io".into(),
            input,
            5,
        );
        let json = serde_json::to_value(&admin).unwrap();
        assert_eq!(json["ownerId"]["entityType"], "TENANT");
        assert_eq!(json["ownerId"]["id"], t.0.to_string());
    }
}
