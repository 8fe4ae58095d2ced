//! MQTT packets as a device session sees them, read and written with
//! rumqttc's 3.1.1 and 5 codecs. Only what a device endpoint receives and
//! sends is modelled; any other packet from a client is a protocol error.
//!
//! Everything here takes bytes from the network: it returns errors and
//! never panics on them.

use bytes::{BufMut, Bytes, BytesMut};
use rumqttc::mqttbytes::{QoS as QoS4, v4};
use rumqttc::v5::mqttbytes::{self as m5, QoS as QoS5, v5};

/// The protocol a session speaks after CONNECT. MQTT 3.1 is spoken as
/// 3.1.1: its CONNECT is rewritten (see [`decode_connect`]) and the packets
/// a device endpoint sees after that are the same.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Version {
    V311,
    V5,
}

impl Version {
    /// The CONNACK shape to refuse protocol `level` in: 3.1.1's for levels
    /// below 5, MQTT 5's for levels above (a newer client is likelier to
    /// read a CONNACK of MQTT 5's shape, as MQTT 5 section 3.1.2.2 suggests).
    pub fn to_refuse(level: u8) -> Version {
        if level > 5 {
            Version::V5
        } else {
            Version::V311
        }
    }
}

/// Why a packet could not be framed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FrameError {
    /// The remaining length runs over four bytes.
    Malformed,
    /// The packet is larger than the limit; known from its header alone,
    /// so the body is never buffered.
    TooLarge,
}

/// The length of the first packet in `buf`, once all of it has arrived.
pub fn frame_len(buf: &[u8], max: usize) -> Result<Option<usize>, FrameError> {
    let mut remaining = 0usize;
    for (i, byte) in buf.iter().skip(1).take(4).enumerate() {
        remaining |= usize::from(byte & 0x7f) << (7 * i);
        if byte & 0x80 == 0 {
            let len = 2 + i + remaining;
            if len > max {
                return Err(FrameError::TooLarge);
            }
            return Ok((buf.len() >= len).then_some(len));
        }
    }
    if buf.len() > 4 {
        Err(FrameError::Malformed)
    } else {
        Ok(None)
    }
}

/// A packet the codec refused, with its reason (for the debug log).
#[derive(Debug)]
pub struct Malformed(pub String);

fn malformed(e: impl std::fmt::Display) -> Malformed {
    Malformed(e.to_string())
}

/// What a client opens with.
#[derive(Debug, PartialEq, Eq)]
pub enum Opening {
    Hello(Hello),
    /// MQTT, but a protocol level this endpoint does not speak.
    Unsupported {
        level: u8,
    },
}

/// An accepted CONNECT, reduced to what the endpoint uses.
#[derive(Debug, PartialEq, Eq)]
pub struct Hello {
    pub version: Version,
    pub keep_alive: u16,
    pub client_id: String,
    /// The access token; an empty user name counts as none.
    pub username: Option<String>,
    /// The largest packet the client accepts (MQTT 5).
    pub max_packet: Option<u32>,
}

/// Where the variable header starts: after the byte of type and flags and
/// the one to four bytes of remaining length.
fn header_len(frame: &[u8]) -> Option<usize> {
    frame
        .iter()
        .skip(1)
        .take(4)
        .position(|b| b & 0x80 == 0)
        .map(|i| i + 2)
}

/// The protocol name and level of a CONNECT, and where the level byte is.
fn protocol(frame: &[u8]) -> Option<(&[u8], u8, usize)> {
    let h = header_len(frame)?;
    let n = usize::from(u16::from_be_bytes([*frame.get(h)?, *frame.get(h + 1)?]));
    let name = frame.get(h + 2..h + 2 + n)?;
    let level = *frame.get(h + 2 + n)?;
    Some((name, level, h + 2 + n))
}

fn put_remaining_length(buf: &mut BytesMut, mut len: usize) {
    loop {
        let mut byte = (len % 128) as u8;
        len /= 128;
        if len > 0 {
            byte |= 0x80;
        }
        buf.put_u8(byte);
        if len == 0 {
            break;
        }
    }
}

