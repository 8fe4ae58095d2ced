//! The broker bridge: Clientele as a client of an existing MQTT broker
//! (Mosquitto, EMQX), subscribed to ThingsBoard's gateway topics and
//! ingesting what arrives as if one gateway device had sent it.
//!
//! The session is persistent (clean session off) and acknowledgements are
//! manual: a message is acknowledged only after the commit that holds it,
//! so a Clientele that stops or crashes mid-stream gets the rest (and the
//! unacknowledged part again) from the broker when it comes back. Messages
//! go through the same in-flight window as a device's session: handled side
//! by side, applied in order where their topic needs it, and acknowledged
//! in the order they came. Lost connections are retried with exponential
//! backoff.
//!
//! A message that fails for good (a bad payload, a refusal of the store) is
//! acknowledged and logged: the broker would only send it again to fail
//! again, and meanwhile it would hold a slot of the broker's in-flight
//! window. One that fails in a way that may pass (the store's I/O) is not:
//! the bridge disconnects and, after a backoff, reconnects, so that the
//! broker sends it (and everything after it) again; a broker resends
//! unacknowledged messages only on a new connection.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Duration;

use rumqttc::{
    AsyncClient, ConnectionError, Event, EventLoop, MqttOptions, Packet, Publish, QoS, Request,
};
use tokio::sync::{broadcast, mpsc, watch};
use tokio::task::JoinHandle;

use crate::config::BridgeSettings;
use crate::domain::device::Device;
use crate::domain::ids::now_ms;
use crate::service::{App, DeviceEvent};

use super::mqtt::SHUTDOWN_GRACE;
use super::mqtt::inflight::Window;
use super::mqtt::publish::{self, Context, Handled};
use super::mqtt::topics;
use super::mqtt::wire::Reason;

/// Runs the bridge until `shutdown` turns true.
pub async fn run(app: App, settings: BridgeSettings, mut shutdown: watch::Receiver<bool>) {
    let mut backoff = Backoff::new(&settings);
    let Some(gateway) = gateway_device(&app, &settings, &mut backoff, &mut shutdown).await else {
        return;
    };
    tracing::info!(broker = %format!("{}:{}", settings.host, settings.port), gateway = %gateway.name, "bridge starting");
    let (client, events) = AsyncClient::new(options(&settings), settings.max_inflight.into());
    let (reports, resume, pump) = pump(events);
    let mut bridge = Bridge {
        device_events: app.subscribe_device_events(),
        ctx: Arc::new(Context::new(app, gateway)),
        client,
        reports,
        resume,
        filters: filters(&settings),
        max_inflight: usize::from(settings.max_inflight.max(1)),
        window: Window::new(),
        waiting: VecDeque::new(),
        generation: 0,
        connected: false,
        store_failing: false,
        backoff,
    };
    bridge.serve(&mut shutdown).await;
    bridge.finish().await;
    pump.abort();
}

/// What the connection to the broker reports.
type Report = Result<Event, ConnectionError>;

/// Polls rumqttc's event loop in a task of its own, reporting each event.
/// The bridge waits on its window and on shutdown too, and the event loop
/// must not be one branch of that wait: dropping its poll midway can lose
/// a request it has taken from the client's channel (an acknowledgement).
/// After an error it waits for a word on `resume` before reconnecting, so
/// that the bridge decides when (backoff).
fn pump(
    mut events: EventLoop,
) -> (
    mpsc::UnboundedReceiver<Report>,
    mpsc::Sender<()>,
    JoinHandle<()>,
) {
    // Unbounded: the broker's in-flight limit bounds the messages, and the
    // pump must never wait on the bridge while the bridge waits for room in
    // the client's channel, which only the pump empties.
    let (tx, reports) = mpsc::unbounded_channel();
    let (resume, mut resumed) = mpsc::channel(1);
    let task = tokio::spawn(async move {
        loop {
            let report = events.poll().await;
            let failed = report.is_err();
            if tx.send(report).is_err() || (failed && resumed.recv().await.is_none()) {
                return;
            }
            if failed {
                // Requests made since the error belong to the lost
                // connection: acknowledgements (whose packet ids may name
                // other messages on the next one; rumqttc drops them) and
                // the DISCONNECT that ended it, which must not end the next.
                events.clean();
                events
                    .pending
                    .retain(|r| !matches!(r, Request::Disconnect(_)));
            }
        }
    });
    (reports, resume, task)
}

