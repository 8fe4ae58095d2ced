//! One connected device: a task that owns its socket, reads its packets,
//! runs its messages (up to the in-flight limit at once) and answers them
//! in the order they came.

use std::collections::HashSet;
use std::pin::pin;
use std::sync::Arc;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use futures_util::{FutureExt, Stream, StreamExt};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::{broadcast, watch};
use tokio::time::Instant;

use crate::domain::ids::now_ms;
use crate::service::{App, DeviceEvent};

use super::handshake::Accepted;
use super::inflight::Window;
use super::publish::{self, Context, Handled};
use super::topics::{self, Filter};
use super::wire::{self, FrameError, Inbound, Outbound, Reason, Version, Written};

/// Bytes asked of the socket per read.
const READ_CHUNK: usize = 1024;

/// Keep going, or close (with the reason an MQTT 5 client is told).
enum Flow {
    Continue,
    Close(Option<Reason>),
}

pub struct Session {
    version: Version,
    client_max: Option<u32>,
    ctx: Arc<Context>,
    max_packet: usize,
    max_inflight: usize,
    /// 1.5 x the client's keep-alive; `None` when it asked for none.
    silence_limit: Option<Duration>,
    subscriptions: HashSet<Filter>,
    /// The messages being handled, tagged with the packet id their PUBACK
    /// needs (QoS 1); yields outcomes in the order the messages came.
    inflight: Window<Option<u16>>,
    read: BytesMut,
    write: BytesMut,
}

fn event_device(e: &DeviceEvent) -> uuid::Uuid {
    match e {
        DeviceEvent::SharedUpdated { device, .. }
        | DeviceEvent::SharedDeleted { device, .. }
        | DeviceEvent::Revoked { device } => device.0,
    }
}

impl Session {
    pub fn new(accepted: Accepted, app: App, read: BytesMut) -> Session {
        let Accepted {
            hello,
            device,
            window,
        } = accepted;
        let ctx = Context::new(app, device);
        Session {
            version: hello.version,
            client_max: hello.max_packet,
            max_packet: ctx.app.settings().mqtt.max_packet_bytes,
            max_inflight: usize::from(window),
            silence_limit: (hello.keep_alive > 0)
                .then(|| Duration::from_millis(u64::from(hello.keep_alive) * 1500)),
            subscriptions: HashSet::new(),
            inflight: Window::new(),
            read,
            write: BytesMut::new(),
            ctx: Arc::new(ctx),
        }
    }

    fn device(&self) -> uuid::Uuid {
        self.ctx.device.id.0
    }

    /// Serves until the client leaves, breaks the protocol, or `stop` says
    /// the server is shutting down (then messages in flight are answered
    /// first). The caller closes the socket.
    pub async fn run(mut self, stream: &mut TcpStream, mut stop: watch::Receiver<bool>) {
        let reason = match self.serve(stream, &mut stop).await {
            Ok(reason) => reason,
            Err(e) => {
                tracing::debug!(device = %self.device(), error = %e, "MQTT connection failed");
                return;
            }
        };
        if let Some(reason) = reason {
            tracing::debug!(device = %self.device(), reason = reason.text(), "closing MQTT connection");
            self.send(Outbound::Disconnect(reason));
        }
        if !self.write.is_empty() {
            let _ = stream.write_all(&self.write).await;
        }
    }