/// An MQTT 3.1 CONNECT (`MQIsdp`, level 3) as the 3.1.1 one it differs from
/// only in name and level, so the 3.1.1 codec can read it.
fn as_mqtt_311(frame: &[u8], level_at: usize) -> Option<BytesMut> {
    let rest = frame.get(level_at + 1..)?;
    let mut body = BytesMut::with_capacity(rest.len() + 7);
    body.put_slice(b"\x00\x04MQTT\x04");
    body.put_slice(rest);
    let mut out = BytesMut::with_capacity(body.len() + 5);
    out.put_u8(0x10);
    put_remaining_length(&mut out, body.len());
    out.put_slice(&body);
    Some(out)
}

fn username(login: Option<String>) -> Option<String> {
    login.filter(|u| !u.is_empty())
}

/// Reads the first packet of a connection, which must be a CONNECT.
pub fn decode_connect(mut frame: BytesMut) -> Result<Opening, Malformed> {
    if frame.first() != Some(&0x10) {
        return Err(Malformed("the first packet is not CONNECT".into()));
    }
    let (name, level, level_at) =
        protocol(&frame).ok_or_else(|| Malformed("CONNECT without a protocol name".into()))?;
    let hello = match (name, level) {
        (b"MQTT", 4) => read_v4(&mut frame)?,
        (b"MQIsdp", 3) => {
            let mut rewritten = as_mqtt_311(&frame, level_at)
                .ok_or_else(|| Malformed("short MQTT 3.1 CONNECT".into()))?;
            read_v4(&mut rewritten)?
        }
        (b"MQTT", 5) => {
            let len = frame.len();
            match v5::Packet::read(&mut frame, Some(len as u32)).map_err(malformed)? {
                v5::Packet::Connect(c, _, login) => Hello {
                    version: Version::V5,
                    keep_alive: c.keep_alive,
                    client_id: c.client_id,
                    username: username(login.map(|l| l.username)),
                    max_packet: c.properties.and_then(|p| p.max_packet_size),
                },
                _ => return Err(Malformed("not a CONNECT".into())),
            }
        }
        (b"MQTT" | b"MQIsdp", level) => return Ok(Opening::Unsupported { level }),
        _ => return Err(Malformed("not the MQTT protocol".into())),
    };
    Ok(Opening::Hello(hello))
}

fn read_v4(frame: &mut BytesMut) -> Result<Hello, Malformed> {
    let len = frame.len();
    match v4::Packet::read(frame, len).map_err(malformed)? {
        v4::Packet::Connect(c) => Ok(Hello {
            version: Version::V311,
            keep_alive: c.keep_alive,
            client_id: c.client_id,
            username: username(c.login.map(|l| l.username)),
            max_packet: None,
        }),
        _ => Err(Malformed("not a CONNECT".into())),
    }
}

/// A PUBLISH from a client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Publish {
    pub qos: u8,
    pub pkid: u16,
    pub topic: String,
    pub payload: Bytes,
}

