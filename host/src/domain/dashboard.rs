//! Dashboards, as named references: drawing them is out of scope, but home
//! dashboards and assignments to customers point at real entities. A
//! dashboard is owned by its tenant or by one customer (ThingsBoard PE),
//! and assigned to any number of customers (Community Edition's sharing).

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::customer::{Customer, check_additional_info};
use super::ids::{CustomerId, DashboardId, EntityGroupId, EntityId, TenantId, owner_of};
use super::validate::{ValidationError, check_required};

/// One customer a dashboard is assigned to, as ThingsBoard lists it. The
/// title and public flag are copies, kept in step when the customer changes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AssignedCustomer {
    pub customer_id: CustomerId,
    pub title: String,
    pub public: bool,
}

impl AssignedCustomer {
    pub fn of(c: &Customer) -> Self {
        AssignedCustomer {
            customer_id: c.id,
            title: c.title.clone(),
            public: c.is_public(),
        }
    }
}

/// As stored and as sent on the wire (which adds `ownerId`: see its
/// `Serialize`).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Dashboard {
    pub id: DashboardId,
    pub created_time: i64,
    pub tenant_id: TenantId,
    /// Its owner: a customer, or the null customer for the tenant. Stores
    /// from before dashboards had owners hold tenant-owned ones.
    #[serde(default = "tenant_owned")]
    pub customer_id: CustomerId,
    pub title: String,
    pub name: String,
    pub assigned_customers: Vec<AssignedCustomer>,
    /// The layout, kept as the client sent it.
    pub configuration: Option<Value>,
    pub version: i64,
}

fn tenant_owned() -> CustomerId {
    CustomerId::NULL
}

/// The stored fields plus `ownerId` (its owning customer, else its
/// tenant), which ThingsBoard Professional Edition sends. Deserialising
/// ignores it: `customerId` is the one stored truth.
impl Serialize for Dashboard {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        #[derive(Serialize)]
        #[serde(rename_all = "camelCase")]
        struct Wire<'a> {
            id: DashboardId,
            created_time: i64,
            tenant_id: TenantId,
            customer_id: CustomerId,
            title: &'a str,
            name: &'a str,
            assigned_customers: &'a [AssignedCustomer],
            configuration: &'a Option<Value>,
            version: i64,
            owner_id: EntityId,
        }
        Wire {
            id: self.id,
            created_time: self.created_time,
            tenant_id: self.tenant_id,
            customer_id: self.customer_id,
            title: &self.title,
            name: &self.name,
            assigned_customers: &self.assigned_customers,
            configuration: &self.configuration,
            version: self.version,
            owner_id: self.owner_id(),
        }
        .serialize(serializer)
    }
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DashboardInput {
    #[serde(default)]
    pub id: Option<DashboardId>,
    #[serde(default)]
    pub title: Option<String>,
    #[serde(default)]
    pub configuration: Option<Value>,
    #[serde(default)]
    pub version: Option<i64>,
    /// Groups to put a new one in (ThingsBoard PE's `entityGroupId` /
    /// `entityGroupIds` query parameters): its owner is theirs.
    #[serde(skip)]
    pub entity_groups: Vec<EntityGroupId>,
}

impl DashboardInput {
    pub fn validate(&self) -> Result<(), ValidationError> {
        check_required(
            "title",
            self.title.as_deref().unwrap_or(""),
            "Dashboard title should be specified!",
        )?;
        check_additional_info(self.configuration.as_ref())
    }
}

impl Dashboard {
    /// Its owner (ThingsBoard PE's `ownerId`): its owning customer, else
    /// its tenant.
    pub fn owner_id(&self) -> EntityId {
        owner_of(self.tenant_id, self.customer_id)
    }

    /// A new dashboard of `customer` (the null customer: the tenant).
    pub fn create(
        tenant_id: TenantId,
        customer_id: CustomerId,
        input: DashboardInput,
        now: i64,
    ) -> Self {
        let title = input.title.unwrap_or_default();
        Dashboard {
            id: DashboardId::new(),
            created_time: now,
            tenant_id,
            customer_id,
            name: title.clone(),
            title,
            assigned_customers: Vec::new(),
            configuration: input.configuration,
            version: 1,
        }
    }

    /// This dashboard with a new title and layout; assignments stay.
    pub fn updated(&self, input: DashboardInput) -> Self {
        let title = input.title.unwrap_or_default();
        Dashboard {
            name: title.clone(),
            title,
            configuration: input.configuration,
            version: self.version + 1,
            ..self.clone()
        }
    }

    /// This dashboard given to `customer` (the null customer: the tenant),
    /// one version on.
    pub fn owned_by(&self, customer: CustomerId) -> Self {
        Dashboard {
            customer_id: customer,
            version: self.version + 1,
            ..self.clone()
        }
    }

    pub fn is_assigned_to(&self, customer: CustomerId) -> bool {
        self.assigned_customers
            .iter()
            .any(|a| a.customer_id == customer)
    }
}
