//! The named tables. Each holds byte keys and byte values; see `docs/storage.md`.

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Table {
    /// installation-wide settings and secrets: name -> value
    Meta,
    /// tenant id -> Tenant
    Tenants,
    /// tenant ‖ customer id -> Customer
    Customers,
    /// tenant ‖ title -> customer id (unique title per tenant)
    CustomerTitles,
    /// tenant ‖ owner id ‖ customer id -> () (customers per owner)
    CustomersByOwner,
    /// tenant ‖ user id -> User
    Users,
    /// lower-case e-mail -> tenant ‖ user id (unique e-mail, login lookup)
    UserEmails,
    /// tenant ‖ customer id ‖ user id -> () (users per customer; the null
    /// customer holds tenant administrators)
    UsersByCustomer,
    /// user id -> tenant id (finds a user by id alone, for the system administrator)
    UserTenants,
    /// user id -> Credentials
    Credentials,
    /// sha-256 of an activation or reset token -> tenant ‖ user id
    UserTokens,
    /// tenant ‖ device id -> Device
    Devices,
    /// tenant ‖ name -> device id (unique name per tenant)
    DeviceNames,
    /// tenant ‖ customer id ‖ device id -> () (the null customer: unassigned)
    DevicesByCustomer,
    /// device id -> DeviceCredentials
    DeviceCredentials,
    /// access token -> tenant ‖ device id (unique in the installation)
    DeviceTokens,
    /// tenant ‖ asset id -> Asset
    Assets,
    /// tenant ‖ name -> asset id (unique name per tenant)
    AssetNames,
    /// tenant ‖ customer id ‖ asset id -> ()
    AssetsByCustomer,
    /// tenant ‖ dashboard id -> Dashboard
    Dashboards,
    /// tenant ‖ customer id ‖ dashboard id -> () (a dashboard may have many customers)
    DashboardsByCustomer,
    /// tenant ‖ customer id ‖ dashboard id -> () (dashboards a customer
    /// owns; the tenant's own are not filed here)
    DashboardsByOwner,
    /// tenant ‖ entity id ‖ key id ‖ first time -> chunk of points (time series)
    Telemetry,
    /// slice ‖ sequence -> tenant ‖ entity ‖ points (new points, before
    /// compaction moves them into `Telemetry`; see `telemetry_log.rs`)
    TelemetryLog,
    /// tenant ‖ entity id ‖ key id -> hidden-before ‖ [time ‖ value] (latest value per key)
    Latest,
    /// tenant ‖ entity id ‖ scope ‖ key -> time ‖ value (attributes)
    Attributes,
    /// key name -> key id (telemetry key dictionary)
    TsKeys,
    /// key id -> key name
    TsKeyNames,
    /// tenant ‖ time ‖ id -> AuditLog
    Audit,
    /// tenant ‖ entity id ‖ time ‖ id -> () (audit of one entity)
    AuditByEntity,
    /// tenant ‖ user id ‖ time ‖ id -> () (audit of one user's actions)
    AuditByUser,
    /// tenant ‖ customer id ‖ time ‖ id -> () (audit under one customer)
    AuditByCustomer,
    /// tenant ‖ calculated field id -> CalculatedField
    CalculatedFields,
    /// tenant ‖ entity id ‖ calculated field id -> () (fields of one entity)
    CalculatedFieldsByEntity,
    /// tenant ‖ extension id -> Extension (metadata only)
    Extensions,
    /// tenant ‖ extension id -> the component's bytes (apart, so that
    /// lists do not read megabytes)
    ExtensionContent,
    /// tenant ‖ name -> extension id (unique name per tenant)
    ExtensionNames,
    /// tenant ‖ extension id ‖ user entity id -> EntityId (who uses an
    /// extension; deleting it is refused while any row is there)
    ExtensionUses,
    /// tenant ‖ entity id ‖ event type ‖ time ‖ id -> Event (one entity's
    /// events of one type are a time-ordered range, bounded in number)
    Events,
    /// tenant ‖ alarm id -> Alarm
    Alarms,
    /// tenant ‖ originator id ‖ type -> alarm id (the one active alarm of
    /// an originator and type)
    ActiveAlarms,
    /// tenant ‖ originator id ‖ created time ‖ alarm id -> () (an
    /// originator's alarms, oldest first)
    AlarmsByOriginator,
    /// tenant ‖ user id ‖ alarm id -> () (the alarms assigned to a user)
    AlarmsByAssignee,
    /// tenant ‖ customer ‖ extension id -> LogicBinding (customer logic)
    LogicBindings,
    /// tenant ‖ group id -> EntityGroup
    EntityGroups,
    /// tenant ‖ owner id ‖ group type ‖ name -> group id (unique name per
    /// owner and type)
    EntityGroupNames,
    /// tenant ‖ group id ‖ entity id -> () (members of named groups)
    EntityGroupMembers,
    /// tenant ‖ entity id ‖ group id -> () (the named groups of an entity)
    EntityMemberships,
    /// tenant ‖ role id -> Role
    Roles,
    /// tenant ‖ owner id ‖ role id -> () (the roles of one owner)
    RolesByOwner,
    /// tenant ‖ permission id -> GroupPermission
    GroupPermissions,
    /// tenant ‖ user group id ‖ permission id -> () (what a user group holds)
    GroupPermissionsByUserGroup,
    /// tenant ‖ entity group id ‖ permission id -> () (grants over a group)
    GroupPermissionsByEntityGroup,
    /// tenant ‖ role id ‖ permission id -> () (where a role is granted)
    GroupPermissionsByRole,
}

