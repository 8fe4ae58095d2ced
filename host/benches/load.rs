//! A lean MQTT 3.1.1 load generator on rumqttc's packet codec: each
//! connection keeps up to `inflight` QoS 1 publishes outstanding and times
//! each one from its write to its PUBACK; either as fast as
//! acknowledgements allow (saturated), or paced at a fixed rate (the rate
//! achieved is printed beside it, so a server that cannot keep up shows as
//! a lower rate rather than hiding in the latency). It skips rumqttc's event loop so that the
//! generator, not the client library, is the cheap side of the measurement.

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::BytesMut;
use rumqttc::mqttbytes::QoS;
use rumqttc::mqttbytes::v4::{Connect, Login, Packet, Publish, Subscribe};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const MAX_PACKET: usize = 1 << 20;

/// What one run measured.
#[derive(Debug, Default)]
pub struct Outcome {
    pub acked: u64,
    pub elapsed: Duration,
    /// Every PUBACK's latency, in microseconds.
    pub latencies_us: Vec<u32>,
}

impl Outcome {
    pub fn rate(&self) -> f64 {
        self.acked as f64 / self.elapsed.as_secs_f64()
    }

    pub fn percentile_ms(&mut self, p: f64) -> f64 {
        if self.latencies_us.is_empty() {
            return 0.0;
        }
        self.latencies_us.sort_unstable();
        let i = ((self.latencies_us.len() - 1) as f64 * p).round() as usize;
        f64::from(self.latencies_us[i]) / 1000.0
    }
}

/// Opens an MQTT connection with `user` as user name and waits for CONNACK.
pub async fn connect(
    addr: SocketAddr,
    client_id: &str,
    user: &str,
) -> std::io::Result<(TcpStream, BytesMut)> {
    let mut stream = TcpStream::connect(addr).await?;
    stream.set_nodelay(true)?;
    let mut connect = Connect::new(client_id);
    connect.keep_alive = 600;
    connect.login = Some(Login::new(user, ""));
    let mut out = BytesMut::new();
    Packet::Connect(connect)
        .write(&mut out, MAX_PACKET)
        .map_err(io)?;
    stream.write_all(&out).await?;
    let mut buf = BytesMut::with_capacity(4096);
    loop {
        match Packet::read(&mut buf, MAX_PACKET) {
            Ok(Packet::ConnAck(ack))
                if ack.code == rumqttc::mqttbytes::v4::ConnectReturnCode::Success =>
            {
                return Ok((stream, buf));
            }
            Ok(other) => return Err(io(format!("refused: {other:?}"))),
            Err(rumqttc::mqttbytes::Error::InsufficientBytes(_)) => {
                if stream.read_buf(&mut buf).await? == 0 {
                    return Err(io("closed before CONNACK"));
                }
            }
            Err(e) => return Err(io(e)),
        }
    }
}

fn io(e: impl std::fmt::Display) -> std::io::Error {
    std::io::Error::other(e.to_string())
}

/// How each connection sends: at most `inflight` outstanding, and if
/// `rate` is set, that many messages per second over all connections.
#[derive(Debug, Clone, Copy)]
pub struct Pacing {
    pub inflight: usize,
    pub rate: Option<f64>,
}

/// Publishes QoS 1 `payload(n)` to `topic` on every connection until
/// `duration` is over, then waits for the outstanding PUBACKs.
pub async fn publish_for(
    connections: Vec<(TcpStream, BytesMut)>,
    topic: Arc<str>,
    pacing: Pacing,
    duration: Duration,
    payload: Arc<dyn Fn(u64) -> Vec<u8> + Send + Sync>,
) -> Outcome {
    let started = Instant::now();
    let deadline = started + duration;
    let count = connections.len().max(1);
    // Each connection's share of the rate, with start times spread evenly
    // so the connections do not send in lockstep.
    let interval = pacing
        .rate
        .map(|r| Duration::from_secs_f64(count as f64 / r.max(1.0)));
    let mut tasks = Vec::new();
    for (i, (stream, buf)) in connections.into_iter().enumerate() {
        let (topic, payload) = (Arc::clone(&topic), Arc::clone(&payload));
        let plan = Plan {
            inflight: pacing.inflight,
            interval,
            first_due: started + interval.map_or(Duration::ZERO, |d| d * i as u32 / count as u32),
        };
        tasks.push(tokio::spawn(async move {
            let (mut acked, mut latencies) = (0u64, Vec::new());
            // A connection that fails still counts what it had acknowledged.
            let _ = publish(
                stream,
                buf,
                &topic,
                &plan,
                |n| payload(n),
                || Instant::now() >= deadline,
                |_, latency| {
                    acked += 1;
                    latencies.push(latency.as_micros().min(u128::from(u32::MAX)) as u32);
                },
            )
            .await;
            (acked, latencies)
        }));
    }
    let mut outcome = Outcome::default();
    for t in tasks {
        if let Ok((acked, mut lat)) = t.await {
            outcome.acked += acked;
            outcome.latencies_us.append(&mut lat);
        }
    }
    outcome.elapsed = started.elapsed();
    outcome
}

/// One connection's schedule.
pub struct Plan {
    /// PUBLISHes awaiting their PUBACK, at most.
    pub inflight: usize,
    /// Paced: one message per `interval`, the first at `first_due`;
    /// otherwise as fast as acknowledgements allow.
    pub interval: Option<Duration>,
    pub first_due: Instant,
}

