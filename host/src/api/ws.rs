//! Live values over WebSocket, in ThingsBoard's telemetry subscription
//! protocol: `/api/ws` (or `/api/ws/plugins/telemetry`), authenticated with
//! `?token=` or a first `{"authCmd":{"token":..}}`, then `tsSubCmds` /
//! `attrSubCmds` (or `cmds` of type TIMESERIES / ATTRIBUTES). Each
//! subscription first gets the current values, then every change. The
//! token is checked again every `http.ws_token_recheck_s` (30 s): a
//! deleted or disabled user, or one whose password changed, is disconnected.
//! Each subscription's right to read is checked again then, and at once
//! when its entity changes customer: one no longer readable is ended.

use std::collections::HashMap;

use axum::Router;
use axum::extract::State;
use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::response::Response;
use axum::routing::get;
use serde::Deserialize;
use serde_json::{Map, Value, json};
use tokio::sync::broadcast::error::RecvError;

use crate::auth::Caller;
use crate::auth::permissions::DataKind;
use crate::domain::ids::EntityId;
use crate::domain::telemetry::DataValue;
use crate::service::{App, DataChange, DataEvent, Scope, ServiceError};

use super::extract::{Params, comma_items, parse_entity};

/// Subscriptions one socket may hold, so a client cannot grow server memory without end.
const MAX_SUBSCRIPTIONS: usize = 256;
/// Largest command message accepted.
const MAX_MESSAGE_BYTES: usize = 64 * 1024;
/// ThingsBoard's subscription error codes (`SubscriptionErrorCode`).
const INTERNAL_ERROR: i64 = 1;
const UNAUTHORIZED: i64 = 3;

pub fn routes() -> Router<App> {
    Router::new()
        .route("/api/ws", get(upgrade))
        .route("/api/ws/plugins/telemetry", get(upgrade))
}