    async fn serve(
        &mut self,
        stream: &mut TcpStream,
        stop: &mut watch::Receiver<bool>,
    ) -> std::io::Result<Option<Reason>> {
        // Once set, the session is ending (with the reason to give): nothing
        // more is read, but what is in flight is still answered, so that no
        // stored message goes unacknowledged and comes back as a duplicate.
        let mut ending: Option<Option<Reason>> =
            (*stop.borrow()).then_some(Some(Reason::ServerShuttingDown));
        let mut heard = Instant::now();
        // The rare wakes (shutdown, a device event, silence) are each one
        // wait kept across the loop's passes: made anew per pass, each
        // would register and unregister a waiter (a lock on a channel every
        // session shares, or on the timer wheel) twice per message.
        let mut stopping = pin!(shutdown(stop).fuse());
        // Every session hears about its device: shared-attribute changes
        // (forwarded while subscribed) and revocation.
        let mut events = pin!(device_events(self.ctx.app.subscribe_device_events()));
        // Without a keep-alive the timer's branch is off and it never runs.
        let limit = self
            .silence_limit
            .unwrap_or(Duration::from_secs(365 * 24 * 3600));
        let mut silence = pin!(tokio::time::sleep_until(heard + limit));
        loop {
            if ending.is_none()
                && let Flow::Close(reason) = self.take_packets()
            {
                ending = Some(reason);
            }
            if let Some(reason) = ending
                && self.inflight.is_empty()
            {
                return Ok(reason);
            }
            if !self.write.is_empty() {
                stream.write_all(&self.write).await?;
                self.write.clear();
            }
            // Back-pressure: a full window stops reading until an answer frees a slot.
            let reading = ending.is_none() && self.inflight.len() < self.max_inflight;
            if self.read.capacity() - self.read.len() < READ_CHUNK / 2 {
                self.read.reserve(READ_CHUNK);
            }
            // In this order: answers free slots before more is read, and a
            // device event (a device deleted) is taken in before packets
            // that arrived after it, which may name that device. Events
            // come from REST writes, too few to starve the reading.
            tokio::select! {
                biased;
                () = &mut stopping, if ending.is_none() => {
                    ending = Some(Some(Reason::ServerShuttingDown));
                }
                Some((pkid, handled)) = self.inflight.next(), if !self.inflight.is_empty() => {
                    // Time spent waiting on the store is not the client's silence.
                    heard = Instant::now();
                    if let Flow::Close(reason) = self.answer(pkid, handled) {
                        ending.get_or_insert(reason);
                    }
                    // Messages committed together are answered in one write.
                    while let Some((pkid, handled)) = self.inflight.ready() {
                        if let Flow::Close(reason) = self.answer(pkid, handled) {
                            ending.get_or_insert(reason);
                        }
                    }
                }
                Some(event) = events.next() => {
                    if let Some(reason) = self.forward(event) {
                        ending.get_or_insert(Some(reason));
                    }
                }
                n = stream.read_buf(&mut self.read), if reading => {
                    if n? == 0 {
                        // Gone: there is no one left to answer.
                        return Ok(None);
                    }
                    heard = Instant::now();
                }
                () = &mut silence, if reading && self.silence_limit.is_some() => {
                    // The timer is set once and moved on only when it
                    // fires: what was heard since then counts.
                    let due = heard + limit;
                    if Instant::now() >= due {
                        ending = Some(Some(Reason::KeepAliveTimeout));
                    } else {
                        silence.as_mut().reset(due);
                    }
                }
            }
        }
    }

    /// Handles the packets already read, as far as the in-flight window allows.
    fn take_packets(&mut self) -> Flow {
        while self.inflight.len() < self.max_inflight {
            let len = match wire::frame_len(&self.read, self.max_packet) {
                Ok(Some(len)) => len,
                Ok(None) => break,
                Err(FrameError::TooLarge) => return Flow::Close(Some(Reason::PacketTooLarge)),
                Err(FrameError::Malformed) => return Flow::Close(Some(Reason::MalformedPacket)),
            };
            let mut frame = self.read.split_to(len);
            let flow = match wire::decode(self.version, &mut frame) {
                Ok(packet) => self.on_packet(packet),
                Err(e) => {
                    tracing::debug!(device = %self.device(), error = %e.0, "malformed MQTT packet");
                    Flow::Close(Some(Reason::MalformedPacket))
                }
            };
            if let Flow::Close(_) = flow {
                return flow;
            }
        }
        Flow::Continue
    }

    fn on_packet(&mut self, packet: Inbound) -> Flow {
        match packet {
            Inbound::Publish(p) => return self.on_publish(p),
            Inbound::Subscribe { pkid, filters } => {
                let gateway = self.ctx.gateway.is_some();
                let granted = filters
                    .iter()
                    .map(|(f, qos)| {
                        let filter = topics::filter(f, gateway)?;
                        self.subscribe(filter);
                        Some((*qos).min(1))
                    })
                    .collect();
                self.send(Outbound::SubAck { pkid, granted });
            }
            Inbound::Unsubscribe { pkid, filters } => {
                for f in &filters {
                    if let Some(filter) = topics::filter(f, true) {
                        self.subscriptions.remove(&filter);
                    }
                }
                self.send(Outbound::UnsubAck {
                    pkid,
                    filters: filters.len(),
                });
            }
            Inbound::PubAck => {}
            Inbound::PingReq => self.send(Outbound::PingResp),
            Inbound::Disconnect => return Flow::Close(None),
            Inbound::Unexpected(what) => {
                tracing::debug!(device = %self.device(), what, "unexpected MQTT packet");
                return Flow::Close(Some(Reason::ProtocolError));
            }
        }
        Flow::Continue
    }

    fn subscribe(&mut self, filter: Filter) {
        // Updates are forwarded from the moment of subscribing: earlier
        // changes are for the device to request.
        self.subscriptions.insert(filter);
    }

