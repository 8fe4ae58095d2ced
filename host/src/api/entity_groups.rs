//! `/api/entityGroup*`: ThingsBoard Professional Edition's entity groups.

use axum::Json;
use axum::Router;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::domain::entity_group::{ALL_GROUP_NAME, EntityGroupInfo, EntityGroupInput, GroupType};
use crate::domain::ids::{EntityGroupId, EntityId};
use crate::domain::page::{PageData, PageLink};
use crate::service::{App, GroupMember, ServiceError};

use super::error::{ApiError, ApiResult};
use super::extract::{Auth, Body, Params, PathId, parse_entity, parse_uuid, parse_uuid_list};

pub fn routes() -> Router<App> {
    Router::new()
        .route("/api/entityGroup", post(save))
        .route("/api/entityGroup/{id}", get(one).delete(remove))
        .route("/api/entityGroups/list", get(by_ids))
        .route("/api/entityGroups/{groupType}", get(of_mine))
        .route("/api/entityGroups/{groupType}/all", get(of_mine))
        .route("/api/entityGroups/{groupType}/shared", get(shared))
        .route("/api/entityGroups/{entityType}/{entityId}", get(of_entity))
        .route(
            "/api/entityGroups/{ownerType}/{ownerId}/{groupType}",
            get(of_owner),
        )
        .route(
            "/api/entityGroups/{ownerType}/{ownerId}/{groupType}/all",
            get(of_owner),
        )
        .route(
            "/api/entityGroup/all/{ownerType}/{ownerId}/{groupType}",
            get(all_of_owner),
        )
        .route(
            "/api/entityGroup/{ownerType}/{ownerId}/{groupType}/{groupName}",
            // The same shape as `/{entityGroupId}/{userGroupId}/{roleId}/share`.
            get(by_name).post(super::group_sharing::share_to_user_group),
        )
        .route("/api/entityGroup/{id}/entities", get(entities))
        .route(
            "/api/entityGroup/{id}/{memberType}",
            get(members_or_one).post(change_members),
        )
}

fn group_type(raw: &str) -> ApiResult<GroupType> {
    raw.parse()
        .map_err(|e: crate::domain::validate::ValidationError| ApiError::bad_request(e.0))
}

/// A list, or a page of it when the caller asks for one (`pageSize`), as
/// newer ThingsBoard versions serve group lists (the `/all` routes are the
/// same lists, never asked for a page).
fn list_or_page(groups: Vec<EntityGroupInfo>, params: &Params) -> ApiResult<Response> {
    if params.get("pageSize").is_none() {
        return Ok(Json(groups).into_response());
    }
    let link = params.page_link()?;
    link.check_sort(&["createdTime", "name"])
        .map_err(|e| ApiError::bad_request(e.0))?;
    let mut groups = groups;
    groups.retain(|g| link.matches(&g.group.name.to_lowercase()));
    let page = match link.sort_property.as_deref() {
        Some("createdTime") => {
            PageData::sorted_by_key(groups, &link, |g| (g.group.created_time, g.group.id))
        }
        _ => PageData::sorted_by_key(groups, &link, |g| (g.group.name.to_lowercase(), g.group.id)),
    };
    Ok(Json(page).into_response())
}

async fn save(
    State(app): State<App>,
    Auth(caller): Auth,
    Body(input): Body<EntityGroupInput>,
) -> ApiResult<Json<EntityGroupInfo>> {
    Ok(Json(app.save_entity_group(&caller, input).await?))
}

async fn one(
    State(app): State<App>,
    Auth(caller): Auth,
    PathId(id): PathId<EntityGroupId>,
) -> ApiResult<Json<EntityGroupInfo>> {
    Ok(Json(app.entity_group(&caller, id).await?))
}

async fn remove(
    State(app): State<App>,
    Auth(caller): Auth,
    PathId(id): PathId<EntityGroupId>,
) -> ApiResult<()> {
    Ok(app.delete_entity_group(&caller, id).await?)
}

/// The groups among `entityGroupIds` the caller may read; others are
/// left out.
async fn by_ids(
    State(app): State<App>,
    Auth(caller): Auth,
    params: Params,
) -> ApiResult<Json<Vec<EntityGroupInfo>>> {
    let ids = parse_uuid_list(params.required("entityGroupIds")?)?;
    let ids = ids.into_iter().map(EntityGroupId).collect();
    Ok(Json(app.entity_groups_by_ids(&caller, ids).await?))
}

/// The caller's own owner's groups of one type and, unless
/// `includeShared=false`, those shared with it (ThingsBoard PE's default).
async fn of_mine(
    State(app): State<App>,
    Auth(caller): Auth,
    Path(raw_type): Path<String>,
    params: Params,
) -> ApiResult<Response> {
    let t = group_type(&raw_type)?;
    let shared = params.flag("includeShared", true)?;
    list_or_page(app.my_entity_groups(&caller, t, shared).await?, &params)
}

