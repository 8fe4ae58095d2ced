//! What a caller may do, as ThingsBoard Professional Edition's UI asks it
//! (`GET /api/permissions/allowedPermissions`): the vocabulary of resources
//! and operations, and the caller's merged generic and group rights.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Value, json};

use crate::auth::Caller;
use crate::domain::entity_group::GroupType;
use crate::domain::role::{GROUP_ROLE_OPERATIONS, OPERATIONS, RESOURCES, grants_allow, ops_allow};
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
            Authority::TenantAdmin if caller.rights.is_none() => generic = everything(&["ALL"]),
            Authority::TenantAdmin | Authority::CustomerUser => {
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
                "readGroupPermissions": read_permissions(caller, ReadOf::Groups),
                "readEntityPermissions": read_permissions(caller, ReadOf::Entities),
                "readAttrPermissions": read_permissions(caller, ReadOf::Attributes),
                "readTsPermissions": read_permissions(caller, ReadOf::Telemetry),
            },
            "userOwnerId": caller.owner_id(),
        })
    }
}

/// What one of the `read*Permissions` maps is about.
#[derive(Debug, Clone, Copy)]
enum ReadOf {
    /// The groups themselves (`{TYPE}_GROUP` resources).
    Groups,
    /// Their entities (`READ` on the entity's resource).
    Entities,
    Attributes,
    Telemetry,
}

/// One `read*Permissions` map, as ThingsBoard PE's UI reads it to decide
/// what to query: per entity type that has groups, whether a GENERIC role
/// reads all of them (`hasGenericRead`), and which groups GROUP roles let
/// the caller read (`entityGroupIds`). The system administrator reads none.
fn read_permissions(caller: &Caller, of: ReadOf) -> Value {
    let mut out = serde_json::Map::new();
    for t in GroupType::ALL {
        let entity_type = t.entity_type();
        let (resource, op) = match of {
            ReadOf::Groups => (format!("{entity_type}_GROUP"), "READ"),
            ReadOf::Entities => (entity_type.to_string(), "READ"),
            ReadOf::Attributes => (entity_type.to_string(), "READ_ATTRIBUTES"),
            ReadOf::Telemetry => (entity_type.to_string(), "READ_TELEMETRY"),
        };
        let (generic, groups): (bool, BTreeSet<String>) = match caller.authority {
            Authority::SysAdmin => continue,
            Authority::TenantAdmin if caller.rights.is_none() => (true, BTreeSet::new()),
            Authority::TenantAdmin | Authority::CustomerUser => {
                let rights = caller.rights.iter();
                let generic = rights
                    .clone()
                    .flat_map(|r| r.generic())
                    .any(|g| grants_allow(&g.grants, &resource, op));
                let groups = rights
                    .flat_map(|r| r.groups())
                    .filter(|g| g.group_type == t && ops_allow(&g.operations, op))
                    .map(|g| g.group.0.to_string())
                    .collect();
                (generic, groups)
            }
        };
        let ids: Vec<Value> = groups
            .into_iter()
            .map(|id| json!({ "entityType": "ENTITY_GROUP", "id": id }))
            .collect();
        out.insert(
            entity_type.to_string(),
            json!({ "hasGenericRead": generic, "entityGroupIds": ids }),
        );
    }
    Value::Object(out)
}