    fn on_publish(&mut self, p: wire::Publish) -> Flow {
        if p.qos > 1 {
            return Flow::Close(Some(Reason::QoSNotSupported));
        }
        let now = now_ms();
        let route = topics::route(&p.topic);
        let ctx = Arc::clone(&self.ctx);
        let (topic, payload): (String, Bytes) = (p.topic, p.payload);
        let pkid = (p.qos == 1).then_some(p.pkid);
        let ordered_as = route.clone();
        self.inflight.push(pkid, ordered_as.as_ref(), async move {
            let Some(route) = route else {
                tracing::debug!(device = %ctx.device.id.0, %topic, "PUBLISH to an unknown topic");
                return Err(Reason::TopicNameInvalid);
            };
            publish::handle(&ctx, route, payload, now).await
        });
        Flow::Continue
    }

    /// Answers the oldest message. A refusal is a negative PUBACK where
    /// MQTT 5 has one to carry it; otherwise the connection ends, since
    /// 3.1.1 has no negative PUBACK and QoS 0 no PUBACK at all.
    fn answer(&mut self, pkid: Option<u16>, handled: Handled) -> Flow {
        match handled {
            Ok(reply) => {
                if let Some(pkid) = pkid {
                    self.send(Outbound::PubAck {
                        pkid,
                        refused: None,
                    });
                }
                if let Some(reply) = reply
                    && self.subscriptions.contains(&reply.needs)
                {
                    self.send(Outbound::Publish {
                        topic: reply.topic,
                        payload: reply.payload.into(),
                    });
                }
                Flow::Continue
            }
            Err(reason) => match (self.version, pkid) {
                (Version::V5, Some(pkid)) => {
                    self.send(Outbound::PubAck {
                        pkid,
                        refused: Some(reason),
                    });
                    Flow::Continue
                }
                _ => Flow::Close(Some(reason)),
            },
        }
    }

    /// Passes a shared-attribute change on (if subscribed); a revocation of
    /// this device ends the session.
    fn forward(
        &mut self,
        event: Result<DeviceEvent, broadcast::error::RecvError>,
    ) -> Option<Reason> {
        if let Some(devices) = &self.ctx.gateway {
            devices.heard(&event);
        }
        match event {
            Ok(DeviceEvent::Revoked { device }) if device.0 == self.device() => {
                tracing::info!(device = %self.device(), "device deleted or its token replaced: session closed");
                return Some(Reason::NotAuthorized);
            }
            // A device behind this gateway, deleted or given a new token:
            // forgotten above, so that its name, used again, is looked up
            // again (a device created anew under the same name has another id).
            Ok(DeviceEvent::Revoked { .. }) => {}
            Ok(e)
                if event_device(&e) == self.device()
                    && self.subscriptions.contains(&Filter::Attributes) =>
            {
                self.send(Outbound::Publish {
                    topic: topics::ATTRIBUTES.to_owned(),
                    payload: topics::shared_update(&e).into(),
                });
            }
            // A device behind this gateway: told through the gateway.
            Ok(e) if self.subscriptions.contains(&Filter::GatewayAttributes) => {
                let device = event_device(&e);
                let name = self.ctx.gateway.as_ref().and_then(|g| g.name_of(device));
                if let Some(name) = name {
                    self.send(Outbound::Publish {
                        topic: topics::GATEWAY_ATTRIBUTES.to_owned(),
                        payload: topics::gateway_shared_update(&name, &e).into(),
                    });
                }
            }
            Ok(_) => {}
            Err(broadcast::error::RecvError::Lagged(missed)) => {
                // Deletions may be among them: the gateway's names were
                // forgotten above.
                tracing::warn!(device = %self.device(), missed, "shared attribute updates missed");
            }
            // Never: the sender lives in the App this session holds.
            Err(broadcast::error::RecvError::Closed) => {}
        }
        None
    }

    fn send(&mut self, packet: Outbound) {
        match wire::encode(self.version, packet, self.client_max, &mut self.write) {
            Ok(Written::Yes | Written::NotInThisVersion) => {}
            Ok(Written::TooLargeForClient) => {
                tracing::debug!(device = %self.device(), "message over the client's maximum packet size dropped");
            }
            Err(e) => {
                tracing::warn!(device = %self.device(), error = %e.0, "MQTT packet not encoded")
            }
        }
    }
}

/// Done when the server starts shutting down (or its signal is gone).
async fn shutdown(stop: &mut watch::Receiver<bool>) {
    while !*stop.borrow_and_update() {
        if stop.changed().await.is_err() {
            return;
        }
    }
}

/// The device events as a stream whose one pending receive lives as long
/// as the stream does.
fn device_events(
    events: broadcast::Receiver<DeviceEvent>,
) -> impl Stream<Item = Result<DeviceEvent, broadcast::error::RecvError>> {
    futures_util::stream::unfold(events, |mut events| async move {
        let event = events.recv().await;
        Some((event, events))
    })
}
