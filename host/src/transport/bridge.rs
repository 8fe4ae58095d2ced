//! The broker bridge: Clientele as a client of an existing MQTT broker
//! (Mosquitto, EMQX), subscribed to ThingsBoard's gateway topics and
//! ingesting what arrives as if one gateway device had sent it.
//!
//! The session is persistent (clean session off) and acknowledgements are
//! manual: a message is acknowledged only after the commit that holds it,
//! so a Clientele that stops or crashes mid-stream gets the rest (and the
//! unacknowledged part again) from the broker when it comes back. Lost
//! connections are retried with exponential backoff.

use std::sync::Arc;
use std::time::Duration;

use rumqttc::{AsyncClient, Event, EventLoop, MqttOptions, Packet, Publish, QoS};
use tokio::sync::{Semaphore, watch};

use crate::config::BridgeSettings;
use crate::domain::device::Device;
use crate::domain::ids::now_ms;
use crate::service::App;

use super::mqtt::publish::{self, Context};
use super::mqtt::topics;
use super::mqtt::wire::Reason;

/// Runs the bridge until `shutdown` turns true.
pub async fn run(app: App, settings: BridgeSettings, mut shutdown: watch::Receiver<bool>) {
    let mut backoff = Backoff::new(&settings);
    let Some(gateway) = gateway_device(&app, &settings, &mut backoff, &mut shutdown).await else {
        return;
    };
    tracing::info!(broker = %format!("{}:{}", settings.host, settings.port), gateway = %gateway.name, "bridge starting");
    let ctx = Arc::new(Context::new(app, gateway));
    let (client, mut events) = AsyncClient::new(options(&settings), settings.max_inflight.into());
    let working = Arc::new(Semaphore::new(settings.max_inflight.into()));
    loop {
        let event = tokio::select! {
            _ = shutdown.changed() => break,
            event = events.poll() => event,
        };
        match event {
            Ok(Event::Incoming(Packet::ConnAck(ack))) => {
                backoff.reset();
                tracing::info!(session_present = ack.session_present, "bridge connected");
                for filter in filters(&settings) {
                    if let Err(e) = client.try_subscribe(filter.clone(), QoS::AtLeastOnce) {
                        tracing::warn!(%filter, error = %e, "bridge could not subscribe");
                    }
                }
            }
            Ok(Event::Incoming(Packet::Publish(message))) => {
                let (ctx, client, working) =
                    (Arc::clone(&ctx), client.clone(), Arc::clone(&working));
                tokio::spawn(async move {
                    let _permit = working.acquire_owned().await;
                    ingest(&ctx, &client, message).await;
                });
            }
            Ok(_) => {}
            Err(e) => {
                tracing::warn!(error = %e, "bridge connection lost; retrying");
                if !backoff.wait(&mut shutdown).await {
                    break;
                }
            }
        }
    }
    let _ = client.try_disconnect();
    drain(&mut events).await;
}

/// Stores one message and acknowledges it once stored, or once it is known
/// never to be storable (bad payload, foreign topic) so the broker stops
/// redelivering it. A store failure leaves it unacknowledged: the broker
/// sends it again after the next reconnect.
async fn ingest(ctx: &Context, client: &AsyncClient, message: Publish) {
    let Some(route) = topics::route(&message.topic).filter(topics::Route::is_gateway) else {
        tracing::debug!(topic = %message.topic, "bridge ignores a topic outside the gateway API");
        let _ = client.ack(&message).await;
        return;
    };
    match publish::handle(ctx, route, message.payload.clone(), now_ms()).await {
        Ok(_) => {
            let _ = client.ack(&message).await;
        }
        Err(Reason::ServerError) => {
            tracing::warn!(topic = %message.topic, "bridged message not stored; left for redelivery");
        }
        Err(reason) => {
            tracing::debug!(topic = %message.topic, reason = reason.text(), "bridged message refused");
            let _ = client.ack(&message).await;
        }
    }
}