/// Only the groups of one type shared with the caller, as a list or a
/// page.
async fn shared(
    State(app): State<App>,
    Auth(caller): Auth,
    Path(raw_type): Path<String>,
    params: Params,
) -> ApiResult<Response> {
    let t = group_type(&raw_type)?;
    list_or_page(app.shared_entity_groups(&caller, t).await?, &params)
}

async fn of_owner(
    State(app): State<App>,
    Auth(caller): Auth,
    Path((owner_type, owner_id, raw_type)): Path<(String, String, String)>,
    params: Params,
) -> ApiResult<Response> {
    let owner = parse_entity(&owner_type, &owner_id)?;
    let t = group_type(&raw_type)?;
    list_or_page(app.entity_groups(&caller, Some(owner), t).await?, &params)
}

async fn all_of_owner(
    State(app): State<App>,
    Auth(caller): Auth,
    Path((owner_type, owner_id, raw_type)): Path<(String, String, String)>,
) -> ApiResult<Json<EntityGroupInfo>> {
    let owner = parse_entity(&owner_type, &owner_id)?;
    let t = group_type(&raw_type)?;
    Ok(Json(
        app.entity_group_by_name(&caller, Some(owner), t, ALL_GROUP_NAME)
            .await?,
    ))
}

async fn by_name(
    State(app): State<App>,
    Auth(caller): Auth,
    Path((owner_type, owner_id, raw_type, name)): Path<(String, String, String, String)>,
) -> ApiResult<Json<EntityGroupInfo>> {
    let owner = parse_entity(&owner_type, &owner_id)?;
    let t = group_type(&raw_type)?;
    Ok(Json(
        app.entity_group_by_name(&caller, Some(owner), t, &name)
            .await?,
    ))
}

/// The ids of the groups an entity is in, its owner's "All" first.
async fn of_entity(
    State(app): State<App>,
    Auth(caller): Auth,
    Path((entity_type, entity_id)): Path<(String, String)>,
) -> ApiResult<Json<Vec<EntityGroupId>>> {
    let entity: EntityId = parse_entity(&entity_type, &entity_id)?;
    Ok(Json(app.groups_of_entity(&caller, entity).await?))
}

/// `POST /addEntities` or `/deleteEntities`, the body being the entity ids
/// as strings.
async fn change_members(
    State(app): State<App>,
    Auth(caller): Auth,
    Path((raw_id, op)): Path<(String, String)>,
    Body(body): Body<Vec<String>>,
) -> ApiResult<()> {
    let add = match op.as_str() {
        "addEntities" => true,
        "deleteEntities" => false,
        _ => return Err(ServiceError::not_found().into()),
    };
    let id = EntityGroupId(parse_uuid(&raw_id)?);
    let ids = body
        .iter()
        .map(|s| parse_uuid(s))
        .collect::<ApiResult<_>>()?;
    Ok(app.change_group_members(&caller, id, ids, add).await?)
}

/// A page of members as ThingsBoard's `ShortEntityView`: id and the
/// fields a group's table shows.
async fn entities(
    State(app): State<App>,
    Auth(caller): Auth,
    PathId(id): PathId<EntityGroupId>,
    params: Params,
) -> ApiResult<Json<PageData<Value>>> {
    let link: PageLink = params.page_link()?;
    let page = app.group_members(&caller, id, None, link).await?;
    Ok(Json(page.map(short_view)))
}

fn short_view(m: GroupMember) -> Value {
    json!({ "id": m.id, "name": m.name, "createdTime": m.created_time })
}

/// `/{entityId}`: one member as a `ShortEntityView`; or a page of members
/// as entities: `/customers`, `/devices`, `/assets`, `/users`,
/// `/dashboards`, each only of a group of that type.
async fn members_or_one(
    State(app): State<App>,
    Auth(caller): Auth,
    Path((raw_id, member)): Path<(String, String)>,
    params: Params,
) -> ApiResult<Json<Value>> {
    let id = EntityGroupId(parse_uuid(&raw_id)?);
    if let Ok(entity) = member.parse::<Uuid>() {
        let m = app.group_member(&caller, id, entity).await?;
        return Ok(Json(short_view(m)));
    }
    let t = member
        .strip_suffix('s')
        .and_then(|singular| singular.parse::<GroupType>().ok())
        .ok_or_else(|| ApiError::from(ServiceError::not_found()))?;
    let link: PageLink = params.page_link()?;
    let page = app.group_members(&caller, id, Some(t), link).await?;
    Ok(Json(json!(page.map(|m| m.row))))
}