/// A packet from a connected client.
#[derive(Debug, PartialEq, Eq)]
pub enum Inbound {
    Publish(Publish),
    /// Topic filters with their requested QoS.
    Subscribe {
        pkid: u16,
        filters: Vec<(String, u8)>,
    },
    Unsubscribe {
        pkid: u16,
        filters: Vec<String>,
    },
    /// The client acknowledging a QoS 1 message; the endpoint sends QoS 0
    /// only, so there is nothing to match it with.
    PubAck,
    PingReq,
    Disconnect,
    /// A packet a client must not send here: a second CONNECT, a server's
    /// packet, or the QoS 2 flow (QoS 2 is not supported).
    Unexpected(&'static str),
}

/// Reads one whole packet (as framed by [`frame_len`]).
pub fn decode(version: Version, frame: &mut BytesMut) -> Result<Inbound, Malformed> {
    let len = frame.len();
    match version {
        Version::V311 => Ok(match v4::Packet::read(frame, len).map_err(malformed)? {
            v4::Packet::Publish(p) => Inbound::Publish(Publish {
                qos: p.qos as u8,
                pkid: p.pkid,
                topic: p.topic,
                payload: p.payload,
            }),
            v4::Packet::Subscribe(s) => Inbound::Subscribe {
                pkid: s.pkid,
                filters: s
                    .filters
                    .into_iter()
                    .map(|f| (f.path, f.qos as u8))
                    .collect(),
            },
            v4::Packet::Unsubscribe(u) => Inbound::Unsubscribe {
                pkid: u.pkid,
                filters: u.topics,
            },
            v4::Packet::PubAck(_) => Inbound::PubAck,
            v4::Packet::PingReq => Inbound::PingReq,
            v4::Packet::Disconnect => Inbound::Disconnect,
            other => Inbound::Unexpected(v4_name(&other)),
        }),
        Version::V5 => {
            // rumqttc 0.25 refuses a DISCONNECT without a reason code (remaining
            // length 0), which MQTT 5 allows for a normal disconnection.
            if frame.as_ref() == [0xE0, 0x00] {
                return Ok(Inbound::Disconnect);
            }
            Ok(
                match v5::Packet::read(frame, Some(len as u32)).map_err(malformed)? {
                    v5::Packet::Publish(p) => Inbound::Publish(Publish {
                        qos: p.qos as u8,
                        pkid: p.pkid,
                        topic: String::from_utf8(p.topic.to_vec()).map_err(malformed)?,
                        payload: p.payload,
                    }),
                    v5::Packet::Subscribe(s) => Inbound::Subscribe {
                        pkid: s.pkid,
                        filters: s
                            .filters
                            .into_iter()
                            .map(|f| (f.path, f.qos as u8))
                            .collect(),
                    },
                    v5::Packet::Unsubscribe(u) => Inbound::Unsubscribe {
                        pkid: u.pkid,
                        filters: u.filters,
                    },
                    v5::Packet::PubAck(_) => Inbound::PubAck,
                    v5::Packet::PingReq(_) => Inbound::PingReq,
                    v5::Packet::Disconnect(_) => Inbound::Disconnect,
                    _ => Inbound::Unexpected("a packet a client does not send"),
                },
            )
        }
    }
}

fn v4_name(p: &v4::Packet) -> &'static str {
    match p {
        v4::Packet::Connect(_) => "a second CONNECT",
        v4::Packet::PubRec(_) | v4::Packet::PubRel(_) | v4::Packet::PubComp(_) => "the QoS 2 flow",
        _ => "a packet a client does not send",
    }
}

/// Answers to CONNECT.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConnAckCode {
    Accepted,
    /// No user name: 3.1.1 code 4, MQTT 5 0x86.
    BadUserNameOrPassword,
    /// Unknown access token: 3.1.1 code 5, MQTT 5 0x87.
    NotAuthorized,
    /// The store could not be read: 3.1.1 code 3, MQTT 5 0x88.
    ServerUnavailable,
    /// A protocol level this endpoint does not speak: 3.1.1 code 1, MQTT 5
    /// 0x84; sent in the shape [`Version::to_refuse`] picks.
    UnsupportedProtocolVersion,
}

/// What an MQTT 5 client is told in an accepting CONNACK (a refusal
/// carries none of it).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Limits {
    pub receive_max: u16,
    pub max_packet: u32,
    /// Given when the client sent an empty client id, as MQTT 5 requires.
    pub assigned_client_id: Option<String>,
}

/// Writes the CONNACK. Sessions are never kept, so `session present` is 0.
pub fn encode_connack(version: Version, code: ConnAckCode, limits: &Limits, buf: &mut BytesMut) {
    match version {
        Version::V311 => {
            let code = match code {
                ConnAckCode::Accepted => v4::ConnectReturnCode::Success,
                ConnAckCode::BadUserNameOrPassword => v4::ConnectReturnCode::BadUserNamePassword,
                ConnAckCode::NotAuthorized => v4::ConnectReturnCode::NotAuthorized,
                ConnAckCode::ServerUnavailable => v4::ConnectReturnCode::ServiceUnavailable,
                ConnAckCode::UnsupportedProtocolVersion => {
                    v4::ConnectReturnCode::RefusedProtocolVersion
                }
            };
            // A CONNACK is 4 bytes: it cannot exceed any limit.
            let _ = v4::Packet::ConnAck(v4::ConnAck::new(code, false)).write(buf, usize::MAX);
        }
        Version::V5 => {
            let (code, properties) = match code {
                ConnAckCode::Accepted => (v5::ConnectReturnCode::Success, Some(accepting(limits))),
                ConnAckCode::BadUserNameOrPassword => {
                    (v5::ConnectReturnCode::BadUserNamePassword, None)
                }
                ConnAckCode::NotAuthorized => (v5::ConnectReturnCode::NotAuthorized, None),
                ConnAckCode::ServerUnavailable => (v5::ConnectReturnCode::ServerUnavailable, None),
                ConnAckCode::UnsupportedProtocolVersion => {
                    (v5::ConnectReturnCode::UnsupportedProtocolVersion, None)
                }
            };
            let ack = v5::ConnAck {
                session_present: false,
                code,
                properties,
            };
            let _ = v5::Packet::ConnAck(ack).write(buf, None);
        }
    }
}