/// What deleting a tenant does to a table's rows. Every table says, so a
/// new table cannot be forgotten by tenant deletion.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OnTenantDelete {
    /// Every key starts with the tenant's id: the whole range goes.
    ByRange,
    /// The rows go one by one with the entity they belong to (read first:
    /// their other indexes, or the key, do not start with the tenant).
    RowByRow,
    /// Kept: installation-wide, or the audit log (the record of what
    /// happened).
    Kept,
}

impl Table {
    pub const fn on_tenant_delete(self) -> OnTenantDelete {
        use OnTenantDelete::{ByRange, Kept, RowByRow};
        match self {
            Table::Meta | Table::TsKeys | Table::TsKeyNames => Kept,
            Table::Audit | Table::AuditByEntity | Table::AuditByUser | Table::AuditByCustomer => {
                Kept
            }
            Table::Tenants
            | Table::Customers
            | Table::CustomerTitles
            | Table::CustomersByOwner
            | Table::Users
            | Table::UserEmails
            | Table::UsersByCustomer
            | Table::UserTenants
            | Table::Credentials
            | Table::UserTokens
            | Table::Devices
            | Table::DeviceNames
            | Table::DevicesByCustomer
            | Table::DeviceCredentials
            | Table::DeviceTokens
            | Table::Assets
            | Table::AssetNames
            | Table::AssetsByCustomer
            | Table::Dashboards
            | Table::DashboardsByCustomer
            | Table::DashboardsByOwner
            | Table::TelemetryLog => RowByRow,
            Table::Telemetry
            | Table::Latest
            | Table::Attributes
            | Table::CalculatedFields
            | Table::CalculatedFieldsByEntity
            | Table::Extensions
            | Table::ExtensionContent
            | Table::ExtensionNames
            | Table::ExtensionUses
            | Table::Events
            | Table::Alarms
            | Table::ActiveAlarms
            | Table::AlarmsByOriginator
            | Table::AlarmsByAssignee
            | Table::LogicBindings
            | Table::EntityGroups
            | Table::EntityGroupNames
            | Table::EntityGroupMembers
            | Table::EntityMemberships
            | Table::Roles
            | Table::RolesByOwner
            | Table::GroupPermissions
            | Table::GroupPermissionsByUserGroup
            | Table::GroupPermissionsByEntityGroup
            | Table::GroupPermissionsByRole => ByRange,
        }
    }

