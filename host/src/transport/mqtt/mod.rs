//! The device MQTT endpoint: ThingsBoard's device and gateway topics over
//! MQTT 3.1, 3.1.1 and 5 on rumqttc's packet codec. It is a device
//! transport, not a broker: devices publish to fixed topics and hear only
//! about themselves, and a QoS 1 PUBACK goes out only once the message is
//! durable. `docs/mqtt.md` lists the topics, codes and choices.
//!
//! - [`wire`]: packets in and out, over rumqttc's v4 and v5 codecs;
//! - `handshake`: CONNECT, the token, the CONNACK;
//! - `session`: one task per connection: its packets in and answers out;
//! - `inflight`: the in-flight window (the session's and the bridge's):
//!   messages handled side by side, outcomes in the order they came;
//! - `publish`: what each PUBLISH does with the App;
//! - [`topics`], [`gateway`]: topics and payloads, pure.

pub mod gateway;
mod handshake;
pub(crate) mod inflight;
pub(crate) mod publish;
mod session;
pub mod topics;
pub mod wire;

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::time::Duration;

use bytes::BytesMut;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::JoinSet;

use crate::service::App;

/// How long connections (and the bridge) get at shutdown to answer what is
/// in flight; a client that does not read its socket cannot hold the
/// shutdown up longer.
pub(crate) const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);

/// How long a closing connection's last bytes from the client are drained.
const LINGER: Duration = Duration::from_millis(500);

/// Accepts device connections on `listener` until `shutdown` resolves; then
/// stops accepting, lets each connection answer what it has in flight, and
/// returns once all are closed.
pub async fn serve(
    listener: TcpListener,
    app: App,
    shutdown: impl Future<Output = ()>,
) -> io::Result<()> {
    let (stop, stopped) = watch::channel(false);
    let mut sessions = JoinSet::new();
    tokio::pin!(shutdown);
    loop {
        tokio::select! {
            () = &mut shutdown => break,
            accepted = listener.accept() => match accepted {
                Ok((stream, peer)) => {
                    sessions.spawn(connection(stream, peer, app.clone(), stopped.clone()));
                }
                Err(e) => {
                    // Out of file descriptors and the like: pause rather than spin.
                    tracing::warn!(error = %e, "MQTT accept failed");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            },
            Some(_) = sessions.join_next(), if !sessions.is_empty() => {}
        }
    }
    drop(listener);
    let _ = stop.send(true);
    let drained = async { while sessions.join_next().await.is_some() {} };
    if tokio::time::timeout(SHUTDOWN_GRACE, drained).await.is_err() {
        tracing::warn!("MQTT connections still open at shutdown are cut");
        sessions.shutdown().await;
    }
    Ok(())
}

async fn connection(
    mut stream: TcpStream,
    peer: SocketAddr,
    app: App,
    stop: watch::Receiver<bool>,
) {
    // Acknowledgements are small and awaited by the client: send them at once.
    let _ = stream.set_nodelay(true);
    let mut buf = BytesMut::with_capacity(512);
    match handshake::accept(&mut stream, peer, &mut buf, &app).await {
        Ok(Some(accepted)) => {
            session::Session::new(accepted, app, buf)
                .run(&mut stream, stop)
                .await;
        }
        Ok(None) => {}
        Err(e) => tracing::debug!(%peer, error = %e, "MQTT connection dropped before CONNACK"),
    }
    close(stream).await;
}

/// Closes after the last answer: FIN first, then what the client still
/// sends is read and dropped for a moment. Closing a socket with unread
/// bytes makes the kernel send a reset, which can destroy the CONNACK or
/// DISCONNECT that explains the close before the client reads it.
async fn close(mut stream: TcpStream) {
    let _ = stream.shutdown().await;
    // On the heap and only now: a buffer local to this async fn would sit in
    // every connection's future (its state is as large as its largest
    // await point) for the connection's whole life.
    let mut scratch = vec![0u8; 4096];
    let drain = async { while matches!(stream.read(&mut scratch).await, Ok(n) if n > 0) {} };
    let _ = tokio::time::timeout(LINGER, drain).await;
}
