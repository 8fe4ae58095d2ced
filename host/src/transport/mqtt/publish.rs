//! What a device's PUBLISH does: its payload parsed, the App called, and
//! the answer the device is owed. The messages of one connection are
//! handled side by side in its in-flight window, so they reach the store
//! together and share commits.

use std::sync::Arc;

use bytes::Bytes;

use crate::domain::device::Device;
use crate::domain::telemetry::{PayloadError, parse_attributes_bytes, parse_telemetry_bytes};
use crate::service::{App, ServiceError};
use crate::store::StoreError;

use super::gateway::{self, Devices};
use super::topics::{self, Filter, Route};
use super::wire::Reason;

/// What every message of a connection is handled with.
#[derive(Debug)]
pub struct Context {
    pub app: App,
    pub device: Device,
    /// Present when the device is a gateway (`additionalInfo.gateway`).
    pub gateway: Option<Devices>,
}

impl Context {
    /// What `device`'s messages are handled with; a gateway also gets its
    /// own cache of the devices it names.
    pub fn new(app: App, device: Device) -> Context {
        Context {
            gateway: device.is_gateway().then(Devices::new),
            device,
            app,
        }
    }
}

/// A message published back to the device, if it subscribed to `needs`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    pub topic: String,
    pub payload: Vec<u8>,
    pub needs: Filter,
}

/// Done (with an answer, maybe), or refused for a reason. `Ok` means
/// whatever the message carried is durable: the App returns only after the
/// store's commit.
pub type Handled = Result<Option<Reply>, Reason>;

fn invalid(ctx: &Context, route: &Route, e: PayloadError) -> Reason {
    tracing::debug!(device = %ctx.device.id.0, ?route, error = %e, "MQTT payload refused");
    Reason::PayloadFormatInvalid
}

fn failed(ctx: &Context, e: ServiceError) -> Reason {
    match e {
        // A gateway naming a device the rules refuse (an empty name...).
        ServiceError::Invalid(msg) => {
            tracing::debug!(device = %ctx.device.id.0, %msg, "MQTT message refused");
            Reason::PayloadFormatInvalid
        }
        // The store's I/O, the service shutting down: the
        // same message may well be stored when it comes again.
        ServiceError::Store(StoreError::Backend(_) | StoreError::Closed)
        | ServiceError::Internal(_) => {
            tracing::warn!(device = %ctx.device.id.0, error = %e, "MQTT message not stored for now");
            Reason::ServerBusy
        }
        // A corrupt record, a conflict, a missing entity: it would fail again.
        other => {
            tracing::warn!(device = %ctx.device.id.0, error = %other, "MQTT message not stored");
            Reason::ServerError
        }
    }
}

/// The devices a gateway message names, found or created, each with its data.
async fn resolve_all<E>(
    ctx: &Context,
    devices: &Devices,
    by_device: Vec<(String, Vec<E>)>,
) -> Result<Vec<(Arc<Device>, Vec<E>)>, Reason> {
    let mut out = Vec::with_capacity(by_device.len());
    for (name, entries) in by_device {
        let device = devices
            .resolve(&ctx.app, &ctx.device, &name, None)
            .await
            .map_err(|e| failed(ctx, e))?;
        out.push((device, entries));
    }
    Ok(out)
}

/// The device cache of a gateway; anything else is refused the gateway topics.
fn gateway<'a>(ctx: &'a Context, route: &Route) -> Result<&'a Devices, Reason> {
    ctx.gateway.as_ref().ok_or_else(|| {
        tracing::debug!(device = %ctx.device.id.0, ?route, "not a gateway: message refused");
        Reason::NotAuthorized
    })
}

