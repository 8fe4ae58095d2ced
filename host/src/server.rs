//! Running the service: HTTP and the device MQTT endpoint on bound
//! listeners until one shutdown signal.

use std::future::Future;
use std::io;

use tokio::net::TcpListener;
use tokio::sync::watch;

use crate::api;
use crate::service::App;
use crate::transport;

/// Serves the REST API on `http` and devices on `mqtt` until `shutdown`
/// resolves, or until either server fails (then the other stops too); each
/// lets the work in flight finish.
pub async fn run(
    http: TcpListener,
    mqtt: TcpListener,
    app: App,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> io::Result<()> {
    let (stop, _) = watch::channel(false);
    let stopped = || {
        let mut rx = stop.subscribe();
        async move {
            let _ = rx.wait_for(|stopped| *stopped).await;
        }
    };
    let signal = async {
        tokio::select! {
            () = shutdown => {},
            () = stopped() => {},
        }
        stop.send_replace(true);
    };
    let http = async {
        let result = serve(http, app.clone(), stopped()).await;
        stop.send_replace(true);
        result
    };
    let mqtt = async {
        let result = transport::mqtt::serve(mqtt, app.clone(), stopped()).await;
        stop.send_replace(true);
        result
    };
    let bridge = async {
        if let Some(settings) = app.settings().bridge.clone() {
            transport::bridge::run(app.clone(), settings, stop.subscribe()).await;
        }
    };
    let ((), http, mqtt, ()) = tokio::join!(signal, http, mqtt, bridge);
    http.and(mqtt)
}

/// Serves the REST API on `listener` until `shutdown` resolves, then lets
/// requests in flight finish.
pub async fn serve(
    listener: TcpListener,
    app: App,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> io::Result<()> {
    let router = api::router(app);
    axum::serve(
        listener,
        router.into_make_service_with_connect_info::<std::net::SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown)
    .await
}

/// Resolves on SIGINT or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
    tracing::info!("shutting down");
}
