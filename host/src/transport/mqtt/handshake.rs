//! The opening of a connection: one CONNECT within the connect timeout,
//! its protocol level checked and its access token (the user name) looked
//! up; the CONNACK says which.

use std::io;
use std::net::SocketAddr;
use std::time::Duration;

use bytes::BytesMut;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::domain::device::Device;
use crate::service::App;

use super::wire::{self, ConnAckCode, Hello, Limits, Opening, Version};

/// Reads one whole packet into `buf`'s front and splits it off; `None` when
/// the peer closes first. Bytes after it stay in `buf` for the session.
async fn read_packet(
    stream: &mut TcpStream,
    buf: &mut BytesMut,
    max: usize,
) -> io::Result<Option<BytesMut>> {
    loop {
        match wire::frame_len(buf, max) {
            Ok(Some(len)) => return Ok(Some(buf.split_to(len))),
            Ok(None) => {
                if stream.read_buf(buf).await? == 0 {
                    return Ok(None);
                }
            }
            Err(e) => {
                return Err(io::Error::new(io::ErrorKind::InvalidData, format!("{e:?}")));
            }
        }
    }
}

/// A device let in.
pub struct Accepted {
    pub hello: Hello,
    pub device: Device,
    /// Messages it may have in flight: what an MQTT 5 client is told as
    /// its receive maximum, and the session's window for every version.
    pub window: u16,
}

/// Answers the CONNECT. `Some` when the device is in; otherwise the refusal
/// has been sent (where MQTT has one) and the connection is to be closed.
pub async fn accept(
    stream: &mut TcpStream,
    peer: SocketAddr,
    buf: &mut BytesMut,
    app: &App,
) -> io::Result<Option<Accepted>> {
    let limits = &app.settings().mqtt;
    let deadline = Duration::from_secs(limits.connect_timeout_s);
    let frame =
        match tokio::time::timeout(deadline, read_packet(stream, buf, limits.max_packet_bytes))
            .await
        {
            Ok(read) => match read? {
                Some(frame) => frame,
                None => return Ok(None),
            },
            Err(_) => {
                tracing::debug!(%peer, "no CONNECT in time");
                return Ok(None);
            }
        };
    let hello = match wire::decode_connect(frame) {
        Ok(Opening::Hello(hello)) => hello,
        Ok(Opening::Unsupported { level }) => {
            tracing::debug!(%peer, level, "MQTT protocol level refused");
            let mut out = BytesMut::new();
            wire::encode_connack(
                Version::to_refuse(level),
                ConnAckCode::UnsupportedProtocolVersion,
                &Limits::default(),
                &mut out,
            );
            stream.write_all(&out).await?;
            return Ok(None);
        }
        Err(e) => {
            tracing::debug!(%peer, error = %e.0, "bad CONNECT");
            return Ok(None);
        }
    };
    let (code, device) = match hello.username.as_deref() {
        None => (ConnAckCode::BadUserNameOrPassword, None),
        Some(token) => match app.device_by_token(token) {
            Ok(Some(device)) => (ConnAckCode::Accepted, Some(device)),
            Ok(None) => (ConnAckCode::NotAuthorized, None),
            Err(e) => {
                tracing::warn!(%peer, error = %e, "device lookup failed");
                (ConnAckCode::ServerUnavailable, None)
            }
        },
    };
    let accepted = Limits {
        receive_max: u16::try_from(limits.max_inflight)
            .unwrap_or(u16::MAX)
            .max(1),
        max_packet: u32::try_from(limits.max_packet_bytes).unwrap_or(u32::MAX),
        assigned_client_id: match (&device, hello.client_id.is_empty()) {
            (Some(d), true) => Some(d.id.0.to_string()),
            _ => None,
        },
    };
    let mut out = BytesMut::new();
    wire::encode_connack(hello.version, code, &accepted, &mut out);
    stream.write_all(&out).await?;
    match device {
        Some(device) => {
            tracing::debug!(%peer, device = %device.id.0, version = ?hello.version, "MQTT device connected");
            Ok(Some(Accepted {
                hello,
                device,
                window: accepted.receive_max,
            }))
        }
        None => {
            tracing::debug!(%peer, ?code, "MQTT connection refused");
            Ok(None)
        }
    }
}