pub async fn handle(ctx: &Context, route: Route, payload: Bytes, now: i64) -> Handled {
    let app = &ctx.app;
    let route = &route;
    match route {
        Route::Telemetry => {
            let entries =
                parse_telemetry_bytes(&payload, now).map_err(|e| invalid(ctx, route, e))?;
            app.ingest_telemetry(&ctx.device, entries)
                .await
                .map_err(|e| failed(ctx, e))?;
        }
        Route::Attributes => {
            let entries = parse_attributes_bytes(&payload).map_err(|e| invalid(ctx, route, e))?;
            app.ingest_client_attributes(&ctx.device, entries)
                .await
                .map_err(|e| failed(ctx, e))?;
        }
        Route::AttributeRequest(id) => {
            let request =
                topics::parse_attribute_request(&payload).map_err(|e| invalid(ctx, route, e))?;
            let (client, shared) = app
                .device_attributes(
                    &ctx.device,
                    request.client.as_deref(),
                    request.shared.as_deref(),
                )
                .map_err(|e| failed(ctx, e))?;
            return Ok(Some(Reply {
                topic: topics::attribute_response_topic(id),
                payload: topics::attribute_response(client, shared),
                needs: Filter::AttributeResponses,
            }));
        }
        Route::RpcRequest(id) => {
            let method = topics::rpc_method(&payload).map_err(|e| invalid(ctx, route, e))?;
            if method == "getSessionLimits" {
                let limits = &app.settings().mqtt;
                return Ok(Some(Reply {
                    topic: topics::rpc_response_topic(id),
                    payload: topics::session_limits(limits.max_packet_bytes, limits.max_inflight),
                    needs: Filter::RpcResponses,
                }));
            }
            // Client-side RPC has no handler yet: acknowledged, unanswered,
            // as in ThingsBoard when no rule chain replies.
            tracing::debug!(device = %ctx.device.id.0, %method, "client RPC without a handler");
        }
        Route::GatewayConnect => {
            let devices = gateway(ctx, route)?;
            let named = gateway::parse_named(&payload).map_err(|e| invalid(ctx, route, e))?;
            devices
                .resolve(
                    app,
                    &ctx.device,
                    &named.device,
                    named.device_type.as_deref(),
                )
                .await
                .map_err(|e| failed(ctx, e))?;
        }
        Route::GatewayDisconnect => {
            let devices = gateway(ctx, route)?;
            let named = gateway::parse_named(&payload).map_err(|e| invalid(ctx, route, e))?;
            devices.forget(&named.device);
        }
        Route::GatewayTelemetry => {
            let devices = gateway(ctx, route)?;
            let by_device = gateway::parse_telemetry_by_device(&payload, now)
                .map_err(|e| invalid(ctx, route, e))?;
            // One commit for the whole message: all of it is stored, or none.
            let batches = resolve_all(ctx, devices, by_device).await?;
            app.ingest_telemetry_of(batches)
                .await
                .map_err(|e| failed(ctx, e))?;
        }
        Route::GatewayAttributes => {
            let devices = gateway(ctx, route)?;
            let by_device = gateway::parse_attributes_by_device(&payload)
                .map_err(|e| invalid(ctx, route, e))?;
            // One commit for the whole message, as for telemetry.
            let batches = resolve_all(ctx, devices, by_device).await?;
            app.ingest_client_attributes_of(batches)
                .await
                .map_err(|e| failed(ctx, e))?;
        }
        Route::GatewayAttributeRequest => {
            let devices = gateway(ctx, route)?;
            let request = topics::parse_gateway_attribute_request(&payload)
                .map_err(|e| invalid(ctx, route, e))?;
            let device = devices
                .resolve(app, &ctx.device, &request.device, None)
                .await
                .map_err(|e| failed(ctx, e))?;
            let none: &[String] = &[];
            let (client, shared) = if request.client {
                (Some(request.keys.as_slice()), Some(none))
            } else {
                (Some(none), Some(request.keys.as_slice()))
            };
            let (client, shared) = app
                .device_attributes(&device, client, shared)
                .map_err(|e| failed(ctx, e))?;
            let values = if request.client { client } else { shared };
            return Ok(Some(Reply {
                topic: topics::GATEWAY_ATTRIBUTE_RESPONSE.to_owned(),
                payload: topics::gateway_attribute_response(&request, values),
                needs: Filter::GatewayAttributeResponses,
            }));
        }
    }
    Ok(None)
}