async fn upgrade(State(app): State<App>, params: Params, ws: WebSocketUpgrade) -> Response {
    let token = params.get("token").map(str::to_owned);
    ws.max_message_size(MAX_MESSAGE_BYTES)
        .on_upgrade(move |socket| session(app, socket, token))
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Commands {
    #[serde(default)]
    auth_cmd: Option<AuthCmd>,
    #[serde(default)]
    ts_sub_cmds: Vec<SubCmd>,
    #[serde(default)]
    attr_sub_cmds: Vec<SubCmd>,
    #[serde(default)]
    cmds: Vec<TypedCmd>,
}

#[derive(Debug, Deserialize)]
struct AuthCmd {
    token: String,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct SubCmd {
    cmd_id: i64,
    #[serde(default)]
    entity_type: String,
    #[serde(default)]
    entity_id: String,
    #[serde(default)]
    keys: Option<String>,
    #[serde(default)]
    scope: Option<String>,
    #[serde(default)]
    unsubscribe: bool,
}

#[derive(Debug, Deserialize)]
struct TypedCmd {
    #[serde(rename = "type")]
    kind: String,
    #[serde(flatten)]
    sub: SubCmd,
}

#[derive(Debug, Clone)]
enum Kind {
    Telemetry,
    Attributes(Option<Scope>),
}

#[derive(Debug, Clone)]
struct Subscription {
    entity: EntityId,
    kind: Kind,
    keys: Option<Vec<String>>,
}

impl Subscription {
    fn wants(&self, key: &str) -> bool {
        self.keys
            .as_ref()
            .is_none_or(|k| k.iter().any(|w| w == key))
    }
}

async fn session(app: App, mut socket: WebSocket, mut token: Option<String>) {
    let mut caller: Option<Caller> = None;
    if let Some(token) = &token {
        match app.authenticate(token) {
            Ok(c) => caller = Some(c),
            Err(e) => {
                let _ = socket.send(close_with(&e.to_string())).await;
                return;
            }
        }
    }
    let mut events = app.subscribe_data_events();
    let mut owners = app.subscribe_owner_changes();
    let mut subs: HashMap<i64, Subscription> = HashMap::new();
    // The token is checked again now and then, so that a user who is
    // deleted, disabled or changes password stops receiving data; each
    // subscription's right to read is checked again with it.
    let every = std::time::Duration::from_secs(app.settings().http.ws_token_recheck_s.max(1));
    let mut recheck = tokio::time::interval_at(tokio::time::Instant::now() + every, every);
    loop {
        let replies = tokio::select! {
            _ = recheck.tick() => {
                if let Some(t) = &token {
                    match app.authenticate(t) {
                        Ok(c) => caller = Some(c),
                        Err(e) => {
                            let _ = socket.send(close_with(&e.to_string())).await;
                            return;
                        }
                    }
                }
                match &caller {
                    Some(c) => revoke_unreadable(&app, c, &mut subs, None),
                    None => continue,
                }
            }
            // An entity changed customer: its subscribers are checked at
            // once rather than at the next timer tick.
            change = owners.recv() => match (change, &caller) {
                (Ok(change), Some(c)) if change.tenant == c.tenant_id => {
                    revoke_unreadable(&app, c, &mut subs, Some(change.entity))
                }
                (Ok(_), _) | (Err(RecvError::Lagged(_)), None) => continue,
                // Some changes were missed: check every subscription.
                (Err(RecvError::Lagged(_)), Some(c)) => revoke_unreadable(&app, c, &mut subs, None),
                (Err(RecvError::Closed), _) => return,
            },
            incoming = socket.recv() => {
                let text = match incoming {
                    Some(Ok(Message::Text(t))) => t,
                    Some(Ok(Message::Close(_))) | None | Some(Err(_)) => return,
                    Some(Ok(_)) => continue,
                };
                match handle(&app, &mut caller, &mut token, &mut subs, text.as_str()).await {
                    Ok(replies) => replies,
                    Err(reason) => {
                        let _ = socket.send(close_with(&reason)).await;
                        return;
                    }
                }
            }
            event = events.recv() => {
                let event = match event {
                    Ok(e) => e,
                    // Too slow to keep up: ThingsBoard's UI reconnects and resubscribes.
                    Err(RecvError::Lagged(_)) => {
                        let _ = socket.send(close_with("subscriber too slow")).await;
                        return;
                    }
                    Err(RecvError::Closed) => return,
                };
                let Some(caller) = &caller else { continue };
                if event.tenant != caller.tenant_id {
                    continue;
                }
                subs.iter()
                    .filter_map(|(id, sub)| update_for(*id, sub, &event))
                    .collect()
            }
        };
        for reply in replies {
            if socket
                .send(Message::Text(reply.to_string().into()))
                .await
                .is_err()
            {
                return;
            }
        }
    }
}

/// Checks each subscription (only those of `entity`, when given) against
/// what `caller` may read now, and ends those it may no longer read; each
/// ended one gets an error update, as ThingsBoard ends a subscription.
fn revoke_unreadable(
    app: &App,
    caller: &Caller,
    subs: &mut HashMap<i64, Subscription>,
    entity: Option<EntityId>,
) -> Vec<Value> {
    let mut ended = Vec::new();
    subs.retain(|id, sub| {
        if entity.is_some_and(|e| e != sub.entity) {
            return true;
        }
        let kind = match sub.kind {
            Kind::Telemetry => DataKind::Telemetry,
            Kind::Attributes(_) => DataKind::Attributes,
        };
        match app.check_data_read(caller, sub.entity, kind) {
            Ok(()) => true,
            // A failing store says nothing about rights: the next check decides.
            Err(e @ (ServiceError::Store(_) | ServiceError::Internal(_))) => {
                tracing::warn!(error = %e, "live subscription check failed");
                true
            }
            Err(e) => {
                ended.push(error_reply(*id, UNAUTHORIZED, &e.to_string()));
                false
            }
        }
    });
    ended
}

fn close_with(reason: &str) -> Message {
    Message::Close(Some(axum::extract::ws::CloseFrame {
        code: 1008,
        reason: reason.chars().take(120).collect::<String>().into(),
    }))
}

/// Applies one command message; the replies are the initial values of new
/// subscriptions and errors. An `Err` closes the socket (bad auth, garbage).
async fn handle(
    app: &App,
    caller: &mut Option<Caller>,
    token: &mut Option<String>,
    subs: &mut HashMap<i64, Subscription>,
    text: &str,
) -> Result<Vec<Value>, String> {
    let cmds: Commands = serde_json::from_str(text).map_err(|e| format!("invalid command: {e}"))?;
    let mut replies = Vec::new();
    if let Some(auth) = cmds.auth_cmd {
        let now = app.authenticate(&auth.token).map_err(|e| e.to_string())?;
        // Another user's token: the subscriptions made so far are kept
        // only where the new user may read them too.
        replies.extend(revoke_unreadable(app, &now, subs, None));
        *caller = Some(now);
        *token = Some(auth.token);
    }
    let Some(caller) = caller.as_ref() else {
        return Err("Authentication required".into());
    };
    let typed = cmds.cmds.into_iter().filter_map(|c| match c.kind.as_str() {
        "TIMESERIES" => Some((false, c.sub)),
        "ATTRIBUTES" => Some((true, c.sub)),
        _ => None,
    });
    let all = cmds
        .ts_sub_cmds
        .into_iter()
        .map(|c| (false, c))
        .chain(cmds.attr_sub_cmds.into_iter().map(|c| (true, c)))
        .chain(typed);
    for (attributes, cmd) in all {
        if cmd.unsubscribe {
            subs.remove(&cmd.cmd_id);
            continue;
        }
        // Checked before the current values are read: a refused one costs nothing.
        if subs.len() >= MAX_SUBSCRIPTIONS && !subs.contains_key(&cmd.cmd_id) {
            replies.push(error_reply(
                cmd.cmd_id,
                INTERNAL_ERROR,
                "Too many subscriptions",
            ));
            continue;
        }
        match subscribe(app, caller, attributes, &cmd).await {
            Ok((sub, initial)) => {
                subs.insert(cmd.cmd_id, sub);
                replies.push(initial);
            }
            Err(message) => replies.push(error_reply(cmd.cmd_id, INTERNAL_ERROR, &message)),
        }
    }
    Ok(replies)
}

fn error_reply(cmd_id: i64, code: i64, message: &str) -> Value {
    json!({ "subscriptionId": cmd_id, "errorCode": code, "errorMsg": message, "data": {} })
}

/// The keys asked for; none (or only blanks) means every key.
fn keys_of(raw: Option<&str>) -> Option<Vec<String>> {
    raw.map(|k| comma_items(k).map(str::to_owned).collect::<Vec<_>>())
        .filter(|k| !k.is_empty())
}

/// Checks the caller may read the entity's data and returns the current values.
async fn subscribe(
    app: &App,
    caller: &Caller,
    attributes: bool,
    cmd: &SubCmd,
) -> Result<(Subscription, Value), String> {
    let entity = parse_entity(&cmd.entity_type, &cmd.entity_id).map_err(|e| e.message)?;
    let keys = keys_of(cmd.keys.as_deref());
    let mut data = Map::new();
    let kind = if attributes {
        let scope = match cmd.scope.as_deref().filter(|s| !s.is_empty()) {
            None => None,
            Some(s) => {
                Some(Scope::parse(s).ok_or_else(|| format!("Invalid attribute scope: '{s}'"))?)
            }
        };
        for (_, k, ts, v) in app
            .attributes(caller, entity, scope, keys.clone())
            .await
            .map_err(|e| e.to_string())?
        {
            data.insert(k, json!([[ts, v.to_wire_string()]]));
        }
        Kind::Attributes(scope)
    } else {
        for (k, (ts, v)) in app
            .latest_telemetry(caller, entity, keys.clone())
            .await
            .map_err(|e| e.to_string())?
        {
            data.insert(k, json!([[ts, v.to_wire_string()]]));
        }
        Kind::Telemetry
    };
    let reply =
        json!({ "subscriptionId": cmd.cmd_id, "errorCode": 0, "errorMsg": null, "data": data });
    Ok((Subscription { entity, kind, keys }, reply))
}

/// The update a subscription gets for an event, if it concerns it.
fn update_for(cmd_id: i64, sub: &Subscription, event: &DataEvent) -> Option<Value> {
    if sub.entity != event.entity {
        return None;
    }
    let mut data: Map<String, Value> = Map::new();
    let mut add = |key: &str, ts: i64, v: &DataValue| {
        if sub.wants(key) {
            let series = data
                .entry(key.to_owned())
                .or_insert_with(|| Value::Array(Vec::new()));
            if let Value::Array(points) = series {
                points.push(json!([ts, v.to_wire_string()]));
            }
        }
    };
    match (&sub.kind, &event.change) {
        (Kind::Telemetry, DataChange::Telemetry(entries)) => {
            for e in entries.iter() {
                add(&e.key, e.ts, &e.value);
            }
        }
        (
            Kind::Attributes(scope),
            DataChange::Attributes {
                scope: s,
                ts,
                values,
            },
        ) if scope.is_none_or(|x| x == *s) => {
            for kv in values.iter() {
                add(&kv.key, *ts, &kv.value);
            }
        }
        _ => return None,
    }
    (!data.is_empty()).then(
        || json!({ "subscriptionId": cmd_id, "errorCode": 0, "errorMsg": null, "data": data }),
    )
}