/// The bridge's side of the connection.
struct Bridge {
    ctx: Arc<Context>,
    /// Deletions of devices, for the gateway's cache of names.
    device_events: broadcast::Receiver<DeviceEvent>,
    client: AsyncClient,
    reports: mpsc::UnboundedReceiver<Report>,
    resume: mpsc::Sender<()>,
    filters: Vec<String>,
    max_inflight: usize,
    /// The messages being stored, oldest first.
    window: Window<Delivery>,
    /// Messages received while the window was full, in the order they came.
    /// The broker's in-flight limit bounds them; they are kept rather than
    /// left unread so that the connection (keep-alive) is served meanwhile.
    waiting: VecDeque<Delivery>,
    /// Counts connections (CONNACKs).
    generation: u64,
    /// Between a CONNACK and the connection's end, or the bridge asking
    /// for its end.
    connected: bool,
    /// The last connection was ended because the store failed: the backoff
    /// keeps growing over reconnects until a message is stored again.
    store_failing: bool,
    backoff: Backoff,
}

/// A message from the broker, with the connection it came on: its packet
/// id means something on that connection only.
struct Delivery {
    message: Publish,
    generation: u64,
}

impl Bridge {
    /// Ingests until `shutdown` turns true.
    async fn serve(&mut self, shutdown: &mut watch::Receiver<bool>) {
        loop {
            while self.window.len() < self.max_inflight
                && let Some(message) = self.waiting.pop_front()
            {
                self.start(message);
            }
            // A device event (a device deleted) is taken in before messages
            // that came after it, which may name that device.
            tokio::select! {
                biased;
                _ = shutdown.changed() => return,
                event = self.device_events.recv() => self.forget(event),
                Some((message, handled)) = self.window.next(), if !self.window.is_empty() => {
                    self.settle(message, handled).await;
                    // Messages committed together are acknowledged together.
                    while let Some((message, handled)) = self.window.ready() {
                        self.settle(message, handled).await;
                    }
                }
                report = self.reports.recv() => match report {
                    Some(Ok(Event::Incoming(Packet::ConnAck(ack)))) => {
                        self.generation += 1;
                        self.connected = true;
                        if !self.store_failing {
                            self.backoff.reset();
                        }
                        tracing::info!(session_present = ack.session_present, "bridge connected");
                        for filter in &self.filters {
                            if let Err(e) = self.client.subscribe(filter.clone(), QoS::AtLeastOnce).await {
                                tracing::warn!(%filter, error = %e, "bridge could not subscribe");
                            }
                        }
                    }
                    Some(Ok(Event::Incoming(Packet::Publish(message)))) => {
                        // Once the bridge has asked to disconnect, what still
                        // arrives is left for the broker to send again.
                        if self.connected {
                            self.waiting.push_back(Delivery {
                                message,
                                generation: self.generation,
                            });
                        }
                    }
                    Some(Ok(_)) => {}
                    Some(Err(e)) => {
                        if self.connected || !self.store_failing {
                            tracing::warn!(error = %e, "bridge connection lost or refused; retrying");
                        } else {
                            // The end of the DISCONNECT a store failure asked for.
                            tracing::debug!(error = %e, "bridge disconnected; reconnecting after the backoff");
                        }
                        self.connected = false;
                        // Nothing of the lost connection can be acknowledged
                        // any more: the broker sends it all again.
                        self.window.clear();
                        self.waiting.clear();
                        if !self.backoff.wait(shutdown).await || self.resume.send(()).await.is_err() {
                            return;
                        }
                    }
                    None => return,
                },
            }
        }
    }