/// The gateway device the bridged devices belong to; waits (with backoff)
/// until a device with that token exists and is a gateway.
async fn gateway_device(
    app: &App,
    settings: &BridgeSettings,
    backoff: &mut Backoff,
    shutdown: &mut watch::Receiver<bool>,
) -> Option<Device> {
    loop {
        match app.device_by_token(&settings.gateway_token) {
            Ok(Some(d)) if d.is_gateway() => return Some(d),
            Ok(Some(d)) => {
                tracing::warn!(device = %d.name, "bridge token belongs to a device that is not a gateway")
            }
            Ok(None) => tracing::warn!("bridge: no device has the configured gateway token yet"),
            Err(e) => tracing::warn!(error = %e, "bridge: cannot look up the gateway"),
        }
        if !backoff.wait(shutdown).await {
            return None;
        }
    }
}

fn options(s: &BridgeSettings) -> MqttOptions {
    let mut o = MqttOptions::new(s.client_id.clone(), s.host.clone(), s.port);
    o.set_keep_alive(Duration::from_secs(s.keep_alive_s.max(5)))
        .set_clean_session(false)
        .set_manual_acks(true)
        .set_inflight(s.max_inflight.max(1))
        .set_max_packet_size(s.max_packet_bytes, s.max_packet_bytes);
    if let (Some(user), Some(pass)) = (&s.username, &s.password) {
        o.set_credentials(user.clone(), pass.clone());
    }
    o
}

/// The topic filters, behind `$share/<group>/` when the bridge is one of a group.
fn filters(s: &BridgeSettings) -> Vec<String> {
    s.topics
        .iter()
        .map(|t| match &s.shared_group {
            Some(group) => format!("$share/{group}/{t}"),
            None => t.clone(),
        })
        .collect()
}

/// Lets in-flight acknowledgements and the DISCONNECT go out.
async fn drain(events: &mut EventLoop) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(2);
    while let Ok(Ok(event)) = tokio::time::timeout_at(deadline, events.poll()).await {
        if matches!(event, Event::Outgoing(rumqttc::Outgoing::Disconnect)) {
            break;
        }
    }
}

struct Backoff {
    first: Duration,
    max: Duration,
    next: Duration,
}

impl Backoff {
    fn new(s: &BridgeSettings) -> Self {
        let first = Duration::from_millis(s.reconnect_min_ms.max(10));
        Backoff {
            first,
            max: Duration::from_millis(s.reconnect_max_ms.max(s.reconnect_min_ms)),
            next: first,
        }
    }

    fn reset(&mut self) {
        self.next = self.first;
    }

    /// Sleeps the current delay and doubles it; false when shutting down.
    async fn wait(&mut self, shutdown: &mut watch::Receiver<bool>) -> bool {
        let delay = self.next;
        self.next = (self.next * 2).min(self.max);
        tokio::select! {
            _ = shutdown.changed() => false,
            () = tokio::time::sleep(delay) => !*shutdown.borrow(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings() -> BridgeSettings {
        BridgeSettings {
            shared_group: Some("edge".into()),
            reconnect_min_ms: 10,
            reconnect_max_ms: 35,
            ..BridgeSettings::example()
        }
    }

    #[test]
    fn shared_groups_prefix_every_filter() {
        let f = filters(&settings());
        assert!(
            f.iter().all(|t| t.starts_with("$share/edge/v1/gateway/")),
            "{f:?}"
        );
        let plain = filters(&BridgeSettings::example());
        assert!(plain.contains(&"v1/gateway/telemetry".to_owned()));
    }

    #[tokio::test]
    async fn backoff_doubles_up_to_the_cap_and_resets() {
        let s = settings();
        let mut b = Backoff::new(&s);
        let (_tx, mut rx) = watch::channel(false);
        let mut seen = Vec::new();
        for _ in 0..4 {
            seen.push(b.next);
            assert!(b.wait(&mut rx).await);
        }
        assert_eq!(seen, [10, 20, 35, 35].map(Duration::from_millis));
        b.reset();
        assert_eq!(b.next, Duration::from_millis(10));
    }
}
