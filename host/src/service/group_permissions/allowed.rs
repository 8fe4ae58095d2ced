//! What a caller may do, as ThingsBoard Professional Edition's UI asks it
//! (`GET /api/permissions/allowedPermissions`): the vocabulary of resources
//! and operations, and the caller's merged generic and group rights.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Value, json};

use crate::auth::Caller;
use crate::domain::ids::owner_of;
use crate::domain::role::{GROUP_ROLE_OPERATIONS, OPERATIONS, RESOURCES};
use crate::domain::user::Authority;

use super::super::App;

type Merged = BTreeMap<String, BTreeSet<String>>;

fn everything(resources: &[&str]) -> Merged {
    resources
        .iter()
        .map(|r| (r.to_string(), BTreeSet::from(["ALL".to_owned()])))
        .collect()
}

impl App {
    pub fn allowed_permissions(&self, caller: &Caller) -> Value {
        let mut generic = Merged::new();
        let mut groups = BTreeMap::new();
        match caller.authority {
            Authority::SysAdmin => generic = everything(&["TENANT", "PROFILE"]),
            Authority::TenantAdmin => generic = everything(&["ALL"]),
            Authority::CustomerUser => {
                generic.insert("PROFILE".into(), BTreeSet::from(["ALL".to_owned()]));
                for rights in caller.rights.iter() {
                    for grant in rights.generic() {
                        for (resource, ops) in &grant.grants {
                            generic
                                .entry(resource.clone())
                                .or_default()
                                .extend(ops.iter().cloned());
                        }
                    }
                    for g in rights.groups() {
                        let entry = groups.entry(g.group.0.to_string()).or_insert_with(|| {
                            json!({ "entityType": g.group_type.entity_type(), "operations": [] })
                        });
                        if let Some(ops) = entry["operations"].as_array_mut() {
                            ops.extend(g.operations.iter().map(|o| json!(o)));
                        }
                    }
                }
            }
        }
        let vocabulary: BTreeMap<&str, &[&str]> =
            RESOURCES.iter().map(|r| (*r, &OPERATIONS[..])).collect();
        json!({
            "operationsByResource": vocabulary,
            "allowedForGroupRoleOperations": GROUP_ROLE_OPERATIONS,
            "allowedForGroupOwnerOnlyOperations": [],
            "allowedForGroupOwnerOnlyGroupOperations": [],
            "allowedResources": RESOURCES,
            "userPermissions": {
                "genericPermissions": generic,
                "groupPermissions": groups,
                "readGroupPermissions": {},
                "readEntityPermissions": {},
                "readAttrPermissions": {},
                "readTsPermissions": {},
            },
            "userOwnerId": owner_of(caller.tenant_id, caller.customer_id),
        })
    }
}