    /// Forgets the name of a device deleted or given a new token: named
    /// again, it is looked up again (created anew if it is gone).
    fn forget(&self, event: Result<DeviceEvent, broadcast::error::RecvError>) {
        if let Some(devices) = &self.ctx.gateway {
            devices.heard(&event);
        }
    }

    /// Puts a message in the window.
    fn start(&mut self, delivery: Delivery) {
        let route = topics::route(&delivery.message.topic).filter(topics::Route::is_gateway);
        let ctx = Arc::clone(&self.ctx);
        let payload = delivery.message.payload.clone();
        let ordered_as = route.clone();
        self.window.push(delivery, ordered_as.as_ref(), async move {
            match route {
                Some(route) => publish::handle(&ctx, route, payload, now_ms()).await,
                None => Err(Reason::TopicNameInvalid),
            }
        });
    }

    /// Acknowledges a stored message, or one that would never be stored
    /// (a bad payload, a foreign topic, a failure that would recur) so that
    /// the broker stops sending it. A failure that may pass reconnects
    /// instead: see the module doc.
    async fn settle(&mut self, delivery: Delivery, handled: Handled) {
        let Delivery {
            message,
            generation,
        } = delivery;
        if !self.connected || generation != self.generation {
            // From an earlier connection: its packet id may name another
            // message now. The broker sends it again.
            return;
        }
        match handled {
            Ok(_) => {
                if self.store_failing {
                    self.store_failing = false;
                    self.backoff.reset();
                }
            }
            Err(Reason::ServerBusy) => {
                tracing::warn!(topic = %message.topic, "bridged message not stored; reconnecting for the broker to send it again");
                self.store_failing = true;
                self.connected = false;
                self.window.clear();
                self.waiting.clear();
                // After the acknowledgements already given. The broker keeps
                // the session; the pump reports the connection's end, and
                // the reconnect waits for the backoff.
                let _ = self.client.disconnect().await;
                return;
            }
            Err(Reason::ServerError) => {
                tracing::warn!(topic = %message.topic, "bridged message cannot be stored and would fail again: acknowledged and dropped");
            }
            Err(Reason::TopicNameInvalid) => {
                tracing::debug!(topic = %message.topic, "bridge ignores a topic outside the gateway API");
            }
            Err(reason) => {
                tracing::debug!(topic = %message.topic, reason = reason.text(), "bridged message refused");
            }
        }
        let _ = self.client.ack(&message).await;
    }

    /// At shutdown: the messages being stored get up to [`SHUTDOWN_GRACE`]
    /// to finish and be acknowledged; those not started, and any that
    /// still arrive, are left for the broker to send again after the
    /// restart. Then the DISCONNECT goes out after the acknowledgements,
    /// and is waited for briefly.
    async fn finish(&mut self) {
        self.waiting.clear();
        let grace = tokio::time::sleep(SHUTDOWN_GRACE);
        tokio::pin!(grace);
        // Whether the connection has ended (then there is nothing to close).
        let mut gone = !self.connected;
        while self.connected && !self.window.is_empty() {
            tokio::select! {
                () = &mut grace => {
                    tracing::warn!(
                        unfinished = self.window.len(),
                        "bridged messages still being stored at shutdown are left for the broker to send again"
                    );
                    break;
                }
                Some((delivery, handled)) = self.window.next() => {
                    self.settle(delivery, handled).await;
                }
                report = self.reports.recv() => {
                    if !matches!(report, Some(Ok(_))) {
                        self.connected = false;
                        gone = true;
                    }
                }
            }
        }
        self.window.clear();
        if gone {
            return;
        }
        let closing = async {
            // Unless a store failure asked for it already.
            if self.connected {
                self.connected = false;
                let _ = self.client.disconnect().await;
            }
            while let Some(Ok(event)) = self.reports.recv().await {
                if matches!(event, Event::Outgoing(rumqttc::Outgoing::Disconnect)) {
                    break;
                }
            }
        };
        let _ = tokio::time::timeout(Duration::from_secs(2), closing).await;
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