    pub const ALL: [Table; 54] = [
        Table::Meta,
        Table::Tenants,
        Table::Customers,
        Table::CustomerTitles,
        Table::CustomersByOwner,
        Table::Users,
        Table::UserEmails,
        Table::UsersByCustomer,
        Table::UserTenants,
        Table::Credentials,
        Table::UserTokens,
        Table::Devices,
        Table::DeviceNames,
        Table::DevicesByCustomer,
        Table::DeviceCredentials,
        Table::DeviceTokens,
        Table::Assets,
        Table::AssetNames,
        Table::AssetsByCustomer,
        Table::Dashboards,
        Table::DashboardsByCustomer,
        Table::DashboardsByOwner,
        Table::Telemetry,
        Table::TelemetryLog,
        Table::Latest,
        Table::Attributes,
        Table::TsKeys,
        Table::TsKeyNames,
        Table::Audit,
        Table::AuditByEntity,
        Table::AuditByUser,
        Table::AuditByCustomer,
        Table::CalculatedFields,
        Table::CalculatedFieldsByEntity,
        Table::Extensions,
        Table::ExtensionContent,
        Table::ExtensionNames,
        Table::ExtensionUses,
        Table::Events,
        Table::Alarms,
        Table::ActiveAlarms,
        Table::AlarmsByOriginator,
        Table::AlarmsByAssignee,
        Table::LogicBindings,
        Table::EntityGroups,
        Table::EntityGroupNames,
        Table::EntityGroupMembers,
        Table::EntityMemberships,
        Table::Roles,
        Table::RolesByOwner,
        Table::GroupPermissions,
        Table::GroupPermissionsByUserGroup,
        Table::GroupPermissionsByEntityGroup,
        Table::GroupPermissionsByRole,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Table::Meta => "meta",
            Table::Tenants => "tenants",
            Table::Customers => "customers",
            Table::CustomerTitles => "customer_titles",
            Table::CustomersByOwner => "customers_by_owner",
            Table::Users => "users",
            Table::UserEmails => "user_emails",
            Table::UsersByCustomer => "users_by_customer",
            Table::UserTenants => "user_tenants",
            Table::Credentials => "credentials",
            Table::UserTokens => "user_tokens",
            Table::Devices => "devices",
            Table::DeviceNames => "device_names",
            Table::DevicesByCustomer => "devices_by_customer",
            Table::DeviceCredentials => "device_credentials",
            Table::DeviceTokens => "device_tokens",
            Table::Assets => "assets",
            Table::AssetNames => "asset_names",
            Table::AssetsByCustomer => "assets_by_customer",
            Table::Dashboards => "dashboards",
            Table::DashboardsByCustomer => "dashboards_by_customer",
            Table::DashboardsByOwner => "dashboards_by_owner",
            Table::Telemetry => "telemetry",
            Table::TelemetryLog => "telemetry_log",
            Table::Latest => "latest",
            Table::Attributes => "attributes",
            Table::TsKeys => "ts_keys",
            Table::TsKeyNames => "ts_key_names",
            Table::Audit => "audit",
            Table::AuditByEntity => "audit_by_entity",
            Table::AuditByUser => "audit_by_user",
            Table::AuditByCustomer => "audit_by_customer",
            Table::CalculatedFields => "calculated_fields",
            Table::CalculatedFieldsByEntity => "calculated_fields_by_entity",
            Table::Extensions => "extensions",
            Table::ExtensionContent => "extension_content",
            Table::ExtensionNames => "extension_names",
            Table::ExtensionUses => "extension_uses",
            Table::Events => "events",
            Table::Alarms => "alarms",
            Table::ActiveAlarms => "active_alarms",
            Table::AlarmsByOriginator => "alarms_by_originator",
            Table::AlarmsByAssignee => "alarms_by_assignee",
            Table::LogicBindings => "logic_bindings",
            Table::EntityGroups => "entity_groups",
            Table::EntityGroupNames => "entity_group_names",
            Table::EntityGroupMembers => "entity_group_members",
            Table::EntityMemberships => "entity_memberships",
            Table::Roles => "roles",
            Table::RolesByOwner => "roles_by_owner",
            Table::GroupPermissions => "group_permissions",
            Table::GroupPermissionsByUserGroup => "group_permissions_by_user_group",
            Table::GroupPermissionsByEntityGroup => "group_permissions_by_entity_group",
            Table::GroupPermissionsByRole => "group_permissions_by_role",
        }
    }
}