/// How often a connection waiting on its socket checks `stop`.
const RECHECK: Duration = Duration::from_millis(200);

/// How long a connection that has stopped sending waits for the PUBACKs
/// still due.
const DRAIN: Duration = Duration::from_secs(10);

/// Publishes QoS 1 `payload(n)` to `topic` for n = 0, 1, 2, ... on one
/// connection as `plan` says, until `stop()` (checked at least every
/// [`RECHECK`]), then waits for the PUBACKs still due (up to [`DRAIN`]).
/// Each PUBACK calls `on_ack(n, time since its PUBLISH was written)`.
/// Returns how many were sent; a server that closes the connection ends it
/// early, with `Ok` when it closed cleanly.
pub async fn publish(
    mut stream: TcpStream,
    mut buf: BytesMut,
    topic: &str,
    plan: &Plan,
    mut payload: impl FnMut(u64) -> Vec<u8>,
    stop: impl Fn() -> bool,
    mut on_ack: impl FnMut(u64, Duration),
) -> std::io::Result<u64> {
    // (packet id, n, written at) of each message awaiting its PUBACK, oldest
    // first: packet ids go in sequence and a server acknowledges in order
    // (MQTT requires it), so a PUBACK is found at the front.
    let mut awaiting: VecDeque<(u16, u64, Instant)> = VecDeque::with_capacity(plan.inflight);
    let (mut next_pkid, mut n) = (1u16, 0u64);
    let mut out = BytesMut::with_capacity(64 * 1024);
    let mut due = plan.first_due;
    let mut recheck = tokio::time::interval(RECHECK);
    recheck.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut draining_until: Option<Instant> = None;
    loop {
        let now = Instant::now();
        if draining_until.is_none() && stop() {
            draining_until = Some(now + DRAIN);
        }
        let sending = draining_until.is_none();
        while sending && awaiting.len() < plan.inflight && (plan.interval.is_none() || due <= now) {
            let mut p = Publish::new(topic, QoS::AtLeastOnce, payload(n));
            p.pkid = next_pkid;
            Packet::Publish(p).write(&mut out, MAX_PACKET).map_err(io)?;
            // Timed from the write: on two shared cores the generator itself
            // runs late at high rates, and that lateness is not the server's.
            awaiting.push_back((next_pkid, n, now));
            if let Some(interval) = plan.interval {
                due += interval;
            }
            // 0 is not a packet id.
            next_pkid = next_pkid.checked_add(1).unwrap_or(1);
            n += 1;
        }
        if !out.is_empty() {
            stream.write_all(&out).await?;
            out.clear();
        }
        if let Some(until) = draining_until
            && (awaiting.is_empty() || now >= until)
        {
            return Ok(n);
        }
        // Paced and free to send: wake when the next message is due.
        let wake =
            (sending && plan.interval.is_some() && awaiting.len() < plan.inflight).then_some(due);
        tokio::select! {
            read = stream.read_buf(&mut buf) => {
                if read? == 0 {
                    return Ok(n);
                }
            }
            () = tokio::time::sleep_until(wake.unwrap_or(now).into()), if wake.is_some() => continue,
            _ = recheck.tick() => continue,
        }
        loop {
            match Packet::read(&mut buf, MAX_PACKET) {
                Ok(Packet::PubAck(ack)) => {
                    if let Some(i) = awaiting.iter().position(|(pkid, ..)| *pkid == ack.pkid) {
                        let (_, acked, sent) = awaiting.remove(i).expect("found");
                        on_ack(acked, sent.elapsed());
                    }
                }
                Ok(_) => {}
                Err(rumqttc::mqttbytes::Error::InsufficientBytes(_)) => break,
                Err(e) => return Err(io(e)),
            }
        }
    }
}

/// A subscriber that counts QoS 1 deliveries on `filter` and acknowledges them.
pub async fn count_deliveries(
    addr: SocketAddr,
    filter: &str,
    stop: Arc<tokio::sync::Notify>,
) -> std::io::Result<u64> {
    let (mut stream, mut buf) = connect(addr, "bench-subscriber", "bench").await?;
    let mut out = BytesMut::new();
    let mut sub = Subscribe::new(filter, QoS::AtLeastOnce);
    sub.pkid = 1;
    Packet::Subscribe(sub)
        .write(&mut out, MAX_PACKET)
        .map_err(io)?;
    stream.write_all(&out).await?;
    out.clear();
    let mut received = 0u64;
    loop {
        tokio::select! {
            () = stop.notified() => return Ok(received),
            read = stream.read_buf(&mut buf) => {
                if read? == 0 {
                    return Ok(received);
                }
            }
        }
        loop {
            match Packet::read(&mut buf, MAX_PACKET) {
                Ok(Packet::Publish(p)) => {
                    received += 1;
                    if p.qos == QoS::AtLeastOnce {
                        Packet::PubAck(rumqttc::mqttbytes::v4::PubAck::new(p.pkid))
                            .write(&mut out, MAX_PACKET)
                            .map_err(io)?;
                    }
                }
                Ok(_) => {}
                Err(rumqttc::mqttbytes::Error::InsufficientBytes(_)) => break,
                Err(e) => return Err(io(e)),
            }
        }
        if !out.is_empty() {
            stream.write_all(&out).await?;
            out.clear();
        }
    }
}