fn accepting(limits: &Limits) -> v5::ConnAckProperties {
    v5::ConnAckProperties {
        session_expiry_interval: None,
        receive_max: Some(limits.receive_max),
        max_qos: Some(1),
        retain_available: None,
        max_packet_size: Some(limits.max_packet),
        assigned_client_identifier: limits.assigned_client_id.clone(),
        topic_alias_max: None,
        reason_string: None,
        user_properties: Vec::new(),
        wildcard_subscription_available: None,
        // Subscription identifiers would have to be echoed on every message.
        subscription_identifiers_available: Some(0),
        shared_subscription_available: Some(0),
        server_keep_alive: None,
        response_information: None,
        server_reference: None,
        authentication_method: None,
        authentication_data: None,
    }
}

/// Why a message is refused or a connection ended, as MQTT 5 reason codes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reason {
    NotAuthorized,
    PayloadFormatInvalid,
    TopicNameInvalid,
    /// Handling failed in a way that would fail again (a bug, a refusal
    /// of the store); the cause is logged, not sent.
    ServerError,
    /// The store failed in a way that may pass (I/O, shutting down): the
    /// same message may be stored if sent again. The cause is logged.
    ServerBusy,
    PacketTooLarge,
    MalformedPacket,
    ProtocolError,
    QoSNotSupported,
    KeepAliveTimeout,
    ServerShuttingDown,
}

impl Reason {
    pub fn text(self) -> &'static str {
        match self {
            Reason::NotAuthorized => "not authorized",
            Reason::PayloadFormatInvalid => "payload format invalid",
            Reason::TopicNameInvalid => "topic name invalid",
            Reason::ServerError => "server error",
            Reason::ServerBusy => "server busy",
            Reason::PacketTooLarge => "packet too large",
            Reason::MalformedPacket => "malformed packet",
            Reason::ProtocolError => "protocol error",
            Reason::QoSNotSupported => "QoS not supported",
            Reason::KeepAliveTimeout => "keep alive timeout",
            Reason::ServerShuttingDown => "server shutting down",
        }
    }

    fn puback(self) -> v5::PubAckReason {
        match self {
            Reason::NotAuthorized => v5::PubAckReason::NotAuthorized,
            Reason::PayloadFormatInvalid => v5::PubAckReason::PayloadFormatInvalid,
            Reason::TopicNameInvalid => v5::PubAckReason::TopicNameInvalid,
            // MQTT 5 has no PUBACK code for a failure that may pass.
            Reason::ServerError | Reason::ServerBusy => {
                v5::PubAckReason::ImplementationSpecificError
            }
            _ => v5::PubAckReason::UnspecifiedError,
        }
    }

    fn disconnect(self) -> v5::DisconnectReasonCode {
        use v5::DisconnectReasonCode as D;
        match self {
            Reason::NotAuthorized => D::NotAuthorized,
            Reason::PayloadFormatInvalid => D::PayloadFormatInvalid,
            Reason::TopicNameInvalid => D::TopicNameInvalid,
            Reason::ServerError => D::ImplementationSpecificError,
            Reason::ServerBusy => D::ServerBusy,
            Reason::PacketTooLarge => D::PacketTooLarge,
            Reason::MalformedPacket => D::MalformedPacket,
            Reason::ProtocolError => D::ProtocolError,
            Reason::QoSNotSupported => D::QoSNotSupported,
            Reason::KeepAliveTimeout => D::KeepAliveTimeout,
            Reason::ServerShuttingDown => D::ServerShuttingDown,
        }
    }
}

/// A packet to a connected client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outbound {
    /// `refused` needs MQTT 5; a 3.1.1 session closes instead.
    PubAck {
        pkid: u16,
        refused: Option<Reason>,
    },
    /// The granted QoS per filter, `None` where refused.
    SubAck {
        pkid: u16,
        granted: Vec<Option<u8>>,
    },
    UnsubAck {
        pkid: u16,
        filters: usize,
    },
    /// Messages to devices go at QoS 0: no session state outlives a
    /// connection, so there is nothing a QoS 1 retry could resume.
    Publish {
        topic: String,
        payload: Bytes,
    },
    PingResp,
    /// MQTT 5 only; a 3.1.1 server just closes.
    Disconnect(Reason),
}

/// Whether a packet was written, or left out because it exceeds the
/// client's maximum packet size (MQTT 5 says to discard it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Written {
    Yes,
    TooLargeForClient,
    NotInThisVersion,
}

pub fn encode(
    version: Version,
    packet: Outbound,
    client_max: Option<u32>,
    buf: &mut BytesMut,
) -> Result<Written, Malformed> {
    match version {
        Version::V311 => encode_v4(packet, buf),
        Version::V5 => encode_v5(packet, client_max, buf),
    }
}

fn encode_v4(packet: Outbound, buf: &mut BytesMut) -> Result<Written, Malformed> {
    let p = match packet {
        Outbound::PubAck {
            pkid,
            refused: None,
        } => v4::Packet::PubAck(v4::PubAck::new(pkid)),
        Outbound::PubAck { .. } | Outbound::Disconnect(_) => return Ok(Written::NotInThisVersion),
        Outbound::SubAck { pkid, granted } => v4::Packet::SubAck(v4::SubAck::new(
            pkid,
            granted
                .into_iter()
                .map(|g| match g {
                    Some(q) => v4::SubscribeReasonCode::Success(qos4(q)),
                    None => v4::SubscribeReasonCode::Failure,
                })
                .collect(),
        )),
        Outbound::UnsubAck { pkid, .. } => v4::Packet::UnsubAck(v4::UnsubAck::new(pkid)),
        Outbound::Publish { topic, payload } => {
            v4::Packet::Publish(v4::Publish::from_bytes(topic, QoS4::AtMostOnce, payload))
        }
        Outbound::PingResp => v4::Packet::PingResp,
    };
    p.write(buf, usize::MAX).map_err(malformed)?;
    Ok(Written::Yes)
}

fn qos4(q: u8) -> QoS4 {
    if q == 0 {
        QoS4::AtMostOnce
    } else {
        QoS4::AtLeastOnce
    }
}

fn qos5(q: u8) -> QoS5 {
    if q == 0 {
        QoS5::AtMostOnce
    } else {
        QoS5::AtLeastOnce
    }
}

fn encode_v5(
    packet: Outbound,
    client_max: Option<u32>,
    buf: &mut BytesMut,
) -> Result<Written, Malformed> {
    let p = match packet {
        Outbound::PubAck { pkid, refused } => v5::Packet::PubAck(v5::PubAck {
            pkid,
            reason: refused.map_or(v5::PubAckReason::Success, Reason::puback),
            properties: None,
        }),
        Outbound::SubAck { pkid, granted } => v5::Packet::SubAck(v5::SubAck {
            pkid,
            return_codes: granted
                .into_iter()
                .map(|g| match g {
                    Some(q) => v5::SubscribeReasonCode::Success(qos5(q)),
                    None => v5::SubscribeReasonCode::TopicFilterInvalid,
                })
                .collect(),
            properties: None,
        }),
        Outbound::UnsubAck { pkid, filters } => v5::Packet::UnsubAck(v5::UnsubAck {
            pkid,
            reasons: vec![v5::UnsubAckReason::Success; filters],
            properties: None,
        }),
        Outbound::Publish { topic, payload } => {
            v5::Packet::Publish(v5::Publish::new(topic, QoS5::AtMostOnce, payload, None))
        }
        Outbound::PingResp => v5::Packet::PingResp(v5::PingResp),
        Outbound::Disconnect(reason) => v5::Packet::Disconnect(v5::Disconnect {
            reason_code: reason.disconnect(),
            // rumqttc 0.25 frames a reason code right only next to a
            // non-empty property (without properties it writes one byte more
            // than it announces; with empty ones it drops the reason), so
            // the reason goes in words too.
            properties: Some(v5::DisconnectProperties {
                session_expiry_interval: None,
                reason_string: Some(reason.text().to_owned()),
                user_properties: Vec::new(),
                server_reference: None,
            }),
        }),
    };
    match p.write(buf, client_max) {
        Ok(_) => Ok(Written::Yes),
        Err(m5::Error::OutgoingPacketTooLarge { .. }) => Ok(Written::TooLargeForClient),
        Err(e) => Err(malformed(e)),
    }
}

#[cfg(test)]
mod tests;
